import ArgumentParser
import PodLinux

/// `podsh rm NAME`: kills what runs and frees everything the pod holds.
struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a linux pod (kill, unmount, free).")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Even when its owner is running.") var force = false
    @Argument(help: "The pod's name or id.") var name: String

    func run() throws {
        let state = try global.state(for: "rm")
        let r = try global.pod(name, in: state)
        try requireUnowned(r, force: force, "remove")
        let left = state.remove(r)
        if !left.isEmpty {
            stderrWrite("podsh: \(r.name): could not remove \(left.joined(separator: ", "))\n")
            throw ExitCode(1)
        }
        stdoutWrite("removed \(r.name) (\(r.id))\n")
    }
}
