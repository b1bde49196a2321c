import CPodSpawn
import PodKit

#if canImport(Glibc)
import Glibc
#endif

/// What this machine has for the linux backend (`podsh doctor`): the pieces it needs as root,
/// and the pieces a rootless run would need — subordinate ID ranges, the setuid ID mappers,
/// user namespaces, delegated cgroup controllers — each named when missing. Running the
/// backend as a non-root user is not supported yet; this says what such a run would lack,
/// and never pretends it works.
public enum LinuxPreflight {
    public struct Check: Sendable, Equatable {
        public var name: String
        public var ok: Bool
        /// What was found, or what is missing and how to get it.
        public var detail: String

        public init(_ name: String, _ ok: Bool, _ detail: String) { (self.name, self.ok, self.detail) = (name, ok, detail) }
    }

    /// Where the checks read; the tests point them at files of their own.
    public struct Sources: Sendable {
        public var subuid = "/etc/subuid"
        public var subgid = "/etc/subgid"
        public var procSys = "/proc/sys"
        public var cgroupRoot = "/sys/fs/cgroup"
        public var path = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        public init() {}
    }

    /// The root run's needs: namespaces, overlay, cgroups, libseccomp, the kernel's mount API.
    public static func rootChecks() -> [Check] {
        var checks: [Check] = []
        checks.append(Check("namespaces", access("/proc/self/ns/user", F_OK) == 0, "/proc/self/ns"))
        checks.append(
            Check(
                "overlay", LinuxSystem.readFile("/proc/filesystems").contains("\toverlay\n"),
                "the overlay file system (modprobe overlay when missing)"))
        switch CgroupDrivers.detect() {
        case .success(let driver): checks.append(Check("cgroups", true, "cgroup \(driver.version) with the memory, pids and cpu controllers"))
        case .failure(let error): checks.append(Check("cgroups", false, error.message))
        }
        let seccomp = podspawn_seccomp_native_arch() != 0
        checks.append(
            Check("seccomp", seccomp, seccomp ? "libseccomp.so.2 loads" : "libseccomp.so.2 does not load (Debian: libseccomp2)"))
        let (major, minor) = SeccompFilter.kernelVersion
        let mountAPI = (major, minor) >= (6, 8)
        checks.append(
            Check(
                "kernel", mountAPI,
                "Linux \(major).\(minor)" + (mountAPI ? "" : ": images of many layers need 6.8 (fsconfig lowerdir+)")))
        return checks
    }

    /// A rootless run's needs for `user` (name) with `uid`.
    public static func rootlessChecks(user: String, uid: uid_t, sources: Sources = Sources()) -> [Check] {
        var checks: [Check] = []
        for (name, file, tool) in [("subuid", sources.subuid, "--add-subuids"), ("subgid", sources.subgid, "--add-subgids")] {
            let ranges = LinuxSystem.readFile(file).split(separator: "\n").compactMap { line -> (String, UInt64, UInt64)? in
                let f = line.split(separator: ":")
                guard f.count == 3, let start = UInt64(f[1]), let count = UInt64(f[2]) else { return nil }
                return (String(f[0]), start, count)
            }.filter { $0.0 == user || $0.0 == String(uid) }
            if let range = ranges.first(where: { $0.2 >= 65536 }) {
                checks.append(Check(name, true, "\(file): \(range.1)-\(range.1 + range.2 - 1) for \(user)"))
            } else {
                let why = ranges.isEmpty ? "no entry for \(user) in \(file)" : "the ranges for \(user) in \(file) hold fewer than 65536 IDs"
                checks.append(Check(name, false, "\(why) (usermod \(tool) 100000-165535 \(user))"))
            }
        }
        for tool in ["newuidmap", "newgidmap"] {
            let found = sources.path.map { $0 + "/" + tool }.first { access($0, X_OK) == 0 }
            var info = stat()
            if let found, stat(found, &info) == 0, info.st_mode & S_ISUID != 0 || podspawn_has_file_capabilities(found) != 0 {
                checks.append(Check(tool, true, found))
            } else if let found {
                checks.append(Check(tool, false, "\(found) is neither set-user-ID nor given capabilities"))
            } else {
                checks.append(Check(tool, false, "not found (Debian: uidmap)"))
            }
        }
        let maxNamespaces = Int(LinuxSystem.readFile(sources.procSys + "/user/max_user_namespaces").trimmingSpaces) ?? 0
        var userns = Check("user namespaces", maxNamespaces > 0, "user.max_user_namespaces = \(maxNamespaces)")
        for (sysctl, wanted) in [("kernel/unprivileged_userns_clone", "1"), ("kernel/apparmor_restrict_unprivileged_userns", "0")] {
            let value = LinuxSystem.readFile(sources.procSys + "/" + sysctl).trimmingSpaces
            if !value.isEmpty && value != wanted {
                userns.ok = false
                userns.detail += "; \(sysctl.split(separator: "/").joined(separator: ".")) = \(value) (it must be \(wanted))"
            }
        }
        checks.append(userns)
        let service = "\(sources.cgroupRoot)/user.slice/user-\(uid).slice/user@\(uid).service/cgroup.controllers"
        if access(sources.cgroupRoot + "/cgroup.controllers", F_OK) != 0 {
            checks.append(Check("cgroup delegation", false, "cgroup v1: controllers are delegated to users only on cgroup v2"))
        } else {
            let delegated = Set(LinuxSystem.readFile(service).split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            let missing = ["cpu", "memory", "pids"].filter { !delegated.contains($0) }
            checks.append(
                Check(
                    "cgroup delegation", missing.isEmpty,
                    missing.isEmpty
                        ? service
                        : "\(service) lacks \(missing.joined(separator: ", ")) (systemd: Delegate=cpu memory pids in user@.service)"))
        }
        return checks
    }
}
