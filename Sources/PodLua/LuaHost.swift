import CLua
import CLuaShim

/// The Swift side of the bridge: the functions a state exposes, by number. Lua calls them
/// through the C trampoline (`clua_pushcallback`); each returns a status and never raises, so
/// no Lua error ever unwinds a Swift frame.
final class LuaHost {
    /// What a bridged function returns.
    enum Outcome {
        /// This many values were pushed.
        case values(Int32)
        /// Raise this message, prefixed with the caller's `chunk:line: `.
        case error(String)
        /// Raise this message as it is (it already has its position or is a traceback).
        case rawError(String)
    }

    typealias Function = (LuaCall) -> Outcome

    private(set) var functions: [Function] = []

    /// Asked after every call: a message when the host now holds more for the script than its
    /// memory limit allows (the call then stops the script, as a refused allocation would).
    var afterCall: (() -> String?)?

    /// Registers a function and returns its number for `push(function:)`.
    func register(_ function: @escaping Function) -> Int32 {
        functions.append(function)
        return Int32(functions.count - 1)
    }

    /// Pushes a Lua function that calls registered function `id`.
    func pushFunction(_ L: OpaquePointer, _ id: Int32) {
        clua_pushcallback(L, luaHostDispatch, Unmanaged.passUnretained(self).toOpaque(), id)
    }
}

/// The C entry point of every bridged call (`clua_callback`).
private let luaHostDispatch: clua_callback = { state, context, function in
    guard let state, let context else { return 0 }
    let host = Unmanaged<LuaHost>.fromOpaque(context).takeUnretainedValue()
    guard function >= 0, Int(function) < host.functions.count else { return 0 }
    let call = LuaCall(state)
    let outcome = host.functions[Int(function)](call)
    if let check = host.afterCall, let message = check() {
        clua_stop_for_memory(state)
        call.push(message)
        return CLUA_RAISE_AT
    }
    switch outcome {
    case .values(let count):
        return count
    case .error(let message):
        call.push(message)
        return CLUA_RAISE_AT
    case .rawError(let message):
        call.push(message)
        return CLUA_RAISE
    }
}

/// One bridged call: its arguments, and pushing results — with API calls that cannot raise
/// (raw access only, strings read only when they are strings: lua_getfield and the like run
/// metamethods, which may raise).
struct LuaCall {
    let L: OpaquePointer

    init(_ L: OpaquePointer) { self.L = L }

    /// The number of arguments.
    var count: Int32 { lua_gettop(L) }

    func type(_ index: Int32) -> Int32 { lua_type(L, index) }

    /// Lua's name of the type at `index` ("no value" when absent).
    func typeName(_ index: Int32) -> String {
        let t = lua_type(L, index)
        if t == LUA_TNONE { return "no value" }
        return String(cString: lua_typename(L, t))
    }

    func isNoneOrNil(_ index: Int32) -> Bool {
        let t = lua_type(L, index)
        return t == LUA_TNONE || t == LUA_TNIL
    }

    func string(_ index: Int32) -> String? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var length = 0
        guard let bytes = lua_tolstring(L, index, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    func integer(_ index: Int32) -> Int64? {
        guard lua_type(L, index) == LUA_TNUMBER else { return nil }
        var ok: Int32 = 0
        let value = lua_tointegerx(L, index, &ok)
        return ok != 0 ? Int64(value) : nil
    }

    func number(_ index: Int32) -> Double? {
        guard lua_type(L, index) == LUA_TNUMBER else { return nil }
        return lua_tonumberx(L, index, nil)
    }

    func boolean(_ index: Int32) -> Bool { lua_toboolean(L, index) != 0 }

    // MARK: Pushing

    func ensureStack(_ extra: Int32) -> Bool { lua_checkstack(L, extra) != 0 }

    func push(_ string: String) {
        var copy = string
        copy.withUTF8 { buffer in
            _ = buffer.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    func push(_ value: Int64) { lua_pushinteger(L, lua_Integer(value)) }
    func push(_ value: Int) { lua_pushinteger(L, lua_Integer(value)) }
    func push(_ value: Double) { lua_pushnumber(L, value) }
    func push(_ value: Bool) { lua_pushboolean(L, value ? 1 : 0) }
    func pushNil() { lua_pushnil(L) }

    /// Pushes a table built by `body`, which sets fields with `set(_:_:)` helpers.
    func pushTable(arrayCount: Int32 = 0, fieldCount: Int32 = 0, _ body: (LuaTableBuilder) -> Void) {
        _ = ensureStack(8)
        lua_createtable(L, arrayCount, fieldCount)
        body(LuaTableBuilder(call: self, table: lua_gettop(L)))
    }
}

/// A Swift value that is one Lua value: a string, an integer, a number or a boolean.
protocol LuaScalar {
    func push(on call: LuaCall)
}

extension String: LuaScalar { func push(on call: LuaCall) { call.push(self) } }
extension Int: LuaScalar { func push(on call: LuaCall) { call.push(self) } }
extension Int64: LuaScalar { func push(on call: LuaCall) { call.push(self) } }
extension Double: LuaScalar { func push(on call: LuaCall) { call.push(self) } }
extension Bool: LuaScalar { func push(on call: LuaCall) { call.push(self) } }

/// Fills the table at `table` with raw sets (no metamethods, no raising).
struct LuaTableBuilder {
    let call: LuaCall
    let table: Int32

    func set(_ key: String, _ push: () -> Void) {
        _ = call.ensureStack(4)
        call.push(key)
        push()
        lua_rawset(call.L, table)
    }

    /// `t[key] = value`, nothing when the value is nil.
    func set(_ key: String, _ value: (some LuaScalar)?) {
        guard let value else { return }
        set(key) { value.push(on: call) }
    }

    /// `t[index] = <pushed value>`.
    func append(_ index: Int, _ push: () -> Void) {
        _ = call.ensureStack(4)
        push()
        lua_rawseti(call.L, table, lua_Integer(index))
    }

    /// `t[key] = t[index]` (a second name for an array entry).
    func alias(_ key: String, toIndex index: Int) {
        _ = call.ensureStack(4)
        call.push(key)
        lua_rawgeti(call.L, table, lua_Integer(index))
        lua_rawset(call.L, table)
    }
}

extension LuaHost {
    /// Installs the metatable `name` of a userdata type once per state: `__index` (the type's
    /// fields and methods), the other metamethods, `__name` (`typeName`, what error messages
    /// and `tostring` show) and a protected `__metatable` (`getmetatable` gives `typeName`,
    /// `setmetatable` fails). Leaves the stack as it was.
    func installMetatable(
        _ L: OpaquePointer, name: String, typeName: String, index: @escaping Function,
        metamethods: [(String, Function)] = []
    ) {
        let call = LuaCall(L)
        _ = call.ensureStack(8)
        guard clua_newmetatable(L, name) != 0 else {
            clua_pop(L, 1)
            return
        }
        let metatable = lua_gettop(L)
        let table = LuaTableBuilder(call: call, table: metatable)
        let indexID = register(index)
        table.set("__index") { self.pushFunction(L, indexID) }
        for (method, function) in metamethods {
            let id = register(function)
            table.set(method) { self.pushFunction(L, id) }
        }
        table.set("__name", typeName)
        table.set("__metatable", typeName)
        clua_pop(L, 1)
    }
}
