/// The built-in programs of the simulated kernel, after their Debian busybox 1.35 namesakes
/// (options, messages and exit codes), plus `pause`, Kubernetes' infra program.
enum SimApplets {
    static func install(in kernel: SimKernel) {
        kernel.programs["pause"] = pause
        kernel.programs["true"] = { _ in .exit(0) }
        kernel.programs["false"] = { _ in .exit(1) }
        kernel.programs["sleep"] = sleep
        kernel.programs["echo"] = echo
        kernel.programs["kill"] = kill
        kernel.programs["sh"] = SimShell.main
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
            ctx.writeError("BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) multi-call binary.\n\nUsage: sleep [N]...\n")
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
        var number = Substring(text)
        var scale = 1.0
        if let last = number.last, let factor = ["s": 1.0, "m": 60, "h": 3600, "d": 86400][String(last)] {
            scale = factor
            number = number.dropLast()
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(number), value.isFinite else { return nil }
        return value * scale
    }

    /// `echo [-n] ARGS...`.
    static func echo(_ ctx: SimContext) -> SimStep {
        var args = Array(ctx.args.dropFirst())
        var newline = true
        if args.first == "-n" {
            newline = false
            args.removeFirst()
        }
        ctx.write(args.joined(separator: " ") + (newline ? "\n" : ""))
        return .exit(0)
    }

    /// `kill [-SIG | -s SIG | -N] PID...` (busybox): TERM by default.
    static func kill(_ ctx: SimContext) -> SimStep {
        var args = Array(ctx.args.dropFirst())
        var signal = Signal.term
        if let first = args.first, first.hasPrefix("-"), first.count > 1 {
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
            ctx.writeError("BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) multi-call binary.\n\nUsage: kill [-l] [-SIG] PID...\n")
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
}
