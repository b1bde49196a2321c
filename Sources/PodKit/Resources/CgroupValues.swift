/// The values kubelet writes into a pod's or a container's cgroup. `nil` means "no limit":
/// the file keeps the kernel's default (`max`, `-1`).
public struct CgroupValues: Sendable, Equatable {
    /// cgroup v1 `cpu.shares`.
    public var cpuShares: Int64
    /// cgroup v1 `cpu.cfs_quota_us` / the first field of v2 `cpu.max`, in microseconds.
    public var cpuQuota: Int64?
    /// cgroup v1 `cpu.cfs_period_us` / the second field of v2 `cpu.max`, in microseconds.
    public var cpuPeriod: Int64?
    /// cgroup v1 `memory.limit_in_bytes` / v2 `memory.max`.
    public var memoryLimit: Int64?

    public init(cpuShares: Int64, cpuQuota: Int64? = nil, cpuPeriod: Int64? = nil, memoryLimit: Int64? = nil) {
        (self.cpuShares, self.cpuQuota, self.cpuPeriod, self.memoryLimit) = (cpuShares, cpuQuota, cpuPeriod, memoryLimit)
    }

    /// cgroup v2 `cpu.weight` for these shares: `1 + ((shares - 2) * 9999) / 262142`.
    public var cpuWeight: Int64 { ResourceMath.cpuWeight(shares: cpuShares) }

    /// cgroup v2 `cpu.max` text: `"<quota> <period>"`, or `"max <period>"` without a quota.
    public var cpuMax: String {
        let period = cpuPeriod ?? ResourceMath.quotaPeriod
        guard let cpuQuota else { return "max \(period)" }
        return "\(cpuQuota) \(period)"
    }
}
