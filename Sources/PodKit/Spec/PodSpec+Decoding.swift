/// Decoding a `PodSpec` from an untyped `SpecNode` tree: the flat form Lua scripts write
/// (`{ name = "web", containers = {...} }`), and, through `Interop`, the `spec` of a v1.Pod
/// manifest. Type errors, unknown and unsupported fields and validation errors are all
/// collected and thrown together; in lenient mode unsupported and unknown fields become
/// warnings instead.
extension PodSpec {
    /// The result of a decode: the spec and, in lenient mode, the fields that were ignored.
    public struct Decoded: Sendable, Equatable {
        public var spec: PodSpec
        /// Ignored fields (lenient mode only), each with its path.
        public var warnings: [FieldError]

        package init(spec: PodSpec, warnings: [FieldError]) {
            (self.spec, self.warnings) = (spec, warnings)
        }
    }

    /// Decodes and validates the flat form used by Lua: pod fields (`name`, `labels` and the
    /// `spec` fields) side by side in one map.
    public static func decode(flat node: SpecNode, lenient: Bool = false) throws(ValidationError) -> Decoded {
        var reader = PodSpecReader(lenient: lenient, form: .flat)
        let spec = reader.readFlat(node)
        return try reader.finish(spec)
    }

    /// Decodes and validates the flat form; see `decode(flat:lenient:)`.
    public init(flat node: SpecNode) throws(ValidationError) {
        self = try PodSpec.decode(flat: node).spec
    }
}

/// Walks a spec tree into a `PodSpec`. One reader serves both forms; they differ only at the top
/// (flat keys vs metadata/spec), in `env` (the flat form also takes a map) and in `configMap`
/// volumes (inline data vs a reference resolved by the caller).
package struct PodSpecReader {
    package enum Form {
        case flat
        /// A manifest; `configMap` volumes name ConfigMap documents, looked up through this.
        case manifest(configMaps: [String: [String: String]])
    }

    package var decoder: SpecDecoder
    let form: Form

    package init(lenient: Bool, form: Form) {
        if case .flat = form {
            self.decoder = SpecDecoder(lenient: lenient, emptyTablesAreEither: true)
        } else {
            self.decoder = SpecDecoder(lenient: lenient)
        }
        self.form = form
    }

    package static let specPath = FieldPath("spec")
    package static let metadataPath = FieldPath("metadata")

    mutating func readFlat(_ node: SpecNode) -> PodSpec {
        var spec = PodSpec(name: "")
        let supported = KubernetesFields.podSpec.union(["name", "labels"])
        let hint: (String) -> String? = { key in
            key == "metadata" || key == "spec"
                ? "(a spec is one flat table: put name, labels and the spec fields side by side)" : nil
        }
        guard
            let fields = decoder.object(
                node, Self.specPath, supported: supported,
                known: KubernetesFields.podSpecKnown, hint: hint)
        else { return spec }
        readMetadata(fields, into: &spec)
        readSpec(fields, into: &spec)
        return spec
    }

    /// `name` and `labels`, reported under `metadata`.
    package mutating func readMetadata(_ fields: [String: SpecNode], into spec: inout PodSpec) {
        if let node = fields["name"], let name = decoder.string(node, Self.metadataPath.child("name")) {
            spec.name = name
        }
        if let node = fields["labels"], let labels = decoder.stringMap(node, Self.metadataPath.child("labels")) {
            spec.labels = labels
        }
    }

    package mutating func readSpec(_ fields: [String: SpecNode], into spec: inout PodSpec) {
        apply(Self.specFields, fields, Self.specPath, to: &spec)
    }

    mutating func readContainer(_ node: SpecNode, _ path: FieldPath) -> ContainerSpec {
        var container = ContainerSpec(name: "")
        read(node, path, KubernetesFields.container, KubernetesFields.containerKnown, Self.containerFields, into: &container)
        return container
    }

    /// `env`: a list of `{name, value}`; the flat form also takes a map, applied in name order.
    mutating func readEnv(_ node: SpecNode, _ path: FieldPath) -> [EnvVar] {
        if case .flat = form, case .map(let entries) = node.value {
            return entries.sorted(by: { $0.key < $1.key }).compactMap { entry in
                decoder.string(entry.node, path.key(entry.key)).map { EnvVar(name: entry.key, value: $0) }
            }
        }
        guard let items = decoder.array(node, path) else { return [] }
        return items.enumerated().map { index, item in
            var variable = EnvVar(name: "", value: "")
            read(item, path.index(index), KubernetesFields.envVar, KubernetesFields.envVarKnown, Self.envFields, into: &variable)
            return variable
        }
    }

    mutating func readPort(_ node: SpecNode, _ path: FieldPath) -> ContainerPort {
        var port = ContainerPort(containerPort: 0)
        read(node, path, KubernetesFields.containerPort, KubernetesFields.containerPortKnown, Self.portFields, into: &port)
        return port
    }

    mutating func readPullSecret(_ node: SpecNode, _ path: FieldPath) -> ImagePullSecret {
        var secret = ImagePullSecret(name: "")
        read(node, path, KubernetesFields.localObjectReference, [], Self.pullSecretFields, into: &secret)
        return secret
    }

    mutating func readMount(_ node: SpecNode, _ path: FieldPath) -> VolumeMount {
        var mount = VolumeMount(name: "", mountPath: "")
        read(node, path, KubernetesFields.volumeMount, KubernetesFields.volumeMountKnown, Self.mountFields, into: &mount)
        return mount
    }

    mutating func readResources(_ node: SpecNode, _ path: FieldPath) -> ResourceRequirements {
        var resources = ResourceRequirements()
        read(node, path, KubernetesFields.resources, KubernetesFields.resourcesKnown, Self.resourceFields, into: &resources)
        return resources
    }

    mutating func readResourceList(_ node: SpecNode, _ path: FieldPath) -> ResourceList {
        var list = ResourceList()
        guard let entries = decoder.mapEntries(node, path) else { return list }
        var seen: Set<String> = []
        for entry in entries {
            let entryPath = path.child(entry.key)
            guard seen.insert(entry.key).inserted else {
                decoder.fail(.duplicate, entryPath, entry.node, detail: "the key appears more than once")
                continue
            }
            if let name = ResourceName(rawValue: entry.key) {
                list[name] = decoder.quantity(entry.node, entryPath)
            } else {
                let known = KubernetesFields.resourceNamesKnown.contains(entry.key) || entry.key.hasPrefix("hugepages-")
                let supported = ResourceName.allCases.map { FieldError.quoted($0.rawValue) }.joined(separator: ", ")
                decoder.fail(
                    .unsupportedValue, entryPath, entry.node, value: FieldError.quoted(entry.key),
                    detail: known ? "swift-pods manages only \(supported)" : "supported values: \(supported)")
            }
        }
        return list
    }

    mutating func readVolume(_ node: SpecNode, _ path: FieldPath) -> VolumeSpec {
        var volume = VolumeSpec(name: "", source: .emptyDir(EmptyDirVolumeSource()))
        guard
            let fields = decoder.object(
                node, path, supported: KubernetesFields.volume,
                known: KubernetesFields.volumeKnown)
        else { return volume }
        if let n = fields["name"], let v = decoder.string(n, path.child("name")) { volume.name = v }
        let present = KubernetesFields.volumeSources.filter { fields[$0] != nil }
        let anyKnownSource = decoder.entryKeys(node).contains { KubernetesFields.volumeKnown.contains($0) }
        if present.isEmpty {
            if !anyKnownSource { decoder.fail(.required, path, node, detail: "must specify a volume type") }
            return volume
        }
        for extra in present.dropFirst() {
            decoder.fail(.forbidden, path.child(extra), fields[extra], detail: "may not specify more than 1 volume type")
        }
        let kind = present[0]
        guard let sourceNode = fields[kind] else { return volume }
        let sourcePath = path.child(kind)
        switch kind {
        case "emptyDir":
            var source = EmptyDirVolumeSource()
            read(sourceNode, sourcePath, KubernetesFields.emptyDir, [], Self.emptyDirFields, into: &source)
            volume.source = .emptyDir(source)
        case "hostPath":
            var source = HostPathVolumeSource(path: "")
            read(sourceNode, sourcePath, KubernetesFields.hostPath, [], Self.hostPathFields, into: &source)
            volume.source = .hostPath(source)
        default:
            volume.source = .configMap(readConfigMap(sourceNode, sourcePath))
        }
        return volume
    }

    mutating func readConfigMap(_ node: SpecNode, _ path: FieldPath) -> ConfigMapVolumeSource {
        var source = ConfigMapVolumeSource()
        switch form {
        case .flat:
            read(node, path, KubernetesFields.configMapInline, [], Self.inlineConfigMapFields, into: &source)
        case .manifest(let configMaps):
            guard
                let f = decoder.object(
                    node, path, supported: KubernetesFields.configMapReference,
                    known: KubernetesFields.configMapReferenceKnown)
            else { return source }
            guard let n = f["name"] else {
                decoder.fail(.required, path.child("name"), node, detail: "name the ConfigMap document that holds the data")
                return source
            }
            guard let name = decoder.string(n, path.child("name")) else { return source }
            source.name = name
            if let data = configMaps[name] {
                source.data = data
            } else {
                decoder.fail(
                    .notFound, path.child("name"), n, value: FieldError.quoted(name),
                    detail: "no ConfigMap of that name in the manifest stream")
            }
        }
        return source
    }

    /// Validates the decoded spec and throws every error: decoding errors first, then the
    /// validation errors that do not repeat a field already reported.
    package func finish(_ spec: PodSpec) throws(ValidationError) -> PodSpec.Decoded {
        let reported = Set(decoder.errors.map(\.path))
        // When the whole document is unreadable, validating the empty spec only adds noise.
        let unreadable = reported.contains(Self.specPath) || reported.contains(FieldPath(""))
        let validation = (unreadable ? [] : spec.validate()).filter { error in
            // Not when the field or one of its parents is already reported.
            var current: FieldPath? = error.path
            while let path = current {
                if reported.contains(path) { return false }
                current = path.parent
            }
            return true
        }.map { error in
            var error = error
            error.line = error.line ?? decoder.line(for: error.path)
            return error
        }
        let all = decoder.errors + validation
        guard all.isEmpty else { throw ValidationError(all) }
        var checked = spec
        checked.markValidated()
        return PodSpec.Decoded(spec: checked, warnings: decoder.warnings)
    }
}
