import Foundation
import PodTestSupport
import Testing

/// podsh's command line as one structure: global options before or after any command,
/// usage errors with a suggestion, `help`, help wrapped at the terminal's width.
@Suite("podsh command line")
struct CommandLineTests {
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandRun {
        guard let podsh = PodshTests.podsh else { try Test.cancel("podsh is not built next to the tests") }
        return try Command.run(podsh, arguments, environment: environment, directory: PodshTests.root)
    }

    @Test func aWordThatIsNeitherACommandNorAFileIsAUsageErrorWithASuggestion() throws {
        let typo = try Self.run(["pss"])
        #expect(typo.status == 2)
        #expect(typo.stderr.hasPrefix("podsh: 'pss' is not a command or a file (did you mean 'ps'?)\n"), "\(typo.stderr)")
        let far = try Self.run(["frobnicate"])
        #expect(far.status == 2 && far.stderr.hasPrefix("podsh: 'frobnicate' is not a command or a file\n"), "\(far.stderr)")
        // What looks like a path is a missing script, as lua.c says.
        for path in ["missing.lua", "dir/missing", "pod.yaml"] {
            let missing = try Self.run([path])
            #expect(missing.status == 1 && missing.stderr == "podsh: cannot open \(path): No such file or directory\n", "\(missing.stderr)")
        }
    }

    @Test func helpListsEveryCommandAndEachCommandsOptions() throws {
        let help = try Self.run(["help"])
        #expect(help.status == 0)
        for command in ["test", "play", "kube", "diagram", "image", "ps", "inspect", "logs", "stop", "rm", "gc", "help"] {
            #expect(help.stdout.contains("\n  \(command) "), "help lists \(command)")
        }
        #expect(help.stdout.contains("--backend NAME"))
        #expect(try Self.run(["--help"]).stdout == help.stdout)
        let ps = try Self.run(["help", "ps"])
        #expect(ps.status == 0 && ps.stdout.contains("--state-dir"), "\(ps.stdout)")
        let unknown = try Self.run(["help", "pss"])
        #expect(unknown.status == 2 && unknown.stderr.contains("did you mean 'ps'?"))
    }

    @Test func helpIsWrappedAtTheTerminalsWidth() throws {
        for columns in [50, 80, 120] {
            let help = try Self.run(["help"], environment: ["COLUMNS": String(columns)])
            let widest = help.stdout.split(separator: "\n").map(\.count).max() ?? 0
            #expect(widest <= columns, "\(columns) columns: a line of \(widest)")
        }
    }

    @Test func globalOptionsStandBeforeOrAfterTheCommand() throws {
        let dir = Scratch.directory("podsh-cli")
        defer { Scratch.remove(dir) }
        // A cgroup parent of its own: gc removes the cgroups below its parent that no pod claims.
        let parent = "swift-pods-test-cli-\(getpid())"
        let before = try Self.run(["--json", "--state-dir", dir, "--cgroup-parent", parent, "gc"])
        let after = try Self.run(["gc", "--state-dir=\(dir)", "--json", "--cgroup-parent=\(parent)"])
        #expect(before.status == after.status)
        #expect(before.stdout == after.stdout)
        if before.status == 0 {
            #expect(before.stdout == "{\"pods\":[],\"cgroups\":[],\"directories\":[],\"failures\":[]}\n", "\(before.output)")
        }
        let ps = try Self.run(["--state-dir", dir, "--cgroup-parent", parent, "ps", "--json"])
        if ps.status == 0 { #expect(ps.stdout == "[]\n", "\(ps.output)") }
        // A backend that keeps no pods outside its owner has no state directory to read.
        let sim = try Self.run(["--backend", "sim", "ps"])
        #expect(sim.status == 2 && sim.stderr.contains("ps reads the linux backend's state directory"), "\(sim.stderr)")
        let images = try Self.run(["image", "ls", "--backend", "sim"])
        #expect(images.status == 2 && images.stderr.contains("image manages the linux backend's images"), "\(images.stderr)")
        // Before a script, the options are podsh's; after it, the script's arguments.
        let file = dir + "/args.lua"
        try "print(pod.backend(), ...)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let script = try Self.run(["--backend", "sim", file, "--json", "--backend", "x"])
        #expect(script.status == 0 && script.stdout == "sim\t--json\t--backend\tx\n", "\(script.output)")
    }
}
