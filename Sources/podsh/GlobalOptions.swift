import ArgumentParser
import PodBackends
import PodCore
import PodLinux
import PodLua

#if canImport(Glibc)
import Glibc
#endif

/// The global options (`--backend`, `--state-dir`, `--image-dir`, `--cgroup-parent`,
/// `--unsafe`, `--json`): every command takes them, before or after its name (`podsh
/// --backend linux gc` and `podsh gc --backend linux` are the same), and honours each one.
struct GlobalOptions: ParsableArguments {
    /// The long names of the options that take a value, and of the flags, for moving them from
    /// before a command's name to after it.
    static let valued: Set<String> = [
        "--backend", "--state-dir", "--image-dir", "--cgroup-parent", "--timeout", "--default-registry", "--insecure-registry",
        "--seccomp-profile-root", "--allow-host-path",
    ]
    static let flags: Set<String> = [
        "--unsafe", "--json", "--allow-host-image", "--allow-host-exec", "--allow-host-namespaces", "--allow-privileged",
    ]

    @Option(
        help: ArgumentHelp(
            "The backend: \(BackendRegistry.standard.entries.map(\.name).joined(separator: ", ")) (default \(BackendRegistry.standard.defaultName)).",
            valueName: "name"))
    var backend: String?

    @Option(help: "The linux backend's state directory (pods' volumes, layers and logs).")
    var stateDir: String = LinuxBackendOptions.defaultStateDir

    @Option(help: "Where the linux backend's imported images live.")
    var imageDir: String = LinuxBackendOptions.defaultImageDir

    @Option(help: "The registry images without a registry host are pulled from (like docker.io); none by default: such names are images of the store.")
    var defaultRegistry: String?

    @Option(help: "A registry reached over plain HTTP (like 127.0.0.1:5000); may be given more than once.")
    var insecureRegistry: [String] = []

    @Option(help: "The cgroup the linux backend's pods go below.")
    var cgroupParent: String = "swift-pods"

    @Option(help: "Where the linux backend finds Localhost seccomp profiles (seccompProfile.localhostProfile).")
    var seccompProfileRoot: String = LinuxBackendOptions.defaultSeccompProfileRoot

    @Flag(help: "Lift the Lua sandbox and its limits (trusted scripts only).")
    var unsafe = false

    @Flag(help: "Allow `image: host`, the host's own root file system, on the linux backend.")
    var allowHostImage = false

    @Flag(help: "Let a sandboxed script run host commands (pod.exec) on the linux backend.")
    var allowHostExec = false

    @Flag(help: "Let a sandboxed script's pods use hostNetwork, hostPID and hostIPC on the linux backend.")
    var allowHostNamespaces = false

    @Flag(help: "Let a sandboxed script's pods be privileged (and add capabilities, run Unconfined) on the linux backend.")
    var allowPrivileged = false

    @Option(help: ArgumentHelp("Let a sandboxed script's pods mount hostPath volumes at or below PREFIX; may be given more than once.", valueName: "prefix"))
    var allowHostPath: [String] = []

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The most wall-clock seconds a script (each chunk, each test case) may run; 0 for no limit (default \(Int(LuaOptions.defaultTimeLimit)) in the sandbox, none with --unsafe).",
            valueName: "seconds"),
        transform: Timeout.parse)
    var timeout: Timeout?

    @Flag(help: "Print records as JSON (the prompt: one object with sorted keys per line).")
    var json = false

    /// The sandbox unless --unsafe; `pod.use` of a trusted backend (linux) allowed with
    /// --unsafe or when --backend names it.
    var luaOptions: LuaOptions {
        get throws {
            var options = unsafe ? LuaOptions.unsafe : LuaOptions()
            if let timeout { options.timeLimit = timeout.seconds > 0 ? timeout.seconds : nil }
            options.allowsTrustedBackends = unsafe || BackendRegistry.standard.entry(named: backendName)?.trusted == true
            let allowed = try self.allowed
            options.hostBackendOptions = hostBackendOptions(sandboxed: !unsafe, allowed: allowed)
            options.allowsHostExec = unsafe || allowed.hostExec
            if !unsafe { options.lockedBackendOptions = Self.policyOptions }
            return options
        }
    }

    /// The backend options that are the sandbox's policy.
    static let policyOptions: Set<String> = ["allowHostImage", "allowHostNamespaces", "allowPrivileged", "allowHostPaths"]

    /// What the --allow-* flags and PODSH_ALLOW (`host-image,host-exec,host-namespaces,
    /// privileged,host-path:PREFIX`, comma-separated) allow; exit 2 for an unknown item.
    struct Allowed {
        var hostImage = false
        var hostExec = false
        var hostNamespaces = false
        var privileged = false
        var hostPaths: [String] = []
    }

    var allowed: Allowed {
        get throws {
            var allowed = Allowed(
                hostImage: allowHostImage, hostExec: allowHostExec, hostNamespaces: allowHostNamespaces, privileged: allowPrivileged,
                hostPaths: allowHostPath)
            let environment = getenv("PODSH_ALLOW").map { String(cString: $0) } ?? ""
            for item in environment.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
                switch item {
                case "host-image": allowed.hostImage = true
                case "host-exec": allowed.hostExec = true
                case "host-namespaces": allowed.hostNamespaces = true
                case "privileged": allowed.privileged = true
                case _ where item.hasPrefix("host-path:") && item.dropFirst(10).hasPrefix("/"):
                    allowed.hostPaths.append(String(item.dropFirst(10)))
                default:
                    stderrWrite(
                        "podsh: PODSH_ALLOW: unknown item '\(item)' (host-image, host-exec, host-namespaces, privileged, host-path:/PREFIX)\n")
                    throw ExitCode(2)
                }
            }
            for prefix in allowed.hostPaths where !prefix.hasPrefix("/") {
                stderrWrite("podsh: --allow-host-path \(prefix): must be an absolute path\n")
                throw ExitCode(2)
            }
            return allowed
        }
    }

    /// The global flags as backend options; each backend takes the ones it knows. A sandboxed
    /// script gets the Pod Security Standards' baseline unless the --allow-* flags lift parts
    /// of it; `--unsafe` lifts all of it. The host image needs --allow-host-image (or
    /// --unsafe) whatever runs.
    func hostBackendOptions(sandboxed: Bool, allowed: Allowed) -> BackendOptions {
        var options = BackendOptions()
        options.set("allowHostImage", allowed.hostImage || unsafe)
        if sandboxed {
            options.set("allowHostNamespaces", allowed.hostNamespaces)
            options.set("allowPrivileged", allowed.privileged)
            options.entries.append(SpecNode.Entry("allowHostPaths", SpecNode(.array(allowed.hostPaths.map { SpecNode(.string($0)) }))))
        }
        options.set("stateDir", stateDir)
        options.set("imageDir", imageDir)
        options.set("cgroupParent", cgroupParent)
        options.set("seccompProfileRoot", seccompProfileRoot)
        if let defaultRegistry { options.set("defaultRegistry", defaultRegistry) }
        if !insecureRegistry.isEmpty {
            options.entries.append(SpecNode.Entry("insecureRegistries", SpecNode(.array(insecureRegistry.map { SpecNode(.string($0)) }))))
        }
        return options
    }

    /// The backend's name: --backend, or the registry's default.
    var backendName: String { backend ?? BackendRegistry.standard.defaultName }

    /// The backend --backend names, with the flags it takes; exit 2 for an unknown name or a
    /// bad flag value.
    /// `sandboxed`: for a script without --unsafe (the baseline applies); commands that run no
    /// script (play, the state commands) pass false.
    func backendConfiguration(sandboxed: Bool = false) throws -> BackendConfiguration {
        let backend = backendName
        guard let entry = BackendRegistry.standard.entry(named: backend) else { throw Self.unknownBackend(backend) }
        let options = hostBackendOptions(sandboxed: sandboxed, allowed: try allowed).restricted(to: entry.optionNames)
        do {
            return try entry.configure(options)
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

    /// The linux backend's state directory, for the commands that read it (`ps`, `inspect`,
    /// `logs`, `stop`, `rm`, `gc`): they act on the pods of every owner there. Another
    /// `--backend` keeps no pods outside its owner: a usage error.
    func state(for command: String) throws -> LinuxState {
        try requireLinux(
            command, "reads the linux backend's state directory; the %@ backend keeps no pods outside the program that runs them")
        for path in [stateDir, stateDir + "/pods"] {
            if let why = LinuxState.untrustedDirectory(path, what: "state directory") {
                stderrWrite("podsh: \(why)\n")
                throw ExitCode(1)
            }
        }
        switch CgroupDrivers.detect() {
        case .success(let driver):
            return LinuxState(directory: stateDir, cgroups: driver, cgroupParent: cgroupParent)
        case .failure(let error):
            stderrWrite("podsh: \(error.message)\n")
            throw ExitCode(1)
        }
    }

    /// Says the backend is unknown, naming those there are; the usage error to throw.
    static func unknownBackend(_ name: String) -> ExitCode {
        let names = BackendRegistry.standard.entries.map(\.name).joined(separator: ", ")
        stderrWrite("podsh: unknown backend '\(name)' (\(names))\n")
        return ExitCode(2)
    }

    /// The one pod named `name` (a name or an id); a clear error for none or several.
    func pod(_ name: String, in state: LinuxState) throws -> LinuxPodRecord {
        let found = state.find(name)
        if found.isEmpty {
            stderrWrite("podsh: no pod \"\(name)\" in \(stateDir)\n")
            throw ExitCode(1)
        }
        if found.count > 1 {
            stderrWrite("podsh: \(found.count) pods are named \"\(name)\" (\(found.map(\.id).joined(separator: ", "))): give the id\n")
            throw ExitCode(1)
        }
        return found[0]
    }

    /// Refuses a --backend other than linux for a command of the linux backend's: `why` says
    /// what the command does, %@ standing for the backend named.
    func requireLinux(_ command: String, _ why: String) throws {
        if let backend, BackendRegistry.standard.entry(named: backend) == nil { throw Self.unknownBackend(backend) }
        if let backend, backend != "linux" {
            stderrWrite("podsh: \(command) \(why.replacingOccurrences(of: "%@", with: backend))\n")
            throw ExitCode(2)
        }
    }
}

/// `--timeout SECONDS`: a non-negative number of seconds, at most `PodRuntime.longestWait`.
struct Timeout {
    var seconds: Double

    static func parse(_ argument: String) throws -> Timeout {
        guard let value = Double(argument), value.isFinite, value >= 0, value <= PodRuntime.longestWait else {
            throw ValidationError("it must be a number of seconds from 0 (no limit) to \(Int(PodRuntime.longestWait))")
        }
        return Timeout(seconds: value)
    }
}
