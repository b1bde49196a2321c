import PodKit

/// Graphviz DOT of a pod's topology: the infra (pause) holding the shared namespaces, the
/// containers joined to it, the volumes and where they are mounted, the published ports.
public enum Diagram {
    public static func dot(_ specs: [PodSpec]) -> String {
        var out =
            "digraph pods {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n"
        for spec in specs { out += dot(spec) }
        return out + "}\n"
    }

    /// A DOT string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for c in text {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    static func dot(_ spec: PodSpec) -> String {
        let p = spec.name
        var shared: [String] = []
        if !spec.hostNetwork { shared += ["net", "uts"] }
        if !spec.hostIPC { shared.append("ipc") }
        if spec.shareProcessNamespace { shared.append("pid") }
        var out = "  subgraph \(quoted("cluster_\(p)")) {\n"
        out += "    label=\(quoted("pod \(p) (hostname \(spec.effectiveHostname), restartPolicy \(spec.restartPolicy.rawValue))"));\n"
        let infra = "\(p)/infra"
        out +=
            "    \(quoted(infra)) [shape=box, style=filled, fillcolor=\"#dddddd\", label=\(quoted("pause (infra)\nholds: \(shared.isEmpty ? "nothing (host namespaces)" : shared.joined(separator: ", "))"))];\n"
        let containers = spec.initContainers.map { ($0, $0.isSidecar ? "sidecar" : "init") } + spec.containers.map { ($0, "app") }
        for (container, kind) in containers {
            let node = "\(p)/\(container.name)"
            let command = container.argv.joined(separator: " ")
            out += "    \(quoted(node)) [shape=box, label=\(quoted("\(container.name) (\(kind))\n\(command)"))];\n"
            out += "    \(quoted(node)) -> \(quoted(infra)) [style=dashed, label=\(quoted("joins \(shared.joined(separator: ", "))"))];\n"
            for mount in container.volumeMounts {
                let target = "\(p)/volume/\(mount.name)"
                var label = mount.mountPath
                if let subPath = mount.subPath { label += " (subPath \(subPath))" }
                if mount.readOnly { label += " ro" }
                out += "    \(quoted(node)) -> \(quoted(target)) [label=\(quoted(label))];\n"
            }
            for port in container.ports {
                if let hostPort = port.hostPort {
                    let host = "host:\(hostPort)/\(port.protocol.rawValue)"
                    out += "    \(quoted(host)) [shape=oval, label=\(quoted("host :\(hostPort)/\(port.protocol.rawValue)"))];\n"
                    out += "    \(quoted(host)) -> \(quoted(node)) [label=\(quoted(":\(port.containerPort)"))];\n"
                }
            }
        }
        for volume in spec.volumes {
            let kind: String
            switch volume.source {
            case .emptyDir(let e): kind = e.medium == .memory ? "emptyDir (Memory)" : "emptyDir"
            case .hostPath(let h): kind = "hostPath \(h.path)"
            case .configMap(let c): kind = "configMap (\(c.data.count) file\(c.data.count == 1 ? "" : "s"))"
            }
            out += "    \(quoted("\(p)/volume/\(volume.name)")) [shape=cylinder, label=\(quoted("\(volume.name)\n\(kind)"))];\n"
        }
        return out + "  }\n"
    }
}
