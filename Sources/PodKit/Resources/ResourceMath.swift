/// Kubelet's resource arithmetic, in one place for every backend: QoS classes, effective pod
/// requests and limits (init containers and sidecars included, pod-level `resources` taking
/// precedence), and the cgroup values of pods and containers.
///
/// Sources: `pkg/kubelet/cm/helpers_linux.go` (MilliCPUToShares, MilliCPUToQuota,
/// ResourceConfigForPod), `pkg/kubelet/kuberuntime/kuberuntime_container_linux.go`
/// (calculateLinuxResources), `component-helpers/resource/helpers.go` (PodRequests, PodLimits),
/// `pkg/apis/core/v1/helper/qos/qos.go` (ComputePodQOS), and the cgroup v2 weight conversion
/// of `pkg/kubelet/cm/cgroup_manager_linux.go`.
public enum ResourceMath {
    /// The smallest `cpu.shares` kubelet writes.
    public static let minShares: Int64 = 2
    /// The largest `cpu.shares` kubelet writes.
    public static let maxShares: Int64 = 262_144
    /// Shares for one whole cpu.
    public static let sharesPerCPU: Int64 = 1024
    /// The CFS period kubelet uses, in microseconds.
    public static let quotaPeriod: Int64 = 100_000
    /// The smallest CFS quota kubelet writes, in microseconds.
    public static let minQuotaPeriod: Int64 = 1000

    /// `MilliCPUToShares`: `max(2, milli * 1024 / 1000)`, at most 262144; 2 for no request.
    public static func cpuShares(milliCPU: Int64) -> Int64 {
        if milliCPU <= 0 { return minShares }
        let (product, overflow) = milliCPU.multipliedReportingOverflow(by: sharesPerCPU)
        if overflow { return maxShares }
        return min(max(product / 1000, minShares), maxShares)
    }

    /// `MilliCPUToQuota`: `milli * period / 1000`, at least 1000 µs; 0 (none) for no limit.
    public static func cpuQuota(milliCPU: Int64, period: Int64 = quotaPeriod) -> Int64 {
        if milliCPU <= 0 { return 0 }
        let (product, overflow) = milliCPU.multipliedReportingOverflow(by: period)
        if overflow { return Int64.max }
        return max(product / 1000, minQuotaPeriod)
    }

    /// cgroup v2 `cpu.weight` from v1 shares: `1 + ((shares - 2) * 9999) / 262142`.
    public static func cpuWeight(shares: Int64) -> Int64 {
        let clamped = min(max(shares, minShares), maxShares)
        return 1 + ((clamped - 2) * 9999) / 262_142
    }

    /// The pod's QoS class. With pod-level resources set, they decide alone (KEP-2837).
    public static func qosClass(of spec: PodSpec) -> QOSClass {
        var requests = ResourceList()
        var limits = ResourceList()
        var isGuaranteed = true
        func accumulate(_ requirements: ResourceRequirements) {
            if requirements.isEmpty {
                isGuaranteed = false
                return
            }
            let effective = requirements.effectiveRequests
            var limitsFound = 0
            for name in ResourceName.allCases {
                if let q = effective[name], q > .zero { requests[name] = (requests[name] ?? .zero).plus(q) }
                if let q = requirements.limits[name], q > .zero {
                    limits[name] = (limits[name] ?? .zero).plus(q)
                    limitsFound += 1
                }
            }
            if limitsFound != ResourceName.allCases.count { isGuaranteed = false }
        }
        if let podLevel = spec.resources, !podLevel.isEmpty {
            accumulate(podLevel)
        } else {
            for container in spec.containers + spec.initContainers { accumulate(container.resources) }
        }
        if requests.isEmpty && limits.isEmpty { return .bestEffort }
        if isGuaranteed {
            for name in ResourceName.allCases where requests[name] != nil && limits[name] != requests[name] {
                isGuaranteed = false
            }
        }
        let sameNames = ResourceName.allCases.allSatisfy { (requests[$0] == nil) == (limits[$0] == nil) }
        return isGuaranteed && sameNames ? .guaranteed : .burstable
    }

    /// The pod's effective requests (`PodRequests`): app containers and sidecars summed, or the
    /// largest init-container step (with the sidecars started before it) when that is larger;
    /// pod-level requests replace the aggregate for the resources they name.
    public static func podRequests(of spec: PodSpec) -> ResourceList {
        var list = aggregate(spec) { $0.effectiveRequests }
        if let podLevel = spec.resources?.effectiveRequests {
            for name in ResourceName.allCases where podLevel[name] != nil { list[name] = podLevel[name] }
        }
        return list
    }

    /// The pod's effective limits (`PodLimits`), computed like `podRequests(of:)`.
    public static func podLimits(of spec: PodSpec) -> ResourceList {
        var list = aggregate(spec) { $0.limits }
        if let podLevel = spec.resources?.limits {
            for name in ResourceName.allCases where podLevel[name] != nil { list[name] = podLevel[name] }
        }
        return list
    }

    /// The container-level aggregate of kubelet's `AggregateContainerRequests/Limits`.
    static func aggregate(_ spec: PodSpec, _ pick: (ResourceRequirements) -> ResourceList) -> ResourceList {
        var total = ResourceList()
        for container in spec.containers { total = total.adding(pick(container.resources)) }
        var sidecars = ResourceList()
        var initMax = ResourceList()
        for container in spec.initContainers {
            let own = pick(container.resources)
            let step: ResourceList
            if container.isSidecar {
                total = total.adding(own)
                sidecars = sidecars.adding(own)
                step = sidecars
            } else {
                step = own.adding(sidecars)
            }
            initMax = initMax.maximum(step)
        }
        return total.maximum(initMax)
    }

    /// The pod cgroup's values (`ResourceConfigForPod`): Guaranteed pods get shares, quota and
    /// memory limit; Burstable pods shares, plus quota and memory limit only when every container
    /// declares that limit (or the pod level does); BestEffort pods 2 shares and nothing else.
    public static func podCgroup(of spec: PodSpec) -> CgroupValues {
        let requests = podRequests(of: spec)
        var cpuLimitsDeclared = true
        var memoryLimitsDeclared = true
        func check(_ limits: ResourceList) {
            if limits.cpu?.isZero ?? true { cpuLimitsDeclared = false }
            if limits.memory?.isZero ?? true { memoryLimitsDeclared = false }
        }
        for container in spec.containers { check(container.resources.limits) }
        var sidecars = ResourceList()
        for container in spec.initContainers {
            if container.isSidecar {
                sidecars = sidecars.adding(container.resources.limits)
                check(sidecars)
            } else {
                check(container.resources.limits.adding(sidecars))
            }
        }
        if let podLimits = spec.resources?.limits {
            if let cpu = podLimits.cpu, !cpu.isZero { cpuLimitsDeclared = true }
            if let memory = podLimits.memory, !memory.isZero { memoryLimitsDeclared = true }
        }
        let limits = podLimits(of: spec)
        let shares = cpuShares(milliCPU: requests.cpu?.milliValue ?? 0)
        let quota = cpuQuota(milliCPU: limits.cpu?.milliValue ?? 0)
        let memory = limits.memory?.value ?? 0
        switch qosClass(of: spec) {
        case .guaranteed:
            return CgroupValues(cpuShares: shares, cpuQuota: quota, cpuPeriod: quotaPeriod, memoryLimit: memory)
        case .burstable:
            var values = CgroupValues(cpuShares: shares)
            if cpuLimitsDeclared {
                values.cpuQuota = quota
                values.cpuPeriod = quotaPeriod
            }
            if memoryLimitsDeclared { values.memoryLimit = memory }
            return values
        case .bestEffort:
            return CgroupValues(cpuShares: minShares)
        }
    }

    /// kubelet's `oom_score_adj` for the pod sandbox (pkg/kubelet/qos/policy.go).
    public static let podInfraOOMScoreAdj = -998

    /// kubelet's `oom_score_adj` for a container (`GetContainerOOMScoreAdjust`): Guaranteed
    /// pods -997, BestEffort 1000, Burstable `1000 - 1000 * memory request / memory capacity`
    /// kept within 3...999.
    public static func oomScoreAdj(pod: PodSpec, container: ContainerSpec, memoryCapacity: Int64) -> Int {
        oomScoreAdj(
            qosClass: qosClass(of: pod), memoryRequest: container.resources.effectiveRequests.memory?.value ?? 0,
            memoryCapacity: memoryCapacity)
    }

    /// kubelet's `oom_score_adj` from a pod's QoS class and a container's memory request.
    public static func oomScoreAdj(qosClass: QOSClass, memoryRequest request: Int64, memoryCapacity: Int64) -> Int {
        switch qosClass {
        case .guaranteed: return -997
        case .bestEffort: return 1000
        case .burstable:
            let capacity = max(1, memoryCapacity)
            let adjust = 1000 - Int(clamping: (1000 * Int128(request)) / Int128(capacity))
            if adjust < 1000 - 997 { return 1000 - 997 }
            if adjust == 1000 { return 999 }
            return adjust
        }
    }

    /// A container cgroup's values (`calculateLinuxResources`): shares from the request (or the
    /// limit when only that is set), CFS quota from the cpu limit, the memory limit in bytes.
    public static func containerCgroup(of container: ContainerSpec) -> CgroupValues {
        let resources = container.resources
        let shares = cpuShares(milliCPU: resources.effectiveRequests.cpu?.milliValue ?? 0)
        var values = CgroupValues(cpuShares: shares)
        if let cpu = resources.limits.cpu, !cpu.isZero {
            values.cpuQuota = cpuQuota(milliCPU: cpu.milliValue)
            values.cpuPeriod = quotaPeriod
        }
        if let memory = resources.limits.memory, !memory.isZero {
            values.memoryLimit = memory.value
        }
        return values
    }
}

extension PodSpec {
    /// The pod's QoS class; see `ResourceMath.qosClass(of:)`.
    public var qosClass: QOSClass { ResourceMath.qosClass(of: self) }
}

extension ResourceList {
    /// Sum per resource (a resource missing on both sides stays missing).
    func adding(_ other: ResourceList) -> ResourceList {
        var out = ResourceList()
        for name in ResourceName.allCases {
            switch (self[name], other[name]) {
            case let (a?, b?): out[name] = a.plus(b)
            case let (a, b): out[name] = a ?? b
            }
        }
        return out
    }

    /// Maximum per resource.
    func maximum(_ other: ResourceList) -> ResourceList {
        var out = ResourceList()
        for name in ResourceName.allCases {
            switch (self[name], other[name]) {
            case let (a?, b?): out[name] = Quantity.max(a, b)
            case let (a, b): out[name] = a ?? b
            }
        }
        return out
    }
}

extension Quantity {
    /// Sum that saturates at the largest representable magnitude instead of failing: the
    /// resource math never throws (each operand is below 2^63 units; only absurd sums saturate).
    func plus(_ other: Quantity) -> Quantity {
        if let sum = try? adding(other) { return sum }
        let limit = Quantity.maxNanos - 1
        let nanos = nanoValue > 0 || other.nanoValue > 0 ? limit : -limit
        return (try? Quantity(nanoValue: nanos, format: format)) ?? .zero
    }
}
