import Foundation
import PodTestSupport
import Testing

@testable import PodCore
@testable import PodKit
@testable import PodSim

/// The simulated sh on modest hostile input overflowed the stack (SIGSEGV from `podsh play` on
/// the default backend). It now runs in loops, and the sim has Linux's own limits: execve's
/// E2BIG, PATH_MAX and NAME_MAX, with busybox's messages.
@Suite("Hostile input to the sim shell")
struct HostileSimShellTests {
    /// Runs `script` with `sh -c` on the sim's host, on a thread with a small stack (512 KiB,
    /// a secondary thread's size), within a hang guard.
    static func sh(_ script: String) -> Result<ExecResult, RuntimeError>? {
        final class Box: @unchecked Sendable { var result: Result<ExecResult, RuntimeError>? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let runtime = PodRuntime()
            box.result = Result { () throws(RuntimeError) in try runtime.execOnHost(["sh", "-c", script]) }
            runtime.close()
            done.signal()
        }
        thread.stackSize = 512 << 10
        thread.start()
        guard done.wait(timeout: .now() + 120) == .success else { return nil }
        return box.result
    }

    static func ran(_ script: String) -> ExecResult? {
        guard case .success(let result) = sh(script) else { return nil }
        return result
    }

    @Test func manyWordsAssignmentsAndCommands() throws {
        let echo = try #require(Self.ran("echo " + String(repeating: "x ", count: 5000)))
        #expect(echo.stdout.count == 10_000 && echo.exitCode == 0)
        let assignments = try #require(Self.ran(String(repeating: "V=x;", count: 20_000) + "echo $V"))
        #expect(assignments.stdout == "x\n")
        let chain = try #require(Self.ran(String(repeating: "true && ", count: 10_000) + "echo end"))
        #expect(chain.stdout == "end\n")
    }

    @Test func nestedSubstitutions() throws {
        let nested = try #require(Self.ran(String(repeating: "echo $(", count: 400) + "echo hi" + String(repeating: ")", count: 400)))
        #expect(nested.stdout == "hi\n" && nested.exitCode == 0, "\(nested.stderr)")
        let tooDeep = try #require(Self.ran(String(repeating: "echo $(", count: 1200) + "echo hi" + String(repeating: ")", count: 1200)))
        #expect(tooDeep.exitCode == 2)
        #expect(tooDeep.stderr == "sh: syntax error: $(...) nested deeper than 1000 levels\n")
    }

    @Test func pathsPastPathMaxAndNameMax() throws {
        let mkdir = try #require(Self.ran("mkdir -p " + String(repeating: "d/", count: 3000)))
        #expect(mkdir.exitCode == 1)
        #expect(mkdir.stderr.hasSuffix("': File name too long\n"), "\(mkdir.stderr.suffix(80))")
        let deep = try #require(Self.ran("mkdir -p " + String(repeating: "d/", count: 1000) + " && echo made"))
        #expect(deep.stdout == "made\n", "\(deep.stderr.suffix(80))")
        let cd = try #require(Self.ran("cd " + String(repeating: "../", count: 10_000)))
        #expect(cd.exitCode == 2)
        #expect(cd.stderr.hasSuffix(": File name too long\n"), "\(cd.stderr.suffix(80))")
        let name = try #require(Self.ran("echo x > /tmp/" + String(repeating: "n", count: 256)))
        #expect(name.stderr.hasSuffix(": File name too long\n"), "\(name.stderr.suffix(80))")
    }

    @Test func execveLimits() throws {
        // A script longer than MAX_ARG_STRLEN cannot be sh's argument, as on Linux.
        guard case .failure(let error) = Self.sh("echo " + String(repeating: "x ", count: 100_000)) else {
            Issue.record("a 200 KB argument was accepted")
            return
        }
        #expect("\(error)".hasSuffix("execve: Argument list too long"), "\(error)")
        // Words grown by expansion past it: ash's failed exec, status 126.
        let grown = try #require(Self.ran("A=" + String(repeating: "a", count: 70_000) + "; cat $A$A"))
        #expect(grown.exitCode == 126)
        #expect(grown.stderr == "sh: cat: Argument list too long\n")
        // A long hostname or URL is an error, not a crash.
        #expect(Self.ran("hostname " + String(repeating: "h", count: 10_000))?.stderr == "hostname: sethostname: Invalid argument\n")
        #expect(Self.ran("wget -qO- http://127.0.0.1/" + String(repeating: "u", count: 10_000))?.exitCode == 1)
    }
}
