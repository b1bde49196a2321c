import CLua
import CLuaShim
import Testing

@testable import PodLua

/// Every escape tried ends with a clear error naming the cause, and the state stays usable.
@Suite("Sandbox")
struct SandboxTests {
    static func sandbox(memory: Int = 16 << 20, instructions: UInt64 = 5_000_000) throws -> LuaState {
        let lua = try LuaState(options: LuaOptions(sandboxed: true, memoryLimit: memory, instructionLimit: instructions))
        try lua.openPod()
        return lua
    }

    static let escapes: [(String, String)] = [
        ("io.open('/etc/passwd')", "attempt to index a nil value (global 'io')"),
        ("os.execute('true')", "attempt to call a nil value (field 'execute')"),
        ("require('os')", "require: only \"pod\" can be required in the sandbox (module 'os')"),
        ("load('\\27Lua', 'x', 'b')", "load: only text chunks can be loaded in the sandbox"),
        ("string.dump(print)", "attempt to call a nil value (field 'dump')"),
        ("debug.sethook()", "attempt to index a nil value (global 'debug')"),
        ("collectgarbage('stop')", "collectgarbage: only \"count\" is allowed in the sandbox"),
        ("setmetatable(pod, {})", "cannot change a protected metatable"),
        ("pod.run = nil", "the pod module is read-only"),
        ("rawset(pod, 'exec', 1)", "the pod module is read-only"),
        ("pod.sim.program = 1", "the pod module is read-only"),
        ("rawset(pod.sim, 'program', 1)", "the pod module is read-only"),
        ("rawset(select(2, pairs(pod)), 'exec', 1)", "bad argument #1 to 'rawset' (table expected, got nil)"),
        ("setmetatable(pod.sim, {})", "cannot change a protected metatable"),
        ("pod.sim.program('pause', function() end)", "pod.sim.program: 'pause' is the sandbox's own program and cannot be replaced"),
        ("dofile('/etc/passwd')", "attempt to call a nil value (global 'dofile')"),
        // Finalizers run with hooks off: a looping __gc would outlast the budget.
        ("setmetatable({}, {__gc = function() while true do end end})", "setmetatable: __gc finalizers are not allowed in the sandbox"),
        ("table.move({}, 1, 2^62, 2)", "table.move: at most 16777216 elements in the sandbox"),
        ("table.move({}, math.mininteger, math.maxinteger, 1)", "table.move: at most 16777216 elements in the sandbox"),
    ]

    @Test("escape", arguments: escapes)
    func escape(script: String, expected: String) throws {
        let lua = try Self.sandbox()
        do {
            _ = try lua.run(script, name: "@escape.lua")
            Issue.record("\(script) ran")
        } catch {
            #expect(error.message.contains(expected), "\(script): \(error.message)")
        }
        // The state is still fine.
        #expect(try lua.run("return pod.backend()") == [.string("sim")])
    }

    /// pairs lists the module (through a closure, never the table itself); rawset still works
    /// on other tables.
    @Test func theModuleIsListedButNotHandedOut() throws {
        let lua = try Self.sandbox()
        #expect(
            try lua.run(
                "local n, sim = 0, false; for k, v in pairs(pod) do n = n + 1; sim = sim or k == 'sim' end; "
                    + "local t = rawset({}, 'a', 1); return n > 10, sim, t.a, type(pod.run), select('#', pairs(pod))")
                == [.boolean(true), .boolean(true), .integer(1), .string("function"), .integer(3)])
    }

    /// The wrappers leave ordinary use alone.
    @Test func setmetatableAndTableMoveStillWork() throws {
        let lua = try Self.sandbox()
        #expect(
            try lua.run(
                "local t = setmetatable({}, {__index = function() return 7 end}); "
                    + "local m = table.move({1, 2, 3}, 1, 3, 2); return t.x, m[4], #m")
                == [.integer(7), .integer(3), .integer(4)])
    }

    @Test func allowedFunctionsWork() throws {
        let lua = try Self.sandbox()
        #expect(
            try lua.run("return type(collectgarbage('count')), os.time() > 0, string.format('%d', 3), load('return 1')()")
                == [.string("number"), .boolean(true), .string("3"), .integer(1)])
    }

    @Test func anInfiniteLoopInsidePcallStillStops() throws {
        let lua = try Self.sandbox(instructions: 1_000_000)
        do {
            _ = try lua.run("while true do pcall(function() while true do end end) end", name: "@loop.lua")
            Issue.record("the loop ran on")
        } catch {
            #expect(error.kind == .limit)
            #expect(error.message.hasPrefix("instruction budget of 1000000 exhausted"))
        }
        #expect(try lua.run("return 1 + 1") == [.integer(2)])
    }

    @Test func memoryBombsStop() throws {
        let lua = try Self.sandbox(memory: 8 << 20, instructions: 100_000_000)
        for bomb in [
            "local s = 'x' while true do s = s .. s end",
            "local t = {} for i = 1, 1e9 do t[i] = i end",
            "local ok = pcall(function() local s = string.rep('x', 1 << 30) end) while true do local t = {} end",
        ] {
            do {
                _ = try lua.run(bomb, name: "@bomb.lua")
                Issue.record("\(bomb) ran")
            } catch {
                #expect(error.kind == .limit || error.kind == .memory, "\(bomb): \(error)")
                #expect(
                    error.message.contains("memory limit of 8388608 bytes exceeded") || error.message.contains("not enough memory"),
                    "\(bomb): \(error.message)")
            }
            #expect(try lua.run("return 'fine'") == [.string("fine")])
        }
    }

    @Test func unboundedRecursionIsAnError() throws {
        let lua = try Self.sandbox(instructions: 100_000_000)
        do {
            _ = try lua.run("local function f() return 1 + f() end return f()")
            Issue.record("recursed forever")
        } catch {
            #expect(error.message.contains("stack overflow") || error.message.contains("memory limit"))
        }
        #expect(try lua.run("return 'fine'") == [.string("fine")])
    }
}

@Suite("Interrupt")
struct InterruptTests {
    @Test func theInterruptFlagStopsARunningChunkThroughTheSameHook() throws {
        let lua = try LuaState(options: LuaOptions(sandboxed: true, memoryLimit: nil, instructionLimit: nil))
        try lua.openPod()
        // A Swift function that sets the flag, as podsh's SIGINT handler will.
        lua.defineGlobal("ctrlC") { [unowned lua] _ in
            lua.interrupt()
            return .values(0)
        }
        do {
            _ = try lua.run("ctrlC() while true do pcall(function() while true do end end) end", name: "@spin.lua")
            Issue.record("the loop ran on")
        } catch {
            #expect(error.kind == .limit)
            #expect(error.message.hasPrefix("interrupted") || error.message.contains(": interrupted"), "\(error.message)")
        }
        #expect(try lua.run("return 'after'") == [.string("after")])
    }
}
