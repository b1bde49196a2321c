import PodKit

/// The built-in programs of the simulated kernel, after their Debian busybox 1.35 namesakes
/// (options, messages and exit codes, checked against the real binaries), util-linux's
/// `ipcmk`/`ipcs`, and `pause`, Kubernetes' infra program.
enum SimApplets {
    static func install(in kernel: SimKernel) {
        let applets: [String: SimProgram] = [
            "pause": pause, "true": { _ in .exit(0) }, "false": { _ in .exit(1) }, "sleep": sleep, "echo": echo,
            "kill": kill, "hostname": hostname, "id": id, "ps": ps, "test": testProgram, "[": testProgram, "pwd": pwd,
            "cat": SimFileApplets.cat, "ls": SimFileApplets.ls, "mkdir": SimFileApplets.mkdir,
            "touch": SimFileApplets.touch, "rm": SimFileApplets.rm,
            "httpd": SimNetApplets.httpd, "wget": SimNetApplets.wget,
            "ipcmk": SimIPCApplets.ipcmk, "ipcs": SimIPCApplets.ipcs,
            "sh": SimShell.main,
        ]
        for (name, program) in applets { kernel.programs[name] = program }
    }

    static let banner = "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n\n"

    /// Prints busybox's usage text for an applet and fails.
    static func usage(_ ctx: SimContext, _ synopsis: String) -> SimStep {
        ctx.writeError(banner + "Usage: \(synopsis)\n")
        return .exit(1)
    }

    /// An option the applet does not know.
    struct BadOption: Error {
        let flag: Character
    }

    /// Splits `-abc` style options; returns the flags and the operands, or the bad flag.
    static func options(_ args: [String], allowed: Set<Character>) -> Result<(flags: Set<Character>, operands: [String]), BadOption> {
        var flags: Set<Character> = []
        var operands: [String] = []
        var parsing = true
        for arg in args {
            if parsing && arg == "--" {
                parsing = false
            } else if parsing && arg.hasPrefix("-") && arg.count > 1 {
                for c in arg.dropFirst() {
                    guard allowed.contains(c) else { return .failure(BadOption(flag: c)) }
                    flags.insert(c)
                }
            } else {
                operands.append(arg)
            }
        }
        return .success((flags, operands))
    }

    /// Kubernetes' pause: exit 0 on SIGTERM/SIGINT, reap children, sleep forever.
    static func pause(_ ctx: SimContext) -> SimStep {
        ctx.trap(.term) { _ in .exit(0) }
        ctx.trap(.int) { _ in .exit(0) }
        ctx.reapChildren()
        return .waitForever
    }

    /// `sleep N[smhd]...`: the sum of its arguments (busybox accepts fractions and suffixes).
    static func sleep(_ ctx: SimContext) -> SimStep {
        let operands = Array(ctx.args.dropFirst())
        guard !operands.isEmpty else {
            ctx.writeError(
                banner + "Usage: sleep [N]...\n\nPause for a time equal to the total of the args given, where each arg can\n"
                    + "have an optional suffix of (s)econds, (m)inutes, (h)ours, or (d)ays\n")
            return .exit(1)
        }
        var total = 0.0
        for operand in operands {
            guard let seconds = parseDuration(operand) else {
                ctx.writeError("sleep: invalid number '\(operand)'\n")
                return .exit(1)
            }
            total += seconds
        }
        return .sleep(total) { _ in .exit(0) }
    }

    static func parseDuration(_ text: String) -> Double? {
        if let whole = Int(text), whole >= 0 { return Double(whole) }
        var number = Substring(text)
        var scale = 1.0
        switch number.last {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86400
        default: break
        }
        if number.last.map({ !$0.isNumber && $0 != "." }) ?? false { number = number.dropLast() }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(number), value.isFinite
        else { return nil }
        return value * scale
    }

    /// What `echo [-n] ARGS...` prints.
    static func echoText(_ operands: ArraySlice<String>) -> String {
        if operands.first == "-n" { return operands.dropFirst().joined(separator: " ") }
        return operands.joined(separator: " ") + "\n"
    }

    /// `echo [-n] ARGS...`.
    static func echo(_ ctx: SimContext) -> SimStep {
        if let error = ctx.write(echoText(ctx.args.dropFirst())) {
            ctx.writeError("echo: write error: \(error)\n")
            return .exit(1)
        }
        return .exit(0)
    }

    /// `kill [-SIG | -s SIG | -N] PID...`: TERM by default.
    static func kill(_ ctx: SimContext) -> SimStep {
        .exit(killCommand(ctx, Array(ctx.args.dropFirst())) { _ = ctx.writeError("kill: " + $0) })
    }

    /// busybox kill's work, for the applet and ash's builtin (whose messages start "sh: ").
    static func killCommand(_ ctx: SimContext, _ arguments: [String], error: (String) -> Void) -> Int32 {
        var args = arguments
        var signal = Signal.term
        if let first = args.first, first.hasPrefix("-"), first.count > 1, Int(first) == nil || first.count <= 3 {
            args.removeFirst()
            var name = String(first.dropFirst())
            if name == "s" {
                guard !args.isEmpty else {
                    error("option requires an argument -- 's'\n")
                    return 1
                }
                name = args.removeFirst()
            }
            guard let parsed = Signal(name: name) else {
                error("bad signal name '\(name)'\n")
                return 1
            }
            signal = parsed
        }
        guard !args.isEmpty else {
            error("you need to specify whom to kill\n")
            return 1
        }
        var status: Int32 = 0
        for arg in args {
            guard let pid = Int(arg) else {
                error("invalid number '\(arg)'\n")
                status = 1
                continue
            }
            if let failure = ctx.kill(pid, signal) {
                error("can't kill pid \(pid): \(failure)\n")
                status = 1
            }
        }
        return status
    }

    /// `test EXPR` and `[ EXPR ]` (busybox's, for the common forms): `!`, `-e -f -d -s -n -z`,
    /// `= !=`, `-eq -ne -lt -le -gt -ge`, and a lone string (true when not empty).
    static func test(_ ctx: SimContext, _ words: [String]) -> Result<Bool, SimTestError> {
        var args = Array(words.dropFirst())
        if words.first == "[" {
            guard args.last == "]" else { return .failure(SimTestError("missing ]")) }
            args.removeLast()
        }
        var negate = false
        while args.first == "!" && args.count > 1 {
            negate.toggle()
            args.removeFirst()
        }
        func integer(_ text: String) -> Result<Int64, SimTestError> {
            Int64(text).map { .success($0) } ?? .failure(SimTestError("\(text): bad number"))
        }
        let result: Result<Bool, SimTestError>
        switch args.count {
        case 0:
            result = .success(false)
        case 1:
            result = .success(!args[0].isEmpty)
        case 2:
            let operand = args[1]
            switch args[0] {
            case "-n": result = .success(!operand.isEmpty)
            case "-z": result = .success(operand.isEmpty)
            case "-e": result = .success(ctx.isDirectory(operand) != nil)
            case "-d": result = .success(ctx.isDirectory(operand) == true)
            case "-f": result = .success(ctx.isDirectory(operand) == false)
            case "-s": result = .success((ctx.fileSize(operand) ?? 0) > 0 || ctx.isDirectory(operand) == true)
            default: result = .failure(SimTestError("\(operand): unknown operand"))
            }
        case 3:
            let (a, op, b) = (args[0], args[1], args[2])
            switch op {
            case "=", "==": result = .success(a == b)
            case "!=": result = .success(a != b)
            case "-eq", "-ne", "-lt", "-le", "-gt", "-ge":
                switch (integer(a), integer(b)) {
                case (.success(let x), .success(let y)):
                    let truth =
                        op == "-eq"
                        ? x == y
                        : op == "-ne"
                            ? x != y
                            : op == "-lt"
                                ? x < y
                                : op == "-le" ? x <= y : op == "-gt" ? x > y : x >= y
                    result = .success(truth)
                case (.failure(let message), _), (_, .failure(let message)):
                    result = .failure(message)
                }
            default: result = .failure(SimTestError("\(b): unknown operand"))
            }
        default:
            result = .failure(SimTestError("syntax error"))
        }
        return result.map { negate ? !$0 : $0 }
    }

    /// `test` and `[` as programs (exit 0 true, 1 false, 2 on an error).
    static func testProgram(_ ctx: SimContext) -> SimStep {
        switch test(ctx, ctx.args) {
        case .success(let truth): return .exit(truth ? 0 : 1)
        case .failure(let failure):
            ctx.writeError("\(ctx.args.first ?? "test"): \(failure.message)\n")
            return .exit(2)
        }
    }

    /// `pwd`.
    static func pwd(_ ctx: SimContext) -> SimStep {
        ctx.write(ctx.absolutePath(".") + "\n")
        return .exit(0)
    }

    /// `id [-u|-g]`: the process's credentials.
    static func id(_ ctx: SimContext) -> SimStep {
        let credentials = ctx.process.credentials
        let (uid, gid) = (credentials.uid, credentials.gid)
        // The groups only when there is more than the primary one (busybox prints them always;
        // the sim keeps its shorter `uid=N gid=M` for the common case).
        let extra = !credentials.groups.isEmpty && credentials.groups != [gid]
        let groups = extra ? credentials.groups.map(String.init).joined(separator: ",") : ""
        switch ctx.args.dropFirst().first {
        case nil: ctx.write("uid=\(uid) gid=\(gid)" + (groups.isEmpty ? "" : " groups=\(groups)") + "\n")
        case "-u": ctx.write("\(uid)\n")
        case "-g": ctx.write("\(gid)\n")
        case "-G": ctx.write((groups.isEmpty ? "\(gid)" : credentials.groups.map(String.init).joined(separator: " ")) + "\n")
        case let option?:
            ctx.writeError("id: unrecognized option '\(option)' (-u, -g, -G)\n")
            return .exit(1)
        }
        return .exit(0)
    }

    /// `hostname [NAME]`: prints the UTS hostname, or sets it, which needs CAP_SYS_ADMIN
    /// (not in a container's default set; `capabilities.add` or `privileged` give it) and at
    /// most 64 bytes.
    static func hostname(_ ctx: SimContext) -> SimStep {
        if ctx.args.count > 1 {
            guard ctx.process.credentials.has("SYS_ADMIN") else {
                ctx.writeError("hostname: sethostname: Operation not permitted\n")
                return .exit(1)
            }
            guard ctx.args[1].utf8.count <= 64 else {
                ctx.writeError("hostname: sethostname: Invalid argument\n")
                return .exit(1)
            }
            ctx.process.namespaces.uts.hostname = ctx.args[1]
            return .exit(0)
        }
        ctx.write(ctx.hostname() + "\n")
        return .exit(0)
    }

    /// `ps`: `PID   USER     COMMAND` and one line per visible process, with the full command
    /// line (Debian's busybox).
    static func ps(_ ctx: SimContext) -> SimStep {
        if case .failure(let bad) = options(Array(ctx.args.dropFirst()), allowed: ["w", "T"]) {
            ctx.writeError("ps: invalid option -- '\(bad.flag)'\n")
            return usage(ctx, "ps [-o COL1,COL2=HEADER] [-T]")
        }
        var out = "PID   USER     COMMAND\n"
        for (pid, command) in ctx.visibleProcesses() {
            out += String(pid).leftPadded(to: 5, with: " ") + " root     " + command + "\n"
        }
        ctx.write(out)
        return .exit(0)
    }
}

/// A `test` expression that cannot be evaluated, with busybox's message.
struct SimTestError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
