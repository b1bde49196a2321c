import CLua
import CLuaShim
import PodBackends
import PodKit
import PodManifests
import PodSim

/// `require "pod"` from the stock `lua5.4`: the dynamic library `libpod.so` exports
/// `luaopen_pod`, which binds a sim runtime to the interpreter's state. The session (runtime,
/// bridge, module) lives as long as the state: a userdata in the registry releases it from
/// its `__gc` when the state closes, and that removes the pods it made.
final class LuaModuleSession {
    let host = LuaHost()
    let module: PodModule

    init() throws(BackendError) {
        module = try PodModule.onDefaultBackend(host: host)
    }

    deinit { module.runtime.close() }

    static let anchorMetatable = "swift-pods.Session"

    /// Pushes the module table; keeps the session alive through a registry anchor.
    func open(_ L: OpaquePointer) {
        let call = LuaCall(L)
        _ = call.ensureStack(8)
        // The anchor: a userdata whose __gc releases the retained session.
        if clua_newmetatable(L, LuaModuleSession.anchorMetatable) != 0 {
            let release = host.register { call in
                if let block = clua_testudata(call.L, 1, LuaModuleSession.anchorMetatable),
                    let pointer = block.load(as: UnsafeRawPointer?.self)
                {
                    Unmanaged<LuaModuleSession>.fromOpaque(pointer).release()
                    block.storeBytes(of: nil, as: UnsafeRawPointer?.self)
                }
                return .values(0)
            }
            LuaTableBuilder(call: call, table: lua_gettop(L)).set("__gc") { self.host.pushFunction(L, release) }
        }
        clua_pop(L, 1)
        guard let block = lua_newuserdatauv(L, MemoryLayout<UnsafeRawPointer?>.size, 0) else { return }
        block.storeBytes(of: UnsafeRawPointer(Unmanaged.passRetained(self).toOpaque()), as: UnsafeRawPointer?.self)
        clua_setmetatable(L, LuaModuleSession.anchorMetatable)
        // registry["swift-pods.session"] = anchor
        call.push("swift-pods.session")
        lua_insert_(L)
        lua_rawset(L, clua_registryindex())
        module.push(L)
    }
}

private func lua_insert_(_ L: OpaquePointer) { clua_insert(L, -2) }

/// The entry point `require "pod"` looks for in `libpod.so`.
@_cdecl("luaopen_pod")
public func luaopen_pod(_ L: OpaquePointer?) -> Int32 {
    guard let L else { return 0 }
    do {
        try LuaModuleSession().open(L)
    } catch {
        // Nothing Swift is left on the stack above this frame's return: the message is pushed
        // and returned as the module's value, which `require` hands to the script.
        LuaCall(L).push("pod: \(error)")
    }
    return 1
}
