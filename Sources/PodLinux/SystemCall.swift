import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// The one funnel for the linux backend's system calls made from Swift, and for the failures the
/// C side reports from its children: every failure becomes a `BackendError` whose message names
/// the call and what it was called on — `mount(tmpfs, /run/swift-pods/pods/web-1/volumes/cache):
/// Operation not permitted`, `setns(/proc/4711/ns/net): Invalid argument` — and keeps the errno
/// (`systemError`); EINTR is retried here and nowhere else.
enum SystemCall {
    /// Runs `body` (a call returning -1 with errno on failure: a descriptor, a status, a byte
    /// count) until it is not interrupted; its result, or the failure of `call` on `target` for
    /// `operation`.
    @discardableResult
    static func check<Result: BinaryInteger>(
        _ call: String, _ target: @autoclosure () -> String, operation: String,
        _ body: () -> Result
    ) throws(BackendError) -> Result {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw failure(call, target(), code, operation: operation)
        }
    }

    /// The error of `call` on `target` failing with `code`: `resourceExhausted` for EAGAIN and
    /// ENOMEM (a pids limit, memory), `system` otherwise.
    static func failure(_ call: String, _ target: String, _ code: Int32, operation: String) -> BackendError {
        let kind: BackendError.Code = code == EAGAIN || code == ENOMEM ? .resourceExhausted : .system
        var message = "\(named(call, target)): \(LinuxSystem.describe(code))"
        if call == "memfd_create" && code == EACCES {
            message += " (the host refuses to execute memfds: vm.memfd_noexec = 2)"
        }
        return BackendError(kind, operation, message, systemError: code)
    }

    /// The error a child of the C side reported (`podspawn_error`: the call, its target, errno).
    static func failure(_ error: podspawn_error, operation: String) -> BackendError {
        failure(call(of: error), target(of: error), error.error, operation: operation)
    }

    /// The call a `podspawn_error` names ("execve", "mount", ...).
    static func call(of error: podspawn_error) -> String {
        error.step.map { String(cString: $0) } ?? "spawn"
    }

    /// What the call was made on, or "" when nothing is named.
    static func target(of error: podspawn_error) -> String {
        var copy = error.target
        return withUnsafeBytes(of: &copy) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// `call(target)`, or `call` alone when there is no target.
    static func named(_ call: String, _ target: String) -> String {
        target.isEmpty ? call : "\(call)(\(target))"
    }
}

/// The namespaces of a pod, from the C side's one table (`podspawn_namespaces`): the bit, the
/// CLONE_ flag and the /proc/PID/ns name of each, in the order processes join them.
public struct LinuxNamespace: Sendable, Hashable {
    public let bit: Int32
    public let cloneFlag: Int32
    public let name: String

    /// Every kind, in join order (ipc, uts, net, pid, mnt).
    public static let all: [LinuxNamespace] = {
        var table = podspawn_namespaces
        return withUnsafeBytes(of: &table) { raw in
            raw.bindMemory(to: podspawn_namespace.self).map {
                LinuxNamespace(bit: $0.bit, cloneFlag: $0.clone_flag, name: String(cString: $0.name))
            }
        }
    }()

    public static func named(_ name: String) -> LinuxNamespace? { all.first { $0.name == name } }
    static var ipc: LinuxNamespace { named("ipc")! }
    static var uts: LinuxNamespace { named("uts")! }
    static var net: LinuxNamespace { named("net")! }
    static var pid: LinuxNamespace { named("pid")! }

    /// The kinds whose bits are set in `bits`.
    public static func kinds(in bits: Int32) -> [LinuxNamespace] { all.filter { bits & $0.bit != 0 } }

    /// `/proc/PID/ns/NAME`.
    public func path(of pid: pid_t) -> String { "/proc/\(pid)/ns/\(name)" }
}
