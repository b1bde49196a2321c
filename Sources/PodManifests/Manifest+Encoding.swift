import PodKit
import Yams

extension Manifest {
    /// The manifest stream of one pod: a `ConfigMap` document per distinct inline configMap
    /// volume, then the `v1.Pod` (`PodSpec.manifestDocuments`), as YAML.
    public static func encode(_ spec: PodSpec) -> String {
        encode([spec])
    }

    /// The manifest stream of several pods, documents separated by `---`.
    public static func encode(_ specs: [PodSpec]) -> String {
        emit(specs.flatMap(\.manifestDocuments))
    }

    /// YAML text of node trees, one document each, separated by `---`.
    public static func emit(_ documents: [SpecNode]) -> String {
        documents.map { document in
            // Serializing a tree of plain maps, lists and scalars cannot fail; an emitter failure
            // would be a bug in Yams, reported in place of the document rather than as a crash.
            (try? Yams.serialize(node: yamlNode(document), width: -1)) ?? "# swift-pods: YAML emitter failed\n"
        }.joined(separator: "---\n")
    }

    /// The Yams node of a spec tree: strings quoted whenever plain text would read back as
    /// another type ("80", "true"), numbers tagged as integers or floats.
    static func yamlNode(_ node: SpecNode) -> Node {
        switch node.value {
        case .null: return Node("null", Tag(.null))
        case .bool(let b): return Node(b ? "true" : "false", Tag(.bool))
        case .number(let text): return Node(text, Tag(Int64(text) != nil ? .int : .float))
        case .string(let s): return .scalar(s.represented())
        case .array(let items): return Node(items.map(yamlNode))
        case .map(let entries): return Node(entries.map { (Node.scalar($0.key.represented()), yamlNode($0.node)) })
        }
    }
}
