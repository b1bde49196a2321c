import PodKit
import PodSim
import PodTestSupport
import Testing

@testable import PodLua

/// What a sandboxed script makes the sim hold — files, logs, pods — is the owner's memory too:
/// it counts against the script's memory limit, and logs rotate as kubelet's do.
@Suite("Host memory under the script's limit")
struct HostMemoryTests {
    static func sandbox(memory: Int) throws -> (LuaState, PodRuntime) {
        let runtime = PodRuntime(backend: SimBackend())
        let lua = try LuaState(options: LuaOptions(memoryLimit: memory))
        try lua.openPod(runtime: runtime)
        return (lua, runtime)
    }

    @Test("files a program writes count: 100 × 1 MiB against 32 MiB stops the script")
    func filesCount() throws {
        let (lua, _) = try Self.sandbox(memory: 32 << 20)
        let message = result(within: 60) {
            lua.outcome(
                """
                pod.sim.program("writer", function(proc)
                  local chunk = ("x"):rep(1 << 20)
                  for i = 1, 100 do assert(proc:write("/tmp/f" .. i, chunk)) end
                  return 0
                end)
                local p = pod.run{ name = "w", restartPolicy = "Never", containers = { { name = "c", command = { "writer" } } } }
                p:wait("Succeeded")
                """)
        }
        #expect(message?.hasPrefix("memory limit of 33554432 bytes exceeded (the sim holds ") == true, "\(message ?? "hung")")
        #expect(message?.contains("bytes of the script's files, logs and pods)") == true)
    }

    @Test("pods count: a million pod.create stop at the limit, and pcall cannot swallow it")
    func podsCount() throws {
        let (lua, runtime) = try Self.sandbox(memory: 16 << 20)
        let message = result(within: 120) {
            lua.outcome(
                """
                for i = 1, 1000000 do
                  pcall(pod.create, { name = "p" .. i, containers = { { name = "c", command = { "sleep", "1" } } } })
                end
                """)
        }
        #expect(message?.hasPrefix("memory limit of 16777216 bytes exceeded (the sim holds ") == true, "\(message ?? "hung")")
        let pods = runtime.list().count
        #expect(pods > 100 && pods < 16 << 20 / 4_000, "stopped near the limit: \(pods) pods")
    }

    @Test("what the sim held is given back: removed pods free their files and logs")
    func heldBytesComeBack() throws {
        let (lua, runtime) = try Self.sandbox(memory: 64 << 20)
        #expect(runtime.backend.heldBytes == 0)
        _ = try lua.run(
            """
            pod.sim.program("writer", function(proc)
              assert(proc:write("/tmp/data", ("x"):rep(1 << 20)))
              print(("y"):rep(1000))
              return 0
            end)
            for i = 1, 40 do
              local p = pod.run{ name = "w" .. i, restartPolicy = "Never", volumes = { { name = "v", emptyDir = {} } },
                containers = { { name = "c", command = { "writer" } } } }
              assert(p:wait("Succeeded"))
              p:remove()
            end
            """)
        #expect(runtime.list().isEmpty)
        #expect(runtime.backend.heldBytes == 0, "40 MiB written and removed, within a 64 MiB limit")
    }

    @Test("a container's log rotates at 10 MiB; logs reads across the last rotation")
    func logsRotate() throws {
        let lua = try LuaState(options: .unsafe)
        try lua.openPod()
        let results = try lua.run(
            """
            pod.sim.program("chatty", function(proc)
              local line = ("z"):rep(1023)
              for i = 1, 30 * 1024 do print(i .. " " .. line) end
              return 0
            end)
            local p = pod.run{ name = "chatty", restartPolicy = "Never", containers = { { name = "c", command = { "chatty" } } } }
            assert(p:wait("Succeeded"))
            local log = p:logs("c")
            return #log, log:sub(1, log:find(" ") - 1), log:sub(-1)
            """)
        guard case .integer(let bytes) = results.first, case .string(let first) = results[1] else {
            Issue.record("\(results)")
            return
        }
        let tenMiB = Int64(SimOutput.logRotationBytes)
        #expect(bytes >= tenMiB && bytes <= 2 * tenMiB, "kept between one and two files: \(bytes)")
        #expect((Int(first) ?? 0) > 10 * 1024, "the oldest lines went, whole: the log starts at line \(first)")
        #expect(results[2] == .string("\n"), "the newest line is kept")
    }
}
