import CLua
import PodKit
import PodSim

/// `pod.image.pull/list/inspect` and `pod.sim.image` (LuaAPI.md, DESIGN §8.2): the backend's
/// image store, on linux and sim alike.
struct ImageFunctions {
    unowned let module: PodModule

    /// The functions of the `pod.image` table.
    func functions() -> [(String, LuaHost.Function)] {
        [
            ("pull", { call in self.pull(call) }),
            ("list", { call in self.list(call) }),
            ("inspect", { call in self.inspect(call) }),
        ]
    }

    /// `pod.image.pull(ref [, {insecure = true, creds = "user:password"}])`: the image, or `nil, message`.
    func pull(_ call: LuaCall) -> LuaHost.Outcome {
        guard let reference = call.string(1) else {
            return .error("pod.image.pull: the reference must be a string, got \(call.typeName(1))")
        }
        var insecure = false
        var credentials: RegistryCredentials?
        switch LuaArgs.optionEntries(call, 2, function: "pod.image.pull") {
        case .failure(let message): return .error(message.text)
        case .success(let entries):
            for entry in entries ?? [] {
                switch (entry.key, entry.node.value) {
                case ("insecure", .bool(let value)): insecure = value
                case ("insecure", _):
                    return .error("pod.image.pull: options.insecure must be a boolean, got \(entry.node.typeName)")
                case ("creds", .string(let text)):
                    guard let parsed = RegistryCredentials(joined: text) else {
                        return .error("pod.image.pull: options.creds must be \"USER:PASSWORD\"")
                    }
                    credentials = parsed
                case ("creds", _):
                    return .error("pod.image.pull: options.creds must be a string, got \(entry.node.typeName)")
                default: return .error("pod.image.pull: unknown option '\(entry.key)' (insecure, creds)")
                }
            }
        }
        do {
            let info = try module.runtime.pullImage(reference, insecure: insecure, credentials: credentials)
            Self.push(call, info)
            return .values(1)
        } catch {
            if case .unsupported(let message) = error, message.hasSuffix("keeps no images") { return .error("pod.image.pull: \(message)") }
            call.pushNil()
            call.push("\(error)")
            return .values(2)
        }
    }

    /// `pod.image.list()`: `{ {ref=, id=, size=}, ... }` sorted by reference.
    func list(_ call: LuaCall) -> LuaHost.Outcome {
        let images: [ImageInfo]
        do {
            images = try module.runtime.images()
        } catch {
            return .error("pod.image.list: \(error)")
        }
        call.pushTable(arrayCount: Int32(clamping: images.count)) { t in
            for (i, info) in images.enumerated() {
                t.append(i + 1) {
                    call.pushTable(fieldCount: 3) { image in
                        image.set("ref", info.reference)
                        image.set("id", info.id.isEmpty ? nil : info.id)
                        image.set("size", info.size)
                    }
                }
            }
        }
        return .values(1)
    }

    /// `pod.image.inspect(ref)`: the image, or `nil, message` when the store has none.
    func inspect(_ call: LuaCall) -> LuaHost.Outcome {
        guard let reference = call.string(1) else {
            return .error("pod.image.inspect: the reference must be a string, got \(call.typeName(1))")
        }
        do {
            guard let info = try module.runtime.inspectImage(reference) else {
                call.pushNil()
                call.push("no image \"\(reference)\" in the \(module.runtime.backend.name) backend's store")
                return .values(2)
            }
            Self.push(call, info)
            return .values(1)
        } catch {
            if case .unsupported(let message) = error, message.hasSuffix("keeps no images") {
                return .error("pod.image.inspect: \(message)")
            }
            call.pushNil()
            call.push("\(error)")
            return .values(2)
        }
    }

    /// `{ref=, id=, size=, entrypoint=, cmd=, env=, workingDir=, user=, stopSignal=, layers=}`.
    static func push(_ call: LuaCall, _ info: ImageInfo) {
        func strings(_ list: [String]) {
            call.pushTable(arrayCount: Int32(clamping: list.count)) { t in
                for (i, word) in list.enumerated() { t.append(i + 1) { call.push(word) } }
            }
        }
        call.pushTable(fieldCount: 10) { t in
            t.set("ref", info.reference)
            t.set("id", info.id.isEmpty ? nil : info.id)
            t.set("size", info.size)
            t.set("entrypoint") { strings(info.config.entrypoint) }
            t.set("cmd") { strings(info.config.cmd) }
            t.set("env") { strings(info.config.env) }
            t.set("workingDir", info.config.workingDir)
            t.set("user", info.config.user)
            t.set("stopSignal", info.config.stopSignal)
            t.set("layers") { strings(info.layers) }
        }
    }

    /// `pod.sim.image{ name = REF, entrypoint =, cmd =, env = {"K=V"}, workingDir =, user =,
    /// stopSignal =, size =, pullSeconds = }`: registers an image with the sim; returns it.
    func simImage(_ call: LuaCall) -> LuaHost.Outcome {
        let function = "pod.sim.image"
        guard call.type(1) == LUA_TTABLE else { return .error("\(function): expected a table, got \(call.typeName(1))") }
        guard let sim = module.runtime.backend as? SimBackend else {
            return .error("\(function): images are registered with the sim backend; this runtime uses \(module.runtime.backend.name)")
        }
        let entries: [SpecNode.Entry]
        switch LuaArgs.optionEntries(call, 1, function: function) {
        case .failure(let message): return .error(message.text)
        case .success(let found): entries = found ?? []
        }
        var name: String?
        var config = ImageConfig()
        var size: Int64?
        var pullSeconds: Double = 0
        var credentials: RegistryCredentials?
        func strings(_ node: SpecNode, _ key: String) -> Result<[String], LuaArgs.Message> {
            if case .string(let word) = node.value { return .success([word]) }
            guard case .array(let items) = node.value else {
                return .failure(.init(text: "\(function): \(key) must be a list of strings, got \(node.typeName)"))
            }
            var out: [String] = []
            for (i, item) in items.enumerated() {
                guard case .string(let word) = item.value else {
                    return .failure(.init(text: "\(function): \(key)[\(i + 1)] must be a string, got \(item.typeName)"))
                }
                out.append(word)
            }
            return .success(out)
        }
        for entry in entries {
            let key = entry.key
            switch (key, entry.node.value) {
            case ("name", .string(let text)): name = text
            case ("entrypoint", _), ("cmd", _), ("env", _):
                switch strings(entry.node, key) {
                case .failure(let message): return .error(message.text)
                case .success(let list):
                    if key == "entrypoint" {
                        config.entrypoint = list
                    } else if key == "cmd" {
                        config.cmd = list
                    } else {
                        config.env = list
                    }
                }
            case ("workingDir", .string(let text)): config.workingDir = text
            case ("user", .string(let text)): config.user = text
            case ("stopSignal", .string(let text)):
                guard Signal(name: text) != nil else { return .error("\(function): stopSignal \"\(text)\" is not a signal") }
                config.stopSignal = text
            case ("size", .number(let text)):
                guard let value = Int64(text), value >= 0 else {
                    return .error("\(function): size must be a non-negative integer (bytes), got \(text)")
                }
                size = value
            case ("pullSeconds", .number(let text)):
                guard let value = Double(text), PodRuntime.durationProblem(value) == nil else {
                    return .error(
                        "\(function): pullSeconds \(PodRuntime.durationProblem(Double(text) ?? .nan) ?? "is invalid"), got \(text)")
                }
                pullSeconds = value
            case ("credentials", .string(let text)):
                guard let parsed = RegistryCredentials(joined: text) else {
                    return .error("\(function): credentials must be \"USER:PASSWORD\"")
                }
                credentials = parsed
            case ("name", _), ("workingDir", _), ("user", _), ("stopSignal", _), ("size", _), ("pullSeconds", _), ("credentials", _):
                return .error("\(function): \(key) has the wrong type (\(entry.node.typeName))")
            default:
                return .error(
                    "\(function): unknown field '\(key)' (name, entrypoint, cmd, env, workingDir, user, stopSignal, size, pullSeconds, credentials)")
            }
        }
        guard let name else { return .error("\(function): name (the image reference) is required") }
        for variable in config.env where !variable.contains("=") || variable.hasPrefix("=") {
            return .error("\(function): env entry \"\(variable)\" is not NAME=value")
        }
        do {
            let info = try sim.imageRegistry.register(
                name, config: config, size: size, pullSeconds: pullSeconds, credentials: credentials)
            Self.push(call, info)
            return .values(1)
        } catch {
            return .error("\(function): \(error)")
        }
    }
}
