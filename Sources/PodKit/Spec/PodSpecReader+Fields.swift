/// One field of a spec object as the reader sees it: the key, and how its node is decoded into
/// the value being built. The objects' fields are tables of these, read in table order, so that
/// errors come in the order the fields are declared and a new field is one entry.
struct FieldReader<Target>: Sendable {
    let key: String
    let read: @Sendable (inout PodSpecReader, SpecNode, FieldPath, inout Target) -> Void

    /// A field whose decoded value, when there is one, is stored at `target`.
    static func value<Value>(
        _ key: String, _ target: WritableKeyPath<Target, Value> & Sendable,
        _ decode: @escaping @Sendable (inout PodSpecReader, SpecNode, FieldPath) -> Value?
    ) -> Self {
        Self(key: key) { reader, node, path, object in
            if let value = decode(&reader, node, path) { object[keyPath: target] = value }
        }
    }

    static func string(_ key: String, _ target: WritableKeyPath<Target, String> & Sendable) -> Self {
        value(key, target) { $0.decoder.string($1, $2) }
    }

    /// A string where the empty string means "not set".
    static func optionalString(_ key: String, _ target: WritableKeyPath<Target, String?> & Sendable) -> Self {
        value(key, target) { reader, node, path in reader.decoder.string(node, path).map { $0.isEmpty ? nil : $0 } }
    }

    static func strings(_ key: String, _ target: WritableKeyPath<Target, [String]> & Sendable) -> Self {
        value(key, target) { $0.decoder.stringArray($1, $2) }
    }

    static func stringMap(_ key: String, _ target: WritableKeyPath<Target, [String: String]> & Sendable) -> Self {
        value(key, target) { $0.decoder.stringMap($1, $2) }
    }

    static func bool(_ key: String, _ target: WritableKeyPath<Target, Bool> & Sendable) -> Self {
        value(key, target) { $0.decoder.bool($1, $2) }
    }

    static func quantity(_ key: String, _ target: WritableKeyPath<Target, Quantity?> & Sendable) -> Self {
        value(key, target) { $0.decoder.quantity($1, $2) }
    }

    static func enumeration<E: RawRepresentable & CaseIterable & Sendable>(
        _ key: String, _ target: WritableKeyPath<Target, E> & Sendable
    ) -> Self
    where E.RawValue == String {
        value(key, target) { $0.decoder.enumeration($1, $2, E.self) }
    }

    /// A list whose items are read one by one at `key[i]`.
    static func list<Element>(
        _ key: String, _ target: WritableKeyPath<Target, [Element]> & Sendable,
        _ item: @escaping @Sendable (inout PodSpecReader, SpecNode, FieldPath) -> Element
    ) -> Self {
        value(key, target) { reader, node, path in
            guard let items = reader.decoder.array(node, path) else { return nil }
            var elements: [Element] = []
            for (index, itemNode) in items.enumerated() { elements.append(item(&reader, itemNode, path.index(index))) }
            return elements
        }
    }
}

extension PodSpecReader {
    /// Reads every field of `table` that `fields` holds into `object`. A null field is an unset
    /// one, as Kubernetes decodes it (the zero value).
    mutating func apply<Target>(_ table: [FieldReader<Target>], _ fields: [String: SpecNode], _ path: FieldPath, to object: inout Target) {
        for field in table {
            guard let node = fields[field.key] else { continue }
            if case .null = node.value { continue }
            field.read(&self, node, path.child(field.key), &object)
        }
    }

    /// Reads an object node: its keys checked against `supported` and `known`, then its fields.
    mutating func read<Target>(
        _ node: SpecNode, _ path: FieldPath, _ supported: Set<String>, _ known: Set<String>, _ table: [FieldReader<Target>],
        into object: inout Target
    ) {
        guard let fields = decoder.object(node, path, supported: supported, known: known) else { return }
        apply(table, fields, path, to: &object)
    }

    static let specFields: [FieldReader<PodSpec>] = [
        .value("hostname", \.hostname) { $0.decoder.string($1, $2) }, .bool("shareProcessNamespace", \.shareProcessNamespace),
        .bool("hostNetwork", \.hostNetwork), .bool("hostPID", \.hostPID), .bool("hostIPC", \.hostIPC),
        .enumeration("restartPolicy", \.restartPolicy),
        .value("terminationGracePeriodSeconds", \.terminationGracePeriodSeconds) { $0.decoder.integer($1, $2) },
        .list("volumes", \.volumes) { $0.readVolume($1, $2) }, .list("initContainers", \.initContainers) { $0.readContainer($1, $2) },
        .list("containers", \.containers) { $0.readContainer($1, $2) }, .value("resources", \.resources) { $0.readResources($1, $2) },
        .list("imagePullSecrets", \.imagePullSecrets) { $0.readPullSecret($1, $2) },
        .value("hostUsers", \.hostUsers) { $0.decoder.bool($1, $2) },
        .value("securityContext", \.securityContext) { reader, node, path in
            var context = PodSecurityContext()
            reader.read(node, path, KubernetesFields.podSecurityContext, KubernetesFields.podSecurityContextKnown, Self.podSecurityFields, into: &context)
            return context
        },
    ]

    static let podSecurityFields: [FieldReader<PodSecurityContext>] = [
        .value("runAsUser", \.runAsUser) { $0.decoder.integer($1, $2) },
        .value("runAsGroup", \.runAsGroup) { $0.decoder.integer($1, $2) },
        .value("runAsNonRoot", \.runAsNonRoot) { $0.decoder.bool($1, $2) },
        .list("supplementalGroups", \.supplementalGroups) { $0.decoder.integer($1, $2) ?? 0 },
        .value("fsGroup", \.fsGroup) { $0.decoder.integer($1, $2) },
        .value("fsGroupChangePolicy", \.fsGroupChangePolicy) { $0.decoder.enumeration($1, $2, FSGroupChangePolicy.self) },
        .value("seccompProfile", \.seccompProfile) { $0.readSeccompProfile($1, $2) },
    ]

    static let seccompFields: [FieldReader<SeccompProfile>] = [
        .value("type", \.type) { $0.decoder.enumeration($1, $2, SeccompProfile.ProfileType.self) },
        .value("localhostProfile", \.localhostProfile) { $0.decoder.string($1, $2) },
    ]

    static let securityFields: [FieldReader<SecurityContext>] = [
        .value("runAsUser", \.runAsUser) { $0.decoder.integer($1, $2) },
        .value("runAsGroup", \.runAsGroup) { $0.decoder.integer($1, $2) },
        .value("runAsNonRoot", \.runAsNonRoot) { $0.decoder.bool($1, $2) },
        .value("capabilities", \.capabilities) { reader, node, path in
            var capabilities = Capabilities()
            reader.read(node, path, KubernetesFields.capabilities, [], Self.capabilityFields, into: &capabilities)
            return capabilities
        },
        .value("privileged", \.privileged) { $0.decoder.bool($1, $2) },
        .value("readOnlyRootFilesystem", \.readOnlyRootFilesystem) { $0.decoder.bool($1, $2) },
        .value("allowPrivilegeEscalation", \.allowPrivilegeEscalation) { $0.decoder.bool($1, $2) },
        .value("procMount", \.procMount) { $0.decoder.enumeration($1, $2, ProcMountType.self) },
        .value("seccompProfile", \.seccompProfile) { $0.readSeccompProfile($1, $2) },
    ]

    static let capabilityFields: [FieldReader<Capabilities>] = [.strings("add", \.add), .strings("drop", \.drop)]

    static let pullSecretFields: [FieldReader<ImagePullSecret>] = [.string("name", \.name)]

    static let containerFields: [FieldReader<ContainerSpec>] = [
        .string("name", \.name), .string("image", \.image), .strings("command", \.command), .strings("args", \.args),
        .value("env", \.env) { $0.readEnv($1, $2) }, .value("workingDir", \.workingDir) { $0.decoder.string($1, $2) },
        .list("ports", \.ports) { $0.readPort($1, $2) }, .list("volumeMounts", \.volumeMounts) { $0.readMount($1, $2) },
        .value("resources", \.resources) { $0.readResources($1, $2) },
        .value("restartPolicy", \.restartPolicy) { r, n, p in
            r.decoder.enumeration(n, p, ContainerRestartPolicy.self)
        },
        .value("imagePullPolicy", \.imagePullPolicy) { r, n, p in r.decoder.enumeration(n, p, ImagePullPolicy.self) },
        .value("securityContext", \.securityContext) { reader, node, path in
            var context = SecurityContext()
            reader.read(node, path, KubernetesFields.securityContext, KubernetesFields.securityContextKnown, Self.securityFields, into: &context)
            return context
        },
    ]

    static let envFields: [FieldReader<EnvVar>] = [.string("name", \.name), .string("value", \.value)]

    static let portFields: [FieldReader<ContainerPort>] = [
        .value("containerPort", \.containerPort) { r, n, p in r.decoder.integer(n, p).map { Int(clamping: $0) } },
        .value("hostPort", \.hostPort) { r, n, p in r.decoder.integer(n, p).map { $0 == 0 ? nil : Int(clamping: $0) } },
        .enumeration("protocol", \.protocol),
    ]

    static let mountFields: [FieldReader<VolumeMount>] = [
        .string("name", \.name), .string("mountPath", \.mountPath), .bool("readOnly", \.readOnly), .optionalString("subPath", \.subPath),
    ]

    static let resourceFields: [FieldReader<ResourceRequirements>] = [
        .value("requests", \.requests) { $0.readResourceList($1, $2) }, .value("limits", \.limits) { $0.readResourceList($1, $2) },
    ]

    static let emptyDirFields: [FieldReader<EmptyDirVolumeSource>] = [
        .enumeration("medium", \.medium), .quantity("sizeLimit", \.sizeLimit),
    ]

    static let hostPathFields: [FieldReader<HostPathVolumeSource>] = [.string("path", \.path), .enumeration("type", \.type)]

    static let inlineConfigMapFields: [FieldReader<ConfigMapVolumeSource>] = [
        .value("name", \.name) { $0.decoder.string($1, $2) }, .stringMap("data", \.data),
    ]
}

extension PodSpecReader {
    /// `seccompProfile`: `type` is required (Kubernetes' rule).
    mutating func readSeccompProfile(_ node: SpecNode, _ path: FieldPath) -> SeccompProfile? {
        guard let fields = decoder.object(node, path, supported: KubernetesFields.seccompProfile, known: []) else { return nil }
        var profile = SeccompProfile(type: .runtimeDefault)
        apply(Self.seccompFields, fields, path, to: &profile)
        if fields["type"] == nil {
            decoder.fail(.required, path.child("type"), node)
            return nil
        }
        return profile
    }
}
