import ArgumentParser
import PodLinux

extension LinuxPodRecord {
    /// "pid 42", "pid 42 (dead)" or "detached".
    var ownerText: String {
        if detached { return "detached" }
        return ownerAlive ? "pid \(owner.pid)" : "pid \(owner.pid) (dead)"
    }

    var infraText: String {
        guard let infra else { return "-" }
        return infraAlive ? "\(infra.pid)" : "\(infra.pid) (dead)"
    }

    /// Whether a container's recorded process still runs (on this boot).
    func isRunning(_ c: LinuxPodRecord.Container) -> Bool {
        !c.exited && bootID == LinuxState.bootID && (c.process?.isAlive ?? false)
    }

    var containersText: String {
        if containers.isEmpty { return "-" }
        return containers.map { c in
            "\(c.name) \(isRunning(c) ? "running" : "exited")"
        }.joined(separator: ", ")
    }
}

/// A pod of the state directory to act on, by name or id (`stop`, `rm`): refused while the
/// owner that made it still supervises it, unless `--force`.
struct UnownedPod: ParsableArguments {
    @Flag(help: "Even when its owner is running.") var force = false
    @Argument(help: "The pod's name or id.") var name: String

    /// The state directory and the pod's record, or exit 1 saying who owns it.
    func resolve(_ global: GlobalOptions, command: String, verb: String) throws -> (LinuxState, LinuxPodRecord) {
        let state = try global.state(for: command)
        let r = try global.pod(name, in: state)
        if !r.detached && r.ownerAlive && !force {
            stderrWrite(
                "podsh: pod \(r.name) is owned by pid \(r.owner.pid), which is running: \(verb) it there, detach it, or use --force\n")
            throw ExitCode(1)
        }
        return (state, r)
    }
}

/// Left-aligned columns.
func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
    return rows.map { row in
        row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2) }
            .joined()
    }.joined(separator: "\n") + "\n"
}
