import PodLua

// Raises N errors from Swift callbacks (in pairs: an invalid spec and a bad argument) and prints
// how much the resident set grew after a warm-up, so a test can check it in a process of its
// own (the test runner's other tests would move a shared resident set).
//
//     lua-leak-check [errors]     prints "errors=N grew=BYTES"
#if canImport(Glibc)
import Glibc
#endif

func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 128)
    guard fgets(&buffer, 128, file) != nil else { return 0 }
    let fields = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

let errors = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 100_000
do {
    let lua = try LuaState()
    try lua.openPod()
    _ = try lua.run(
        """
        function runner(n)
          local failures = 0
          for i = 1, n do
            if not pcall(pod.create, { name = "Bad Name", containers = { { name = "c", command = "not a list" } } }) then
              failures = failures + 1
            end
            if not pcall(pod.sleep, "soon") then failures = failures + 1 end
          end
          collectgarbage()
          collectgarbage()
          return failures
        end
        """)
    _ = try lua.run("return runner(1000)")
    let before = residentBytes()
    let result = try lua.run("return runner(\(errors / 2))")
    let after = residentBytes()
    guard result == [.integer(Int64(errors / 2 * 2))] else {
        print("unexpected result \(result)")
        exit(1)
    }
    print("errors=\(errors / 2 * 2) grew=\(after - before)")
} catch {
    print("failed: \(error)")
    exit(1)
}
