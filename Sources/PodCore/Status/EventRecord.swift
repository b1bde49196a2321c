/// An event as the runtime keeps it: kubelet's common events as a template and the names they
/// mention, so a pod's events cost a few words each; the text is built when read.
struct EventRecord {
    enum Template: UInt8 {
        case scheduled, created, started, killing, backOff, sandboxChanged, oomKilled, custom

        var isWarning: Bool { self == .backOff || self == .oomKilled }
    }

    let time: Double
    let template: Template
    let warning: Bool
    let pod: String
    let container: String?
    /// For `.custom`: the reason and the message.
    let reason: String?
    let message: String?

    func event(backend: String) -> PodEvent {
        let name = container ?? ""
        let (reason, message): (String, String)
        switch template {
        case .scheduled: (reason, message) = ("Scheduled", "Successfully assigned default/\(pod) to \(backend)")
        case .created: (reason, message) = ("Created", "Created container \(name)")
        case .started: (reason, message) = ("Started", "Started container \(name)")
        case .killing: (reason, message) = ("Killing", "Stopping container \(name)")
        case .backOff: (reason, message) = ("BackOff", "Back-off restarting failed container \(name) in pod \(pod)")
        case .sandboxChanged: (reason, message) = ("SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
        case .oomKilled: (reason, message) = ("OOMKilled", "Container \(name) was killed: memory limit exceeded")
        case .custom: (reason, message) = (self.reason ?? "", self.message ?? "")
        }
        return PodEvent(time: time, type: warning ? .warning : .normal, reason: reason, pod: pod, container: container,
                        message: message)
    }
}
