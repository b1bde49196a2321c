/// A POSIX signal, by its Linux number, with its name and default action. The table below is
/// the one place that maps names, numbers and default actions (signal(7), x86-64 and arm64).
public struct Signal: Sendable, Hashable, CustomStringConvertible {
    /// What the kernel does with a signal that has no handler.
    public enum DefaultAction: Sendable, Equatable {
        case terminate
        /// Terminate and dump core (same exit status as terminate here: 128 + number).
        case core
        case ignore
        case stop
        case `continue`
    }

    public let number: Int32
    public let name: String
    public let defaultAction: DefaultAction

    /// signal(7): number, name without the SIG prefix, default action.
    static let table: [Signal] = [
        Signal(1, "HUP", .terminate), Signal(2, "INT", .terminate), Signal(3, "QUIT", .core),
        Signal(4, "ILL", .core), Signal(5, "TRAP", .core), Signal(6, "ABRT", .core), Signal(7, "BUS", .core),
        Signal(8, "FPE", .core), Signal(9, "KILL", .terminate), Signal(10, "USR1", .terminate),
        Signal(11, "SEGV", .core), Signal(12, "USR2", .terminate), Signal(13, "PIPE", .terminate),
        Signal(14, "ALRM", .terminate), Signal(15, "TERM", .terminate), Signal(16, "STKFLT", .terminate),
        Signal(17, "CHLD", .ignore), Signal(18, "CONT", .continue), Signal(19, "STOP", .stop),
        Signal(20, "TSTP", .stop), Signal(21, "TTIN", .stop), Signal(22, "TTOU", .stop), Signal(23, "URG", .ignore),
        Signal(24, "XCPU", .core), Signal(25, "XFSZ", .core), Signal(26, "VTALRM", .terminate),
        Signal(27, "PROF", .terminate), Signal(28, "WINCH", .ignore), Signal(29, "IO", .terminate),
        Signal(30, "PWR", .terminate), Signal(31, "SYS", .core),
    ]

    private init(_ number: Int32, _ name: String, _ action: DefaultAction) {
        self.number = number
        self.name = name
        self.defaultAction = action
    }

    public static let hup = Signal(1, "HUP", .terminate)
    public static let int = Signal(2, "INT", .terminate)
    public static let kill = Signal(9, "KILL", .terminate)
    public static let term = Signal(15, "TERM", .terminate)
    public static let chld = Signal(17, "CHLD", .ignore)

    /// The signal with this number (1-31), or nil.
    public init?(number: Int32) {
        guard let found = Signal.table.first(where: { $0.number == number }) else { return nil }
        self = found
    }

    /// The signal named `TERM`, `SIGTERM` or `term`, or given as a number (`"15"`), or nil.
    public init?(name: String) {
        if let number = Int32(name) {
            self.init(number: number)
            return
        }
        var upper = name.uppercased()
        if upper.hasPrefix("SIG") { upper.removeFirst(3) }
        guard let found = Signal.table.first(where: { $0.name == upper }) else { return nil }
        self = found
    }

    /// `SIGTERM`.
    public var description: String { "SIG\(name)" }

    /// Whether an unhandled delivery ends the process.
    public var terminatesByDefault: Bool { defaultAction == .terminate || defaultAction == .core }

    /// The exit code a shell reports for a process killed by this signal: 128 + number.
    public var exitCode: Int32 { 128 + number }
}
