import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// Credentials for registries as the containers tools keep them (containers-auth.json(5)):
/// `{"auths": {"REGISTRY[/NAMESPACE]": {"auth": base64("user:password")}}}` — the same shape as
/// docker's `config.json` and a Kubernetes `.dockerconfigjson` Secret.
public struct RegistryAuthFile: Sendable, Equatable {
    public var path: String
    /// The entries, by key as written (`127.0.0.1:5000`, `quay.io/team`, `https://index.docker.io/v1/`).
    public var auths: [String: RegistryCredentials]

    /// Where `podsh image login` writes and pulls read: `$REGISTRY_AUTH_FILE`, else
    /// `$XDG_RUNTIME_DIR/containers/auth.json`, else `/run/containers/<uid>/auth.json` (podman's
    /// choices).
    public static var defaultPath: String {
        if let file = getenv("REGISTRY_AUTH_FILE").map({ String(cString: $0) }), !file.isEmpty { return file }
        if let runtime = getenv("XDG_RUNTIME_DIR").map({ String(cString: $0) }), !runtime.isEmpty {
            return runtime + "/containers/auth.json"
        }
        return "/run/containers/\(getuid())/auth.json"
    }

    /// The files read when no `--authfile` is given, first found first: the default, then
    /// docker's `~/.docker/config.json`.
    public static var searchPaths: [String] {
        var paths = [defaultPath]
        if let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty { paths.append(home + "/.docker/config.json") }
        return paths
    }

    /// Parses the text of an auth file (or of a `.dockerconfigjson`); `place` names it in errors.
    public static func parse(_ text: String, place: String) throws(BackendError) -> [String: RegistryCredentials] {
        do {
            return try RegistryAuths.parse(text, place: place)
        } catch {
            throw BackendError(.unsupported, "auth", error.description)
        }
    }

    /// The file at `path`; a missing file has no entries.
    public static func read(_ path: String) throws(BackendError) -> RegistryAuthFile {
        guard access(path, F_OK) == 0 else { return RegistryAuthFile(path: path, auths: [:]) }
        guard access(path, R_OK) == 0 else { throw SystemCall.failure("open", path, errno, operation: "auth") }
        return RegistryAuthFile(path: path, auths: try parse(LinuxSystem.readFile(path), place: path))
    }

    /// The credentials for `reference` from the first search path that has an entry.
    public static func lookup(registry: String, repository: String, paths: [String]) throws(BackendError) -> RegistryCredentials? {
        for path in paths {
            let file = try read(path)
            if let found = RegistryAuths.credentials(in: file.auths, registry: registry, repository: repository) { return found }
        }
        return nil
    }

    /// Writes `credentials` for `registry` into the file at `path` (made 0600, its directory
    /// 0700), keeping every other key of the file as it was; nil removes the registry's entry.
    /// Whether there was an entry before.
    @discardableResult
    public static func store(_ credentials: RegistryCredentials?, registry: String, path: String) throws(BackendError) -> Bool {
        var entries: [SpecNode.Entry] = []
        var root: [SpecNode.Entry] = []
        if access(path, F_OK) == 0 {
            let text = LinuxSystem.readFile(path)
            _ = try parse(text, place: path)
            if let node = try? JSONReader.parse(text), case .map(let top) = node.value {
                root = top.filter { $0.key != "auths" }
                if case .map(let old)? = node["auths"]?.value { entries = old }
            }
        }
        let keys = Set(RegistryAuths.keys(for: registry))
        let existed = entries.contains { keys.contains($0.key) }
        entries.removeAll { keys.contains($0.key) }
        if let credentials {
            let key = registry == "index.docker.io" || registry == "registry-1.docker.io" ? "docker.io" : registry
            let auth = Base64.encode(credentials.username + ":" + credentials.password)
            entries.append(.init(key, SpecNode(.map([.init("auth", SpecNode(.string(auth)))]))))
        }
        root.insert(.init("auths", SpecNode(.map(entries.sorted { $0.key < $1.key }))), at: 0)
        let dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !dir.isEmpty, let code = LinuxSystem.makeDirectories(dir, mode: 0o700) {
            throw SystemCall.failure("mkdir", dir, code, operation: "auth")
        }
        let staging = path + ".tmp-\(getpid())"
        if let code = LinuxSystem.writeFile(staging, SpecNode(.map(root)).jsonText + "\n", mode: 0o600) {
            unlink(staging)
            throw SystemCall.failure("write", staging, code, operation: "auth")
        }
        guard rename(staging, path) == 0 else {
            let code = errno
            unlink(staging)
            throw SystemCall.failure("rename", "\(staging), \(path)", code, operation: "auth")
        }
        return existed
    }
}
