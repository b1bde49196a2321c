/// An event as the runtime keeps it: kubelet's common events as a template and the names they
/// mention, so a pod's events cost a few words each; the text is built when read.
struct EventRecord {
    enum Template: UInt8 {
        /// `createdAndStarted` stands for kubelet's pair `Created` + `Started`.
        case scheduled, createdAndStarted, killing, backOff, sandboxChanged, oomKilled, custom

        var isWarning: Bool { self == .backOff || self == .oomKilled }
    }

    /// The reason and message of an event that fits no template.
    final class Custom {
        let reason: String
        let message: String
        init(reason: String, message: String) {
            (self.reason, self.message) = (reason, message)
        }
    }

    let time: Double
    let template: Template
    let warning: Bool
    let pod: String
    let container: String?
    let custom: Custom?

    /// The events this record stands for (two for `createdAndStarted`).
    func events(backend: String) -> [PodEvent] {
        guard template == .createdAndStarted else { return [event(backend: backend)] }
        let name = container ?? ""
        return [
            PodEvent(time: time, type: .normal, reason: "Created", pod: pod, container: container, message: "Created container \(name)"),
            PodEvent(time: time, type: .normal, reason: "Started", pod: pod, container: container, message: "Started container \(name)"),
        ]
    }

    func event(backend: String) -> PodEvent {
        let name = container ?? ""
        let (reason, message): (String, String)
        switch template {
        case .scheduled: (reason, message) = ("Scheduled", "Successfully assigned default/\(pod) to \(backend)")
        case .createdAndStarted: (reason, message) = ("Started", "Started container \(name)")
        case .killing: (reason, message) = ("Killing", "Stopping container \(name)")
        case .backOff: (reason, message) = ("BackOff", "Back-off restarting failed container \(name) in pod \(pod)")
        case .sandboxChanged: (reason, message) = ("SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
        case .oomKilled: (reason, message) = ("OOMKilled", "Container \(name) was killed: memory limit exceeded")
        case .custom: (reason, message) = (custom?.reason ?? "", custom?.message ?? "")
        }
        return PodEvent(
            time: time, type: warning ? .warning : .normal, reason: reason, pod: pod, container: container,
            message: message)
    }
}
