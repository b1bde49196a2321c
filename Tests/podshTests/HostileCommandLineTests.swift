import Foundation
import PodTestSupport
import Testing

/// The command lines and inputs a hostile-input run found exhausting memory or time: each is a
/// clear error or a bounded cost.
@Suite("podsh hostile input")
struct HostileCommandLineTests {
    static func run(_ arguments: [String], stdin: String? = nil) throws -> CommandRun {
        guard let podsh = PodshTests.podsh else { try Test.cancel("podsh is not built next to the tests") }
        return try Command.run(podsh, arguments, stdin: stdin, directory: PodshTests.root)
    }

    /// A stream is read up to the limit plus one byte, never whole.
    @Test(
        "an endless stream is refused after 4 MiB",
        arguments: [["/dev/zero"], ["play", "/dev/zero"], ["diagram", "/dev/urandom"], ["kube", "/dev/zero"], ["test", "/dev/zero"]])
    func endlessStream(arguments: [String]) throws {
        let file = arguments.last ?? ""
        let result = try Self.run(arguments)
        #expect(result.status == 1)
        #expect(result.stderr == "podsh: cannot read \(file): larger than 4 MiB (the most podsh reads)\n", "\(result.stderr)")
    }

    @Test func standardInputHasTheSameLimit() throws {
        let result = try Self.run(["-"], stdin: String(repeating: "-- comment\n", count: 500_000))
        #expect(result.status == 1)
        #expect(result.stderr == "podsh: cannot read standard input: larger than 4 MiB (the most podsh reads)\n")
    }

    /// 100,000 script arguments hung the argument parser (it is quadratic in positional words).
    @Test func aHundredThousandScriptArguments() throws {
        let arguments = (1...100_000).map(String.init)
        let result = try Self.run(["-e", "print(#arg, arg[1], arg[#arg])"] + arguments)
        #expect(result.stdout == "100000\t1\t100000\n", "\(result.stderr)")
        let dir = Scratch.directory("args")
        defer { Scratch.remove(dir) }
        let file = dir + "/args.lua"
        try "print(#arg, arg[1], arg[#arg])\n".write(toFile: file, atomically: true, encoding: .utf8)
        // After `--` and the script, every word is the script's, options too.
        let script = try Self.run(["--backend", "sim", "--", file, "--x", "-e", "y"])
        #expect(script.stdout == "3\t--x\ty\n", "\(script.stderr)")
        let many = try Self.run([file] + arguments)
        #expect(many.stdout == "100000\t1\t100000\n", "\(many.stderr)")
    }

    @Test func aDurationBeyondThirtyDaysIsAUsageError() throws {
        let result = try Self.run(["play", "--for", "1e12", "scripts/play-web.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("podsh: --for must be at most 2592000 seconds (30 days of pod time)\n"), "\(result.stderr)")
    }

    /// Command lines a user (or a script generating them) can get wrong: each is one clear
    /// line naming the word, option or file at fault, with exit 1 (a failure) or 2 (usage).
    static let badCommandLines: [(arguments: [String], status: Int32, says: String)] = [
        (["--backend"], 2, "--backend"), (["--backend", ""], 2, "unknown backend ''"),
        (["--backend", "docker", "ps"], 2, "unknown backend 'docker'"), (["--state-dir"], 2, "--state-dir"),
        (["--timeout", "-5", "-e", "1"], 2, "--timeout"), (["--timeout", "1e999", "-e", "1"], 2, "--timeout"),
        (["--timeout", "", "-e", "1"], 2, "--timeout"), (["-e"], 2, "-e"), (["--bogus"], 2, "Unknown option '--bogus'"),
        (["-x"], 2, "Unknown option '-x'"), (["pss"], 2, "did you mean 'ps'"), (["tset"], 2, "did you mean 'test'"),
        (["no/such/script.lua"], 1, "cannot open no/such/script.lua"), (["/"], 1, "/"), (["/etc"], 1, "/etc"),
        (["play"], 2, "play"), (["play", "/nonexistent.yaml"], 1, "/nonexistent.yaml"), (["play", "/etc/passwd"], 1, "/etc/passwd"),
        (["play", "/dev/null"], 1, "/dev/null"), (["play", "scripts/play-web.yaml", "--for", "-1"], 2, "--for"),
        (["play", "scripts/play-web.yaml", "--for", "nan"], 2, "--for"), (["play", "scripts/play-web.yaml", "--for", "1e12"], 2, "--for"),
        (["kube"], 2, "kube"), (["kube", "/nonexistent.lua"], 1, "/nonexistent.lua"), (["diagram", "/nonexistent"], 1, "/nonexistent"),
        (["test", "/nonexistent"], 1, "/nonexistent"), (["test", "--filter"], 2, "--filter"),
        (["image"], 2, "image"), (["image", "import"], 2, "import"), (["image", "import", "x", "/nonexistent"], 1, "/nonexistent"),
        (["image", "rm"], 2, "rm"), (["logs"], 2, "logs"), (["stop", "--grace", "-1", "x"], 2, "--grace"),
        (["inspect", "--backend", "sim", "x"], 2, "the sim backend keeps no pods"), (["ps", "--backend", "sim"], 2, "the sim backend keeps no pods"),
        (["help", "nonsense"], 2, "nonsense"), (["-e", String(repeating: "(", count: 10_000)], 1, "podsh: "),
        (["-e", "error(setmetatable({}, {__tostring = function() error('x') end}))"], 1, "podsh: "),
        (["-e", "error(nil)"], 1, "podsh: "), (["-e", "error({})"], 1, "podsh: "), (["-e", "os.exit(3)"], 1, "field 'exit'"),
    ]

    @Test("a bad command line is one clear line", arguments: badCommandLines)
    func badCommandLine(arguments: [String], status: Int32, says: String) throws {
        let ran = result(within: 120) { try? Self.run(arguments) }
        guard let ran = ran ?? nil else {
            Issue.record("\(arguments): hung")
            return
        }
        #expect(ran.status == status, "\(arguments): \(ran)")
        #expect(ran.stderr.contains(says), "\(arguments): \(ran.stderr)")
        #expect(ran.stderr.hasPrefix("podsh: ") || ran.stderr.hasPrefix("Error: "), "\(arguments): \(ran.stderr)")
        #expect(!ran.stderr.contains("Fatal error") && !ran.stderr.contains("Stack dump"), "\(arguments): \(ran.stderr)")
    }
}
