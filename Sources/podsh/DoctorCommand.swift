import ArgumentParser
import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// `podsh doctor`: what this machine has for the linux backend, as root and rootless, each
/// missing piece named with the way to get it. Exit 0 when the backend can run here as this
/// user, 1 otherwise.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Check what the linux backend needs here, as root and rootless.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        func show(_ checks: [LinuxPreflight.Check]) {
            for check in checks {
                stdoutWrite("  \(check.ok ? "ok     " : "MISSING") \(check.name): \(check.detail)\n")
            }
        }
        let uid = geteuid()
        let user = getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? String(uid)
        stdoutWrite("linux backend, as root:\n")
        let root = LinuxPreflight.rootChecks()
        show(root)
        stdoutWrite("rootless, as \(user) (uid \(uid)):\n")
        let rootless = LinuxPreflight.rootlessChecks(user: user, uid: uid)
        show(rootless)
        let ready = root.allSatisfy(\.ok)
        if uid == 0 {
            stdoutWrite(ready ? "the linux backend runs here (as root)\n" : "the linux backend cannot run here: see MISSING above\n")
        } else {
            let missing = rootless.filter { !$0.ok }.map(\.name)
            stdoutWrite(
                "the linux backend needs root: running it as a non-root user is not supported yet"
                    + (missing.isEmpty ? " (this machine has what it would need)\n" : " (this machine also lacks: \(missing.joined(separator: ", ")))\n"))
        }
        if uid != 0 || !ready { throw ExitCode(1) }
    }
}
