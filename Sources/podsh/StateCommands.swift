#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PodCore
import PodManifests
import PodBackends
import PodLinux

/// Where the linux backend keeps its pods, for the commands that read them.
struct StateOptions: ParsableArguments {
    @Option(help: "The linux backend's state directory.")
    var stateDir: String = LinuxBackendOptions.defaultStateDir

    @Option(help: "The cgroup the pods' cgroups are below.")
    var cgroupParent: String = "swift-pods"

    func state() throws -> LinuxState {
        switch CgroupDrivers.detect() {
        case .success(let driver):
            return LinuxState(directory: stateDir, cgroups: driver, cgroupParent: cgroupParent)
        case .failure(let error):
            stderrWrite("podsh: \(error.message)\n")
            throw ExitCode(1)
        }
    }

    /// The one pod named `name` (a name or an id); a clear error for none or several.
    func pod(_ name: String, in state: LinuxState) throws -> LinuxPodRecord {
        let found = state.find(name)
        if found.isEmpty {
            stderrWrite("podsh: no pod \"\(name)\" in \(stateDir)\n")
            throw ExitCode(1)
        }
        if found.count > 1 {
            stderrWrite("podsh: \(found.count) pods are named \"\(name)\" (\(found.map(\.id).joined(separator: ", "))): give the id\n")
            throw ExitCode(1)
        }
        return found[0]
    }
}

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

    var containersText: String {
        if containers.isEmpty { return "-" }
        return containers.map { c in
            let running = !c.exited && bootID == LinuxState.bootID && (c.process?.isAlive ?? false)
            return "\(c.name) \(running ? "running" : "exited")"
        }.joined(separator: ", ")
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

/// `podsh ps`: every pod of the state directory, whoever made it, alive or not.
struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the linux backend's pods (all owners).")
    @OptionGroup var options: StateOptions

    func run() throws {
        let state = try options.state()
        let rows = state.list().map { r in
            [r.name, r.id, r.ownerText, r.infraText, r.containersText, r.published.isEmpty ? "-" : r.published.joined(separator: ",")]
        }
        stdoutWrite(table([["NAME", "ID", "OWNER", "PAUSE", "CONTAINERS", "PORTS"]] + rows))
    }
}

/// `podsh inspect NAME`: what the state directory and the kernel say of one pod.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show one linux pod: spec, processes, namespaces, cgroups, mounts.")
    @OptionGroup var options: StateOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The pod's name or id.") var name: String

    func run() throws {
        let state = try options.state()
        let r = try options.pod(name, in: state)
        let dir = options.stateDir + "/pods/" + r.id
        var namespaces: [(String, String)] = []
        if let infra = r.infra, r.infraAlive {
            for kind in ["net", "ipc", "uts", "pid"] {
                var buffer = [CChar](repeating: 0, count: 256)
                let n = readlink("/proc/\(infra.pid)/ns/\(kind)", &buffer, 255)
                if n > 0 { namespaces.append((kind, String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))) }
            }
        }
        var cgroups: [String] = []
        func walk(_ path: String) {
            cgroups.append(path)
            for child in state.cgroups.children(path) { walk(path + "/" + child) }
        }
        if !state.cgroups.children(r.cgroup).isEmpty || !state.cgroups.processes(r.cgroup).isEmpty { walk(r.cgroup) }
        let mounts = LinuxState.mounts(below: dir).sorted()
        // The backend records the manifest as JSON documents; shown as the YAML `kube` prints.
        let recorded = (try? readFile(dir + "/spec.yaml")) ?? ""
        let spec = (try? Manifest.documents(recorded)).map(Manifest.emit) ?? recorded
        let containers = r.containers.map { c in
            (c.name, c.run, c.process.map { String($0.pid) } ?? "-", (!c.exited && (c.process?.isAlive ?? false)) ? "running" : "exited", c.cgroup)
        }
        if json {
            var out = "{"
            out += "\"name\":\(JSONText.quote(r.name)),\"id\":\(JSONText.quote(r.id)),\"uid\":\(JSONText.quote(r.uid)),"
            out += "\"hostname\":\(JSONText.quote(r.hostname)),\"owner\":{\"pid\":\(r.owner.pid),\"alive\":\(r.ownerAlive)},"
            out += "\"detached\":\(r.detached),\"pause\":{\"pid\":\(r.infra.map { String($0.pid) } ?? "null"),\"alive\":\(r.infraAlive)},"
            out += "\"forwarder\":\(r.forwarder.map { "{\"pid\":\($0.pid),\"alive\":\($0.isAlive)}" } ?? "null"),"
            out += "\"ports\":[\(r.published.map(JSONText.quote).joined(separator: ","))],"
            out += "\"containers\":[" + containers.map { c in
                "{\"name\":\(JSONText.quote(c.0)),\"run\":\(c.1),\"pid\":\(c.2 == "-" ? "null" : c.2),\"state\":\(JSONText.quote(c.3)),\"cgroup\":\(JSONText.quote(c.4))}"
            }.joined(separator: ",") + "],"
            out += "\"namespaces\":{" + namespaces.map { "\(JSONText.quote($0.0)):\(JSONText.quote($0.1))" }.joined(separator: ",") + "},"
            out += "\"cgroups\":{\"version\":\(JSONText.quote(r.cgroupVersion)),\"paths\":[\(cgroups.map(JSONText.quote).joined(separator: ","))]},"
            out += "\"mounts\":[\(mounts.map(JSONText.quote).joined(separator: ","))],"
            out += "\"directory\":\(JSONText.quote(dir)),\"spec\":\(JSONText.quote(spec))}"
            stdoutWrite(out + "\n")
            return
        }
        var text = "Name:       \(r.name)\nID:         \(r.id)\nUID:        \(r.uid)\nHostname:   \(r.hostname)\n"
        text += "Owner:      \(r.ownerText)\nPause:      \(r.infraText)\n"
        text += "Forwarder:  \(r.forwarder.map { "\($0.pid)\($0.isAlive ? "" : " (dead)")" } ?? "-")\n"
        text += "Ports:      \(r.published.isEmpty ? "-" : r.published.joined(separator: ", "))\n"
        text += "Directory:  \(dir)\nContainers:\n"
        for c in containers { text += "  \(c.0) (run \(c.1)): pid \(c.2), \(c.3), cgroup \(c.4)\n" }
        text += "Namespaces:\n" + namespaces.map { "  \($0.0): \($0.1)\n" }.joined()
        text += "Cgroups (\(r.cgroupVersion)):\n" + cgroups.map { "  \($0)\n" }.joined()
        text += "Mounts:\n" + mounts.map { "  \($0)\n" }.joined()
        text += "Spec:\n" + spec.split(separator: "\n", omittingEmptySubsequences: false).map { "  \($0)" }.joined(separator: "\n") + "\n"
        stdoutWrite(text)
    }
}

/// `podsh logs NAME CONTAINER`: a container's log (stdout and stderr as written).
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a linux pod container's log.")
    @OptionGroup var options: StateOptions
    @Flag(help: "The run before the current one.") var previous = false
    @Argument(help: "The pod's name or id.") var name: String
    @Argument(help: "The container (default: the only one).") var container: String?

    func run() throws {
        let state = try options.state()
        let r = try options.pod(name, in: state)
        let names = r.containers.map(\.name)
        guard let chosen = container ?? (names.count == 1 ? names[0] : nil) else {
            stderrWrite("podsh: pod \(r.name) has \(names.count) containers (\(names.joined(separator: ", "))): name one\n")
            throw ExitCode(2)
        }
        guard let entry = r.containers.first(where: { $0.name == chosen }) else {
            stderrWrite("podsh: pod \(r.name) has no container \"\(chosen)\" that ran\n")
            throw ExitCode(1)
        }
        let run = previous ? entry.run - 1 : entry.run
        guard run >= 1 else {
            stderrWrite("podsh: container \"\(chosen)\" has no previous run\n")
            throw ExitCode(1)
        }
        let path = options.stateDir + "/pods/\(r.id)/logs/\(chosen)/\(run).log"
        do {
            stdoutWrite(try readFile(path))
        } catch {
            stderrWrite("podsh: \(path): \(error)\n")
            throw ExitCode(1)
        }
    }
}

/// Refuses to act on a pod its owner still supervises, unless forced.
func requireUnowned(_ r: LinuxPodRecord, force: Bool, _ verb: String) throws {
    if !r.detached && r.ownerAlive && !force {
        stderrWrite("podsh: pod \(r.name) is owned by pid \(r.owner.pid), which is running: \(verb) it there, detach it, or use --force\n")
        throw ExitCode(1)
    }
}

/// `podsh stop NAME`: SIGTERM to its containers, SIGKILL after the grace period.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a linux pod's containers (TERM, then KILL).")
    @OptionGroup var options: StateOptions
    @Option(help: "Seconds between TERM and KILL.") var grace: Double = 30
    @Flag(help: "Even when its owner is running.") var force = false
    @Argument(help: "The pod's name or id.") var name: String

    func run() throws {
        let state = try options.state()
        let r = try options.pod(name, in: state)
        try requireUnowned(r, force: force, "stop")
        state.stop(r, grace: grace)
        stdoutWrite("stopped \(r.name) (\(r.id))\n")
    }
}

/// `podsh rm NAME`: kills what runs and frees everything the pod holds.
struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a linux pod (kill, unmount, free).")
    @OptionGroup var options: StateOptions
    @Flag(help: "Even when its owner is running.") var force = false
    @Argument(help: "The pod's name or id.") var name: String

    func run() throws {
        let state = try options.state()
        let r = try options.pod(name, in: state)
        try requireUnowned(r, force: force, "remove")
        let left = state.remove(r)
        if !left.isEmpty {
            stderrWrite("podsh: \(r.name): could not remove \(left.joined(separator: ", "))\n")
            throw ExitCode(1)
        }
        stdoutWrite("removed \(r.name) (\(r.id))\n")
    }
}

/// `podsh gc`: removes what owners that died left behind.
struct GcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc", abstract: "Remove what dead owners left: pods, cgroups, directories.")
    @OptionGroup var options: StateOptions

    func run() throws {
        let state = try options.state()
        let done = state.collect()
        for pod in done.pods { stdoutWrite("removed pod \(pod)\n") }
        for cgroup in done.cgroups { stdoutWrite("removed cgroup \(cgroup)\n") }
        for dir in done.directories { stdoutWrite("removed directory \(dir)\n") }
        if !done.failures.isEmpty {
            stderrWrite("podsh: gc could not remove \(done.failures.joined(separator: ", "))\n")
            throw ExitCode(1)
        }
    }
}

/// JSON string literals (`inspect --json`); FieldError.quoted is Go's %q, whose \x escapes JSON
/// does not have.
enum JSONText {
    static func quote(_ text: String) -> String {
        var out = "\""
        for c in text.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if c.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(c.value, radix: 16).count) + String(c.value, radix: 16) }
                else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
