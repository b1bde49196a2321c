import CLua
import PodKit

/// `pod.secret{ name =, type =, data = {k = base64} | stringData = {k = v} }` (DESIGN §8.4):
/// creates the Secret that pods name (for now: `imagePullSecrets`), replacing one of the same
/// name; returns a handle `{name =, type =, remove = function}` whose `:remove()` deletes it.
struct SecretFunctions {
    unowned let module: PodModule

    func create(_ call: LuaCall, removeID: Int32) -> LuaHost.Outcome {
        let function = "pod.secret"
        let entries: [SpecNode.Entry]
        switch LuaArgs.optionEntries(call, 1, function: function) {
        case .failure(let message): return .error(message.text)
        case .success(let given):
            guard let given else { return .error("\(function): expects a table {name =, type =, data = | stringData =}") }
            entries = given
        }
        var secret = Secret(name: "")
        var strings: [String: String] = [:]
        func map(_ node: SpecNode, _ key: String) -> Result<[String: String], LuaArgs.Message> {
            var out: [String: String] = [:]
            switch node.value {
            case .map(let items):
                for item in items {
                    guard case .string(let text) = item.node.value else {
                        return .failure(.init(text: "\(function): \(key).\(item.key) must be a string, got \(item.node.typeName)"))
                    }
                    out[item.key] = text
                }
                return .success(out)
            case .array(let items) where items.isEmpty: return .success(out)
            default: return .failure(.init(text: "\(function): \(key) must be a table of strings, got \(node.typeName)"))
            }
        }
        for entry in entries {
            switch (entry.key, entry.node.value) {
            case ("name", .string(let text)): secret.name = text
            case ("type", .string(let text)): secret.type = text.isEmpty ? Secret.opaque : text
            case ("data", _):
                switch map(entry.node, "data") {
                case .failure(let message): return .error(message.text)
                case .success(let values):
                    for (key, value) in values {
                        guard let bytes = Base64.decode(value) else {
                            return .error("\(function): data.\(key): illegal base64 data (stringData takes text as it is)")
                        }
                        secret.data[key] = bytes
                    }
                }
            case ("stringData", _):
                switch map(entry.node, "stringData") {
                case .failure(let message): return .error(message.text)
                case .success(let values): strings = values
                }
            case ("name", _), ("type", _):
                return .error("\(function): \(entry.key) must be a string, got \(entry.node.typeName)")
            default:
                return .error("\(function): unknown field '\(entry.key)' (name, type, data, stringData)")
            }
        }
        for (key, value) in strings { secret.data[key] = Array(value.utf8) }
        guard !secret.name.isEmpty else { return .error("\(function): name is required") }
        if let problem = KubernetesNames.dns1123SubdomainErrors(secret.name).first {
            return .error("\(function): name \"\(secret.name)\": \(problem)")
        }
        if case .failure(let problem)? = secret.registryCredentials() { return .error("\(function): \(problem)") }
        module.runtime.secrets[secret.name] = secret
        call.pushTable(fieldCount: 3) { t in
            t.set("name", secret.name)
            t.set("type", secret.type)
            t.set("remove") { module.host.pushFunction(call.L, removeID) }
        }
        return .values(1)
    }

    /// `handle:remove()`: true when the Secret was there.
    func remove(_ call: LuaCall) -> LuaHost.Outcome {
        // Raw access: the handle is a plain table (nothing to raise).
        var name: String?
        if call.type(1) == LUA_TTABLE, call.ensureStack(2) {
            call.push("name")
            lua_rawget(call.L, 1)
            name = call.string(-1)
            lua_settop(call.L, -2)
        }
        guard let name else { return .error("secret:remove: call it on the handle pod.secret returned (handle:remove())") }
        call.push(module.runtime.secrets.removeValue(forKey: name) != nil)
        return .values(1)
    }
}
