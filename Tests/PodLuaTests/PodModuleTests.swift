import Foundation
import Testing

@testable import PodKit
@testable import PodLua

/// The `pod` module through real Lua scripts (PodLua.docc/LuaAPI.md).
@Suite("pod module")
struct PodModuleTests {
    static func lua(_ options: LuaOptions = LuaOptions()) throws -> LuaState {
        let lua = try LuaState(options: options)
        try lua.openPod()
        return lua
    }

    @Test func runStatusAndWait() throws {
        let lua = try Self.lua()
        let results = try lua.run(
            """
            local pod = require "pod"
            local p = pod.run{ name = "web", restartPolicy = "Never",
              containers = { { name = "app", command = { "sh", "-c", "sleep 2; exit 3" } } } }
            assert(p:wait("Running") == true)
            local s = p:status()
            assert(s.phase == "Running" and s.containers[1].state == "running" and s.containers.app == s.containers[1])
            assert(math.type(s.containers.app.pid) == "integer")
            local ok, why = p:wait("Succeeded", 10)
            assert(ok == nil and why == "unreachable: pod is Failed", why)
            s = p:status()
            return tostring(p), p.name, s.containers.app.exitCode, s.containers.app.reason, pod.now(), #p:events()
            """, name: "@demo.lua")
        #expect(
            results == [
                .string("Pod(web, 1 container, Failed)"), .string("web"), .integer(3), .string("Error"),
                .number(2), .integer(3),
            ])
    }

    @Test func specErrorsRaiseWithPosition() throws {
        let lua = try Self.lua()
        #expect(throws: LuaError.self) {
            try lua.run("pod.create{ name = 'web', containers = { { name = 'web' }, { name = 'web' } } }", name: "@demo.lua")
        }
        do {
            _ = try lua.run("\n\npod.create{ name = 'web', contianers = {} }", name: "@demo.lua")
        } catch {
            #expect(
                error.message.hasPrefix(
                    "demo.lua:3: pod.create: spec.contianers: unknown field 'contianers' (did you mean 'containers'?); spec.containers: Required value"
                ))
        }
    }

    @Test func execLogsAndHostContext() throws {
        let lua = try Self.lua()
        let results = try lua.run(
            """
            local p = pod.run{ name = "p", containers = { { name = "c", command = { "sh", "-c", "echo hello; sleep 1000" } } } }
            local r = p:exec("c", { "echo", "hi" })
            local h = pod.exec("hostname")
            local ok, message = pcall(p.exec, p, "nope", "true")
            assert(not ok and message:find('p:exec: pod "p" has no container named "nope"', 1, true), message)
            p:kill("c")
            local none, why = p:exec("c", "true")
            assert(none == nil or none.exitCode == 0, why)
            return r.exitCode, r.stdout, h.stdout, p:logs("c"), pod.backend(), pod.backends()[1]
            """)
        #expect(results == [.integer(0), .string("hi\n"), .string("sim-host\n"), .string("hello\n"), .string("sim"), .string("sim")])
    }

    @Test func fromYAMLAndToYAMLRoundTrip() throws {
        let lua = try Self.lua()
        let results = try lua.run(
            """
            local spec = { name = "web", containers = { { name = "app", command = { "sleep", "1" },
              resources = { limits = { cpu = 0.5, memory = "128Mi" } }, env = { PORT = "8080" } } } }
            local text = pod.toyaml(spec)
            local back = pod.fromyaml(text)
            return back.name, back.containers[1].resources.limits.cpu, back.containers[1].env[1].value, pod.toyaml(back) == text
            """)
        #expect(results == [.string("web"), .string("500m"), .string("8080"), .boolean(true)])
    }
}

@Suite("Lua sim programs")
struct SimProgramTests {
    static let scenarios = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scenarios")

    @Test func theSeedWalkthroughInLua() throws {
        let lua = try PodModuleTests.lua()
        let source = try String(contentsOf: Self.scenarios.appendingPathComponent("seed.lua"), encoding: .utf8)
        #expect(try lua.run(source, name: "@seed.lua") == [.string("You've hit web\n")])
    }

    @Test func programsSleepExitAndFailInVirtualTime() throws {
        let lua = try PodModuleTests.lua()
        let results = try lua.run(
            """
            pod.sim.program("tick", function(proc)
              for i = 1, 3 do proc:sleep(10); print("tick " .. i) end
              proc:exit(tonumber(proc.args[2]))
            end)
            pod.sim.program("boom", function(proc) error("kaput") end)
            local p = pod.run{ name = "p", restartPolicy = "Never", containers = {
              { name = "t", command = { "tick", "7" } }, { name = "b", command = { "boom" } } } }
            pod.sleep(100)
            local s = p:status()
            return s.containers.t.exitCode, s.containers.t.finishedAt, p:logs("t"), s.containers.b.exitCode, p:logs("b"):match("^[^\\n]*")
            """, name: "@prog.lua")
        #expect(
            results == [
                .integer(7), .number(30), .string("tick 1\ntick 2\ntick 3\n"), .integer(1),
                .string("prog.lua:5: kaput"),
            ])
    }

    @Test func trapHandlesTerm() throws {
        let lua = try PodModuleTests.lua()
        let results = try lua.run(
            """
            pod.sim.program("graceful", function(proc)
              proc:trap("TERM", function() print("bye"); proc:exit(0) end)
              proc:wait()
            end)
            local p = pod.run{ name = "p", containers = { { name = "g", command = { "graceful" } } } }
            p:stop()
            local s = p:status()
            return s.phase, s.containers.g.exitCode, p:logs("g"), pod.now()
            """)
        #expect(results == [.string("Succeeded"), .integer(0), .string("bye\n"), .number(0)])
    }
}

@Suite("Scenario files")
struct ScenarioFileTests {
    static let files: [String] =
        (try? FileManager.default.contentsOfDirectory(atPath: SimProgramTests.scenarios.path))?
        .filter { $0.hasSuffix(".lua") }.sorted() ?? []

    @Test("scenario", arguments: files)
    func scenario(file: String) throws {
        let source = try String(contentsOf: SimProgramTests.scenarios.appendingPathComponent(file), encoding: .utf8)
        let results = ScenarioRunner.run(file: file, source: source)
        #expect(!results.isEmpty)
        for result in results {
            #expect(result.passed, "\(file): \(result.name): \(result.message ?? "")")
        }
    }

    @Test func theRunnerReportsEachCase() {
        let results = ScenarioRunner.run(
            file: "demo.lua",
            source: """
                test("passes", function() pod.run{ name = "left", containers = { { name = "c", command = { "sleep", "9" } } } } end)
                test("fails", function() error("nope") end)
                test("sees no pod left by the first case", function() assert(#pod.list() == 0, #pod.list()) end)
                """)
        #expect(results.map(\.name) == ["passes", "fails", "sees no pod left by the first case"])
        #expect(results.map(\.passed) == [true, false, true])
        #expect(results[1].message?.hasPrefix("demo.lua:2: nope\nstack traceback:") == true)
        #expect(ScenarioRunner.run(file: "demo.lua", source: "test(", filter: nil).first?.passed == false)
        #expect(
            ScenarioRunner.run(file: "x.lua", source: "test('a', function() end) test('b', function() end)", filter: "b").map(\.name) == [
                "b"
            ])
    }
}
