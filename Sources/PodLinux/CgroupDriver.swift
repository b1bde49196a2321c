import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// What the linux backend needs from a cgroup hierarchy, whichever version the host mounts.
/// A cgroup is named by its path below the hierarchy root (`swift-pods/web-1a2b/app-1`); the
/// driver makes it in every hierarchy it uses, writes kubelet's values, gives the files a
/// process writes "0" to in order to join (before exec), reads the OOM counter, and removes it.
public protocol CgroupDriver: Sendable {
    /// "v1" or "v2".
    var version: String { get }
    /// Makes the cgroup (and its missing ancestors) and writes the values: CPU shares or weight,
    /// CFS quota and period, the memory limit (nil: none), the pids limit (nil: none).
    func create(_ path: String, values: CgroupValues, pidsMax: Int?) throws(BackendError)
    /// The `cgroup.procs` files to join it: one per hierarchy.
    func procsFiles(_ path: String) -> [String]
    /// OOM kills counted in this cgroup (and below it).
    func oomKills(_ path: String) -> Int
    /// The processes in it (not below it).
    func processes(_ path: String) -> [pid_t]
    /// The names of the cgroups right below it.
    func children(_ path: String) -> [String]
    /// Kills what is left in it and removes it (children must be gone); false when it stays.
    @discardableResult
    func remove(_ path: String) -> Bool
}

extension CgroupDriver {
    /// Writes `value` to `file` (a cgroup interface file: one write).
    static func write(_ file: String, _ value: String) throws(BackendError) {
        let fd = try SystemCall.check("open", file, operation: "cgroup") { open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        defer { close(fd) }
        try SystemCall.check("write", "\(file), \(value)", operation: "cgroup") { value.withCString { Glibc.write(fd, $0, strlen($0)) } }
    }

    /// The pids listed in a `cgroup.procs` file.
    static func pids(in file: String) -> [pid_t] {
        LinuxSystem.readFile(file).split(separator: "\n").compactMap { pid_t($0) }
    }

    /// The number after `key ` in a flat keyed file (`memory.events`, `memory.oom_control`).
    static func counter(_ key: String, in file: String) -> Int {
        for line in LinuxSystem.readFile(file).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2 && fields[0] == key { return Int(fields[1]) ?? 0 }
        }
        return 0
    }

    /// Subdirectory names of `dir`.
    static func subdirectories(_ dir: String) -> [String] {
        LinuxSystem.entries(of: dir).filter(\.isDirectory).map(\.name).sorted()
    }

    /// SIGKILL to what is in `procs`, then `rmdir`, retried while dying processes leave.
    static func killAndRemove(_ dir: String, procs: String) -> Bool {
        for attempt in 0..<200 {
            if rmdir(dir) == 0 || errno == ENOENT { return true }
            guard errno == EBUSY else { return false }
            for pid in pids(in: procs) { kill(pid, SIGKILL) }
            usleep(attempt < 20 ? 1000 : 10000)
        }
        return false
    }
}

/// cgroup v2: one hierarchy; controllers enabled down the tree through `cgroup.subtree_control`;
/// `cpu.weight`, `cpu.max`, `memory.max`, `pids.max`, `memory.events`, `cgroup.kill`.
public struct CgroupV2Driver: CgroupDriver {
    public let root: String
    public var version: String { "v2" }
    static let controllers = ["cpu", "memory", "pids"]

    public init(root: String = "/sys/fs/cgroup") {
        self.root = root
    }

    public func create(_ path: String, values: CgroupValues, pidsMax: Int?) throws(BackendError) {
        var current = root
        for part in path.split(separator: "/") {
            // The parent hands the controllers down before the child exists.
            let available = Set(
                LinuxSystem.readFile(current + "/cgroup.controllers").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            let wanted = Self.controllers.filter { available.isEmpty || available.contains($0) }
            let enabled = Set(
                LinuxSystem.readFile(current + "/cgroup.subtree_control").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(
                    String.init))
            let missing = wanted.filter { !enabled.contains($0) }
            if !missing.isEmpty {
                try Self.write(current + "/cgroup.subtree_control", missing.map { "+" + $0 }.joined(separator: " "))
            }
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw SystemCall.failure("mkdir", current, errno, operation: "cgroup")
            }
        }
        try Self.write(current + "/cpu.weight", String(values.cpuWeight))
        try Self.write(current + "/cpu.max", values.cpuMax)
        try Self.write(current + "/memory.max", values.memoryLimit.map(String.init) ?? "max")
        try Self.write(current + "/pids.max", pidsMax.map(String.init) ?? "max")
    }

    public func procsFiles(_ path: String) -> [String] { [root + "/" + path + "/cgroup.procs"] }

    public func oomKills(_ path: String) -> Int { Self.counter("oom_kill", in: root + "/" + path + "/memory.events") }

    public func processes(_ path: String) -> [pid_t] { Self.pids(in: root + "/" + path + "/cgroup.procs") }

    public func children(_ path: String) -> [String] { Self.subdirectories(root + "/" + path) }

    public func remove(_ path: String) -> Bool {
        let dir = root + "/" + path
        if access(dir + "/cgroup.kill", F_OK) == 0 { try? Self.write(dir + "/cgroup.kill", "1") }
        return Self.killAndRemove(dir, procs: dir + "/cgroup.procs")
    }
}

/// cgroup v1: a hierarchy per controller (`memory`, `pids`, `cpu`), the same path in each;
/// `cpu.shares`, `cpu.cfs_quota_us`/`cpu.cfs_period_us`, `memory.limit_in_bytes`, `pids.max`,
/// `memory.oom_control`; no `cgroup.kill` (what is left is killed by pid). cpuset is left alone
/// (a new v1 cpuset cgroup has empty cpus and mems and cannot be joined: ENOSPC).
public struct CgroupV1Driver: CgroupDriver {
    /// Mount point per controller.
    public let mounts: [String: String]
    public var version: String { "v1" }
    static let controllers = ["memory", "pids", "cpu"]

    public init(mounts: [String: String]) {
        self.mounts = mounts
    }

    var hierarchies: [String] { Self.controllers.compactMap { mounts[$0] } }

    public func create(_ path: String, values: CgroupValues, pidsMax: Int?) throws(BackendError) {
        for base in hierarchies {
            if let code = LinuxSystem.makeDirectories(base + "/" + path, mode: 0o755) {
                throw SystemCall.failure("mkdir", base + "/" + path, code, operation: "cgroup")
            }
        }
        if let cpu = mounts["cpu"] {
            let dir = cpu + "/" + path
            try Self.write(dir + "/cpu.shares", String(values.cpuShares))
            try Self.write(dir + "/cpu.cfs_period_us", String(values.cpuPeriod ?? ResourceMath.quotaPeriod))
            try Self.write(dir + "/cpu.cfs_quota_us", values.cpuQuota.map(String.init) ?? "-1")
        }
        if let memory = mounts["memory"] {
            try Self.write(memory + "/" + path + "/memory.limit_in_bytes", values.memoryLimit.map(String.init) ?? "-1")
        }
        if let pids = mounts["pids"] {
            try Self.write(pids + "/" + path + "/pids.max", pidsMax.map(String.init) ?? "max")
        }
    }

    public func procsFiles(_ path: String) -> [String] { hierarchies.map { $0 + "/" + path + "/cgroup.procs" } }

    public func oomKills(_ path: String) -> Int {
        guard let memory = mounts["memory"] else { return 0 }
        return Self.counter("oom_kill", in: memory + "/" + path + "/memory.oom_control")
    }

    public func processes(_ path: String) -> [pid_t] {
        Array(Set(hierarchies.flatMap { Self.pids(in: $0 + "/" + path + "/cgroup.procs") })).sorted()
    }

    public func children(_ path: String) -> [String] {
        Array(Set(hierarchies.flatMap { Self.subdirectories($0 + "/" + path) })).sorted()
    }

    public func remove(_ path: String) -> Bool {
        var ok = true
        for base in hierarchies {
            let dir = base + "/" + path
            ok = Self.killAndRemove(dir, procs: dir + "/cgroup.procs") && ok
        }
        return ok
    }
}

/// The driver for what this host mounts: cgroup2 with the memory, pids and cpu controllers, or
/// v1 hierarchies for them (this machine kind is v1 hybrid; most distributions are pure v2).
public enum CgroupDrivers {
    public static func detect() -> Result<any CgroupDriver, BackendError> {
        detect(mountinfo: LinuxSystem.readFile("/proc/self/mountinfo"))
    }

    /// The driver for the cgroup mounts of a `/proc/self/mountinfo` text.
    public static func detect(mountinfo: String) -> Result<any CgroupDriver, BackendError> {
        var v1: [String: String] = [:]
        var v2: String?
        for line in mountinfo.split(separator: "\n") {
            // ... mount-point ... - fstype source super-options
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
            guard left.count > 4, right.count > 2 else { continue }
            let mountPoint = String(left[4])
            if right[0] == "cgroup2" && v2 == nil { v2 = mountPoint }
            if right[0] == "cgroup" {
                for option in right[2].split(separator: ",") where CgroupV1Driver.controllers.contains(String(option)) {
                    if v1[String(option)] == nil { v1[String(option)] = mountPoint }
                }
            }
        }
        if v1["memory"] != nil && v1["pids"] != nil {
            return .success(CgroupV1Driver(mounts: v1))
        }
        if let v2 {
            let controllers = LinuxSystem.readFile(v2 + "/cgroup.controllers")
            if controllers.contains("memory") && controllers.contains("pids") { return .success(CgroupV2Driver(root: v2)) }
        }
        return .failure(
            BackendError(
                .unavailable, "linux",
                "no usable cgroup hierarchy: neither cgroup v1 memory and pids hierarchies nor a cgroup2 mount with the memory and pids controllers"
            ))
    }
}
