/// One event in a pod's life, as `kubectl describe pod` lists them.
public struct PodEvent: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case normal = "Normal"
        case warning = "Warning"
    }

    /// Seconds on the runtime's clock (virtual on sim).
    public var time: Double
    public var type: Kind
    /// Scheduled, Created, Started, Killing, BackOff, Failed, OOMKilled, SandboxChanged,
    /// Completed, Died, Stopped...
    public var reason: String
    public var pod: String
    public var container: String?
    public var message: String

    public init(time: Double, type: Kind, reason: String, pod: String, container: String?, message: String) {
        (self.time, self.type, self.reason, self.pod, self.container, self.message) = (time, type, reason, pod, container, message)
    }

    public var description: String {
        let at = time.formatted3
        return "\(at) \(type.rawValue) \(reason) \(pod)\(container.map { "/\($0)" } ?? ""): \(message)"
    }
}

extension Double {
    /// Seconds with up to three decimals, trailing zeros removed: "10", "0.5", "12.345".
    var formatted3: String {
        let millis = (self * 1000).rounded()
        guard millis.isFinite, abs(millis) < 1e15 else { return "\(self)" }
        let whole = Int64(millis)
        let integer = whole / 1000
        var fraction = String(abs(whole % 1000)).leftPadded(to: 3)
        while fraction.hasSuffix("0") { fraction.removeLast() }
        let sign = whole < 0 && integer == 0 ? "-" : ""
        return fraction.isEmpty ? "\(sign)\(integer)" : "\(sign)\(integer).\(fraction)"
    }
}
