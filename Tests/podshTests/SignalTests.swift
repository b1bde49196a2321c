import Foundation
import PodTestSupport
import Testing

/// A signal or a timeout ends podsh in any state — in a wait, in a loop, stuck in a C call the
/// Lua hook never reaches — within about a second, its pods removed either way.
@Suite("podsh signals and timeouts", .serialized)
struct SignalTests {
    /// A pattern Lua's own matcher backtracks on for hours, in C (`--unsafe` keeps Lua's own).
    static let stuckInC = #"string.find(("a"):rep(20000), "a*a*a*b")"#

    /// podsh running `arguments`, once it printed its first line (the script is where the test
    /// wants it); the caller sends a signal, then calls `finish`.
    final class Running: @unchecked Sendable {
        let process = Process()
        let out = Pipe(), err = Pipe()
        var firstLine = ""

        init(_ arguments: [String]) throws {
            guard let podsh = PodshTests.podsh else { try Test.cancel("podsh is not built next to the tests") }
            process.executableURL = URL(fileURLWithPath: podsh)
            process.arguments = arguments
            process.standardOutput = out
            process.standardError = err
            try process.run()
            while !firstLine.contains("\n") {
                let data = out.fileHandleForReading.availableData
                if data.isEmpty { break }
                firstLine += String(decoding: data, as: UTF8.self)
            }
        }

        /// The CPU time podsh has used, in clock ticks (utime + stime of /proc/PID/stat).
        var cpuTicks: Int {
            let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
            guard let close = stat.lastIndex(of: ")") else { return 0 }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 13 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
        }

        /// Waits until podsh has burnt `ticks` more of CPU time: past its last line, the only
        /// work left is the call that is stuck, so it is in it.
        func waitUntilBusy(ticks: Int = 20) {
            let start = cpuTicks
            while cpuTicks < start + ticks && process.isRunning { usleep(10_000) }
        }

        /// The exit status and standard error, or nil when podsh did not end within the guard.
        func finish() -> (status: Int32, stderr: String)? {
            guard finishes(within: 60, { self.process.waitUntilExit() }) else {
                process.terminate()
                kill(process.processIdentifier, SIGKILL)
                return nil
            }
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            return (process.terminationStatus, stderr)
        }
    }

    @Test("SIGTERM, SIGHUP and Ctrl-C end a script stuck in C: 128 + the signal, from the watchdog")
    func aSignalEndsAScriptStuckInC() throws {
        for signal in [SIGTERM, SIGHUP, SIGINT] {
            let podsh = try Running(["--unsafe", "-e", "print('ready') io.stdout:flush() \(Self.stuckInC)"])
            #expect(podsh.firstLine == "ready\n")
            podsh.waitUntilBusy()
            kill(podsh.process.processIdentifier, signal)
            let ended = podsh.finish()
            #expect(ended?.status == 128 + signal, "\(signal): \(String(describing: ended))")
            #expect(ended?.stderr.contains("(stuck in a C call the script's limits cannot stop); removing its pods and leaving") == true, "\(String(describing: ended))")
        }
    }

    @Test("a signal stops a sandboxed loop through the hook: the normal exit, 128 + the signal")
    func aSignalStopsALoop() throws {
        let podsh = try Running(["-e", "print('ready') while true do end"])
        #expect(podsh.firstLine == "ready\n")
        podsh.waitUntilBusy()
        kill(podsh.process.processIdentifier, SIGTERM)
        let ended = podsh.finish()
        #expect(ended?.status == 128 + SIGTERM)
        #expect(ended?.stderr.hasPrefix("podsh: interrupted") == true, "\(String(describing: ended))")
        #expect(ended?.stderr.contains("watchdog") == false && ended?.stderr.contains("stuck") == false)
    }

    @Test("--timeout: a loop stops at its hook; a C call stuck past it ends podsh from the watchdog")
    func timeouts() throws {
        let loop = try PodshTests.run(["--timeout", "0.5", "-e", "while true do end"])
        #expect(loop.status == 1 && loop.stderr.hasPrefix("podsh: wall-clock limit of 0.5 s exceeded\nstack traceback:"), "\(loop)")
        // In the sandbox the pattern is charged to the limits and stops at the deadline itself.
        let sandboxed = try PodshTests.run(["--timeout", "0.5", "-e", Self.stuckInC])
        #expect(sandboxed.status == 1 && sandboxed.stderr.hasPrefix("podsh: wall-clock limit of 0.5 s exceeded"), "\(sandboxed)")
        let stuck = try PodshTests.run(["--unsafe", "--timeout", "0.5", "-e", Self.stuckInC])
        #expect(stuck.status == 1, "\(stuck)")
        #expect(stuck.stderr.contains("ran past its wall-clock limit (--timeout), stuck in a C call"), "\(stuck)")
        for bad in ["-1", "nan", "x", "1e300"] {
            let refused = try PodshTests.run(["--timeout", bad, "-e", "print(1)"])
            #expect(refused.status == 2 && refused.stderr.contains("--timeout"), "\(bad): \(refused)")
            #expect(refused.stderr.contains("it must be a number of seconds from 0 (no limit) to 2592000"), "\(bad): \(refused)")
        }
        let none = try PodshTests.run(["--timeout", "0", "-e", "print(1)"])
        #expect(none.status == 0 && none.stdout == "1\n")
    }

    @Test("podsh test ends on SIGTERM instead of running the cases that are left")
    func theTestCommandEndsOnSIGTERM() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("podsh-signal-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A file's TAP lines come once it has run: "ok 1" means the looping file has begun.
        for (name, source) in [
            ("a.lua", "test('first', function() end)"), ("b.lua", "test('loops', function() while true do end end)"),
            ("c.lua", "test('later file', function() end)"),
        ] {
            try source.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let podsh = try Running(["test", dir.path])
        #expect(podsh.firstLine.hasPrefix("ok 1 - "), "the first case passed; the second loops")
        kill(podsh.process.processIdentifier, SIGTERM)
        let ended = podsh.finish()
        #expect(ended?.status == 128 + SIGTERM, "\(String(describing: ended))")
        let rest = String(decoding: podsh.out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let tap = podsh.firstLine + rest
        // The signal lands in the looping case (which fails, interrupted) or just before it.
        #expect(tap.contains("Bail out! SIGTERM stopped the run"), "\(tap)")
        #expect(!tap.contains("not ok 2 - ") || tap.contains("# interrupted"), "\(tap)")
        #expect(!tap.contains("later file"), "\(tap)")
    }
}
