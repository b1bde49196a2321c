/// What an image says about running it: the OCI image config's `config` object (the part
/// Kubernetes applies, DESIGN §8.2).
public struct ImageConfig: Sendable, Equatable {
    /// `Entrypoint`.
    public var entrypoint: [String]
    /// `Cmd`.
    public var cmd: [String]
    /// `Env`: `NAME=value` strings, in order.
    public var env: [String]
    /// `WorkingDir`, nil or empty for `/`.
    public var workingDir: String?
    /// `User`: `uid`, `uid:gid`, `name` or `name:group`; nil for root.
    public var user: String?
    /// `StopSignal`: what a graceful stop sends instead of SIGTERM.
    public var stopSignal: String?

    public init(
        entrypoint: [String] = [], cmd: [String] = [], env: [String] = [], workingDir: String? = nil, user: String? = nil,
        stopSignal: String? = nil
    ) {
        (self.entrypoint, self.cmd, self.env, self.workingDir, self.user, self.stopSignal) =
            (entrypoint, cmd, env, workingDir, user, stopSignal)
    }

    /// The argv of a container with `command` and `args` on this image, by Kubernetes' rules:
    /// `command` replaces Entrypoint and drops Cmd; `args` replaces Cmd.
    public func argv(command: [String], args: [String]) -> [String] {
        if !command.isEmpty { return command + args }
        return entrypoint + (args.isEmpty ? cmd : args)
    }

    /// The container's environment: the image's variables first, those the container sets
    /// itself left out (the container's value wins), then the container's.
    public func environment(over container: [EnvVar]) -> [EnvVar] {
        guard !env.isEmpty else { return container }
        let own = Set(container.map(\.name))
        var out: [EnvVar] = []
        for entry in env {
            let name: Substring
            let value: Substring
            if let equals = entry.firstIndex(of: "=") {
                (name, value) = (entry[..<equals], entry[entry.index(after: equals)...])
            } else {
                (name, value) = (Substring(entry), "")
            }
            if name.isEmpty || own.contains(String(name)) { continue }
            out.append(EnvVar(name: String(name), value: String(value)))
        }
        return out + container
    }

    /// The signal a graceful stop sends: `StopSignal`, else SIGTERM.
    public var gracefulStopSignal: Signal { stopSignal.flatMap { Signal(name: $0) } ?? .term }

    /// The config as the OCI image config's `config` object (sorted keys, empty fields left out).
    public var node: SpecNode {
        func strings(_ list: [String]) -> SpecNode { SpecNode(.array(list.map { SpecNode(.string($0)) })) }
        var entries: [SpecNode.Entry] = []
        if !cmd.isEmpty { entries.append(.init("Cmd", strings(cmd))) }
        if !entrypoint.isEmpty { entries.append(.init("Entrypoint", strings(entrypoint))) }
        if !env.isEmpty { entries.append(.init("Env", strings(env))) }
        if let stopSignal { entries.append(.init("StopSignal", SpecNode(.string(stopSignal)))) }
        if let user { entries.append(.init("User", SpecNode(.string(user)))) }
        if let workingDir { entries.append(.init("WorkingDir", SpecNode(.string(workingDir)))) }
        return SpecNode(.map(entries))
    }
}

/// An image a backend holds (or the sim knows): its reference, its id (the digest of its OCI
/// config, as every runtime names images), its size on disk, its layers and its config.
public struct ImageInfo: Sendable, Equatable {
    /// The reference it is known by (`busybox:latest`, `127.0.0.1:5000/app:1.0`).
    public var reference: String
    /// `sha256:<hex>` of the image's config; empty when the backend has none (a root file system
    /// imported before the store kept configs).
    public var id: String
    /// Bytes: the layers as stored.
    public var size: Int64
    /// The layers' digests, bottom first.
    public var layers: [String]
    public var config: ImageConfig

    public init(reference: String, id: String, size: Int64, layers: [String] = [], config: ImageConfig = ImageConfig()) {
        (self.reference, self.id, self.size, self.layers, self.config) = (reference, id, size, layers, config)
    }
}
