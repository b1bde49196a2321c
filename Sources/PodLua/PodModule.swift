import CLua
import CLuaShim
import PodBackends
import PodKit
import PodManifests
import PodSim

/// The `pod` module (PodLua.docc/LuaAPI.md): the functions a script calls, bound to one runtime.
/// Misuse and invalid specs raise (`chunk:line: pod.create: ...`); expected domain failures
/// return `nil, message`.
final class PodModule {
    let runtime: PodRuntime
    let host: LuaHost
    /// `pod.sim.program` and the `proc` objects; made with the module table.
    private(set) var programs: SimPrograms?
    /// Where `print` writes outside sim programs (podsh: standard output).
    var output: (String) -> Void = { Swift.print($0, terminator: "") }
    /// The backends `pod.use` and `pod.backends` know.
    var registry = BackendRegistry.standard
    /// Whether `pod.use` may switch to a backend that acts on the host (the registry's
    /// `trusted` ones, like linux): the host program's choice.
    var allowsTrustedBackends = true
    /// Options the host program gives every backend it switches to (podsh's global flags);
    /// each backend takes the ones it knows, and a script's own options win.
    var hostBackendOptions = BackendOptions()
    /// Whether `pod.exec` may run host programs on a trusted backend (linux); the sim's host
    /// context is simulated and always there.
    var allowsHostExec = true
    /// Backend options a script may not give `pod.use` (the host's policy: podsh's sandbox).
    var lockedBackendOptions: Set<String> = []
    /// The configuration of the runtime's backend, when known, so `pod.use` keeps a backend it
    /// already has instead of making a new one.
    var configuration: BackendConfiguration?
    /// Pod handles behind `Pod` userdata, by the number stored in the userdata.
    private var handles: [Int: Pod] = [:]
    private var nextHandle = 0

    static let podMetatable = "swift-pods.Pod"

    init(runtime: PodRuntime, host: LuaHost) {
        (self.runtime, self.host) = (runtime, host)
    }

    /// A module on a new runtime on the registry's default backend.
    static func onDefaultBackend(host: LuaHost, registry: BackendRegistry = .standard) throws(BackendError) -> PodModule {
        let standard = try registry.configure(registry.defaultName)
        let module = PodModule(runtime: PodRuntime(backend: try standard.make()), host: host)
        module.configuration = standard
        module.registry = registry
        return module
    }

    /// Builds the module table and leaves it on the stack.
    func push(_ L: OpaquePointer) {
        let call = LuaCall(L)
        installPodMetatable(L)
        let programs = SimPrograms(module: self, L: L)
        programs.installMetatable()
        self.programs = programs
        call.pushTable(fieldCount: 20) { t in
            t.set("version", PodCoreVersion.string)
            for (name, function) in functions() {
                let id = host.register(function)
                t.set(name) { host.pushFunction(L, id) }
            }
            let program = host.register { [unowned programs] call in programs.register(call) }
            let images = ImageFunctions(module: self)
            let simImage = host.register { call in images.simImage(call) }
            t.set("sim") {
                call.pushTable(fieldCount: 2) { sim in
                    sim.set("program") { self.host.pushFunction(L, program) }
                    sim.set("image") { self.host.pushFunction(L, simImage) }
                }
            }
            let secrets = SecretFunctions(module: self)
            let removeSecret = host.register { call in secrets.remove(call) }
            let createSecret = host.register { call in secrets.create(call, removeID: removeSecret) }
            t.set("secret") { host.pushFunction(L, createSecret) }
            let imageFunctions = images.functions().map { ($0.0, host.register($0.1)) }
            t.set("image") {
                call.pushTable(fieldCount: Int32(imageFunctions.count)) { image in
                    for (name, id) in imageFunctions { image.set(name) { self.host.pushFunction(L, id) } }
                }
            }
        }
    }

    // MARK: Module functions

    /// `pod.use(name [, options])`: switches this runtime to a backend while it holds no pods.
    /// The backend comes from the registry; a script's options go over the host's.
    private func use(_ call: LuaCall) -> LuaHost.Outcome {
        guard let name = call.string(1) else {
            return .error("pod.use: the backend name must be a string, got \(call.typeName(1))")
        }
        let given: [SpecNode.Entry]?
        switch LuaArgs.optionEntries(call, 2, function: "pod.use") {
        case .success(let entries): given = entries
        case .failure(let message): return .error(message.text)
        }
        guard let entry = registry.entry(named: name) else {
            return .error("pod.use: unknown backend '\(name)'; available: \(registry.availableNames().joined(separator: ", "))")
        }
        if given == nil, runtime.backend.name == name {
            call.push(name)
            return .values(1)
        }
        if let locked = given?.first(where: { lockedBackendOptions.contains($0.key) }) {
            return .error(
                "pod.use: option \(locked.key) is the host's to set, not a sandboxed script's (podsh's --allow-* flags, PODSH_ALLOW, or --unsafe)")
        }
        let options = hostBackendOptions.restricted(to: entry.optionNames).merging(BackendOptions(given ?? []))
        let configuration: BackendConfiguration
        do {
            configuration = try entry.configure(options)
        } catch {
            return .error("pod.use: \(error.message)")
        }
        if configuration == self.configuration, runtime.backend.name == name {
            call.push(name)
            return .values(1)
        }
        guard allowsTrustedBackends || !entry.trusted else {
            return .error(
                "pod.use: backend '\(name)' unavailable: sandboxed scripts reach it only when the host allows it (podsh --backend \(name), or --unsafe)"
            )
        }
        let backend: any PodBackend
        do {
            backend = try configuration.make()
        } catch {
            return .error("pod.use: backend '\(name)' unavailable: \(error.message)")
        }
        do {
            try runtime.use(backend)
        } catch {
            return .error("pod.use: \(error)")
        }
        self.configuration = configuration
        call.push(name)
        return .values(1)
    }

    private func functions() -> [(String, LuaHost.Function)] {
        [
            (
                "backends",
                { [unowned self] call in
                    let names = registry.availableNames()
                    call.pushTable(arrayCount: Int32(names.count)) { t in
                        for (i, name) in names.enumerated() { t.append(i + 1) { call.push(name) } }
                    }
                    return .values(1)
                }
            ),
            (
                "backend",
                { [runtime] call in
                    call.push(runtime.backend.name)
                    return .values(1)
                }
            ),
            ("use", { [unowned self] call in self.use(call) }),
            (
                "now",
                { [runtime] call in
                    call.push(runtime.now)
                    return .values(1)
                }
            ),
            (
                "sleep",
                { [runtime] call in
                    guard let seconds = call.number(1) else {
                        return .error("pod.sleep: seconds must be a non-negative number, got \(call.typeName(1))")
                    }
                    if let problem = PodRuntime.durationProblem(seconds) {
                        return .error("pod.sleep: seconds \(problem), got \(seconds.formattedSeconds)")
                    }
                    runtime.sleep(seconds)
                    return .values(0)
                }
            ),
            ("create", { [unowned self] call in self.create(call, start: false) }),
            ("run", { [unowned self] call in self.create(call, start: true) }),
            (
                "get",
                { [unowned self] call in
                    guard let name = call.string(1) else { return .error("pod.get: the name must be a string, got \(call.typeName(1))") }
                    guard let pod = runtime.pod(named: name) else {
                        call.pushNil()
                        return .values(1)
                    }
                    pushPod(call, pod)
                    return .values(1)
                }
            ),
            (
                "list",
                { [unowned self] call in
                    let pods = runtime.list()
                    call.pushTable(arrayCount: Int32(pods.count)) { t in
                        for (i, pod) in pods.enumerated() { t.append(i + 1) { self.pushPod(call, pod) } }
                    }
                    return .values(1)
                }
            ),
            ("exec", { [unowned self] call in self.execOnHost(call) }),
            ("toyaml", { [unowned self] call in self.toYAML(call) }),
            (
                "fromyaml",
                { [runtime] call in
                    guard let text = call.string(1) else {
                        return .error("pod.fromyaml: the manifest must be a string, got \(call.typeName(1))")
                    }
                    do {
                        let decoded = try Manifest.decodePod(text)
                        // The stream's Secrets are created as pod.secret would (the table names them).
                        for secret in decoded.spec.imagePullSecrets.compactMap(\.secret) { runtime.secrets[secret.name] = secret }
                        LuaSpecWriter(call: call).push(decoded.spec)
                        return .values(1)
                    } catch {
                        return .error("pod.fromyaml: \(error)")
                    }
                }
            ),
        ]
    }

    /// `pod.create(spec)` / `pod.run(spec)`.
    private func create(_ call: LuaCall, start: Bool) -> LuaHost.Outcome {
        let name = start ? "pod.run" : "pod.create"
        guard call.type(1) == LUA_TTABLE else { return .error("\(name): the spec must be a table, got \(call.typeName(1))") }
        let node: SpecNode
        do {
            node = try LuaSpecReader(call: call).read(1)
        } catch {
            return .error("\(name): \(error.message)")
        }
        let spec: PodSpec
        do {
            spec = try PodSpec.decode(flat: node).spec
        } catch {
            return .error("\(name): \(error)")
        }
        do {
            let pod = start ? try runtime.run(spec) : try runtime.create(spec)
            pushPod(call, pod)
            return .values(1)
        } catch {
            return .error("\(name): \(error)")
        }
    }

    /// `pod.exec(argv [, opts])` in the host context.
    private func execOnHost(_ call: LuaCall) -> LuaHost.Outcome {
        let argv: [String]
        switch LuaArgs.argv(call, 1, function: "pod.exec") {
        case .success(let value): argv = value
        case .failure(let message): return .error(message.text)
        }
        let options: LuaArgs.ExecOptions
        switch LuaArgs.execOptions(call, 2, function: "pod.exec") {
        case .success(let value): options = value
        case .failure(let message): return .error(message.text)
        }
        if !allowsHostExec, registry.entry(named: runtime.backend.name)?.trusted == true {
            return .error(
                "pod.exec: host commands are refused to a sandboxed script on the \(runtime.backend.name) backend: they would run as root on the host (podsh --allow-host-exec, PODSH_ALLOW=host-exec, or --unsafe)"
            )
        }
        do {
            let result = try runtime.execOnHost(argv, stdin: options.stdin, env: options.env, timeout: options.timeout)
            LuaStatusWriter(call: call).push(result)
            return .values(1)
        } catch {
            call.pushNil()
            call.push("\(error)")
            return .values(2)
        }
    }

    /// `pod.toyaml(spec or Pod)`.
    private func toYAML(_ call: LuaCall) -> LuaHost.Outcome {
        if let pod = pod(at: 1, call) {
            do {
                call.push(Manifest.encode(try pod.spec()))
                return .values(1)
            } catch {
                return .error("pod.toyaml: \(error)")
            }
        }
        guard call.type(1) == LUA_TTABLE else { return .error("pod.toyaml: expected a spec table or a Pod, got \(call.typeName(1))") }
        do {
            let node = try LuaSpecReader(call: call).read(1)
            call.push(Manifest.encode(try PodSpec.decode(flat: node).spec))
            return .values(1)
        } catch let failure as LuaSpecReader.Failure {
            return .error("pod.toyaml: \(failure.message)")
        } catch {
            return .error("pod.toyaml: \(error)")
        }
    }

    // MARK: Pod userdata

    /// Pushes a `Pod` userdata for `pod`.
    func pushPod(_ call: LuaCall, _ pod: Pod) {
        nextHandle += 1
        handles[nextHandle] = pod
        _ = call.ensureStack(4)
        guard let block = lua_newuserdatauv(call.L, MemoryLayout<Int>.size, 0) else { return }
        block.storeBytes(of: nextHandle, as: Int.self)
        clua_setmetatable(call.L, PodModule.podMetatable)
    }

    /// The pod behind the `Pod` userdata at `index`, if it is one.
    func pod(at index: Int32, _ call: LuaCall) -> Pod? {
        guard let block = clua_testudata(call.L, index, PodModule.podMetatable) else { return nil }
        return handles[block.load(as: Int.self)]
    }

    /// Forgets the handle of a collected userdata (the pod itself belongs to the runtime).
    func release(at index: Int32, _ call: LuaCall) {
        guard let block = clua_testudata(call.L, index, PodModule.podMetatable) else { return }
        handles[block.load(as: Int.self)] = nil
    }

    private func installPodMetatable(_ L: OpaquePointer) {
        let methods = PodMethods(module: self)
        let ids = methods.register()
        // __index: the methods, and the fields name and uid.
        host.installMetatable(
            L, name: PodModule.podMetatable, typeName: "Pod",
            index: { [unowned self] call in PodMethods.index(call, self, ids) },
            metamethods: methods.metamethods())
    }
}

/// Argument readers shared by the module and the Pod methods.
enum LuaArgs {
    struct Message: Error {
        let text: String
    }

    struct ExecOptions {
        var stdin: String?
        var timeout: Double = 30
        var env: [EnvVar] = []
    }

    /// argv: a list of strings, or a string run by `sh -c`.
    static func argv(_ call: LuaCall, _ index: Int32, function: String) -> Result<[String], Message> {
        if let script = call.string(index) { return .success(["sh", "-c", script]) }
        guard call.type(index) == LUA_TTABLE else {
            return .failure(Message(text: "\(function): argv must be a list of strings or a string, got \(call.typeName(index))"))
        }
        let count = lua_rawlen(call.L, index)
        guard count > 0 else { return .failure(Message(text: "\(function): argv must not be empty")) }
        var argv: [String] = []
        for i in 1...count {
            _ = call.ensureStack(2)
            lua_rawgeti(call.L, index, lua_Integer(i))
            defer { clua_pop(call.L, 1) }
            guard let word = call.string(-1) else {
                return .failure(Message(text: "\(function): argv[\(i)] must be a string, got \(call.typeName(-1))"))
            }
            argv.append(word)
        }
        return .success(argv)
    }

    /// The entries of an options table at `index`: nil when the argument is absent, an error
    /// naming `function` when it is not a table.
    static func optionEntries(_ call: LuaCall, _ index: Int32, function: String) -> Result<[SpecNode.Entry]?, Message> {
        if call.isNoneOrNil(index) { return .success(nil) }
        guard call.type(index) == LUA_TTABLE else {
            return .failure(Message(text: "\(function): options must be a table, got \(call.typeName(index))"))
        }
        do {
            let node = try LuaSpecReader(call: call).read(index)
            if case .map(let entries) = node.value { return .success(entries) }
            return .success([])
        } catch {
            return .failure(Message(text: "\(function): \(error.message)"))
        }
    }

    /// `{ stdin =, timeout =, env = }`.
    static func execOptions(_ call: LuaCall, _ index: Int32, function: String) -> Result<ExecOptions, Message> {
        var options = ExecOptions()
        let entries: [SpecNode.Entry]
        switch optionEntries(call, index, function: function) {
        case .success(nil): return .success(options)
        case .success(let found?): entries = found
        case .failure(let message): return .failure(message)
        }
        for entry in entries {
            switch (entry.key, entry.node.value) {
            case ("stdin", .string(let text)): options.stdin = text
            case ("timeout", .number(let text)):
                guard let seconds = Double(text), seconds >= 0 else {
                    return .failure(Message(text: "\(function): options.timeout must be a non-negative number"))
                }
                options.timeout = seconds
            case ("env", .map(let variables)):
                for variable in variables {
                    guard case .string(let value) = variable.node.value else {
                        return .failure(Message(text: "\(function): options.env.\(variable.key) must be a string"))
                    }
                    options.env.append(EnvVar(name: variable.key, value: value))
                }
            case ("stdin", _), ("timeout", _), ("env", _):
                return .failure(Message(text: "\(function): options.\(entry.key) has the wrong type (\(entry.node.typeName))"))
            default:
                return .failure(Message(text: "\(function): unknown option '\(entry.key)' (stdin, timeout, env)"))
            }
        }
        return .success(options)
    }
}
