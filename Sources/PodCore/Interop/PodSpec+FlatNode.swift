extension PodSpec {
    /// The spec in the flat form Lua scripts write (`name`, `labels` and the `spec` fields side
    /// by side), with the manifest encoder's field choices (defaults left out, quantities as
    /// canonical strings, sorted keys) and configMap data inline. `PodSpec(flat:)` reads it back.
    public var flatNode: SpecNode {
        let text = Manifest.encode(self)
        guard let documents = try? YAMLReader.documents(text),
              let pod = documents.last, case .map(let top) = pod.value else { return SpecNode(.map([])) }
        var entries: [SpecNode.Entry] = []
        if let metadata = top.first(where: { $0.key == "metadata" }), case .map(let fields) = metadata.node.value {
            entries += fields
        }
        if let spec = top.first(where: { $0.key == "spec" }), case .map(let fields) = spec.node.value {
            entries += fields.map { entry in
                entry.key == "volumes" ? SpecNode.Entry("volumes", inlineConfigMaps(entry.node)) : entry
            }
        }
        return SpecNode(.map(entries.sorted { $0.key < $1.key }))
    }

    /// Replaces each `configMap: {name: X}` reference by the inline `{data = ..., name = X}`.
    private func inlineConfigMaps(_ node: SpecNode) -> SpecNode {
        guard case .array(let items) = node.value else { return node }
        return SpecNode(.array(items.map { item in
            guard case .map(let fields) = item.value,
                  let name = fields.first(where: { $0.key == "name" }).flatMap({ entry -> String? in
                      if case .string(let s) = entry.node.value { return s }
                      return nil
                  }),
                  case .configMap(let source)? = volume(named: name)?.source else { return item }
            var inline: [SpecNode.Entry] = [SpecNode.Entry("data", SpecNode(.map(source.data.sorted { $0.key < $1.key }.map {
                SpecNode.Entry($0.key, SpecNode(.string($0.value)))
            })))]
            if let objectName = source.name { inline.append(SpecNode.Entry("name", SpecNode(.string(objectName)))) }
            return SpecNode(.map(fields.map { $0.key == "configMap" ? SpecNode.Entry("configMap", SpecNode(.map(inline))) : $0 }))
        }))
    }
}
