import ArgumentParser
import PodLinux

/// `podsh rm NAME`: kills what runs and frees everything the pod holds.
struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a linux pod (kill, unmount, free).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var pod: UnownedPod

    func run() throws {
        let (state, r) = try pod.resolve(global, command: "rm", verb: "remove")
        let left = state.remove(r)
        if !left.isEmpty {
            stderrWrite("podsh: \(r.name): could not remove \(left.joined(separator: ", "))\n")
            throw ExitCode(1)
        }
        stdoutWrite("removed \(r.name) (\(r.id))\n")
    }
}
