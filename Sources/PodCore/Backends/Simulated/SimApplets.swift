/// The built-in programs of the simulated kernel, after their Debian busybox 1.35 namesakes
/// (options, messages and exit codes, checked against the real binaries), util-linux's
/// `ipcmk`/`ipcs`, and `pause`, Kubernetes' infra program.
enum SimApplets {
    static func install(in kernel: SimKernel) {
        let applets: [String: SimProgram] = [
            "pause": pause, "true": { _ in .exit(0) }, "false": { _ in .exit(1) }, "sleep": sleep, "echo": echo,
            "kill": kill, "hostname": hostname, "ps": ps,
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
            ctx.writeError(banner + "Usage: sleep [N]...\n\nPause for a time equal to the total of the args given, where each arg can\n"
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
              let value = Double(number), value.isFinite else { return nil }
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
        var args = Array(ctx.args.dropFirst())
        var signal = Signal.term
        if let first = args.first, first.hasPrefix("-"), first.count > 1, Int(first) == nil || first.count <= 3 {
            args.removeFirst()
            var name = String(first.dropFirst())
            if name == "s" {
                guard !args.isEmpty else {
                    ctx.writeError("kill: option requires an argument -- 's'\n")
                    return .exit(1)
                }
                name = args.removeFirst()
            }
            guard let parsed = Signal(name: name) else {
                ctx.writeError("kill: bad signal name '\(name)'\n")
                return .exit(1)
            }
            signal = parsed
        }
        guard !args.isEmpty else {
            ctx.writeError("kill: you need to specify whom to kill\n")
            return .exit(1)
        }
        var status: Int32 = 0
        for arg in args {
            guard let pid = Int(arg) else {
                ctx.writeError("kill: bad pid '\(arg)'\n")
                status = 1
                continue
            }
            if let error = ctx.kill(pid, signal) {
                ctx.writeError("kill: can't kill pid \(pid): \(error)\n")
                status = 1
            }
        }
        return .exit(status)
    }

    /// `hostname`: prints the UTS hostname. Setting it needs CAP_SYS_ADMIN, which containers
    /// do not have.
    static func hostname(_ ctx: SimContext) -> SimStep {
        if ctx.args.count > 1 {
            ctx.writeError("hostname: sethostname: Operation not permitted\n")
            return .exit(1)
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
