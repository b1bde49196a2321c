/// A `v1.Secret`: named bytes of a type. Pods name one in `imagePullSecrets` to pull with the
/// registry credentials of a `kubernetes.io/dockerconfigjson` Secret (a docker `config.json`
/// under the key `.dockerconfigjson`) or of the older `kubernetes.io/dockercfg` (its `auths`
/// alone under `.dockercfg`).
public struct Secret: Sendable, Equatable {
    public var name: String
    public var type: String
    public var data: [String: [UInt8]]

    public static let dockerConfigJSON = "kubernetes.io/dockerconfigjson"
    public static let dockerConfig = "kubernetes.io/dockercfg"
    public static let opaque = "Opaque"

    public init(name: String, type: String = Secret.opaque, data: [String: [UInt8]] = [:]) {
        (self.name, self.type, self.data) = (name, type, data)
    }

    /// The registry credentials it holds, by registry key; nil when it is not a docker config
    /// Secret, or why it cannot be read.
    public func registryCredentials() -> Result<[String: RegistryCredentials], RegistryAuths.Problem>? {
        switch type {
        case Self.dockerConfigJSON:
            guard let bytes = data[".dockerconfigjson"] else {
                return .failure(.init("Secret \"\(name)\" of type \(type) has no .dockerconfigjson key"))
            }
            return Result { () throws(RegistryAuths.Problem) in
                try RegistryAuths.parse(String(decoding: bytes, as: UTF8.self), place: "Secret \"\(name)\" .dockerconfigjson")
            }
        case Self.dockerConfig:
            guard let bytes = data[".dockercfg"] else { return .failure(.init("Secret \"\(name)\" of type \(type) has no .dockercfg key")) }
            return Result { () throws(RegistryAuths.Problem) in
                try RegistryAuths.parse(
                    "{\"auths\": " + String(decoding: bytes, as: UTF8.self) + "}", place: "Secret \"\(name)\" .dockercfg")
            }
        default:
            return nil
        }
    }
}

/// `spec.imagePullSecrets[]`: a Secret by name, with the Secret itself when the manifest
/// stream held it (otherwise the runtime's `secrets` are looked in).
public struct ImagePullSecret: Sendable, Equatable {
    public var name: String
    public var secret: Secret?

    public init(name: String, secret: Secret? = nil) { (self.name, self.secret) = (name, secret) }
}

/// Registry credentials as docker's `config.json`, the containers' `auth.json` and a
/// `.dockerconfigjson` Secret keep them: `{"auths": {"REGISTRY[/NAMESPACE]": {"auth":
/// base64("user:password")}}}`.
public enum RegistryAuths {
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The entries of such a document; `place` names it in errors.
    public static func parse(_ text: String, place: String) throws(Problem) -> [String: RegistryCredentials] {
        let node: SpecNode
        do {
            node = try JSONReader.parse(text)
        } catch {
            throw Problem("\(place): not JSON: \(error)")
        }
        guard case .map = node.value else { throw Problem("\(place): not a JSON object") }
        var out: [String: RegistryCredentials] = [:]
        guard let auths = node["auths"] else { return out }
        guard case .map(let entries) = auths.value else { throw Problem("\(place): auths is not an object") }
        for entry in entries {
            if let auth = entry.node["auth"]?.stringValue, !auth.isEmpty {
                guard let bytes = Base64.decode(auth), let credentials = RegistryCredentials(joined: String(decoding: bytes, as: UTF8.self))
                else { throw Problem("\(place): auths[\"\(entry.key)\"].auth is not base64 of USER:PASSWORD") }
                out[entry.key] = credentials
            } else if let user = entry.node["username"]?.stringValue, let password = entry.node["password"]?.stringValue {
                out[entry.key] = RegistryCredentials(username: user, password: password)
            }
        }
        return out
    }

    /// The keys a registry host may be written under; docker.io's include docker's historical URL.
    public static func keys(for registry: String) -> [String] {
        if registry == "docker.io" || registry == "index.docker.io" || registry == "registry-1.docker.io" {
            return ["docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"]
        }
        return [registry, "https://" + registry, "http://" + registry, "https://" + registry + "/v1/", "https://" + registry + "/v2/"]
    }

    /// The credentials for `repository` at `registry`: the longest `REGISTRY/NAMESPACE` key that
    /// holds the repository, else the registry's own.
    public static func credentials(
        in auths: [String: RegistryCredentials], registry: String, repository: String
    ) -> RegistryCredentials? {
        var parts = repository.split(separator: "/").map(String.init)
        while !parts.isEmpty {
            if let found = auths[registry + "/" + parts.joined(separator: "/")] { return found }
            parts.removeLast()
        }
        for key in keys(for: registry) { if let found = auths[key] { return found } }
        return nil
    }
}
