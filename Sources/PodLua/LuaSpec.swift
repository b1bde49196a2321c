import CLua
import CLuaShim
import PodBackends
import PodKit
import PodManifests
import PodSim

/// Reads a Lua value into a `SpecNode` with raw access (no metamethods run, nothing raises):
/// a table whose keys are 1...n is an array, one whose keys are strings is a map (entries in key
/// order, so errors come out in a stable order), numbers keep their exact decimal text.
struct LuaSpecReader {
    /// Why a value cannot be a spec value.
    struct Failure: Error {
        let message: String
    }

    let call: LuaCall
    static let maxDepth = 32

    func read(_ index: Int32) throws(Failure) -> SpecNode {
        var seen: Set<UnsafeRawPointer> = []
        return try read(lua_absindex(call.L, index), path: "spec", depth: 0, seen: &seen)
    }

    private func read(_ index: Int32, path: String, depth: Int, seen: inout Set<UnsafeRawPointer>) throws(Failure) -> SpecNode {
        let L = call.L
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE:
            return SpecNode(.null)
        case LUA_TBOOLEAN:
            return SpecNode(.bool(call.boolean(index)))
        case LUA_TNUMBER:
            if let integer = call.integer(index), lua_isinteger(L, index) != 0 { return SpecNode(.number(String(integer))) }
            return SpecNode(.number(LuaSpecReader.decimal(call.number(index) ?? .nan)))
        case LUA_TSTRING:
            return SpecNode(.string(call.string(index) ?? ""))
        case LUA_TTABLE:
            guard depth < LuaSpecReader.maxDepth else {
                throw Failure(message: "\(path): nested deeper than \(LuaSpecReader.maxDepth) tables")
            }
            guard let pointer = lua_topointer(L, index) else { return SpecNode(.null) }
            guard seen.insert(pointer).inserted else { throw Failure(message: "\(path): the table contains itself") }
            defer { seen.remove(pointer) }
            return try readTable(index, path: path, depth: depth, seen: &seen)
        default:
            throw Failure(message: "\(path): Invalid type: a \(call.typeName(index)) cannot be part of a spec")
        }
    }

    private func readTable(_ index: Int32, path: String, depth: Int, seen: inout Set<UnsafeRawPointer>) throws(Failure) -> SpecNode {
        let L = call.L
        guard call.ensureStack(6) else { throw Failure(message: "\(path): Lua stack exhausted") }
        var integerKeys: [(Int64, SpecNode)] = []
        var stringKeys: [(String, SpecNode)] = []
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            // [key, value]; the key is never converted in place, so lua_next stays valid.
            let keyIndex = lua_gettop(L) - 1
            if lua_type(L, keyIndex) == LUA_TSTRING, let key = call.string(keyIndex) {
                stringKeys.append((key, try read(lua_gettop(L), path: "\(path).\(key)", depth: depth + 1, seen: &seen)))
            } else if lua_isinteger(L, keyIndex) != 0, let key = call.integer(keyIndex) {
                integerKeys.append((key, try read(lua_gettop(L), path: "\(path)[\(key - 1)]", depth: depth + 1, seen: &seen)))
            } else {
                throw Failure(message: "\(path): Invalid type: a \(call.typeName(keyIndex)) key; use string keys or a list")
            }
            clua_pop(L, 1)
        }
        if !integerKeys.isEmpty && !stringKeys.isEmpty {
            throw Failure(message: "\(path): Invalid type: a table mixing list entries and named fields")
        }
        if !stringKeys.isEmpty {
            return SpecNode(.map(stringKeys.sorted { $0.0 < $1.0 }.map { SpecNode.Entry($0.0, $0.1) }))
        }
        integerKeys.sort { $0.0 < $1.0 }
        for (position, entry) in integerKeys.enumerated() where entry.0 != Int64(position + 1) {
            throw Failure(message: "\(path): Invalid type: a list with a hole at index \(position + 1)")
        }
        return SpecNode(.array(integerKeys.map(\.1)))
    }

    /// A float as decimal text that reads back as the same number ("0.5", "1e-05", "80.0").
    static func decimal(_ value: Double) -> String {
        value.isFinite ? "\(value)" : (value.isNaN ? "nan" : "inf")
    }
}
