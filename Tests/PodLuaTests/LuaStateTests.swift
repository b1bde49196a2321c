import Testing

@testable import PodLua

@Suite("LuaState")
struct LuaStateTests {
    @Test func returnsValuesWithLuaTypes() throws {
        let lua = try LuaState()
        #expect(
            try lua.run("return 1 + 1, 2.5, 'x', true, nil, {}") == [
                .integer(2), .number(2.5), .string("x"), .boolean(true), .nil, .other("table"),
            ])
        #expect(try lua.run("local t = {} for i = 1, 10 do t[i] = i * i end return #t, t[10]") == [.integer(10), .integer(100)])
    }

    @Test func stateIsKeptBetweenChunks() throws {
        let lua = try LuaState()
        _ = try lua.run("counter = 41")
        #expect(try lua.run("counter = counter + 1 return counter") == [.integer(42)])
    }

    @Test func syntaxErrorNamesChunkAndLine() throws {
        let lua = try LuaState()
        #expect(throws: LuaError(kind: .syntax, message: "demo.lua:2: unexpected symbol near <eof>")) {
            try lua.run("local x = 1\n+", name: "@demo.lua")
        }
    }

    @Test func runtimeErrorHasATraceback() throws {
        let lua = try LuaState()
        do {
            _ = try lua.run("local function f() error('boom') end\nf()", name: "@demo.lua")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .runtime)
            #expect(error.message.hasPrefix("demo.lua:1: boom\nstack traceback:"))
            #expect(error.message.contains("demo.lua:2: in main chunk"))
        }
        // The state is still usable afterwards, with a clean stack.
        #expect(try lua.run("return 'ok'") == [.string("ok")])
    }

    @Test func nonStringErrorObjects() throws {
        let lua = try LuaState()
        do {
            _ = try lua.run("error({})")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("(error object is a table value)\nstack traceback:"))
        }
        #expect(throws: LuaError(kind: .runtime, message: "custom")) {
            try lua.run("error(setmetatable({}, {__tostring = function() return 'custom' end}))")
        }
    }

    @Test func stackOverflowIsAnErrorNotACrash() throws {
        let lua = try LuaState()
        do {
            _ = try lua.run("local function f() return 1 + f() end return f()")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .runtime)
            #expect(error.message.contains("stack overflow"))
        }
    }

    @Test func binaryChunksAreRefused() throws {
        let lua = try LuaState()
        do {
            _ = try lua.run("\u{1B}Lua")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.message.contains("attempt to load a binary chunk"))
        }
    }

    @Test func releaseIsReported() {
        #expect(LuaState.luaRelease.hasPrefix("Lua 5.4"))
    }
}
