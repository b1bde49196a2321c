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

    /// The Linux signal number; the name and default action come from the table.
    public let number: Int32

    /// signal(7): number, name without the SIG prefix, default action.
    static let table: [(number: Int32, name: String, action: DefaultAction)] = [
        (1, "HUP", .terminate), (2, "INT", .terminate), (3, "QUIT", .core), (4, "ILL", .core), (5, "TRAP", .core),
        (6, "ABRT", .core), (7, "BUS", .core), (8, "FPE", .core), (9, "KILL", .terminate), (10, "USR1", .terminate),
        (11, "SEGV", .core), (12, "USR2", .terminate), (13, "PIPE", .terminate), (14, "ALRM", .terminate),
        (15, "TERM", .terminate), (16, "STKFLT", .terminate), (17, "CHLD", .ignore), (18, "CONT", .continue),
        (19, "STOP", .stop), (20, "TSTP", .stop), (21, "TTIN", .stop), (22, "TTOU", .stop), (23, "URG", .ignore),
        (24, "XCPU", .core), (25, "XFSZ", .core), (26, "VTALRM", .terminate), (27, "PROF", .terminate),
        (28, "WINCH", .ignore), (29, "IO", .terminate), (30, "PWR", .terminate), (31, "SYS", .core),
    ]

    private init(_ number: Int32) { self.number = number }

    /// The name without the SIG prefix: `TERM`.
    public var name: String { Signal.table[Int(number) - 1].name }
    /// What the kernel does with it when there is no handler.
    public var defaultAction: DefaultAction { Signal.table[Int(number) - 1].action }

    public static let hup = Signal(1)
    public static let int = Signal(2)
    public static let kill = Signal(9)
    public static let term = Signal(15)
    public static let chld = Signal(17)

    /// The signal with this number (1-31), or nil.
    public init?(number: Int32) {
        guard (1...Int32(Signal.table.count)).contains(number) else { return nil }
        self.init(number)
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
        self.init(found.number)
    }

    /// `SIGTERM`.
    public var description: String { "SIG\(name)" }

    /// Whether an unhandled delivery ends the process.
    public var terminatesByDefault: Bool { defaultAction == .terminate || defaultAction == .core }

    /// The exit code a shell reports for a process killed by this signal: 128 + number.
    public var exitCode: Int32 { 128 + number }
}
