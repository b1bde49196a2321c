import Foundation
import PodTestSupport
import Testing

/// The real `podsh` binary, spawned as a process: exit codes, stdout and stderr of every command.
@Suite("podsh", .serialized)
struct PodshTests {
    static let root = PackageLayout.root

    static var podsh: String? { PackageLayout.builtProduct("podsh") }

    typealias Run = CommandRun

    /// Runs podsh (or `tool`) from the package's root directory.
    static func run(_ arguments: [String], stdin: String? = nil, tool: String? = nil) throws -> Run {
        guard let executable = tool ?? podsh else {
            try Test.cancel("podsh is not built next to the tests (swift build --product podsh)")
        }
        return try Command.run(executable, arguments, stdin: stdin, directory: root)
    }

    @Test func versionHelpAndChunks() throws {
        let version = try Self.run(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("podsh 0.1.0 (Lua 5.4"))
        let help = try Self.run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("podsh test Tests/Scenarios"))
        let chunk = try Self.run(["-e", "print(1, arg[0], arg[1], math.type(2))", "x"])
        #expect(chunk.status == 0 && chunk.stdout == "1\t-e\tx\tinteger\n")
        let piped = try Self.run([], stdin: "print(pod.backend())")
        #expect(piped.stdout == "sim\n" && piped.status == 0)
    }

    @Test func scriptsGetTheirArguments() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("podsh-args-\(UUID().uuidString).lua")
        try "print(arg[0] == ..., select('#', ...), ...)".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try Self.run([file.path, "a", "b"])
        #expect(run.stdout == "false\t2\ta\tb\n", "\(run.stderr)")
    }

    @Test func badInputIsOneClearLine() throws {
        let missing = try Self.run(["no-such-file.lua"])
        #expect(missing.status == 1 && missing.stderr == "podsh: cannot open no-such-file.lua: No such file or directory\n")
        let syntax = try Self.run(["-e", "x = = 1"])
        #expect(syntax.status == 1 && syntax.stderr == "podsh: (command line):1: unexpected symbol near '='\n")
        let runtime = try Self.run(["-e", "pod.create{ name = 'x', contianers = {} }"])
        #expect(runtime.status == 1)
        #expect(runtime.stderr.hasPrefix("podsh: (command line):1: pod.create: spec.contianers: unknown field 'contianers'"))
        #expect(runtime.stderr.contains("stack traceback:"))
        let flag = try Self.run(["--bogus"])
        #expect(flag.status == 2 && flag.stderr.hasPrefix("podsh: Unknown option '--bogus'"))
        let backend = try Self.run(["--backend", "docker", "-e", "print(1)"])
        #expect(backend.status == 2 && backend.stderr == "podsh: unknown backend 'docker' (sim, linux)\n")
        let notPod = try Self.run(["play", "Package.swift"])
        #expect(notPod.status == 1 && notPod.stderr.hasPrefix("podsh: Package.swift: "))
        #expect(!(missing.stderr + syntax.stderr + flag.stderr + notPod.stderr).contains("Fatal error"))
    }

    @Test func testCommandPrintsTAPAndTheSummaryLine() throws {
        let pass = try Self.run(["test", "Tests/Scenarios"])
        #expect(pass.status == 0)
        let lines = pass.stdout.split(separator: "\n")
        #expect(lines.last.map(String.init)?.hasSuffix(" passed, 0 failed") == true)
        #expect(lines.contains { $0.hasPrefix("ok ") && $0.contains("lifecycle.lua: kill counts as a crash") })
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("podsh-failing-\(UUID().uuidString).lua")
        try "test('good', function() end)\ntest('bad', function() error('broken') end)\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let fail = try Self.run(["test", file.path])
        #expect(fail.status == 1)
        #expect(fail.stdout.hasSuffix("1 passed, 1 failed\n"), "\(fail.stdout)")
        #expect(fail.stdout.contains("not ok 2 - \(file.path): bad\n# \(file.path):2: broken"), "\(fail.stdout)")
        let filtered = try Self.run(["test", "--filter", "good", file.path])
        #expect(filtered.stdout.hasSuffix("1 passed, 0 failed\n") && filtered.status == 0)
    }

    @Test func playFollowsAManifestTheSimCanRun() throws {
        let play = try Self.run(["play", "scripts/play-web.yaml", "--for", "5"])
        #expect(play.stdout.contains("Started page/write-page: Started container write-page"), "\(play.stdout)")
        #expect(play.stdout.contains("Started page/httpd: Started container httpd"))
        #expect(play.stdout.contains("write-page: Completed, exit code 0, 0 restarts"), "\(play.stdout)")
        // A manifest whose commands the sim does not have: StartError, said clearly.
        let seed = try Self.run(["play", "scripts/seed-pod.yaml", "--for", "2"])
        #expect(seed.status == 1)
        #expect(seed.stdout.contains("Warning Failed web/node-server: Error: exec: \"node\": executable file not found in $PATH"))
        #expect(seed.stdout.contains("pod web: Failed"))
    }

    static let validator: String? = {
        let local = root.appendingPathComponent(".venv/bin/kubernetes-validate").path
        return FileManager.default.isExecutableFile(atPath: local) ? local : nil
    }()

    @Test func kubePrintsManifestsThatValidate() throws {
        let kube = try Self.run(["kube", "scripts/demo.lua"])
        #expect(kube.status == 0, "\(kube.stderr)")
        #expect(kube.stdout.contains("kind: Pod") && kube.stdout.contains("name: web-apart"))
        guard let validator = Self.validator else {
            if ProcessInfo.processInfo.environment["CI"] != nil { Issue.record("kubernetes-validate missing in CI") }
            try Test.cancel("kubernetes-validate is not installed (make test installs it)")
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("podsh-kube-\(UUID().uuidString).yaml")
        try kube.stdout.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let check = try Self.run(["--strict", file.path], tool: validator)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test func diagramIsValidDOT() throws {
        let diagram = try Self.run(["diagram", "scripts/seed-pod.yaml"])
        #expect(diagram.status == 0 && diagram.stdout.hasPrefix("digraph pods {"))
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/dot") else {
            if ProcessInfo.processInfo.environment["CI"] != nil { Issue.record("graphviz missing in CI") }
            try Test.cancel("Graphviz's dot is not installed (make test installs it)")
        }
        let svg = try Self.run(["diagram", "--svg", "scripts/seed-pod.yaml"])
        #expect(svg.status == 0 && svg.stdout.contains("<svg"), "\(svg.stderr)")
        let fromLua = try Self.run(["diagram", "scripts/demo.lua"])
        #expect(fromLua.stdout.contains("cluster_web-apart"))
    }

    @Test func theDemoShowsTheSeedArticle() throws {
        let demo = try Self.run(["scripts/demo.lua"])
        #expect(demo.status == 0, "\(demo.stderr)")
        for line in [
            "You've hit web\n", "    1 root     pause\n", "$ hostname   # in nginx\nweb\n", "You've hit web-apart\n",
            "    1 root     node app.js\n", "SandboxChanged Pod sandbox changed, it will be killed and re-created.",
        ] {
            #expect(demo.stdout.contains(line), "missing: \(line)")
        }
    }
}
