/// `resources`: how much cpu and memory a container (or the whole pod) asks for and may use.
public struct ResourceRequirements: Sendable, Equatable {
    /// `requests`: what is reserved (cpu shares derive from it).
    public var requests: ResourceList
    /// `limits`: the hard ceiling (CFS quota, memory limit).
    public var limits: ResourceList

    public init(requests: ResourceList = ResourceList(), limits: ResourceList = ResourceList()) {
        (self.requests, self.limits) = (requests, limits)
    }

    /// Whether neither requests nor limits name anything.
    public var isEmpty: Bool { requests.isEmpty && limits.isEmpty }

    /// Requests as the API server defaults them: a resource with a limit but no request
    /// requests its limit.
    public var effectiveRequests: ResourceList {
        ResourceList(cpu: requests.cpu ?? limits.cpu, memory: requests.memory ?? limits.memory)
    }
}

/// The supported resource names.
public enum ResourceName: String, Sendable, Equatable, CaseIterable {
    case cpu
    case memory
}

/// A `requests` or `limits` map for the supported resources.
public struct ResourceList: Sendable, Equatable {
    /// `cpu`, in cores (`500m` is half a core).
    public var cpu: Quantity?
    /// `memory`, in bytes.
    public var memory: Quantity?

    public init(cpu: Quantity? = nil, memory: Quantity? = nil) {
        (self.cpu, self.memory) = (cpu, memory)
    }

    /// Whether no resource is named.
    public var isEmpty: Bool { cpu == nil && memory == nil }

    /// The quantity for `name`.
    public subscript(name: ResourceName) -> Quantity? {
        get {
            switch name {
            case .cpu: return cpu
            case .memory: return memory
            }
        }
        set {
            switch name {
            case .cpu: cpu = newValue
            case .memory: memory = newValue
            }
        }
    }
}
