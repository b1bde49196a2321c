#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import PodLua

/// Errors raised from Swift callbacks go through the C trampoline, so no Swift frame is skipped
/// and nothing leaks: the resident set is the same after 100,000 of them as after the first
/// 1,000 (a leak of even 20 bytes an error would show as 2 MB).
@Suite("Bridge leaks")
struct BridgeLeakTests {
    static func heapInUse() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, 128, file) != nil else { return 0 }
        let fields = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4096 : 0
    }

    @Test func hundredThousandErrorsFromSwiftCallbacksLeakNothing() throws {
        let lua = try LuaState()
        try lua.openPod()
        let chunk = """
            local n = ...
            local failures = 0
            for i = 1, n do
              if not pcall(pod.create, { name = "Bad Name", containers = { { name = "c", command = "not a list" } } }) then
                failures = failures + 1
              end
              if not pcall(pod.sleep, "soon") then failures = failures + 1 end
            end
            return failures
            """
        _ = try lua.run("local chunk = [[\(chunk)]] runner = load(chunk)", name: "=(setup)")
        #expect(try lua.run("collectgarbage() return runner(1000)") == [.integer(2000)])
        _ = try lua.run("collectgarbage() collectgarbage()")
        let before = Self.heapInUse()
        #expect(try lua.run("return runner(50000)") == [.integer(100_000)])
        _ = try lua.run("collectgarbage() collectgarbage()")
        let after = Self.heapInUse()
        #expect(after - before < 2 << 20, "the resident set grew by \(after - before) bytes over 100,000 errors")
    }
}
