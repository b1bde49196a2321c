import Foundation
import PodTestSupport
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

extension RealLinux {
    /// What a default container can reach of the host, tried as an attacker would and never
    /// destructively: files are opened for writing without a byte written (`: 1<>FILE`), and a
    /// refused open is the proof.
    @Suite("Linux containment for real", .serialized)
    struct LinuxContainmentTests {
        /// Runs `script` in a running busybox container of `pod`; its output and status.
        static func shell(_ pod: Pod, _ script: String) throws -> (out: String, status: Int32) {
            let result = try pod.exec("main", ["sh", "-c", "{ " + script + "; } 2>&1"])
            return (result.stdout, result.exitCode)
        }

        /// Whether `path` opens for writing inside the container (nothing is written; `true`, not
        /// `:`, whose failed redirection would end the shell).
        static func writable(_ pod: Pod, _ path: String) throws -> String {
            try shell(pod, "test -e \(path) || { echo absent; exit 0; }; if true 1<>\(path); then echo WRITABLE; else echo refused; fi").out
        }

        @Test func procAndSysRefuseWritesAndTheMaskedFilesReadEmpty() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(PodSpec(name: "contained", containers: [env.box("main", ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            // The host's sysctls and the SysRq trigger: the known escapes through /proc.
            // (drop_caches is write-only: procfs answers EACCES before the mount's EROFS; this
            // kernel has no SysRq, so the trigger may be absent.)
            for path in ["/proc/sys/kernel/core_pattern", "/proc/sys/kernel/panic", "/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger"] {
                let answer = try Self.writable(pod, path)
                let refused = answer.contains("refused") && (answer.contains("Read-only file system") || answer.contains("Permission denied"))
                #expect(refused || (path == "/proc/sysrq-trigger" && answer == "absent\n"), "\(path): \(answer)")
            }
            #expect(try Self.shell(pod, "grep -c ' /proc/sys proc ro,' /proc/mounts").out == "1\n", "/proc/sys is a read-only bind")
            // Reading them still works (programs read sysctls).
            #expect(try Self.shell(pod, "cat /proc/sys/kernel/ostype").out == "Linux\n")
            // Masked files read as nothing; masked directories are empty.
            for path in ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/interrupts", "/proc/sched_debug"] {
                let answer = try Self.shell(pod, "test -e \(path) || { echo absent; exit 0; }; wc -c < \(path)").out
                #expect(answer == "0\n" || answer == "absent\n", "\(path): \(answer)")
            }
            for path in ["/proc/acpi", "/proc/scsi", "/sys/firmware"] {
                let answer = try Self.shell(pod, "test -d \(path) || { echo absent; exit 0; }; ls -A \(path) | wc -l").out
                #expect(answer == "0\n" || answer == "absent\n", "\(path): \(answer)")
            }
            #expect(FileManager.default.fileExists(atPath: "/proc/keys"), "the host still has /proc/keys: the mask is the container's")
            // /sys is the pod's own and read-only.
            let mounts = try Self.shell(pod, "cat /proc/mounts").out.lines
            let sys = mounts.first { $0.split(separator: " ").dropFirst().first == "/sys" } ?? ""
            #expect(sys.hasPrefix("sysfs /sys sysfs ro,"), "\(sys)")
            #expect(try Self.shell(pod, "touch /sys/kernel/x && echo WRITABLE || echo refused").out.contains("refused"))
            let proc = mounts.first { $0.split(separator: " ").dropFirst().first == "/proc" } ?? ""
            #expect(proc.contains("nosuid") && proc.contains("nodev") && proc.contains("noexec"), "\(proc)")
            // A devpts of its own, and mqueue.
            #expect(mounts.contains { $0.hasPrefix("devpts /dev/pts devpts ") && $0.contains("nosuid") }, "\(mounts)")
            #expect(mounts.contains { $0.hasPrefix("mqueue /dev/mqueue mqueue ") }, "\(mounts)")
            #expect(try Self.shell(pod, "test -c /dev/pts/ptmx && readlink /dev/ptmx").out == "pts/ptmx\n")
            env.closeAndCheck()
        }

        @Test func noDeviceNodeCanBeMadeAndTheRootIsNodev() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(PodSpec(name: "nodes", containers: [env.box("main", ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            // /dev/kvm's numbers, and a block device (the host's first disk).
            for (node, spec) in [("/tmp/kvm", "c 10 232"), ("/dev/kvm", "c 10 232"), ("/tmp/disk", "b 8 0")] {
                let answer = try Self.shell(pod, "mknod \(node) \(spec) && echo MADE || echo refused").out
                #expect(answer.contains("refused") && answer.contains("Operation not permitted"), "\(node): \(answer)")
            }
            #expect(try Self.shell(pod, "mknod /tmp/fifo p && test -p /tmp/fifo && echo fifo").out == "fifo\n", "fifos are no devices")
            let status = try Self.shell(pod, "grep ^CapBnd /proc/self/status").out
            #expect(status == "CapBnd:\t00000000a00425fb\n", "no CAP_MKNOD: \(status)")
            let root = try Self.shell(pod, "cat /proc/mounts").out.lines.first { $0.split(separator: " ").dropFirst().first == "/" } ?? ""
            #expect(root.hasPrefix("overlay / overlay ") && root.contains("nodev"), "\(root)")
            env.closeAndCheck()
        }

        /// A device node an image carries (here /dev/null's numbers, as a hostile image would
        /// carry /dev/kvm's or a disk's) is in the container's root but never opens.
        @Test func aDeviceNodeInAnImageNeverOpens() throws {
            let env = try LinuxPods()
            let dir = LinuxTestSupport.scratch("device-image")
            defer { LinuxTestSupport.remove(dir) }
            let store = ImageStore(directory: LinuxTestSupport.imageDir)
            let (_, busybox) = try #require(store.image(for: env.image))
            let busyboxTar = try #require(store.blobPath(busybox.layers[0].blob))
            let description: [String: Any] = [
                "ref": "latest", "compression": "gz",
                "layers": [["tar": busyboxTar], [["name": "carried", "type": "char", "major": 1, "minor": 3, "mode": 0o666]]],
                "config": ["Cmd": ["sleep", "3600"], "Env": ["PATH=/bin"]],
            ]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: description), as: UTF8.self)
            let made = try Command.run(
                "/usr/bin/env", ["python3", PackageLayout.root.path + "/Tests/Tools/make-image.py", "oci", dir + "/layout"], stdin: json)
            try #require(made.status == 0, "make-image.py: \(made.stderr)")
            try store.load(dir + "/layout", name: "carries-device")
            defer { try? store.remove("carries-device:latest") }
            let pod = try env.runtime.run(
                PodSpec(name: "carrier", containers: [ContainerSpec(name: "main", image: "carries-device:latest", command: ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            #expect(try Self.shell(pod, "test -c /carried && echo node").out == "node\n", "the node is in the root")
            let answer = try Self.shell(pod, "echo x > /carried && echo OPENED || echo refused").out
            #expect(answer.contains("refused") && answer.contains("Permission denied"), "\(answer)")
            env.closeAndCheck()
        }
    }
}
