#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PodCore
import PodManifests
import PodBackends
import PodLinux
import PodLua
import PodshLine

/// `podsh`: runs pod scripts. `podsh FILE.lua [ARGS...]` runs a script (`arg` set as lua.c
/// does), `podsh -e CHUNK` runs a chunk, and without either the script comes from standard
/// input, or on a terminal the interactive prompt. Commands: `test`, `play`, `kube`, `diagram`.
@main
struct Podsh: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podsh",
        abstract: "Describe, run and test Kubernetes-style pods from Lua.",
        discussion: """
            Commands:
              test [PATH...]      run scenario tests (TAP lines, then "N passed, N failed")
              play POD.yaml       run a Kubernetes Pod manifest and follow its events
              kube FILE.lua       print the manifests of the pods a script creates
              diagram FILE        print a pod's topology as Graphviz DOT (--svg renders it)
              image import NAME SRC | ls | rm NAME
                                  the linux backend's images (a rootfs directory or tarball)
              ps | inspect NAME | logs NAME [C] | stop NAME | rm NAME | gc
                                  the linux backend's pods in the state directory, any owner
            (podsh COMMAND --help for each.)

            Examples:
              podsh scripts/demo.lua              run a script (the seed article's pod)
              podsh -e 'print(pod.backend())'     run a chunk
              podsh test Tests/Scenarios          run scenario tests; the last line is "N passed, N failed"
              podsh play scripts/seed-pod.yaml    run a Kubernetes Pod manifest and follow its events
              podsh kube scripts/demo.lua         print the manifests of the pods a script creates
              podsh diagram scripts/seed-pod.yaml print the topology as Graphviz DOT (--svg renders it)
              podsh image import busybox rootfs/  a root file system as the image "busybox" (linux backend)
              podsh --backend linux scripts/demo-linux.lua   a pod on real namespaces (root)
            """,
        version: "podsh \(PodCoreVersion.string) (\(LuaState.luaRelease))"
    )

    @OptionGroup var common: CommonOptions

    @Option(name: .customShort("e"), help: "Run this chunk instead of a file.")
    var chunk: String?

    @Argument(help: "The script to run, then its arguments.")
    var script: [String] = []

    mutating func run() throws {
        let configuration = try common.backendConfiguration()
        let host = try ScriptHost(options: common.luaOptions, configuration: configuration,
                                  backend: try common.makeBackend(configuration))
        // Ctrl-C, SIGTERM and SIGHUP stop the script (and the runtime's waits); podsh then
        // leaves through its normal exit, which removes the pods (on linux they are in sessions
        // of their own and would outlive a podsh killed by the signal).
        podsh_sigint_install(host.lua.interruptFlag)
        podsh_quit_install(host.lua.interruptFlag)
        if let chunk {
            host.lua.setArg(script: "-e", arguments: script)
            throw host.exitCode(running: chunk, name: "=(command line)", arguments: script)
        }
        guard let file = script.first else {
            // No file: the prompt on a terminal, otherwise standard input is the script (lua.c).
            if isatty(0) != 0 {
                host.lua.setArg(script: "", arguments: [])
                throw Prompt(host: host, backendName: common.backend, json: common.json).run()
            }
            let input = readAll(fd: 0)
            host.lua.setArg(script: "-", arguments: [])
            throw host.exitCode(running: input, name: "=stdin", arguments: [])
        }
        let source = try readInput(file)
        let arguments = Array(script.dropFirst())
        host.lua.setArg(script: file, arguments: arguments)
        throw host.exitCode(running: source, name: "@\(file)", arguments: arguments)
    }

    /// The commands, by their first word; anything else is a script (as lua.c takes it).
    static let commands: [String: any ParsableCommand.Type] = [
        "test": TestCommand.self, "play": PlayCommand.self, "kube": KubeCommand.self, "diagram": DiagramCommand.self,
        "image": ImageCommand.self, "ps": PsCommand.self, "inspect": InspectCommand.self, "logs": LogsCommand.self,
        "stop": StopCommand.self, "rm": RmCommand.self, "gc": GcCommand.self,
    ]

    /// Dispatches on the first word; usage errors exit 2 (ArgumentParser's default is 64), help
    /// and version exit 0.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let type: any ParsableCommand.Type = arguments.first.flatMap { commands[$0] } ?? Podsh.self
        let rest = type == Podsh.self ? arguments : Array(arguments.dropFirst())
        do {
            var command = try type.parseAsRoot(rest)
            try command.run()
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            let code = type.exitCode(for: error)
            if code == .success {
                print(type.fullMessage(for: error))
                Glibc.exit(0)
            }
            if code.rawValue == ExitCode.validationFailure.rawValue {
                let name = type == Podsh.self ? "podsh" : "podsh \(arguments[0])"
                stderrWrite("podsh: \(type.message(for: error))\nUsage: see \(name) --help\n")
                Glibc.exit(2)
            }
            stderrWrite("podsh: \(type.fullMessage(for: error))\n")
            Glibc.exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
}

/// Options every command takes.
struct CommonOptions: ParsableArguments {
    @Option(help: "The backend: sim (default) or linux.")
    var backend: String = "sim"

    @Option(help: "The linux backend's state directory (pods' volumes, layers and logs).")
    var stateDir: String = LinuxBackendOptions.defaultStateDir

    @Option(help: "Where the linux backend's imported images live.")
    var imageDir: String = LinuxBackendOptions.defaultImageDir

    @Option(help: "The cgroup the linux backend's pods go below.")
    var cgroupParent: String = "swift-pods"

    @Flag(help: "Lift the Lua sandbox and its limits (trusted scripts only).")
    var unsafe = false

    @Flag(help: "The prompt prints results as JSON (objects with sorted keys), one per line.")
    var json = false

    /// The sandbox unless --unsafe; `pod.use` of a trusted backend (linux) allowed with
    /// --unsafe or when --backend names it.
    var luaOptions: LuaOptions {
        var options = unsafe ? LuaOptions.unsafe : LuaOptions()
        options.allowsTrustedBackends = unsafe || BackendRegistry.standard.entry(named: backend)?.trusted == true
        options.hostBackendOptions = hostBackendOptions
        return options
    }

    /// The global flags as backend options; each backend takes the ones it knows.
    var hostBackendOptions: BackendOptions {
        var options = BackendOptions()
        options.set("stateDir", stateDir)
        options.set("imageDir", imageDir)
        options.set("cgroupParent", cgroupParent)
        return options
    }

    /// The backend --backend names, with the flags it takes; exit 2 for an unknown name or a
    /// bad flag value.
    func backendConfiguration() throws -> BackendConfiguration {
        guard let entry = BackendRegistry.standard.entry(named: backend) else {
            let names = BackendRegistry.standard.entries.map(\.name).joined(separator: ", ")
            stderrWrite("podsh: unknown backend '\(backend)' (\(names))\n")
            throw ExitCode(2)
        }
        do {
            return try entry.configure(hostBackendOptions.restricted(to: entry.optionNames))
        } catch {
            stderrWrite("podsh: backend '\(backend)': \(error.message)\n")
            throw ExitCode(2)
        }
    }

    /// A new backend of `configuration`; exit 1 with the reason when it cannot run here.
    func makeBackend(_ configuration: BackendConfiguration) throws -> any PodBackend {
        do {
            return try configuration.make()
        } catch {
            stderrWrite("podsh: backend '\(configuration.backend)' unavailable: \(error.message)\n")
            throw ExitCode(1)
        }
    }

    /// A new backend of the one --backend names.
    func makeBackend() throws -> any PodBackend {
        try makeBackend(try backendConfiguration())
    }
}

/// A Lua state with the `pod` module on one runtime; runs chunks and reports errors as podsh does.
final class ScriptHost {
    let runtime: PodRuntime
    let lua: LuaState

    init(options: LuaOptions, configuration: BackendConfiguration, backend: any PodBackend) throws {
        runtime = PodRuntime(backend: backend)
        do {
            lua = try LuaState(options: options)
            try lua.openPod(runtime: runtime, configuration: configuration)
        } catch {
            stderrWrite("podsh: \(error)\n")
            throw ExitCode(1)
        }
        lua.setOutput { text in stdoutWrite(text) }
    }

    /// Runs a chunk; a failure is one line on stderr plus its traceback, and exit code 1.
    func exitCode(running source: String, name: String, arguments: [String]) -> ExitCode {
        do {
            _ = try lua.run(source, name: name, arguments: arguments)
            runtime.close()
            return .success
        } catch {
            stderrWrite("podsh: \(error.message)\n")
            runtime.close()
            return ExitCode(1)
        }
    }
}

/// Writes all of `text` to a file descriptor (the C `stdout`/`stderr` globals are off limits
/// in Swift 6, and unbuffered writes keep podsh's and its pods' output in order).
func writeAll(_ fd: Int32, _ text: String) {
    var copy = text
    copy.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

func stderrWrite(_ text: String) { writeAll(2, text) }
func stdoutWrite(_ text: String) { writeAll(1, text) }

/// Reads a file descriptor to its end.
func readAll(fd: Int32) -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct FileError: Error, CustomStringConvertible {
    let description: String
}

/// Reads a file podsh was given; when it cannot, says so on stderr and exits 1.
func readInput(_ path: String) throws -> String {
    do {
        return try readFile(path)
    } catch {
        stderrWrite("podsh: cannot open \(path): \(error)\n")
        throw ExitCode(1)
    }
}

func readFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw FileError(description: String(cString: strerror(errno))) }
    defer { close(fd) }
    var info = stat()
    if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { throw FileError(description: "Is a directory") }
    return readAll(fd: fd)
}
