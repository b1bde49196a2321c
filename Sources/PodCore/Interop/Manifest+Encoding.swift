import Yams

extension Manifest {
    /// The manifest stream of one pod: a `ConfigMap` document per distinct inline configMap
    /// volume, then the `v1.Pod`. Maps are in sorted key order; fields at their Kubernetes
    /// default (false booleans, empty lists) are left out, as the API server writes them.
    public static func encode(_ spec: PodSpec) -> String {
        encode([spec])
    }

    /// The manifest stream of several pods, documents separated by `---`.
    public static func encode(_ specs: [PodSpec]) -> String {
        var documents: [Node] = []
        for spec in specs {
            documents += configMapDocuments(spec)
            documents.append(podDocument(spec))
        }
        return documents.map(emit).joined(separator: "---\n")
    }

    static func emit(_ node: Node) -> String {
        // Serializing a tree of plain maps, lists and scalars cannot fail; an emitter failure
        // would be a bug in Yams, reported in place of the document rather than as a crash.
        (try? Yams.serialize(node: node, width: -1)) ?? "# swift-pods: YAML emitter failed\n"
    }

    static func configMapDocuments(_ spec: PodSpec) -> [Node] {
        var seen: Set<String> = []
        var out: [Node] = []
        for volume in spec.volumes {
            guard case .configMap(let source) = volume.source else { continue }
            let name = source.objectName(pod: spec.name, volume: volume.name)
            guard seen.insert(name).inserted else { continue }
            out.append(map([
                ("apiVersion", string(apiVersion)),
                ("data", stringMap(source.data)),
                ("kind", string("ConfigMap")),
                ("metadata", map([("name", string(name))])),
            ]))
        }
        return out
    }

    static func podDocument(_ spec: PodSpec) -> Node {
        var metadata: [(String, Node?)] = [("name", string(spec.name))]
        if !spec.labels.isEmpty { metadata.append(("labels", stringMap(spec.labels))) }
        let podSpec: [(String, Node?)] = [
            ("containers", list(spec.containers.map(container))),
            ("hostIPC", flag(spec.hostIPC)),
            ("hostNetwork", flag(spec.hostNetwork)),
            ("hostPID", flag(spec.hostPID)),
            ("hostname", spec.hostname.map(string)),
            ("initContainers", list(spec.initContainers.map(container))),
            ("resources", spec.resources.flatMap(resources)),
            ("restartPolicy", string(spec.restartPolicy.rawValue)),
            ("shareProcessNamespace", flag(spec.shareProcessNamespace)),
            ("terminationGracePeriodSeconds", integer(spec.terminationGracePeriodSeconds)),
            ("volumes", list(spec.volumes.map { volume($0, pod: spec.name) })),
        ]
        return map([
            ("apiVersion", string(apiVersion)),
            ("kind", string("Pod")),
            ("metadata", map(metadata)),
            ("spec", map(podSpec)),
        ])
    }

    static func container(_ c: ContainerSpec) -> Node {
        map([
            ("args", c.args.isEmpty ? nil : list(c.args.map(string))),
            ("command", c.command.isEmpty ? nil : list(c.command.map(string))),
            ("env", list(c.env.map { v in
                map([("name", string(v.name)), ("value", v.value.isEmpty ? nil : string(v.value))])
            })),
            ("image", c.image.isEmpty ? nil : string(c.image)),
            ("name", string(c.name)),
            ("ports", list(c.ports.map { p in
                map([
                    ("containerPort", integer(Int64(p.containerPort))),
                    ("hostPort", p.hostPort.map { integer(Int64($0)) }),
                    ("protocol", string(p.protocol.rawValue)),
                ])
            })),
            ("resources", resources(c.resources)),
            ("restartPolicy", c.restartPolicy.map { string($0.rawValue) }),
            ("volumeMounts", list(c.volumeMounts.map { m in
                map([
                    ("mountPath", string(m.mountPath)),
                    ("name", string(m.name)),
                    ("readOnly", flag(m.readOnly)),
                    ("subPath", m.subPath.map(string)),
                ])
            })),
            ("workingDir", c.workingDir.map(string)),
        ])
    }

    static func resources(_ r: ResourceRequirements) -> Node? {
        func resourceList(_ l: ResourceList) -> Node? {
            l.isEmpty ? nil : map(ResourceName.allCases.map { ($0.rawValue, l[$0].map { string($0.canonical) }) })
        }
        if r.isEmpty { return nil }
        return map([("limits", resourceList(r.limits)), ("requests", resourceList(r.requests))])
    }

    static func volume(_ v: VolumeSpec, pod: String) -> Node {
        let source: (String, Node)
        switch v.source {
        case .emptyDir(let e):
            source = ("emptyDir", map([
                ("medium", e.medium == .disk ? nil : string(e.medium.rawValue)),
                ("sizeLimit", e.sizeLimit.map { string($0.canonical) }),
            ]))
        case .hostPath(let h):
            source = ("hostPath", map([
                ("path", string(h.path)),
                ("type", h.type == .unset ? nil : string(h.type.rawValue)),
            ]))
        case .configMap(let c):
            source = ("configMap", map([("name", string(c.objectName(pod: pod, volume: v.name)))]))
        }
        return map([("name", string(v.name)), source])
    }

    // MARK: Node builders

    /// A string scalar, quoted whenever plain text would read back as another type ("80", "true").
    static func string(_ s: String) -> Node { .scalar(s.represented()) }
    static func integer(_ i: Int64) -> Node { Node(String(i), Tag(.int)) }
    /// `true` for true; nil (field left out) for false.
    static func flag(_ b: Bool) -> Node? { b ? Node("true", Tag(.bool)) : nil }
    /// A sequence, or nil (field left out) when empty.
    static func list(_ items: [Node]) -> Node? { items.isEmpty ? nil : Node(items) }
    /// A mapping of the present entries, in sorted key order.
    static func map(_ entries: [(String, Node?)]) -> Node {
        let present = entries.compactMap { key, value in value.map { (key, $0) } }
        return Node(present.sorted { $0.0 < $1.0 }.map { (string($0.0), $0.1) })
    }
    static func stringMap(_ values: [String: String]) -> Node {
        map(values.map { ($0.key, string($0.value)) })
    }
}
