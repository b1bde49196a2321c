import PodKit

/// util-linux's `ipcmk` and `ipcs` (busybox has neither), with their formats.
enum SimIPCApplets {
    static func ipcmk(_ ctx: SimContext) -> SimStep {
        var args = Array(ctx.args.dropFirst())
        var created: [String] = []
        func fail(_ message: String) -> SimStep {
            ctx.writeError("ipcmk: \(message)\nTry 'ipcmk --help' for more information.\n")
            return .exit(1)
        }
        var requests: [(SimIPCObject.Kind, Int)] = []
        while !args.isEmpty {
            let arg = args.removeFirst()
            switch arg {
            case "-M", "--shmem", "-S", "--semaphore", "-p", "--mode":
                guard !args.isEmpty else { return fail("option requires an argument -- '\(arg.dropFirst().prefix(1))'") }
                let value = args.removeFirst()
                if arg == "-p" || arg == "--mode" { continue }
                if arg == "-M" || arg == "--shmem" {
                    guard let size = parseSize(value) else { return fail("failed to parse size: '\(value)'") }
                    requests.append((.sharedMemory, size))
                } else {
                    guard let count = Int(value), count > 0 else { return fail("failed to parse elements: '\(value)'") }
                    requests.append((.semaphoreSet, count))
                }
            case "-Q", "--queue":
                requests.append((.messageQueue, 0))
            default:
                return fail("invalid option -- '\(arg.dropFirst().prefix(1))'")
            }
        }
        guard !requests.isEmpty else { return fail("bad usage") }
        // util-linux creates shared memory, then the queue, then semaphores.
        for kind in [SimIPCObject.Kind.sharedMemory, .messageQueue, .semaphoreSet] {
            for (k, size) in requests where k == kind {
                let id = ctx.createIPC(kind, size: size)
                switch kind {
                case .sharedMemory: created.append("Shared memory id: \(id)")
                case .messageQueue: created.append("Message queue id: \(id)")
                case .semaphoreSet: created.append("Semaphore id: \(id)")
                }
            }
        }
        ctx.write(created.joined(separator: "\n") + "\n")
        return .exit(0)
    }

    /// Sizes with util-linux's suffixes: K, KiB, M, MiB... (powers of 1024), KB, MB (of 1000).
    static func parseSize(_ text: String) -> Int? {
        let digits = text.prefix { $0.isNumber }
        guard let base = Int(digits), !digits.isEmpty else { return nil }
        let suffix = text.dropFirst(digits.count)
        let binary: [String: Int] = ["": 1, "K": 1 << 10, "KiB": 1 << 10, "M": 1 << 20, "MiB": 1 << 20, "G": 1 << 30, "GiB": 1 << 30]
        let decimal: [String: Int] = ["KB": 1000, "MB": 1_000_000, "GB": 1_000_000_000]
        guard let factor = binary[String(suffix)] ?? decimal[String(suffix)] else { return nil }
        let (value, overflow) = base.multipliedReportingOverflow(by: factor)
        return overflow ? nil : value
    }

    static func ipcs(_ ctx: SimContext) -> SimStep {
        var kinds: [SimIPCObject.Kind] = []
        for arg in ctx.args.dropFirst() {
            switch arg {
            case "-m", "--shmems": kinds.append(.sharedMemory)
            case "-q", "--queues": kinds.append(.messageQueue)
            case "-s", "--semaphores": kinds.append(.semaphoreSet)
            case "-a", "--all": kinds += [.sharedMemory, .messageQueue, .semaphoreSet]
            default:
                ctx.writeError("ipcs: invalid option -- '\(arg.dropFirst().prefix(1))'\nTry 'ipcs --help' for more information.\n")
                return .exit(1)
            }
        }
        ctx.write(ctx.ipcListing(kinds.isEmpty ? [.sharedMemory, .messageQueue, .semaphoreSet] : kinds))
        return .exit(0)
    }
}
