import Foundation
import PodTestSupport
import Testing

/// `libpod.so` loads into Debian's stock `lua5.4` with `require "pod"`.
@Suite("Lua C module")
struct CModuleTests {
    static let interpreter = "/usr/bin/lua5.4"

    /// The directory holding libpod.so: the build directory of this test bundle.
    static var libraryDirectory: String? {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("libpod.so").path) { return url.path }
            url.deleteLastPathComponent()
        }
        return nil
    }

    /// Whether this process runs under AddressSanitizer (its runtime is linked in).
    static var underAddressSanitizer: Bool { dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil }

    /// Runs `script` with `lua5.4 -e`, `libpod.so` from `directory`; exit status and output.
    static func lua(_ directory: String, _ script: String) throws -> (Int32, String) {
        let ran = try Command.run(interpreter, ["-e", script], environment: ["LUA_CPATH": "\(directory)/lib?.so"], mergeOutput: true)
        return (ran.status, ran.stdout)
    }

    @Test func requirePodFromTheStockInterpreter() throws {
        if Self.underAddressSanitizer {
            try Test.cancel("built with AddressSanitizer: libpod.so needs the ASan runtime, which the stock lua5.4 does not load")
        }
        guard FileManager.default.isExecutableFile(atPath: Self.interpreter) else {
            try Test.cancel("\(Self.interpreter) is not installed (apt-get install lua5.4; scripts/setup.sh does)")
        }
        guard let directory = Self.libraryDirectory else {
            try Test.cancel("libpod.so is not built next to the tests (swift build --product pod)")
        }
        let (status, text) = try Self.lua(
            directory,
            """
            local pod = require "pod"
            local p = pod.run{ name = "x", containers = { { name = "c", command = { "sh", "-c", "echo hi; sleep 5; exit 2" } } } }
            pod.sleep(6)
            io.write(pod.backend(), " ", p:logs("c"), p:status().containers.c.history[1].exitCode)
            """)
        #expect(status == 0, "\(text)")
        #expect(text == "sim hi\n2")
    }

    /// The linux backend from the stock interpreter: the pause is C code in a forked child of
    /// `lua5.4` itself (no binary), PID 1 of the pod, named `pause`.
    @Test func theLinuxBackendFromTheStockInterpreter() throws {
        if Self.underAddressSanitizer { try Test.cancel("built with AddressSanitizer (see above)") }
        guard geteuid() == 0 else {
            print("skip: the linux backend from lua5.4: needs root")
            try Test.cancel("needs root")
        }
        guard FileManager.default.isExecutableFile(atPath: Self.interpreter), let directory = Self.libraryDirectory else {
            try Test.cancel("no lua5.4 or no libpod.so")
        }
        let state = NSTemporaryDirectory() + "swift-pods-cmodule-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let (status, text) = try Self.lua(
            directory,
            """
            local pod = require "pod"
            pod.use("linux", { stateDir = "\(state)", allowHostImage = true })
            local p = pod.run{ name = "lua", shareProcessNamespace = true, restartPolicy = "Never",
              containers = { { name = "c", image = "host", command = { "sh", "-c", "tr -d '\\\\000' < /proc/1/cmdline; echo; hostname" } } } }
            assert(p:wait("Succeeded"))
            io.write(pod.backend(), " ", p:logs("c"))
            """)
        #expect(status == 0, "\(text)")
        #expect(text == "linux pause\nlua\n")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: state + "/pods")) == [], "the pod went with the state")
    }
}
