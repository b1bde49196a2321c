import Foundation
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// The walk that measures an emptyDir as kubelet's DiskUsage does, on plain files.
@Suite("Disk usage of a volume")
struct DiskUsageTests {
    @Test func blocksOfEverythingHardLinksOnceSymlinksNotFollowedStopsPastTheLimit() throws {
        let dir = LinuxTestSupport.scratch("usage")
        defer { LinuxTestSupport.remove(dir) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/a/b/c", withIntermediateDirectories: true)
        func blocks(_ path: String) -> Int64 {
            var info = stat()
            return lstat(path, &info) == 0 ? Int64(info.st_blocks) * 512 : -1
        }
        let empty = LinuxSystem.diskUsage(dir, stoppingAbove: .max)
        #expect(empty == [dir, dir + "/a", dir + "/a/b", dir + "/a/b/c"].map(blocks).reduce(0, +))
        let data = Data(repeating: 7, count: 1 << 20)
        try data.write(to: URL(fileURLWithPath: dir + "/a/b/c/big"))
        let withFile = LinuxSystem.diskUsage(dir, stoppingAbove: .max)
        #expect(withFile >= empty + (1 << 20))
        // A second name for the file, and a symlink to a big file outside: nothing more.
        #expect(link(dir + "/a/b/c/big", dir + "/a/again") == 0)
        let outside = dir + "-outside"
        try data.write(to: URL(fileURLWithPath: outside))
        defer { unlink(outside) }
        #expect(symlink(outside, dir + "/a/link") == 0)
        #expect(LinuxSystem.diskUsage(dir, stoppingAbove: .max) == withFile + blocks(dir + "/a/link"))
        // It stops as soon as it is past the limit: the result is over it, not the whole sum.
        let partial = LinuxSystem.diskUsage(dir, stoppingAbove: 1)
        #expect(partial > 1)
        #expect(LinuxSystem.diskUsage(dir + "/nowhere", stoppingAbove: .max) == 0)
    }
}

extension RealLinux {
    /// kubelet's eviction for a disk emptyDir past its sizeLimit, on the linux backend.
    @Suite("Linux pods for real: eviction", .serialized)
    struct LinuxEvictionTests {
        /// The reproducer: 30 MiB into a 10Mi disk emptyDir. The disk takes the writes; the pod
        /// is evicted with kubelet's reason and message, and nothing restarts.
        @Test func aDiskEmptyDirPastItsSizeLimitGetsThePodEvicted() throws {
            let env = try LinuxPods()
            let cache = VolumeSpec(name: "cache", source: .emptyDir(EmptyDirVolumeSource(sizeLimit: try Quantity(parsing: "10Mi"))))
            let pod = try env.runtime.run(
                PodSpec(
                    name: "filler", restartPolicy: .always, volumes: [cache],
                    containers: [
                        env.box(
                            "w", ["sh", "-c", "dd if=/dev/zero of=/cache/f bs=1M count=30 2>/dev/null; echo wrote; exec sleep 3600"],
                            mounts: [VolumeMount(name: "cache", mountPath: "/cache")]),
                        env.box("other", ["sleep", "3600"]),
                    ]))
            #expect(try pod.wait(phase: .failed, timeout: 120) == .satisfied)
            let message = "Usage of EmptyDir volume \"cache\" exceeds the limit \"10Mi\"."
            let status = try pod.status()
            #expect(status.reason == "Evicted" && status.message == message, "\(status)")
            for container in status.containers {
                let ended = try #require(container.state.termination)
                #expect(ended.exitCode == 137 && ended.cause == .evicted(message), "\(ended)")
                #expect(container.restartCount == 0)
            }
            #expect(try pod.events().contains { $0.type == .warning && $0.reason == "Evicted" && $0.message == message })
            // The pause is asked to end with the pod; its exit comes when it comes.
            #expect(try pod.wait(timeout: 30) { $0.infra.state == "terminated" } == .satisfied, "the pause ended with the pod")
            try pod.remove()
            env.closeAndCheck()
        }

        /// Under its limit a volume is left alone, check after check.
        @Test func aVolumeUnderItsLimitIsLeftAlone() throws {
            let env = try LinuxPods()
            let cache = VolumeSpec(name: "cache", source: .emptyDir(EmptyDirVolumeSource(sizeLimit: try Quantity(parsing: "10Mi"))))
            let pod = try env.runtime.run(
                PodSpec(
                    name: "modest", restartPolicy: .never, volumes: [cache],
                    containers: [
                        env.box(
                            "w", ["sh", "-c", "dd if=/dev/zero of=/cache/f bs=1M count=4 2>/dev/null; echo done; exec sleep 3600"],
                            mounts: [VolumeMount(name: "cache", mountPath: "/cache")])
                    ]))
            #expect(try pod.wait(timeout: 60) { _ in (try? pod.logs("w")) == "done\n" } == .satisfied)
            let checks = env.backend.volumeChecks
            #expect(try pod.wait(timeout: 60) { _ in env.backend.volumeChecks >= checks + 3 } == .satisfied)
            let status = try pod.status()
            #expect(status.phase == .running && status.reason == nil)
            try pod.remove()
            env.closeAndCheck()
        }
    }
}
