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
}
