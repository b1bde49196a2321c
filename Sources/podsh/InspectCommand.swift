import ArgumentParser
import PodKit
import PodLinux
import PodManifests

#if canImport(Glibc)
import Glibc
#endif

/// `podsh inspect NAME`: what the state directory and the kernel say of one pod.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show one linux pod: spec, processes, namespaces, cgroups, mounts.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The pod's name or id.") var name: String

    func run() throws {
        let state = try global.state(for: "inspect")
        let r = try global.pod(name, in: state)
        let dir = global.stateDir + "/pods/" + r.id
        var namespaces: [(String, String)] = []
        if let infra = r.infra, r.infraAlive {
            for kind in LinuxNamespace.all where kind.name != "mnt" {
                var buffer = [CChar](repeating: 0, count: 256)
                let n = readlink(kind.path(of: infra.pid), &buffer, 255)
                if n > 0 { namespaces.append((kind.name, String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))) }
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
            (
                c.name, c.run, c.process.map { String($0.pid) } ?? "-", (!c.exited && (c.process?.isAlive ?? false)) ? "running" : "exited",
                c.cgroup, c.logger.flatMap { $0.isAlive ? String($0.pid) : nil }
            )
        }
        if global.json {
            var out = "{"
            out += "\"name\":\(SpecNode.jsonQuoted(r.name)),\"id\":\(SpecNode.jsonQuoted(r.id)),\"uid\":\(SpecNode.jsonQuoted(r.uid)),"
            out += "\"hostname\":\(SpecNode.jsonQuoted(r.hostname)),\"owner\":{\"pid\":\(r.owner.pid),\"alive\":\(r.ownerAlive)},"
            out += "\"detached\":\(r.detached),\"pause\":{\"pid\":\(r.infra.map { String($0.pid) } ?? "null"),\"alive\":\(r.infraAlive)},"
            out += "\"forwarder\":\(r.forwarder.map { "{\"pid\":\($0.pid),\"alive\":\($0.isAlive)}" } ?? "null"),"
            out += "\"ports\":[\(r.published.map(SpecNode.jsonQuoted).joined(separator: ","))],"
            out +=
                "\"containers\":["
                + containers.map { c in
                    "{\"name\":\(SpecNode.jsonQuoted(c.0)),\"run\":\(c.1),\"pid\":\(c.2 == "-" ? "null" : c.2),\"state\":\(SpecNode.jsonQuoted(c.3)),\"cgroup\":\(SpecNode.jsonQuoted(c.4)),\"logger\":\(c.5 ?? "null")}"
                }.joined(separator: ",") + "],"
            out +=
                "\"namespaces\":{" + namespaces.map { "\(SpecNode.jsonQuoted($0.0)):\(SpecNode.jsonQuoted($0.1))" }.joined(separator: ",")
                + "},"
            out +=
                "\"cgroups\":{\"version\":\(SpecNode.jsonQuoted(r.cgroupVersion)),\"paths\":[\(cgroups.map(SpecNode.jsonQuoted).joined(separator: ","))]},"
            out += "\"mounts\":[\(mounts.map(SpecNode.jsonQuoted).joined(separator: ","))],"
            out += "\"directory\":\(SpecNode.jsonQuoted(dir)),\"spec\":\(SpecNode.jsonQuoted(spec))}"
            stdoutWrite(out + "\n")
            return
        }
        var text = "Name:       \(r.name)\nID:         \(r.id)\nUID:        \(r.uid)\nHostname:   \(r.hostname)\n"
        text += "Owner:      \(r.ownerText)\nPause:      \(r.infraText)\n"
        text += "Forwarder:  \(r.forwarder.map { "\($0.pid)\($0.isAlive ? "" : " (dead)")" } ?? "-")\n"
        text += "Ports:      \(r.published.isEmpty ? "-" : r.published.joined(separator: ", "))\n"
        text += "Directory:  \(dir)\nContainers:\n"
        for c in containers {
            text += "  \(c.0) (run \(c.1)): pid \(c.2), \(c.3), cgroup \(c.4)\(c.5.map { ", log shim pid \($0)" } ?? "")\n"
        }
        text += "Namespaces:\n" + namespaces.map { "  \($0.0): \($0.1)\n" }.joined()
        text += "Cgroups (\(r.cgroupVersion)):\n" + cgroups.map { "  \($0)\n" }.joined()
        text += "Mounts:\n" + mounts.map { "  \($0)\n" }.joined()
        text += "Spec:\n" + spec.split(separator: "\n", omittingEmptySubsequences: false).map { "  \($0)" }.joined(separator: "\n") + "\n"
        stdoutWrite(text)
    }
}
