import ArgumentParser
import PodLinux

/// `podsh stop NAME`: SIGTERM to its containers, SIGKILL after the grace period.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a linux pod's containers (TERM, then KILL).")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Seconds between TERM and KILL.") var grace: Double = 30
    @Flag(help: "Even when its owner is running.") var force = false
    @Argument(help: "The pod's name or id.") var name: String

    func run() throws {
        let state = try global.state(for: "stop")
        let r = try global.pod(name, in: state)
        try requireUnowned(r, force: force, "stop")
        state.stop(r, grace: grace)
        stdoutWrite("stopped \(r.name) (\(r.id))\n")
    }
}
