import Testing

#if canImport(Glibc)
import Glibc
#endif

import PodTestSupport

@testable import PodLua

/// The sandbox's string.find/match/gmatch/gsub (charged to the limits) answer as Lua's own do,
/// errors included, and stop where Lua's ran unbounded in C.
@Suite("Patterns")
struct PatternTests {
    /// Runs the same generated cases through Lua's own functions (an unsandboxed state) and the
    /// sandbox's, and returns each side's transcript, one line a case.
    static let differential = """
        local seed = ...
        local function random(n)
          seed = (seed * 1103515245 + 12345) % 2147483648
          return seed % n + 1
        end
        local pieces = { "a", "b", ".", "%a", "%d", "%s", "%w", "%W", "[ab]", "[^a]", "[a-c]", "[%d_]", "[]a]",
          "%%", "(", ")", "()", "*", "+", "-", "?", "^", "$", "%b()", "%f[%w]", "%f[%W]", "%1", "%2", "x",
          "%", "[", " ", "%.", "%(", "[^%s]" }
        local chars = { "a", "a", "b", " ", "(", ")", "1", "2", "_", "x", "%", ".", "\\n" }
        local function describe(ok, ...)
          local out = { tostring(ok) }
          for i = 1, select("#", ...) do out[#out + 1] = tostring((select(i, ...))) end
          return table.concat(out, "|")
        end
        local function collect(s, p, init)
          local out = {}
          for a, b in string.gmatch(s, p, init) do
            out[#out + 1] = tostring(a) .. "," .. tostring(b)
            if #out == 6 then break end
          end
          return table.concat(out, ";")
        end
        local lines = {}
        for case = 1, 4000 do
          local p = {}
          for i = 1, random(7) do p[#p + 1] = pieces[random(#pieces)] end
          local s = {}
          for i = 1, random(14) - 1 do s[#s + 1] = chars[random(#chars)] end
          p, s = table.concat(p), table.concat(s)
          local init = random(9) - 4
          local op = random(8)
          local result
          if op == 1 then result = describe(pcall(string.find, s, p))
          elseif op == 2 then result = describe(pcall(string.find, s, p, init))
          elseif op == 3 then result = describe(pcall(string.match, s, p, init))
          elseif op == 4 then result = describe(pcall(collect, s, p, init))
          elseif op == 5 then result = describe(pcall(string.gsub, s, p, "<%0%1>"))
          elseif op == 6 then result = describe(pcall(string.gsub, s, p, { a = "A", [" "] = false, b = 7 }, random(3)))
          elseif op == 7 then
            result = describe(pcall(string.gsub, s, p, function(c, d) if c == "b" then return nil end return "[" .. tostring(c) .. tostring(d) .. "]" end))
          else result = describe(pcall(string.find, s, p, init, true))
          end
          lines[#lines + 1] = string.format("%q %q %d %d: %s", s, p, init, op, result)
        end
        return table.concat(lines, "\\1")
        """

    static func transcript(sandboxed: Bool, seed: Int) throws -> [Substring] {
        let options = sandboxed ? LuaOptions() : LuaOptions.unsafe
        let lua = try LuaState(options: options)
        try lua.openPod()
        guard case .string(let text)? = try lua.run(differential, arguments: [String(seed)]).first else { return [] }
        return text.split(separator: "\u{1}", omittingEmptySubsequences: false)
    }

    @Test("the same results and errors as Lua's own, on generated patterns", arguments: [1, 2, 3])
    func sameAsLua(seed: Int) throws {
        let stock = try Self.transcript(sandboxed: false, seed: seed)
        let bounded = try Self.transcript(sandboxed: true, seed: seed)
        #expect(stock.count == 4000 && bounded.count == 4000)
        var differences = 0
        for (expected, got) in zip(stock, bounded) where expected != got {
            differences += 1
            if differences <= 5 { Issue.record("Lua: \(expected)\nsandbox: \(got)") }
        }
        #expect(differences == 0)
    }

    @Test("patterns that backtracked for hours stop at the budget, inside the C call")
    func backtrackingStopsAtTheBudget() throws {
        for source in [
            #"return string.find(("a"):rep(3000), (".-"):rep(4) .. "b")"#,
            #"return ("a"):rep(20000):find("a*a*a*b")"#,
            ##"return select("#", ("a"):rep(20000):gsub("a*a*a*b", "x"))"##,
            #"for x in ("a"):rep(5000):gmatch("a-a-a-b") do end"#,
            #"return pcall(string.match, ("a"):rep(20000), "a*a*a*b")"#,
        ] {
            let lua = try LuaState(options: LuaOptions(instructionLimit: 2_000_000))
            try lua.openPod()
            let stopped = result(within: 60) { lua.outcome(source) }
            #expect(stopped?.hasPrefix("instruction budget of 2000000 exhausted") == true, "\(source): \(stopped ?? "hung")")
            #expect(try lua.run("return ('x'):rep(3):gsub('x', 'y')") == [.string("yyy"), .integer(3)], "usable after")
        }
    }

    @Test("a plain search is linear (memmem), whatever the text")
    func plainSearchIsLinear() throws {
        let lua = try LuaState(options: LuaOptions(instructionLimit: 1_000_000))
        try lua.openPod()
        let found = result(within: 60) {
            try? lua.run(#"local s = ("a"):rep(1 << 22) return s:find(("a"):rep(1 << 21) .. "b", 1, true), #s"#)
        }
        #expect(found == [.nil, .integer(1 << 22)])
    }

    @Test("the wall-clock limit stops a pattern stuck in C, and a host call that outlives it")
    func wallClockLimit() throws {
        let lua = try LuaState(options: LuaOptions(instructionLimit: nil, timeLimit: 0.3))
        try lua.openPod()
        let message = result(within: 60) { lua.outcome(#"return ("a"):rep(20000):find("a*a*a*b")"#) }
        #expect(message?.hasPrefix("wall-clock limit of 0.3 s exceeded") == true, "\(message ?? "hung")")
        let loop = result(within: 60) { lua.outcome("while true do end") }
        #expect(loop?.hasPrefix("wall-clock limit of 0.3 s exceeded") == true, "\(loop ?? "hung")")
        #expect(try lua.run("return 'after'") == [.string("after")], "each chunk has its own deadline")
        // A host function that returns past the deadline: the chunk stops as it returns.
        lua.defineGlobal("slow") { _ in
            usleep(400_000)
            return .values(0)
        }
        #expect(lua.outcome("slow() return 'went on'").hasPrefix("wall-clock limit of 0.3 s exceeded"))
    }
}
