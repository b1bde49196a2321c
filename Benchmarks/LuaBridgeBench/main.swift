import PodLua

// Lua bridge benchmark (not a test): the cost of a bridged call into Swift next to a plain Lua C
// function in the same run. Target: a trivial bridged call (`pod.now()`) within 3x of the C
// function (`math.abs`).
//
//     swift run -c release lua-bridge-bench [iterations]     (default 2,000,000)
#if canImport(Glibc)
import Glibc
#endif

let iterations = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 2_000_000
do {
    let lua = try LuaState(options: .unsafe)
    try lua.openPod()
    let results = try lua.run(
        """
        local n = ...
        local clock, abs, now = os.clock, math.abs, pod.now
        local function time(f)
          local best = math.huge
          for _ = 1, 5 do
            local t = clock()
            f()
            best = math.min(best, clock() - t)
          end
          return best
        end
        local empty = time(function() for i = 1, \(iterations) do end end)
        local c = time(function() for i = 1, \(iterations) do abs(i) end end) - empty
        local bridged = time(function() for i = 1, \(iterations) do now() end end) - empty
        local p = pod.run{ name = "b", containers = { { name = "a", command = { "sleep", "9" } }, { name = "b", command = { "sleep", "9" } } } }
        local statusCount = \(iterations) // 100
        local status = time(function() for i = 1, statusCount do p:status() end end) - empty / 100
        return c, bridged, status, statusCount
        """)
    guard case .number(let c) = results[0], case .number(let bridged) = results[1], case .number(let status) = results[2] else {
        print("unexpected results \(results)")
        exit(1)
    }
    let perC = c / Double(iterations) * 1e9
    let perBridged = bridged / Double(iterations) * 1e9
    let perStatus = status / Double(iterations / 100) * 1e9
    print("plain Lua C function (math.abs): \(Int(perC)) ns a call")
    print("bridged call (pod.now): \(Int(perBridged)) ns a call; ratio \(String(perBridged / perC).prefix(4))x; target <= 3x")
    print(
        "bridged call building a status table (p:status(), 2 containers): \(Int(perStatus)) ns a call; "
            + "ratio \(String(perStatus / perC).prefix(5))x")
} catch {
    print("benchmark failed: \(error)")
    exit(1)
}
