import PodKit

/// File applets: `cat`, `ls`, `mkdir`, `touch`, `rm`, with busybox 1.35's messages.
enum SimFileApplets {
    static func cat(_ ctx: SimContext) -> SimStep {
        let parsed = SimApplets.options(Array(ctx.args.dropFirst()), allowed: ["u"])
        guard case .success(let (_, files)) = parsed else {
            if case .failure(let bad) = parsed { ctx.writeError("cat: invalid option -- '\(bad.flag)'\n") }
            return SimApplets.usage(ctx, "cat [-nbvteA] [FILE]...")
        }
        if files.isEmpty {
            ctx.write(ctx.stdin)
            return .exit(0)
        }
        var status: Int32 = 0
        for file in files {
            if file == "-" {
                ctx.write(ctx.stdin)
                continue
            }
            switch ctx.read(file) {
            case .success(let content): ctx.write(content)
            case .failure(.EISDIR):
                ctx.writeError("cat: read error: Is a directory\n")
                status = 1
            case .failure(let error):
                ctx.writeError("cat: can't open '\(file)': \(error)\n")
                status = 1
            }
        }
        return .exit(status)
    }

    static func ls(_ ctx: SimContext) -> SimStep {
        let parsed = SimApplets.options(Array(ctx.args.dropFirst()), allowed: ["1", "a", "A", "l", "d"])
        guard case .success(let (flags, given)) = parsed else {
            if case .failure(let bad) = parsed { ctx.writeError("ls: invalid option -- '\(bad.flag)'\n") }
            return SimApplets.usage(ctx, "ls [-1AaCxdLHRFplinshrSXvctu] [-w WIDTH] [FILE]...")
        }
        let operands = given.isEmpty ? ["."] : given
        var status: Int32 = 0
        var files: [String] = []
        var dirs: [String] = []
        for operand in operands {
            switch ctx.isDirectory(operand) {
            case .none:
                ctx.writeError("ls: \(operand): No such file or directory\n")
                status = 1
            case .some(true) where !flags.contains("d"): dirs.append(operand)
            default: files.append(operand)
            }
        }
        func line(_ name: String, _ path: String) -> String {
            guard flags.contains("l") else { return name + "\n" }
            let isDir = ctx.isDirectory(path) ?? false
            let size = isDir ? 0 : ctx.fileSize(path) ?? 0
            let mode = isDir ? "drwxr-xr-x" : "-rw-r--r--"
            return "\(mode)    \(isDir ? 2 : 1) root     root     \(String(size).leftPadded(to: 9, with: " ")) Jan  1 00:00 \(name)\n"
        }
        var out = ""
        for file in files.sorted() { out += line(file, file) }
        for (i, dir) in dirs.sorted().enumerated() {
            if operands.count > 1 { out += (files.isEmpty && i == 0 ? "" : "\n") + "\(dir):\n" }
            guard case .success(var names) = ctx.list(dir) else { continue }
            if flags.contains("a") { names = [".", ".."] + names }
            if !flags.contains("a") && !flags.contains("A") { names = names.filter { !$0.hasPrefix(".") } }
            if flags.contains("l") { out += "total 0\n" }
            for name in names { out += line(name, dir + "/" + name) }
        }
        ctx.write(out)
        return .exit(status)
    }

    static func mkdir(_ ctx: SimContext) -> SimStep {
        let parsed = SimApplets.options(Array(ctx.args.dropFirst()), allowed: ["p"])
        guard case .success(let (flags, dirs)) = parsed, !dirs.isEmpty else {
            if case .failure(let bad) = parsed { ctx.writeError("mkdir: invalid option -- '\(bad.flag)'\n") }
            return SimApplets.usage(ctx, "mkdir [-m MODE] [-p] DIRECTORY...")
        }
        var status: Int32 = 0
        for dir in dirs {
            if let error = ctx.mkdir(dir, parents: flags.contains("p")) {
                ctx.writeError("mkdir: can't create directory '\(dir)': \(error)\n")
                status = 1
            }
        }
        return .exit(status)
    }

    static func touch(_ ctx: SimContext) -> SimStep {
        let parsed = SimApplets.options(Array(ctx.args.dropFirst()), allowed: ["c"])
        guard case .success(let (flags, files)) = parsed, !files.isEmpty else {
            if case .failure(let bad) = parsed { ctx.writeError("touch: invalid option -- '\(bad.flag)'\n") }
            return SimApplets.usage(ctx, "touch [-cham] [-d DATE] [-t DATE] [-r FILE] FILE...")
        }
        var status: Int32 = 0
        for file in files where ctx.isDirectory(file) == nil && !flags.contains("c") {
            if let error = ctx.writeFile(file, "", append: true) {
                ctx.writeError("touch: \(file): \(error)\n")
                status = 1
            }
        }
        return .exit(status)
    }

    static func rm(_ ctx: SimContext) -> SimStep {
        let parsed = SimApplets.options(Array(ctx.args.dropFirst()), allowed: ["r", "R", "f", "i"])
        guard case .success(let (flags, paths)) = parsed else {
            if case .failure(let bad) = parsed { ctx.writeError("rm: invalid option -- '\(bad.flag)'\n") }
            return SimApplets.usage(ctx, "rm [-irf] FILE...")
        }
        let force = flags.contains("f")
        if paths.isEmpty {
            return force ? .exit(0) : SimApplets.usage(ctx, "rm [-irf] FILE...")
        }
        var status: Int32 = 0
        for path in paths {
            guard let error = ctx.remove(path, recursive: flags.contains("r") || flags.contains("R")) else { continue }
            if error == .ENOENT && force { continue }
            if error == .EISDIR {
                ctx.writeError("rm: '\(path)' is a directory\n")
            } else {
                ctx.writeError("rm: can't remove '\(path)': \(error)\n")
            }
            status = 1
        }
        return .exit(status)
    }
}
