import Testing
@testable import PodCore
@testable import PodLua

/// The `pod` module through real Lua scripts (DESIGN.md §5).
@Suite("pod module")
struct PodModuleTests {
    static func lua(_ options: LuaOptions = LuaOptions()) throws -> LuaState {
        let lua = try LuaState(options: options)
        try lua.openPod()
        return lua
    }

    @Test func runStatusAndWait() throws {
        let lua = try Self.lua()
        let results = try lua.run("""
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
        #expect(results == [.string("Pod(web, 1 container, Failed)"), .string("web"), .integer(3), .string("Error"),
                            .number(2), .integer(3)])
    }

    @Test func specErrorsRaiseWithPosition() throws {
        let lua = try Self.lua()
        #expect(throws: LuaError.self) {
            try lua.run("pod.create{ name = 'web', containers = { { name = 'web' }, { name = 'web' } } }", name: "@demo.lua")
        }
        do {
            _ = try lua.run("\n\npod.create{ name = 'web', contianers = {} }", name: "@demo.lua")
        } catch {
            #expect(error.message.hasPrefix("demo.lua:3: pod.create: spec.contianers: unknown field 'contianers' (did you mean 'containers'?); spec.containers: Required value"))
        }
    }

    @Test func execLogsAndHostContext() throws {
        let lua = try Self.lua()
        let results = try lua.run("""
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
        let results = try lua.run("""
            local spec = { name = "web", containers = { { name = "app", command = { "sleep", "1" },
              resources = { limits = { cpu = 0.5, memory = "128Mi" } }, env = { PORT = "8080" } } } }
            local text = pod.toyaml(spec)
            local back = pod.fromyaml(text)
            return back.name, back.containers[1].resources.limits.cpu, back.containers[1].env[1].value, pod.toyaml(back) == text
            """)
        #expect(results == [.string("web"), .string("500m"), .string("8080"), .boolean(true)])
    }
}
