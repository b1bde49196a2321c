/// `spec.volumes[]`: storage shared by the containers of a pod that mount it.
public struct VolumeSpec: Sendable, Equatable {
    /// Where the volume's files come from.
    public enum Source: Sendable, Equatable {
        /// `emptyDir`: a fresh directory for the pod's lifetime.
        case emptyDir(EmptyDirVolumeSource)
        /// `hostPath`: a file or directory of the host.
        case hostPath(HostPathVolumeSource)
        /// `configMap`: files from a ConfigMap, here carried inline; mounted read-only.
        case configMap(ConfigMapVolumeSource)
    }

    /// `name`: a DNS-1123 label, unique in the pod.
    public var name: String
    /// The volume source (exactly one per volume).
    public var source: Source

    public init(name: String, source: Source) {
        (self.name, self.source) = (name, source)
    }
}

/// `emptyDir`: a directory that lives as long as the pod.
public struct EmptyDirVolumeSource: Sendable, Equatable {
    /// `medium`: disk (`""`) or RAM (`Memory`, counted against the memory limit).
    public enum Medium: String, Sendable, Equatable, CaseIterable {
        case disk = ""
        case memory = "Memory"
    }

    /// `medium`.
    public var medium: Medium
    /// `sizeLimit`: the most the volume may hold, nil for no limit.
    public var sizeLimit: Quantity?

    public init(medium: Medium = .disk, sizeLimit: Quantity? = nil) {
        (self.medium, self.sizeLimit) = (medium, sizeLimit)
    }
}

/// `hostPath`: a path of the host mounted into the pod.
public struct HostPathVolumeSource: Sendable, Equatable {
    /// `type`: what must exist at `path` before the pod starts, and what may be created.
    public enum PathType: String, Sendable, Equatable, CaseIterable {
        /// No check.
        case unset = ""
        /// A directory, created (mode 0755) when missing.
        case directoryOrCreate = "DirectoryOrCreate"
        /// An existing directory.
        case directory = "Directory"
        /// A file, created empty (mode 0644) when missing.
        case fileOrCreate = "FileOrCreate"
        /// An existing file.
        case file = "File"
    }

    /// `path`: an absolute path on the host.
    public var path: String
    /// `type`.
    public var type: PathType

    public init(path: String, type: PathType = .unset) {
        (self.path, self.type) = (path, type)
    }
}

/// `configMap`: a ConfigMap's data as files. swift-pods carries the data inline; in a manifest
/// the volume names a `ConfigMap` document that holds it.
public struct ConfigMapVolumeSource: Sendable, Equatable {
    /// The ConfigMap object's name in a manifest; nil means `<pod>-<volume>`.
    public var name: String?
    /// File name -> content.
    public var data: [String: String]

    public init(name: String? = nil, data: [String: String] = [:]) {
        (self.name, self.data) = (name, data)
    }

    /// The name of the ConfigMap document for a volume of pod `podName`.
    public func objectName(pod podName: String, volume volumeName: String) -> String {
        name ?? "\(podName)-\(volumeName)"
    }
}
