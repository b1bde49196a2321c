import PodKit

/// Kubernetes manifests in and out: `v1.Pod` documents (YAML or JSON, alone or in a stream with
/// the `ConfigMap` documents its volumes name) to `PodSpec`, and back.
///
/// Decoding walks the YAML node tree, so every key is seen: a field outside the supported
/// subset is an error naming its path (`spec.containers[0].livenessProbe: Unsupported field`),
/// or, in lenient mode, a warning; nothing is dropped silently. Encoding writes maps in sorted
/// key order, so one spec always gives the same text, and every inline configMap volume
/// becomes a `ConfigMap` document (before the Pod) plus a volume that names it.
public enum Manifest {
    /// The pods of a manifest stream and, in lenient mode, the fields that were ignored.
    public struct Decoded: Sendable, Equatable {
        public var pods: [PodSpec]
        public var warnings: [FieldError]
    }

    static let apiVersion = "v1"

    /// The documents of a YAML/JSON stream as node trees, with their source lines.
    public static func documents(_ text: String) throws(ManifestError) -> [SpecNode] {
        try YAMLReader.documents(text)
    }

    /// Decodes every Pod of a YAML/JSON stream, resolving configMap volumes against the
    /// ConfigMap documents of the same stream.
    public static func decode(_ text: String, lenient: Bool = false) throws(ManifestError) -> Decoded {
        let documents = try YAMLReader.documents(text)
        var errors: [FieldError] = []
        var warnings: [FieldError] = []
        var configMaps: [String: [String: String]] = [:]
        var configMapLines: [(name: String, line: Int?)] = []
        var podDocuments: [SpecNode] = []
        var secrets: [String: Secret] = [:]
        var secretLines: [(name: String, line: Int?)] = []

        for document in documents where document.value != .null {
            var decoder = SpecDecoder(lenient: lenient)
            guard let entries = decoder.mapEntries(document, FieldPath("")) else {
                errors += decoder.errors.map { error in
                    var error = error
                    error.path = FieldPath("(document)")
                    return error
                }
                continue
            }
            let kind = entries.first { $0.key == "kind" }?.node
            switch kind?.value {
            case .string("Pod"):
                podDocuments.append(document)
            case .string("ConfigMap"):
                if let (name, data) = readConfigMap(document, &decoder) {
                    if configMaps[name] != nil {
                        decoder.fail(
                            .duplicate, FieldPath("metadata").child("name"), document,
                            value: FieldError.quoted(name), detail: "another ConfigMap of the stream has this name")
                    } else {
                        configMaps[name] = data
                        configMapLines.append((name, decoder.line(for: FieldPath("metadata").child("name"))))
                    }
                }
            case .string("Secret"):
                if let secret = readSecret(document, &decoder) {
                    if secrets[secret.name] != nil {
                        decoder.fail(
                            .duplicate, FieldPath("metadata").child("name"), document,
                            value: FieldError.quoted(secret.name), detail: "another Secret of the stream has this name")
                    } else {
                        secrets[secret.name] = secret
                        secretLines.append((secret.name, decoder.line(for: FieldPath("metadata").child("name"))))
                    }
                }
            case nil:
                decoder.fail(.required, FieldPath("kind"), document, detail: "every document needs kind: Pod, ConfigMap or Secret")
            default:
                if let kind {
                    decoder.fail(
                        .unsupportedValue, FieldPath("kind"), kind, value: kind.shortDescription,
                        detail: "supported values: \"ConfigMap\", \"Pod\", \"Secret\"")
                }
            }
            errors += decoder.errors
            warnings += decoder.warnings
        }

        var pods: [PodSpec] = []
        var omitted = 0
        for document in podDocuments {
            var reader = PodSpecReader(lenient: lenient, form: .manifest(configMaps: configMaps))
            let spec = reader.readPodDocument(document)
            do {
                var decoded = try reader.finish(spec)
                // The Secrets its imagePullSecrets name, when the stream holds them.
                for i in decoded.spec.imagePullSecrets.indices {
                    decoded.spec.imagePullSecrets[i].secret = secrets[decoded.spec.imagePullSecrets[i].name]
                }
                pods.append(decoded.spec)
                warnings += decoded.warnings
            } catch {
                errors += error.errors
                omitted += error.omitted
            }
        }
        // A ConfigMap no pod mounts would be dropped on the way in: say so, like any other
        // field that is not carried over.
        let used = Set(
            pods.flatMap { pod in
                pod.volumes.compactMap { volume -> String? in
                    guard case .configMap(let source) = volume.source else { return nil }
                    return source.objectName(pod: pod.name, volume: volume.name)
                }
            })
        for (name, line) in configMapLines where !used.contains(name) {
            let unused = FieldError(
                .invalid, FieldPath("metadata").child("name"), value: FieldError.quoted(name),
                detail: "no Pod of the stream mounts this ConfigMap", line: line)
            if lenient { warnings.append(unused) } else { errors.append(unused) }
        }
        let named = Set(pods.flatMap { $0.imagePullSecrets.map(\.name) })
        for (name, line) in secretLines where !named.contains(name) {
            let unused = FieldError(
                .invalid, FieldPath("metadata").child("name"), value: FieldError.quoted(name),
                detail: "no Pod of the stream names this Secret in imagePullSecrets", line: line)
            if lenient { warnings.append(unused) } else { errors.append(unused) }
        }
        guard errors.isEmpty else {
            var error = ValidationError(errors)
            error.omitted += omitted
            throw .invalid(error)
        }
        return Decoded(pods: pods, warnings: warnings)
    }

    /// Decodes a stream that holds exactly one Pod (and the ConfigMaps it names).
    public static func decodePod(_ text: String, lenient: Bool = false) throws(ManifestError) -> PodSpec.Decoded {
        let decoded = try decode(text, lenient: lenient)
        guard decoded.pods.count == 1 else {
            throw .invalid(
                ValidationError([
                    FieldError(
                        .invalid, FieldPath("kind"), value: String(decoded.pods.count),
                        detail: "expected exactly one Pod document, found \(decoded.pods.count)")
                ]))
        }
        return PodSpec.Decoded(spec: decoded.pods[0], warnings: decoded.warnings)
    }

    /// `apiVersion`, `metadata.name` and `data` of a ConfigMap document.
    static func readConfigMap(_ document: SpecNode, _ decoder: inout SpecDecoder) -> (String, [String: String])? {
        guard
            let (fields, name) = readObject(
                document, supported: KubernetesFields.configMapTop, known: KubernetesFields.configMapTopKnown, &decoder)
        else { return nil }
        var data: [String: String] = [:]
        if let dataNode = fields["data"], let map = decoder.stringMap(dataNode, FieldPath("data")) { data = map }
        return (name, data)
    }

    /// `metadata.name`, `type` (Opaque by default) and the bytes of `data` (base64) and
    /// `stringData` (text, over `data` key by key, as the API server merges them) of a Secret.
    static func readSecret(_ document: SpecNode, _ decoder: inout SpecDecoder) -> Secret? {
        guard
            let (fields, name) = readObject(
                document, supported: KubernetesFields.secretTop, known: KubernetesFields.secretTopKnown, &decoder)
        else { return nil }
        var secret = Secret(name: name)
        if let typeNode = fields["type"], let type = decoder.string(typeNode, FieldPath("type")) { secret.type = type.isEmpty ? Secret.opaque : type }
        if let dataNode = fields["data"], let map = decoder.stringMap(dataNode, FieldPath("data")) {
            for (key, value) in map {
                guard let bytes = Base64.decode(value) else {
                    decoder.fail(
                        .invalid, FieldPath("data").key(key), dataNode, value: "<secret contents redacted>",
                        detail: "illegal base64 data")
                    continue
                }
                secret.data[key] = bytes
            }
        }
        if let stringNode = fields["stringData"], let map = decoder.stringMap(stringNode, FieldPath("stringData")) {
            for (key, value) in map { secret.data[key] = Array(value.utf8) }
        }
        if secret.type == Secret.dockerConfigJSON, secret.data[".dockerconfigjson"] == nil {
            decoder.fail(.required, FieldPath("data").key(".dockerconfigjson"), document)
        } else if case .failure(let problem)? = secret.registryCredentials() {
            decoder.fail(.invalid, FieldPath("data").key(".dockerconfigjson"), document, detail: problem.description)
        }
        return secret
    }

    /// The top-level fields and `metadata.name` (a DNS subdomain) of a ConfigMap or Secret
    /// document; nil, with the errors recorded, when they cannot be read.
    static func readObject(
        _ document: SpecNode, supported: Set<String>, known: Set<String>, _ decoder: inout SpecDecoder
    ) -> ([String: SpecNode], String)? {
        guard let fields = decoder.object(document, FieldPath(""), supported: supported, known: known) else { return nil }
        checkAPIVersion(fields, document, &decoder)
        let metadataPath = FieldPath("metadata")
        guard let metadataNode = fields["metadata"] else {
            decoder.fail(.required, metadataPath.child("name"), document)
            return nil
        }
        guard
            let metadata = decoder.object(
                metadataNode, metadataPath, supported: ["name"], known: KubernetesFields.metadataKnown.union(["labels"]),
                ignoredIfEmpty: ["creationTimestamp"])
        else { return nil }
        guard let nameNode = metadata["name"], let name = decoder.string(nameNode, metadataPath.child("name")) else {
            if metadata["name"] == nil { decoder.fail(.required, metadataPath.child("name"), metadataNode) }
            return nil
        }
        for problem in KubernetesNames.dns1123SubdomainErrors(name) {
            decoder.fail(.invalid, metadataPath.child("name"), nameNode, value: FieldError.quoted(name), detail: problem)
        }
        return (fields, name)
    }

    static func checkAPIVersion(_ fields: [String: SpecNode], _ document: SpecNode, _ decoder: inout SpecDecoder) {
        guard let node = fields["apiVersion"] else {
            decoder.fail(.required, FieldPath("apiVersion"), document)
            return
        }
        if let version = decoder.string(node, FieldPath("apiVersion")), version != apiVersion {
            decoder.fail(
                .unsupportedValue, FieldPath("apiVersion"), node, value: FieldError.quoted(version),
                detail: "supported values: \"v1\"")
        }
    }
}

extension PodSpecReader {
    /// A whole `v1.Pod` document: `apiVersion`, `kind`, `metadata`, `spec` (and an empty `status`).
    mutating func readPodDocument(_ document: SpecNode) -> PodSpec {
        var spec = PodSpec(name: "")
        guard
            let fields = decoder.object(
                document, FieldPath(""), supported: KubernetesFields.podTop,
                known: KubernetesFields.podTopKnown, ignoredIfEmpty: ["status"])
        else {
            return spec
        }
        Manifest.checkAPIVersion(fields, document, &decoder)
        if let metadataNode = fields["metadata"],
            let metadata = decoder.object(
                metadataNode, Self.metadataPath, supported: KubernetesFields.metadata,
                known: KubernetesFields.metadataKnown, ignoredIfEmpty: ["creationTimestamp"])
        {
            readMetadata(metadata, into: &spec)
        }
        guard let specNode = fields["spec"] else {
            decoder.fail(.required, Self.specPath, document)
            return spec
        }
        if let specFields = decoder.object(
            specNode, Self.specPath, supported: KubernetesFields.podSpec,
            known: KubernetesFields.podSpecKnown)
        {
            readSpec(specFields, into: &spec)
        }
        // A ConfigMap named as the encoder names it by default is the inline form without a name.
        for index in spec.volumes.indices {
            if case .configMap(var source) = spec.volumes[index].source,
                source.name == "\(spec.name)-\(spec.volumes[index].name)"
            {
                source.name = nil
                spec.volumes[index].source = .configMap(source)
            }
        }
        return spec
    }
}
