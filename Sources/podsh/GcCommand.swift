import ArgumentParser
import PodLinux

/// `podsh gc`: removes what owners that died left behind.
struct GcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Remove what dead owners left: pods, cgroups, directories.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let state = try global.state(for: "gc")
        let done = state.collect()
        if global.json {
            stdoutWrite(
                JSON.object([
                    ("pods", JSON.strings(done.pods)), ("cgroups", JSON.strings(done.cgroups)),
                    ("directories", JSON.strings(done.directories)), ("failures", JSON.strings(done.failures)),
                ]).jsonText + "\n")
            if !done.failures.isEmpty { throw ExitCode(1) }
            return
        }
        for pod in done.pods { stdoutWrite("removed pod \(pod)\n") }
        for cgroup in done.cgroups { stdoutWrite("removed cgroup \(cgroup)\n") }
        for dir in done.directories { stdoutWrite("removed directory \(dir)\n") }
        if !done.failures.isEmpty {
            stderrWrite("podsh: gc could not remove \(done.failures.joined(separator: ", "))\n")
            throw ExitCode(1)
        }
    }
}
