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

/// `podsh`: runs pod scripts. `podsh FILE.lua [ARGS...]` runs a script (`arg` set as lua.c
/// does), `podsh -e CHUNK` runs a chunk, and without either the script comes from standard
/// input, or on a terminal the interactive prompt. Commands: `test`, `play`, `kube`, `diagram`.
@main
struct Podsh: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podsh",
        abstract: "Describe, run and test Kubernetes-style pods from Lua.",
        usage: "podsh [OPTIONS] [FILE.lua [ARGS...] | -e CHUNK]\n       podsh COMMAND [OPTIONS] ... (podsh help)",
        version: "podsh \(PodCoreVersion.string) (\(LuaState.luaRelease))",
        helpNames: []
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customShort("e"), help: "Run this chunk instead of a file.")
    var chunk: String?

    @Argument(parsing: .captureForPassthrough, help: "The script to run, then its arguments (passed on as they are).")
    var script: [String] = []

    mutating func run() throws {
        // The script's words are taken as they are (an option after the script is the script's),
        // so podsh's own options that stand first are looked at here.
        if script.first == "--" {
            script.removeFirst()
        } else if let first = script.first, first.hasPrefix("-"), first != "-" {
            if first == "--version" {
                stdoutWrite(Podsh.configuration.version + "\n")
                return
            }
            stderrWrite("podsh: Unknown option '\(first)'\nUsage: see podsh help\n")
            throw ExitCode(2)
        }
        if chunk == nil, let first = script.first, first != "-" { try Podsh.refuseUnknownWord(first) }
        let configuration = try global.backendConfiguration(sandboxed: !global.unsafe)
        let host = try ScriptHost(
            options: try global.luaOptions, configuration: configuration,
            backend: try global.makeBackend(configuration))
        // Ctrl-C, SIGTERM and SIGHUP stop the script (and the runtime's waits); podsh then
        // leaves through its normal exit, which removes the pods (on linux they are in sessions
        // of their own and would outlive a podsh killed by the signal). At the prompt Ctrl-C
        // stops only the running chunk.
        Signals.install(sigintQuits: !(chunk == nil && script.isEmpty && isatty(0) != 0))
        if let chunk {
            let arguments = script + (Podsh.scriptArguments ?? [])
            host.lua.setArg(script: "-e", arguments: arguments)
            throw host.exitCode(running: chunk, name: "=(command line)", arguments: arguments)
        }
        guard let file = script.first else {
            // No file: the prompt on a terminal, otherwise standard input is the script (lua.c).
            if isatty(0) != 0 {
                host.lua.setArg(script: "", arguments: [])
                throw Prompt(host: host, backendName: global.backendName, json: global.json).run()
            }
            let input = try readStandardInput()
            host.lua.setArg(script: "-", arguments: [])
            throw host.exitCode(running: input, name: "=stdin", arguments: [])
        }
        let arguments = Podsh.scriptArguments ?? Array(script.dropFirst())
        if file == "-" {  // `podsh - ARGS`: the script from standard input, as lua.c reads it
            host.lua.setArg(script: "-", arguments: arguments)
            throw host.exitCode(running: try readStandardInput(), name: "=stdin", arguments: arguments)
        }
        let source = try readInput(file)
        host.lua.setArg(script: file, arguments: arguments)
        throw host.exitCode(running: source, name: "@\(file)", arguments: arguments)
    }

    /// The commands, by their first word, in the order help lists them; anything else is a
    /// script (as lua.c takes it).
    static let commands: [(name: String, type: any ParsableCommand.Type)] = [
        ("test", TestCommand.self), ("play", PlayCommand.self), ("kube", KubeCommand.self), ("diagram", DiagramCommand.self),
        ("image", ImageCommand.self), ("ps", PsCommand.self), ("inspect", InspectCommand.self), ("logs", LogsCommand.self),
        ("stop", StopCommand.self), ("rm", RmCommand.self), ("gc", GcCommand.self), ("doctor", DoctorCommand.self), ("help", HelpCommand.self),
    ]

    static func command(named name: String) -> (any ParsableCommand.Type)? {
        commands.first { $0.name == name }?.type
    }

    /// Dispatches on the first word after the global options, which may stand before it (they
    /// are moved after it); usage errors exit 2 (ArgumentParser's default is 64), help and
    /// version exit 0.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let (globals, index) = leadingGlobalOptions(arguments)
        var type: any ParsableCommand.Type = Podsh.self
        var rest = arguments
        if index < arguments.count, let found = command(named: arguments[index]) {
            type = found
            rest = globals + Array(arguments[(index + 1)...])
        } else if index < arguments.count, arguments[index] == "--help" || arguments[index] == "-h" {
            stdoutWrite(Podsh.overview())
            Glibc.exit(0)
        }
        if type == Podsh.self, let cut = scriptWordIndex(rest) {
            // The script's own arguments go around the parser, which is quadratic in the
            // number of positional words (100,000 of them hung it); they are the script's.
            Podsh.scriptArguments = Array(rest[(cut + 1)...])
            rest = Array(rest[...cut])
        }
        do {
            var command = try type.parseAsRoot(rest)
            try command.run()
            leave(Signals.exitStatus(0))
        } catch let code as ExitCode {
            leave(Signals.exitStatus(code.rawValue))
        } catch {
            let code = type.exitCode(for: error)
            if code == .success {
                print(type.fullMessage(for: error))
                leave(0)
            }
            if code.rawValue == ExitCode.validationFailure.rawValue {
                let name = type == Podsh.self ? "podsh" : "podsh \(arguments[index])"
                stderrWrite("podsh: \(type.message(for: error))\nUsage: see \(name) --help\n")
                leave(2)
            }
            stderrWrite("podsh: \(type.fullMessage(for: error))\n")
            leave(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }

    /// Exits once no pod removal is under way on another thread (the watchdog's): exiting in the
    /// middle of one would leave half a pod directory.
    static func leave(_ status: Int32) -> Never {
        LinuxBackend.holdRemovalsUntilExit()
        Glibc.exit(status)
    }

    /// The arguments after the script's name, taken out before parsing (nil: none were).
    nonisolated(unsafe) static var scriptArguments: [String]?

    /// The index of the script's name in podsh's own words: the first word that is not one of
    /// podsh's options (or the word after `--`); nil when there is none or an unknown option
    /// comes first (the parser then says what is wrong).
    static func scriptWordIndex(_ words: [String]) -> Int? {
        var i = 0
        while i < words.count {
            let word = words[i]
            let name = String(word.split(separator: "=", maxSplits: 1).first ?? "")
            if word == "--" { return i + 1 < words.count ? i + 1 : nil }
            if word == "-" || !word.hasPrefix("-") { return i }
            if GlobalOptions.valued.contains(name) {
                i += word.contains("=") ? 1 : 2
            } else if GlobalOptions.flags.contains(word) {
                i += 1
            } else if word == "-e" {
                i += 2
            } else if word.hasPrefix("-e") {
                i += 1
            } else {
                return nil
            }
        }
        return nil
    }

    /// The global options before the first other word, and that word's index.
    static func leadingGlobalOptions(_ arguments: [String]) -> ([String], Int) {
        var globals: [String] = []
        var i = 0
        while i < arguments.count {
            let word = arguments[i]
            let name = String(word.split(separator: "=", maxSplits: 1).first ?? "")
            if GlobalOptions.valued.contains(name) {
                let take = word.contains("=") ? 1 : 2
                globals += arguments[i..<min(i + take, arguments.count)]
                i += take
            } else if GlobalOptions.flags.contains(word) {
                globals.append(word)
                i += 1
            } else {
                break
            }
        }
        return (globals, min(i, arguments.count))
    }

    /// A first word that is neither a command nor a file: a usage error naming the closest
    /// command, unless the word looks like a path (then it is a missing script, as lua.c says).
    static func refuseUnknownWord(_ word: String) throws {
        let looksLikePath = word.contains("/") || [".lua", ".yaml", ".yml"].contains { word.hasSuffix($0) }
        guard !looksLikePath, access(word, F_OK) != 0 else { return }
        let names = commands.map(\.name)
        let close = names.map { ($0, editDistance($0, word)) }.filter { $0.1 <= 2 || $0.0.hasPrefix(word) }
            .min { $0.1 < $1.1 }
        let hint = close.map { " (did you mean '\($0.0)'?)" } ?? ""
        stderrWrite(
            "podsh: '\(word)' is not a command or a file\(hint)\nUsage: podsh [OPTIONS] FILE.lua [ARGS...] | podsh COMMAND ...; see podsh help\n"
        )
        throw ExitCode(2)
    }

    /// podsh's overview: usage, the global options, every command with its abstract, examples;
    /// wrapped to the terminal's width.
    static func overview() -> String {
        let width = terminalColumns()
        var text = paragraph("podsh \(PodCoreVersion.string): describe, run and test Kubernetes-style pods from Lua.", width) + "\n"
        text += "Usage:\n"
        text += wrapped(
            "podsh [OPTIONS] FILE.lua [ARGS...]",
            "run a script (`arg` as lua.c sets it); without FILE, the prompt on a terminal, else standard input", width)
        text += wrapped("podsh [OPTIONS] -e CHUNK", "run a chunk", width)
        text += wrapped(
            "podsh COMMAND [OPTIONS] ...", "one of the commands below; the global options may stand before or after COMMAND", width)
        text += "\nCommands:\n"
        for (name, type) in commands {
            text += wrapped(name, type.configuration.abstract, width)
        }
        text += "\nGlobal options:\n"
        for (flag, what) in [
            (
                "--backend NAME",
                "the backend: \(BackendRegistry.standard.entries.map { "\($0.name) (\($0.summary))" }.joined(separator: "; "))"
            ),
            ("--state-dir DIR", "the linux backend's state directory (default \(LinuxBackendOptions.defaultStateDir))"),
            ("--image-dir DIR", "the linux backend's images (default \(LinuxBackendOptions.defaultImageDir))"),
            ("--cgroup-parent PATH", "the cgroup the linux backend's pods go below (default swift-pods)"),
            ("--unsafe", "lift the Lua sandbox and its limits (trusted scripts only)"),
            ("--json", "print records as JSON"),
            ("--version", "print the version"),
        ] {
            text += wrapped(flag, what, width)
        }
        text += "\nExamples:\n"
        for (example, what) in [
            ("podsh scripts/demo.lua", "the seed article's pod on the simulated kernel"),
            ("podsh -e 'print(pod.backend())'", "run a chunk"),
            ("podsh test Tests/Scenarios", "scenario tests; the last line is \"N passed, N failed\""),
            ("podsh play scripts/seed-pod.yaml", "run a Kubernetes Pod manifest and follow its events"),
            ("podsh kube scripts/demo.lua", "the manifests of the pods a script creates"),
            ("podsh --backend linux scripts/demo-linux.lua", "a pod on real namespaces (root)"),
            ("podsh help ps", "one command's options"),
        ] {
            text += wrapped(example, what, width)
        }
        return text
    }
}
