import CLua
import CLuaShim

@testable import PodLua

extension LuaState {
    /// How running `source` ended: "ran to the end", the message of the limit that stopped it,
    /// or any other error's message after "not a limit: ".
    func outcome(_ source: String, name: String = "=test") -> String {
        do {
            _ = try run(source, name: name)
            return "ran to the end"
        } catch {
            return error.kind == .limit ? error.message : "not a limit: \(error.message)"
        }
    }

    /// Defines the global `name` as a Swift function, bridged as the pod module's are.
    func defineGlobal(_ name: String, _ function: @escaping LuaHost.Function) {
        let id = host.register(function)
        _ = lua_checkstack(L, 3)
        lua_rawgeti(L, clua_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        LuaCall(L).push(name)
        host.pushFunction(L, id)
        lua_rawset(L, -3)
        clua_pop(L, 1)
    }
}
