import Foundation
import Testing

/// The prompt, driven through tmux (a real pseudo-terminal): keys in with `send-keys`, the
/// screen out with `capture-pane`.
@Suite("podsh prompt", .serialized)
struct PromptTests {
    /// A podsh prompt in a private tmux server, with its own HOME (so its own history).
    final class Session {
        let socket = "podsh-test-\(UUID().uuidString.prefix(8))"
        let home: URL

        /// Without `home`, the session makes a HOME of its own and removes it when it ends.
        let ownsHome: Bool

        /// The podsh binary, or the test is cancelled: tmux or podsh missing. (Outside the
        /// initializer: a cancel inside a class's throwing init draws "will never be executed".)
        static func podsh() throws -> String {
            guard PromptTests.tmux != nil else {
                try Test.cancel("tmux is not installed (scripts/setup.sh --validator installs it); prompt tests skipped")
            }
            guard let podsh = PodshTests.podsh else {
                try Test.cancel("podsh is not built next to the tests (swift build --product podsh)")
            }
            return podsh
        }

        init(home: URL? = nil, arguments: String = "", noColor: Bool = true) throws {
            let podsh = try Self.podsh()
            ownsHome = home == nil
            let home = try home ?? PromptTests.makeHome()
            self.home = home
            // The shell stays after podsh leaves, so the screen can still be read.
            try tmuxRun([
                "new-session", "-d", "-s", "p", "-x", "160", "-y", "50",
                "env \(noColor ? "NO_COLOR=1" : "-u NO_COLOR") HOME='\(home.path)' TERM=xterm '\(podsh)' \(arguments); echo podsh-exited-$?; sleep 60",
            ])
            try waitFor("Ctrl-D leaves.")
        }

        deinit { end() }

        /// Ends the tmux server (and podsh in it) now.
        func end() {
            _ = try? tmuxRun(["kill-server"])
            if ownsHome { try? FileManager.default.removeItem(at: home) }
        }

        /// Runs tmux with posix_spawn and waitpid: Foundation's Process waits on a descriptor
        /// that the tmux server, which `new-session` daemonizes, keeps open.
        @discardableResult
        func tmuxRun(_ arguments: [String]) throws -> String {
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("podsh-tmux-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: output) }
            let argv = [PromptTests.tmux!, "-L", socket, "-f", "/dev/null"] + arguments
            var cArgs = argv.map { strdup($0) } + [nil]
            defer { cArgs.forEach { free($0) } }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            // The test runner's threads block signals; a terminal's processes would not.
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var none = sigset_t()
            sigemptyset(&none)
            posix_spawnattr_setsigmask(&attributes, &none)
            var interrupt = sigset_t()
            sigemptyset(&interrupt)
            sigaddset(&interrupt, SIGINT)
            posix_spawnattr_setsigdefault(&attributes, &interrupt)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
            var pid: pid_t = 0
            let status = posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ)
            guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EIO) }
            var exit: Int32 = 0
            while waitpid(pid, &exit, 0) < 0 && errno == EINTR {}
            return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        }

        /// Types `text` literally (tmux would read `end` as the End key otherwise).
        func type(_ text: String) throws { try tmuxRun(["send-keys", "-t", "p", "-l", text]) }
        func key(_ names: String...) throws { try tmuxRun(["send-keys", "-t", "p"] + names) }
        func line(_ text: String) throws {
            try type(text)
            try key("Enter")
        }
        var screen: String { (try? tmuxRun(["capture-pane", "-p", "-t", "p", "-S", "-200"])) ?? "" }
        /// The screen with its colours, as escape sequences.
        var colouredScreen: String { (try? tmuxRun(["capture-pane", "-p", "-e", "-t", "p", "-S", "-200"])) ?? "" }

        /// Waits until the screen contains `text` (a deadline for a hung podsh, not a timing test).
        @discardableResult
        func waitFor(_ text: String, count: Int = 1, seconds: Double = 30) throws -> String {
            try waitUntil("\(text) (\(count)x)", seconds: seconds) { $0.components(separatedBy: text).count - 1 >= count }
        }

        /// Waits until `condition` holds for the screen; `what` names it in the failure.
        @discardableResult
        func waitUntil(_ what: String, seconds: Double = 30, _ condition: (String) -> Bool) throws -> String {
            if let seen = poll(seconds: seconds, condition) { return seen }
            Issue.record("the screen never showed \(what):\n\(screen)")
            throw CancellationError()
        }

        /// The screen once `condition` holds for it, or nil after `seconds`.
        func poll(seconds: Double, _ condition: (String) -> Bool) -> String? {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let now = screen
                if condition(now) { return now }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return nil
        }

        /// The last line of the screen that is not blank.
        static func lastLine(_ screen: String) -> String {
            screen.split(separator: "\n").last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                .map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        }
    }

    static var tmux: String? {
        ["/usr/bin/tmux", "/usr/local/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func makeHome() throws -> URL {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("podsh-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        return home
    }

    @Test func expressionsAndMultiLineInput() throws {
        let session = try Session()
        defer { session.end() }
        try session.line("1 + 1")
        try session.waitFor("\n2\n")
        try session.line("=math.max(3, 9), 'x'")
        try session.waitFor("9       x")  // the pane shows the tab as spaces
        // lua.c's <eof> rule: an unfinished chunk continues on the next line.
        try session.line("function double(n)")
        try session.waitFor("\n>>")
        try session.line("return n * 2")
        try session.line("end")
        try session.line("double(21)")
        try session.waitFor("\n42\n")
        // Tables: nested, sorted keys, cycles marked.
        try session.line("t = {3, 'a', zed = true, alpha = {b = 1}}; t.me = t")
        try session.line("t")
        let table = try session.waitFor("  zed = true\n}")
        #expect(table.contains("{\n  3,\n  \"a\",\n  alpha = { b = 1 },\n  me = <cycle: table: 0x"))
        try session.line("{1, 2, x = 'y'}")
        try session.waitFor(#"{ 1, 2, x = "y" }"#)
        // A Pod shows itself and its status.
        try session.line(#"p = pod.run{name = "web", containers = {{name = "c", image = "busybox", command = {"sleep", "100"}}}}"#)
        try session.line("p")
        let screen = try session.waitFor("qosClass = \"BestEffort\"")
        #expect(screen.contains("Pod(web, 1 container, Running) {"))
        #expect(screen.contains("phase = \"Running\""))
        // Errors are reported and the prompt goes on.
        try session.line("error('boom')")
        try session.waitFor("stdin:1: boom")
        try session.line("x = ")  // continues, even over an empty line
        try session.line("")
        try session.line("'in three lines'")
        try session.line("=x")
        try session.waitFor("\nin three lines\n")
        try session.line("local z = 5 return z * 2, 'statements'")  // statements' results print too
        try session.waitFor("10      statements")
        try session.line("a) (b")  // not an expression, not statements
        try session.waitFor("stdin:1: syntax error near ')'")
        try session.line("x = = 1")  // a syntax error that is not at <eof>
        try session.waitFor("stdin:1: unexpected symbol near '='")
        try session.line("= 'still here'")
        try session.waitFor("\nstill here\n")
        try session.key("C-d")
        try session.waitFor("podsh-exited-0")
    }

    @Test func completion() throws {
        let session = try Session()
        defer { session.end() }
        try session.type("pod.cre")  // one match: completed in place
        try session.key("Tab")
        try session.waitFor("> pod.create")
        try session.key("C-u")
        try session.line(#"p = pod.create{name = "w", containers = {{name = "c", image = "busybox"}}}"#)
        try session.type("p:st")  // several: a second Tab lists them
        try session.key("Tab")
        try session.key("Tab")
        let screen = try session.waitFor("p:stop")
        #expect(screen.contains("p:start") && screen.contains("p:status"))
        try session.key("C-u")
        try session.type("coll")  // globals: collectgarbage
        try session.key("Tab")
        try session.waitFor("> collectgarbage")
        try session.key("C-u")
        try session.line("=string.format('%s!', 'done')")
        try session.waitFor("done!")
    }

    @Test func controlCStopsTheChunkNotThePrompt() throws {
        let session = try Session()
        defer { session.end() }
        try session.line("print('looping') while true do end")
        try session.waitFor("\nlooping\n")
        try session.key("C-c")
        try session.waitFor("interrupted")
        try session.type("half a line")
        // Each key only once the screen shows the one before took effect: under load the
        // terminal may hand podsh the next keys before it has read these.
        try session.waitUntil("the half line at the prompt") { Session.lastLine($0) == "> half a line" }
        try session.key("C-c")  // at the prompt: the line is dropped
        try session.waitUntil("a fresh prompt after the dropped line") { screen in
            Session.lastLine(screen) == ">" && screen.contains("> half a line")
        }
        try session.line("= 6 * 7")
        let screen = try session.waitFor("\n42\n")
        #expect(!screen.contains("podsh-exited"))
        try session.key("C-d")
        try session.waitFor("podsh-exited-0")
    }

    /// A chunk stuck in a C call (Lua's own matcher, with --unsafe) cannot be stopped: a second
    /// after Ctrl-C the watchdog ends podsh, saying why, instead of leaving the prompt hung.
    @Test func controlCOnAChunkStuckInCEndsPodsh() throws {
        let session = try Session(arguments: "--unsafe")
        defer { session.end() }
        // A Ctrl-C that lands in print, before the call, stops the chunk as usual: try again.
        var screen = ""
        for attempt in 1...5 where !screen.contains("podsh-exited") {
            try session.line(#"print('stuck \#(attempt)') string.find(("a"):rep(20000), "a*a*a*b")"#)
            try session.waitFor("\nstuck \(attempt)\n")
            try session.key("C-c")
            screen = try session.waitUntil("podsh gone, or the chunk interrupted") { screen in
                screen.contains("podsh-exited") || screen.components(separatedBy: "interrupted").count > attempt
            }
        }
        #expect(screen.contains("podsh-exited-130"), "\(screen)")
        #expect(screen.contains("did not stop within a second of Ctrl-C"), "\(screen)")
    }

    /// On linux waits take real time: Ctrl-C ends the wait, and the pod — in sessions of its
    /// own, out of the terminal's process group — keeps running.
    @Test func controlCEndsALinuxWaitAndThePodLives() throws {
        guard geteuid() == 0 else {
            print("skip: the linux prompt test needs root")
            try Test.cancel("needs root")
        }
        let state = NSTemporaryDirectory() + "podsh-prompt-state-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let session = try Session(arguments: "--backend linux --allow-host-image --state-dir '\(state)'")
        defer { session.end() }
        try session.line("p = pod.run{ name = 'long', containers = { { name = 'c', image = 'host', command = { 'sleep', '3600' } } } }")
        try session.waitUntil("the prompt after pod.run") { screen in
            Session.lastLine(screen) == ">" && screen.contains("> p = pod.run")
        }
        try session.line("p:wait('Succeeded', 3600)")
        try session.waitUntil("the wait's line taken") { Session.lastLine($0) == "> p:wait('Succeeded', 3600)" }
        // Ctrl-C until the wait says it was interrupted: one that lands before the wait has
        // begun is taken by the line's start, and the next one ends the wait.
        var interrupted = false
        for _ in 0..<60 where !interrupted {
            try session.key("C-c")
            interrupted = session.poll(seconds: 1) { $0.contains("interrupted") } != nil
        }
        #expect(interrupted, "Ctrl-C ended the wait:\n\(session.screen)")
        try session.line("= p:status().phase, p:status().containers.c.state")
        let screen = try session.waitFor("Running")
        #expect(screen.contains("Running\trunning") || screen.contains("Running        running") || screen.contains("running"), "\(screen)")
        try session.key("C-d")
        try session.waitFor("podsh-exited-0")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: state + "/pods")) == [], "the pod went with the prompt")
    }

    @Test func historyAcrossTwoSessions() throws {
        let home = try Self.makeHome()
        defer { try? FileManager.default.removeItem(at: home) }
        do {
            let first = try Session(home: home)
            defer { first.end() }
            try first.line("= 'remembered ' .. 40 + 2")
            try first.waitFor("remembered 42")
            try first.key("C-d")
            try first.waitFor("podsh-exited-0")
        }
        let history = try String(contentsOf: home.appendingPathComponent(".podsh_history"), encoding: .utf8)
        #expect(history.contains("remembered"))
        let second = try Session(home: home)
        defer { second.end() }
        try second.key("Up")
        try second.key("Enter")
        try second.waitFor("remembered 42")
    }

    @Test func jsonPrintsResultsAsJSON() throws {
        let session = try Session(arguments: "--json")
        defer { session.end() }
        try session.line(#"{3, "a\"b", {z = 1, y = {}, [true] = 0/0}}, nil"#)
        try session.waitFor(#"[3,"a\"b",{"true":null,"y":{},"z":1}]"#)
        try session.waitFor("\nnull\n")
        try session.line("t = {} t.me = t return t")
        try session.waitFor(#"{"me":"<cycle: table: 0x"#)
    }

    @Test func colourOnlyOnATerminalWithoutNO_COLOR() throws {
        let coloured = try Session(noColor: false)
        defer { coloured.end() }
        try coloured.line("error('red')")
        try coloured.waitFor("stdin:1: red")
        #expect(coloured.colouredScreen.contains("\u{1B}[31mstdin:1: red"))
        let plain = try Session()
        defer { plain.end() }
        try plain.line("error('plain')")
        try plain.waitFor("stdin:1: plain")
        #expect(!plain.colouredScreen.contains("\u{1B}[31m"))
    }
}
