import PodKit
import PodLinux
import PodSim

/// Backends by name. `BackendRegistry.standard` holds the ones this build knows and is the one
/// place that names them: podsh's `--backend`, `pod.use`, `pod.backends()` and the conformance
/// suite go through it, so adding a backend is its target plus one entry here. A program that
/// brings a backend of its own adds its entry to a copy (`adding(_:)`).
public struct BackendRegistry: Sendable {
    /// Every backend of this registry, the default first.
    public private(set) var entries: [BackendEntry]

    public init(entries: [BackendEntry]) {
        self.entries = entries
    }

    /// This build's backends: the sim (the default) and linux.
    public static let standard = BackendRegistry(entries: [
        BackendEntry(
            name: "sim",
            summary: "the simulated kernel: deterministic, in memory, virtual time (the default)",
            optionNames: [],
            trusted: false,
            unavailableReason: { nil },
            configure: { options throws(BackendError) in
                try BackendEntry.refuseUnknown(options, known: [], backend: "sim")
                return BackendConfiguration(backend: "sim", settings: 0) { SimBackend() }
            }),
        BackendEntry(
            name: "linux",
            summary: "real namespaces, cgroups and mounts on this kernel (root)",
            optionNames: LinuxBackendOptions.names,
            trusted: true,
            unavailableReason: { LinuxBackend.unavailableReason() },
            configure: { options throws(BackendError) in
                let decoded = try LinuxBackendOptions(options)
                return BackendConfiguration(backend: "linux", settings: decoded) { () throws(BackendError) in
                    try LinuxBackend(options: decoded)
                }
            }),
    ])

    /// This registry with `entry` added (replacing an entry of the same name).
    public func adding(_ entry: BackendEntry) -> BackendRegistry {
        var copy = self
        copy.entries.removeAll { $0.name == entry.name }
        copy.entries.append(entry)
        return copy
    }

    /// The backend used when none is named.
    public var defaultName: String { entries.first?.name ?? "sim" }

    /// The entry named `name`, or nil.
    public func entry(named name: String) -> BackendEntry? {
        entries.first { $0.name == name }
    }

    /// The names of the backends usable here, in registry order.
    public func availableNames() -> [String] {
        entries.filter { $0.unavailableReason() == nil }.map(\.name)
    }

    /// The configuration of backend `name` with `options`: `unsupported` for an unknown name
    /// (listing the usable ones) or an option it refuses.
    public func configure(_ name: String, options: BackendOptions = BackendOptions()) throws(BackendError) -> BackendConfiguration {
        guard let entry = entry(named: name) else {
            throw BackendError(.unsupported, "backend", "unknown backend '\(name)'; available: \(availableNames().joined(separator: ", "))")
        }
        return try entry.configure(options)
    }

    /// A new backend named `name` with `options`; `unavailable` with the reason when it cannot
    /// run here.
    public func make(_ name: String, options: BackendOptions = BackendOptions()) throws(BackendError) -> any PodBackend {
        try configure(name, options: options).make()
    }
}

/// One backend of the registry.
public struct BackendEntry: Sendable {
    /// The name scripts and podsh use: "sim", "linux".
    public let name: String
    /// One line for help texts.
    public let summary: String
    /// The options it takes (`pod.use(name, {...})`).
    public let optionNames: [String]
    /// Whether it acts on the host (root, real processes): a sandboxed script reaches it only
    /// when the host program allows it.
    public let trusted: Bool
    /// Why it cannot run here, or nil when it can.
    public let unavailableReason: @Sendable () -> String?
    /// Decodes options into a configuration, or says which option is wrong.
    public let configure: @Sendable (BackendOptions) throws(BackendError) -> BackendConfiguration

    public init(
        name: String, summary: String, optionNames: [String], trusted: Bool,
        unavailableReason: @escaping @Sendable () -> String?,
        configure: @escaping @Sendable (BackendOptions) throws(BackendError) -> BackendConfiguration
    ) {
        (self.name, self.summary, self.optionNames, self.trusted, self.unavailableReason, self.configure) =
            (name, summary, optionNames, trusted, unavailableReason, configure)
    }

    /// Refuses any option outside `known`, naming it and the ones there are.
    public static func refuseUnknown(_ options: BackendOptions, known: [String], backend: String) throws(BackendError) {
        guard let unknown = options.names.first(where: { !known.contains($0) }) else { return }
        if known.isEmpty {
            throw BackendError(.unsupported, "options", "the \(backend) backend takes no options (got '\(unknown)')")
        }
        throw BackendError(.unsupported, "options", "unknown option '\(unknown)' (\(known.joined(separator: ", ")))")
    }
}

/// A backend with its decoded options, ready to make: two configurations are equal when they
/// name the same backend with the same settings (so `pod.use` can keep a backend it already has).
public struct BackendConfiguration: Sendable, Equatable {
    /// The backend's registry name.
    public let backend: String
    private let settings: any Hashable & Sendable
    private let factory: @Sendable () throws(BackendError) -> any PodBackend

    public init(
        backend: String, settings: some Hashable & Sendable,
        make factory: @escaping @Sendable () throws(BackendError) -> any PodBackend
    ) {
        (self.backend, self.settings, self.factory) = (backend, settings, factory)
    }

    /// A new backend of this configuration.
    public func make() throws(BackendError) -> any PodBackend { try factory() }

    public static func == (a: BackendConfiguration, b: BackendConfiguration) -> Bool {
        a.backend == b.backend && AnyHashable(a.settings) == AnyHashable(b.settings)
    }
}
