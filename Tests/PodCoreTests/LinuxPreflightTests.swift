import Foundation
import PodTestSupport
import Testing

@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// The rootless pre-flight names each missing piece, read from files the test makes.
@Suite("Linux pre-flight")
struct LinuxPreflightTests {
    @Test func eachMissingPieceOfARootlessRunIsNamed() throws {
        let dir = Scratch.directory("preflight")
        defer { Scratch.remove(dir) }
        let fm = FileManager.default
        for sub in ["sys/user", "sys/kernel", "cg/user.slice/user-1000.slice/user@1000.service", "bin"] {
            try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        var sources = LinuxPreflight.Sources()
        (sources.subuid, sources.subgid, sources.procSys, sources.cgroupRoot, sources.path) =
            (dir + "/subuid", dir + "/subgid", dir + "/sys", dir + "/cg", [dir + "/bin"])
        try "alice:100000:65536\nbob:200000:65536\n".write(toFile: sources.subuid, atomically: true, encoding: .utf8)
        try "1000:300000:1000\n".write(toFile: sources.subgid, atomically: true, encoding: .utf8)
        try "0\n".write(toFile: dir + "/sys/user/max_user_namespaces", atomically: true, encoding: .utf8)
        try "0\n".write(toFile: dir + "/sys/kernel/unprivileged_userns_clone", atomically: true, encoding: .utf8)
        try "".write(toFile: dir + "/cg/cgroup.controllers", atomically: true, encoding: .utf8)
        try "cpu pids\n".write(
            toFile: dir + "/cg/user.slice/user-1000.slice/user@1000.service/cgroup.controllers", atomically: true, encoding: .utf8)
        try "#!/bin/sh\n".write(toFile: dir + "/bin/newuidmap", atomically: true, encoding: .utf8)
        chmod(dir + "/bin/newuidmap", 0o755)
        let checks = LinuxPreflight.rootlessChecks(user: "alice", uid: 1000, sources: sources)
        func check(_ name: String) -> LinuxPreflight.Check? { checks.first { $0.name == name } }
        #expect(check("subuid") == .init("subuid", true, "\(sources.subuid): 100000-165535 for alice"))
        #expect(check("subgid") == .init("subgid", false, "the ranges for alice in \(sources.subgid) hold fewer than 65536 IDs (usermod --add-subgids 100000-165535 alice)"))
        #expect(check("newuidmap") == .init("newuidmap", false, "\(dir)/bin/newuidmap is neither set-user-ID nor given capabilities"))
        #expect(check("newgidmap") == .init("newgidmap", false, "not found (Debian: uidmap)"))
        #expect(check("user namespaces")?.ok == false)
        #expect(check("user namespaces")?.detail == "user.max_user_namespaces = 0; kernel.unprivileged_userns_clone = 0 (it must be 1)")
        #expect(check("cgroup delegation")?.ok == false)
        #expect(check("cgroup delegation")?.detail.hasSuffix("lacks memory (systemd: Delegate=cpu memory pids in user@.service)") == true)
        // All there: every check passes.
        try "alice:100000:65536\n".write(toFile: sources.subgid, atomically: true, encoding: .utf8)
        try "96368\n".write(toFile: dir + "/sys/user/max_user_namespaces", atomically: true, encoding: .utf8)
        try "1\n".write(toFile: dir + "/sys/kernel/unprivileged_userns_clone", atomically: true, encoding: .utf8)
        try "cpu memory pids\n".write(
            toFile: dir + "/cg/user.slice/user-1000.slice/user@1000.service/cgroup.controllers", atomically: true, encoding: .utf8)
        for tool in ["newuidmap", "newgidmap"] {
            try "#!/bin/sh\n".write(toFile: dir + "/bin/" + tool, atomically: true, encoding: .utf8)
            chmod(dir + "/bin/" + tool, 0o4755)
        }
        let ready = LinuxPreflight.rootlessChecks(user: "alice", uid: 1000, sources: sources)
        let notReady = ready.filter { !$0.ok }
        #expect(notReady.isEmpty, "\(notReady)")
        // cgroup v1 delegates nothing.
        try fm.removeItem(atPath: dir + "/cg/cgroup.controllers")
        #expect(LinuxPreflight.rootlessChecks(user: "alice", uid: 1000, sources: sources).first { $0.name == "cgroup delegation" }?.ok == false)
    }
}
