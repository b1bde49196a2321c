import Foundation
import PodTestSupport
import Testing

/// Errors raised from Swift callbacks go through the C trampoline, so no Swift frame is skipped
/// and nothing leaks. `lua-leak-check` raises 100,000 of them in a process of its own and
/// reports how much its resident set grew after a warm-up; a leak of even 20 bytes an error
/// would show as 2 MB.
@Suite("Bridge leaks")
struct BridgeLeakTests {
    static var tool: String? {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = url.appendingPathComponent("lua-leak-check").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            url.deleteLastPathComponent()
        }
        return nil
    }

    @Test func hundredThousandErrorsFromSwiftCallbacksLeakNothing() throws {
        if CModuleTests.underAddressSanitizer {
            try Test.cancel("built with AddressSanitizer: its quarantine holds freed memory, so the resident set says nothing")
        }
        guard let tool = Self.tool else {
            try Test.cancel("lua-leak-check is not built next to the tests (swift build --product lua-leak-check)")
        }
        let ran = try Command.run(tool, ["100000"])
        let text = ran.stdout
        #expect(ran.status == 0, "\(ran.output)")
        let fields = Dictionary(
            uniqueKeysWithValues: text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { field -> (String, Int)? in
                let parts = field.split(separator: "=")
                guard parts.count == 2, let value = Int(parts[1]) else { return nil }
                return (String(parts[0]), value)
            })
        #expect(fields["errors"] == 100_000, "\(text)")
        let grew = try #require(fields["grew"])
        #expect(grew < 2 << 20, "the resident set grew by \(grew) bytes over 100,000 errors")
    }
}
