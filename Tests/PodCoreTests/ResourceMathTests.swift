import Testing

@testable import PodKit
@testable import PodLinux

/// QoS classes and cgroup values, each expected value computed by hand from kubelet's formulas:
/// shares = max(2, milli*1024/1000), quota = max(1000, milli*100000/1000), weight = 1 + ((shares-2)*9999)/262142.
@Suite("ResourceMath")
struct ResourceMathTests {
    static func q(_ s: String) -> Quantity { Fixtures.q(s) }
    static func container(
        _ name: String, requests: ResourceList = ResourceList(), limits: ResourceList = ResourceList(),
        sidecar: Bool = false
    ) -> ContainerSpec {
        ContainerSpec(
            name: name, command: ["sleep", "1"], resources: ResourceRequirements(requests: requests, limits: limits),
            restartPolicy: sidecar ? .always : nil)
    }

    @Test func kubeletFormulas() {
        #expect(ResourceMath.cpuShares(milliCPU: 0) == 2)
        #expect(ResourceMath.cpuShares(milliCPU: 1) == 2)  // 1*1024/1000 = 1 -> min 2
        #expect(ResourceMath.cpuShares(milliCPU: 100) == 102)  // 102.4
        #expect(ResourceMath.cpuShares(milliCPU: 1000) == 1024)
        #expect(ResourceMath.cpuShares(milliCPU: 300_000) == 262_144)  // capped
        #expect(ResourceMath.cpuShares(milliCPU: Int64.max) == 262_144)
        #expect(ResourceMath.cpuQuota(milliCPU: 0) == 0)
        #expect(ResourceMath.cpuQuota(milliCPU: 5) == 1000)  // 500 -> min 1000
        #expect(ResourceMath.cpuQuota(milliCPU: 250) == 25_000)
        #expect(ResourceMath.cpuQuota(milliCPU: 1500) == 150_000)
        #expect(ResourceMath.cpuWeight(shares: 2) == 1)
        #expect(ResourceMath.cpuWeight(shares: 102) == 4)  // 1 + 999900/262142 = 1 + 3
        #expect(ResourceMath.cpuWeight(shares: 1024) == 39)  // 1 + 10218978/262142 = 1 + 38
        #expect(ResourceMath.cpuWeight(shares: 262_144) == 10_000)
    }

    @Test func guaranteed() {
        // Limits only: requests default to limits.
        let spec = PodSpec(
            name: "g",
            containers: [
                Self.container("a", limits: ResourceList(cpu: Self.q("500m"), memory: Self.q("128Mi"))),
                Self.container(
                    "b", requests: ResourceList(cpu: Self.q("250m"), memory: Self.q("64Mi")),
                    limits: ResourceList(cpu: Self.q("250m"), memory: Self.q("64Mi"))),
            ])
        #expect(spec.qosClass == .guaranteed)
        let pod = ResourceMath.podCgroup(of: spec)
        #expect(pod == CgroupValues(cpuShares: 768, cpuQuota: 75_000, cpuPeriod: 100_000, memoryLimit: 201_326_592))
        #expect(pod.cpuWeight == 30)  // 1 + 766*9999/262142 = 1 + 29
        #expect(pod.cpuMax == "75000 100000")
        #expect(
            ResourceMath.containerCgroup(of: spec.containers[0])
                == CgroupValues(cpuShares: 512, cpuQuota: 50_000, cpuPeriod: 100_000, memoryLimit: 134_217_728))
        #expect(
            ResourceMath.containerCgroup(of: spec.containers[1])
                == CgroupValues(cpuShares: 256, cpuQuota: 25_000, cpuPeriod: 100_000, memoryLimit: 67_108_864))
    }

    /// A burstable pod gets a pod-level cpu quota and memory limit only when every container
    /// declares that limit.
    @Test func burstablePodLimitsNeedEveryContainersLimit() {
        let partly = Self.container(
            "a", requests: ResourceList(cpu: Self.q("100m"), memory: Self.q("64Mi")), limits: ResourceList(memory: Self.q("128Mi")))
        let partial = PodSpec(name: "b", containers: [partly, Self.container("b")])
        #expect(partial.qosClass == .burstable)
        // No cpu limit on a, nothing on b: neither quota nor memory limit at pod level.
        #expect(ResourceMath.podCgroup(of: partial) == CgroupValues(cpuShares: 102))
        #expect(ResourceMath.podCgroup(of: partial).cpuMax == "max 100000")
        #expect(ResourceMath.containerCgroup(of: partial.containers[0]) == CgroupValues(cpuShares: 102, memoryLimit: 134_217_728))
        #expect(ResourceMath.containerCgroup(of: partial.containers[1]) == CgroupValues(cpuShares: 2))

        let every = ResourceList(cpu: Self.q("1"), memory: Self.q("128Mi"))
        let requests = ResourceList(cpu: Self.q("250m"), memory: Self.q("64Mi"))
        let full = PodSpec(name: "b", containers: [Self.container("a", requests: requests, limits: every)])
        #expect(full.qosClass == .burstable)
        #expect(
            ResourceMath.podCgroup(of: full)
                == CgroupValues(cpuShares: 256, cpuQuota: 100_000, cpuPeriod: 100_000, memoryLimit: 134_217_728))
    }

    @Test func bestEffort() {
        let spec = PodSpec(name: "be", containers: [Self.container("a"), Self.container("b")])
        #expect(spec.qosClass == .bestEffort)
        #expect(ResourceMath.podCgroup(of: spec) == CgroupValues(cpuShares: 2))
        #expect(ResourceMath.containerCgroup(of: spec.containers[0]) == CgroupValues(cpuShares: 2))
    }

    @Test func initContainersAndSidecars() {
        // One-shot init larger than the app: the pod requests the init's 500m.
        var spec = PodSpec(
            name: "i", initContainers: [Self.container("init", requests: ResourceList(cpu: Self.q("500m")))],
            containers: [Self.container("app", requests: ResourceList(cpu: Self.q("200m")))])
        #expect(ResourceMath.podRequests(of: spec).cpu == Self.q("500m"))
        #expect(ResourceMath.podCgroup(of: spec).cpuShares == 512)
        // A sidecar before the init: it runs beside the init (600m) and beside the app (300m).
        spec.initContainers.insert(Self.container("side", requests: ResourceList(cpu: Self.q("100m")), sidecar: true), at: 0)
        #expect(ResourceMath.podRequests(of: spec).cpu == Self.q("600m"))
        #expect(ResourceMath.podCgroup(of: spec).cpuShares == 614)  // 614.4
        // The sidecar after the init: the init step is 500m, the steady state 300m.
        spec.initContainers.swapAt(0, 1)
        #expect(ResourceMath.podRequests(of: spec).cpu == Self.q("500m"))
        // Init containers count for QoS (ComputePodQOS loops over both lists): an init container
        // without cpu and memory limits makes an otherwise Guaranteed pod Burstable.
        let mixed = PodSpec(
            name: "m", initContainers: [Self.container("init")],
            containers: [
                Self.container("a", limits: ResourceList(cpu: Self.q("1"), memory: Self.q("1Gi")))
            ])
        #expect(mixed.qosClass == .burstable)
    }

    @Test func podLevelResourcesTakePrecedence() {
        var spec = PodSpec(
            name: "p", containers: [Self.container("a"), Self.container("b")],
            resources: ResourceRequirements(
                requests: ResourceList(cpu: Self.q("1"), memory: Self.q("512Mi")),
                limits: ResourceList(cpu: Self.q("2"), memory: Self.q("1Gi"))))
        #expect(spec.qosClass == .burstable)
        #expect(
            ResourceMath.podCgroup(of: spec)
                == CgroupValues(cpuShares: 1024, cpuQuota: 200_000, cpuPeriod: 100_000, memoryLimit: 1_073_741_824))
        spec.resources = ResourceRequirements(limits: ResourceList(cpu: Self.q("1"), memory: Self.q("1Gi")))
        #expect(spec.qosClass == .guaranteed)
        #expect(
            ResourceMath.podCgroup(of: spec)
                == CgroupValues(cpuShares: 1024, cpuQuota: 100_000, cpuPeriod: 100_000, memoryLimit: 1_073_741_824))
    }
}
