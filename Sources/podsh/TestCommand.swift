import ArgumentParser
import PodBackends
import PodCore
import PodLinux
import PodLua
import PodManifests
import PodshLine

#if canImport(Glibc)
import Glibc
#endif

/// `podsh test [PATH...]`: every `*.lua` under the paths, each in a fresh runtime; one TAP line
/// a case, then `N passed, N failed` as the last line; exit 1 when any failed.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "test", abstract: "Run scenario tests (TAP output).")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Run only the cases (or files) whose name contains this.")
    var filter: String?

    @Flag(help: "Print what each case printed, as '#| ' lines after its TAP line (to compare backends).")
    var showOutput = false

    @Argument(help: "Files or directories (default: Tests/Scenarios).")
    var paths: [String] = []

    mutating func run() throws {
        let configuration = try global.backendConfiguration(sandboxed: !global.unsafe)
        _ = try global.makeBackend(configuration)  // says why the backend is unavailable, before any file runs
        let global = self.global
        let files = try scenarioFiles(paths.isEmpty ? ["Tests/Scenarios"] : paths)
        Signals.install(sigintQuits: true)  // a signal fails the running case and ends the run
        var number = 0
        var passed = 0
        var failed = 0
        for file in files where podsh_quit_requested() == 0 {
            let source = try readInput(file)
            let options = try global.luaOptions
            for result in ScenarioRunner.run(
                file: file, source: source, options: options, filter: filter,
                backend: configuration)
            {
                number += 1
                let name = result.name == file ? file : "\(file): \(result.name)"
                if result.passed {
                    passed += 1
                    stdoutWrite("ok \(number) - \(name)\n")
                    if showOutput { writeOutput(result.output) }
                } else {
                    failed += 1
                    stdoutWrite("not ok \(number) - \(name)\n")
                    for line in (result.message ?? "").split(separator: "\n", omittingEmptySubsequences: false) {
                        stdoutWrite("# \(line)\n")
                    }
                    if showOutput { writeOutput(result.output) }
                }
            }
        }
        if podsh_quit_requested() != 0 {  // TAP's word for a run that stopped before its end
            stdoutWrite("Bail out! \(Signals.name(podsh_quit_requested())) stopped the run\n")
        }
        stdoutWrite("1..\(number)\n")
        stdoutWrite("\(passed) passed, \(failed) failed\n")
        if failed > 0 { throw ExitCode(1) }
    }

    func writeOutput(_ text: String) {
        guard !text.isEmpty else { return }
        let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
        for line in body.split(separator: "\n", omittingEmptySubsequences: false) { stdoutWrite("#| \(line)\n") }
    }

    /// The `.lua` files of the paths: files as given, directories searched recursively, sorted.
    func scenarioFiles(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        for path in paths {
            var info = stat()
            guard stat(path, &info) == 0 else {
                stderrWrite("podsh: \(path): \(String(cString: strerror(errno)))\n")
                throw ExitCode(1)
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                out += luaFiles(in: path)
            } else {
                out.append(path)
            }
        }
        return out
    }

    func luaFiles(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if entry.pointee.d_type == UInt8(DT_DIR) {
                out += luaFiles(in: path)
            } else if name.hasSuffix(".lua") {
                out.append(path)
            }
        }
        return out.sorted()
    }
}
