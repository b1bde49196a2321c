import ArgumentParser
import PodLinux

/// `podsh stop NAME`: SIGTERM to its containers, SIGKILL after the grace period.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a linux pod's containers (TERM, then KILL).")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Seconds between TERM and KILL.") var grace: Double = 30
    @OptionGroup var pod: UnownedPod

    func run() throws {
        let (state, r) = try pod.resolve(global, command: "stop", verb: "stop")
        state.stop(r, grace: grace)
        stdoutWrite("stopped \(r.name) (\(r.id))\n")
    }
}
