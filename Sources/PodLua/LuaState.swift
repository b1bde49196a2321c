import CLua
import CLuaShim

/// A value returned from Lua to Swift.
public enum LuaValue: Sendable, Equatable {
    case `nil`
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    /// A table, function, userdata or thread, by its Lua type name.
    case other(String)
}

/// A Lua error, with Lua's `chunk:line: message` text and, for runtime errors, the traceback.
public struct LuaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed: loading (syntax), running, or memory.
    public enum Kind: Sendable, Equatable {
        case syntax
        case runtime
        case memory
        case other
    }

    public var kind: Kind
    public var message: String
    public var description: String { message }
}

/// One Lua 5.4 state, owned by this object and closed with it. A state is confined to one
/// thread at a time (it is not Sendable). Lua is entered only through a protected call with a
/// traceback handler, so no Lua error unwinds through Swift.
public final class LuaState {
    /// The underlying `lua_State *`.
    let L: OpaquePointer

    /// The Lua release this was built against, e.g. "Lua 5.4.4".
    public static var luaRelease: String { String(cString: clua_version_string()) }

    /// Creates a state with the standard libraries open.
    public init() throws(LuaError) {
        guard let state = luaL_newstate() else {
            throw LuaError(kind: .memory, message: "cannot create a Lua state: out of memory")
        }
        L = state
        if clua_openlibs(L) != LUA_OK {
            let message = Self.popMessage(L)
            lua_close(L)
            throw LuaError(kind: .memory, message: message)
        }
    }

    deinit { lua_close(L) }

    /// Runs `chunk` (text only) named `name` (shown as `name:line:` in errors) and returns its
    /// results.
    public func run(_ chunk: String, name: String = "=(chunk)") throws(LuaError) -> [LuaValue] {
        let base = lua_gettop(L)
        let status = chunk.utf8CString.withUnsafeBufferPointer { buffer in
            clua_load_and_call(L, buffer.baseAddress, buffer.count - 1, name)
        }
        guard status == LUA_OK else {
            let message = Self.popMessage(L)
            lua_settop(L, base)
            throw LuaError(kind: Self.kind(of: status), message: message)
        }
        let top = lua_gettop(L)
        var results: [LuaValue] = []
        if top > base {
            for index in (base + 1)...top { results.append(value(at: index)) }
        }
        lua_settop(L, base)
        return results
    }

    /// Reads the value at `index` without calling anything that can raise.
    func value(at index: Int32) -> LuaValue {
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .integer(Int64(lua_tointegerx(L, index, nil))) }
            return .number(lua_tonumberx(L, index, nil))
        case LUA_TSTRING:
            var length = 0
            guard let bytes = lua_tolstring(L, index, &length) else { return .string("") }
            return .string(String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self))
        default:
            return .other(String(cString: lua_typename(L, lua_type(L, index))))
        }
    }

    private static func kind(of status: Int32) -> LuaError.Kind {
        switch status {
        case LUA_ERRSYNTAX: return .syntax
        case LUA_ERRRUN: return .runtime
        case LUA_ERRMEM: return .memory
        default: return .other
        }
    }

    /// Pops the error message on top of the stack (a string, or a placeholder for other values).
    private static func popMessage(_ L: OpaquePointer) -> String {
        defer { clua_pop(L, 1) }
        guard lua_type(L, -1) == LUA_TSTRING else { return "(error object is not a string)" }
        var length = 0
        guard let bytes = lua_tolstring(L, -1, &length) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }
}
