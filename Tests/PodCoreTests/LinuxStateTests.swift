import Foundation
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

extension RealLinux {
    @Suite("Linux pods for real: state directory, detach, leaks", .serialized)
    struct LinuxStateTests {
        @Test func recordsSayEverythingAndSurviveTheirText() throws {
            var record = LinuxPodRecord(
                name: "web", id: "web-1a2b3c4d", uid: "u 1", hostname: "web", bootID: LinuxState.bootID,
                owner: ProcessStamp(pid: 42, start: 4242), cgroup: "swift-pods/web-1a2b3c4d", cgroupVersion: "v1")
            record.infra = ProcessStamp(pid: 43, start: 4343)
            record.published = ["8080/TCP"]
            record.mounts = ["/run/swift-pods/pods/web 1a/volumes/m"]
            record.containers = [
                LinuxPodRecord.Container(
                    name: "c", run: 2, process: ProcessStamp(pid: 44, start: 4444),
                    cgroup: "swift-pods/web-1a2b3c4d/c-2", exited: false)
            ]
            #expect(LinuxPodRecord.parse(record.text) == record)
            #expect(LinuxPodRecord.parse("garbage") == nil)
            // A pid that now belongs to another process is not ours.
            let me = try #require(ProcessStamp.of(getpid()))
            #expect(me.isAlive)
            #expect(!ProcessStamp(pid: me.pid, start: me.start + 1).isAlive)
        }

        @Test func aDetachedPodOutlivesItsOwnerAndRmRemovesIt() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(PodSpec(name: "kept", containers: [env.box("c", ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            try pod.detach()
            let state = env.backend.state
            env.runtime.close()
            // The runtime is closed, the pod runs on, recorded as detached.
            let record = try #require(state.find("kept").first)
            #expect(record.detached)
            #expect(record.infraAlive)
            #expect(record.containers.first?.process?.isAlive == true)
            #expect(state.collect().pods.isEmpty, "gc keeps a detached pod whose pause runs")
            #expect(state.remove(record) == [])
            #expect(state.list().isEmpty)
            #expect(record.infra?.isAlive == false)
            // Its processes were this test's children: reap them now that they are dead.
            for pid in [record.infra?.pid, record.containers.first?.process?.pid].compactMap({ $0 }) {
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
            }
            env.closeAndCheck()
        }

        @Test func fiveHundredPodCyclesLeaveNothing() throws {
            let env = try LinuxPods()
            let fdsBefore = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
            let spec = PodSpec(
                name: "cycle", shareProcessNamespace: true,
                containers: [
                    env.box("a", ["true"]), env.box("b", ["true"]),
                ])
            for _ in 0..<500 {
                let sandbox = try env.backend.createSandbox(SandboxRequest(pod: spec, uid: "u"))
                var ids: [ProcessID] = []
                for container in spec.containers {
                    ids.append(
                        try env.backend.spawn(
                            SpawnRequest(
                                context: .container(sandbox.id, ContainerRequest(container)), argv: container.command
                            )
                        ).id)
                }
                var exited = Set<ProcessID>()
                let deadline = env.backend.now + 10
                while exited.count < ids.count && env.backend.now < deadline {
                    for event in env.backend.poll(until: deadline) {
                        if case .processExited(let id, _) = event { exited.insert(id) }
                    }
                }
                #expect(exited.count == 2)
                try env.backend.removeSandbox(sandbox.id)
            }
            let fdsAfter = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
            #expect(fdsAfter <= fdsBefore + 2, "descriptors: \(fdsBefore) before, \(fdsAfter) after 500 pods")
            #expect(env.backend.cgroups.children(env.backend.options.cgroupParent).filter { $0.hasPrefix("cycle-") }.isEmpty)
            env.closeAndCheck()
        }
    }
}
