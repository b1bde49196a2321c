import ArgumentParser
import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// `podsh logs NAME CONTAINER`: a container's log (stdout and stderr as written, across its
/// rotation).
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a linux pod container's log.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "The run before the current one.") var previous = false
    @Argument(help: "The pod's name or id.") var name: String
    @Argument(help: "The container (default: the only one).") var container: String?

    func run() throws {
        let state = try global.state(for: "logs")
        let r = try global.pod(name, in: state)
        let names = r.containers.map(\.name)
        guard let chosen = container ?? (names.count == 1 ? names[0] : nil) else {
            stderrWrite("podsh: pod \(r.name) has \(names.count) containers (\(names.joined(separator: ", "))): name one\n")
            throw ExitCode(2)
        }
        guard let entry = r.containers.first(where: { $0.name == chosen }) else {
            stderrWrite("podsh: pod \(r.name) has no container \"\(chosen)\" that ran\n")
            throw ExitCode(1)
        }
        let run = previous ? entry.run - 1 : entry.run
        guard run >= 1 else {
            stderrWrite("podsh: container \"\(chosen)\" has no previous run\n")
            throw ExitCode(1)
        }
        let path = global.stateDir + "/pods/\(r.id)/logs/\(chosen)/\(run).log"
        // The run's log across its rotation (`<run>.log.1`, then `<run>.log`).
        if let code = ContainerLog.copy(path, to: 1) {
            stderrWrite("podsh: \(path): \(String(cString: strerror(code)))\n")
            throw ExitCode(1)
        }
    }
}
