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

        /// securityContext for real: the user and groups, capabilities added and dropped (none
        /// for a non-root uid), no_new_privs, a read-only root, fsGroup on the host's files, and
        /// privileged lifting the masks, the device rule and the bounding set.
        @Test func securityContextsApplyForReal() throws {
            let env = try LinuxPods()
            var spec = PodSpec(
                name: "secured", volumes: [VolumeSpec(name: "data", source: .emptyDir(EmptyDirVolumeSource()))],
                containers: ["main", "nnp", "admin", "priv", "frozen"].map {
                    env.box($0, ["sleep", "3600"], mounts: [VolumeMount(name: "data", mountPath: "/data")])
                })
            spec.securityContext = PodSecurityContext(runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 2000)
            spec.containers[1].securityContext = SecurityContext(allowPrivilegeEscalation: false)
            spec.containers[2].securityContext = SecurityContext(
                runAsUser: 0, capabilities: Capabilities(add: ["SYS_ADMIN"], drop: ["NET_RAW"]))
            spec.containers[3].securityContext = SecurityContext(runAsUser: 0, privileged: true)
            spec.containers[4].securityContext = SecurityContext(readOnlyRootFilesystem: true)
            let pod = try env.runtime.run(spec)
            #expect(try pod.wait(phase: .running) == .satisfied)
            func shell(_ container: String, _ script: String) throws -> String {
                try pod.exec(container, ["sh", "-c", "{ " + script + "; } 2>&1"]).stdout
            }
            func status(_ container: String) throws -> String {
                try shell(container, "grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status | tr -s '\\t' ' '")
            }
            #expect(try shell("main", "id") == "uid=1000 gid=3000 groups=2000,3000,4000\n")
            #expect(try status("main") == "CapEff: 0000000000000000\nCapBnd: 00000000a00425fb\nNoNewPrivs: 0\n", "a non-root uid has no capabilities")
            #expect(try status("nnp").hasSuffix("NoNewPrivs: 1\n"))
            // 0xa00425fb + SYS_ADMIN (bit 21) - NET_RAW (bit 13).
            #expect(try status("admin") == "CapEff: 00000000a02405fb\nCapBnd: 00000000a02405fb\nNoNewPrivs: 0\n")
            #expect(try shell("admin", "mkdir -p /mnt/t && mount -t tmpfs t /mnt/t && echo mounted") == "mounted\n")
            let own = try String(contentsOfFile: "/proc/self/status", encoding: .utf8).lines.first { $0.hasPrefix("CapBnd:") }
            #expect(try status("priv").contains((own ?? "?").replacingOccurrences(of: "\t", with: " ")), "privileged: the caller's set")
            #expect(try shell("main", "mknod /tmp/null c 1 3 && echo MADE || echo refused").contains("refused"))
            #expect(try shell("priv", "mknod /tmp/null c 1 3 && echo MADE") == "MADE\n")
            #expect(try Self.writable(pod, "/proc/sys/kernel/core_pattern").contains("refused"))
            #expect(try shell("priv", "if true 1<>/proc/sys/kernel/core_pattern; then echo WRITABLE; fi") == "WRITABLE\n")
            let privMounts = try shell("priv", "cat /proc/mounts").lines
            #expect(!privMounts.contains { $0.contains(" /proc/keys ") || $0.contains(" /proc/sys ") }, "privileged: no masks")
            #expect(privMounts.contains { $0.hasPrefix("sysfs /sys sysfs rw,") }, "\(privMounts)")
            // A read-only root; its volumes, /tmp and /dev/shm stay writable.
            #expect(try shell("frozen", "touch /x || echo refused").contains("Read-only file system"))
            #expect(try shell("frozen", "touch /data/ok /tmp/ok /dev/shm/ok && echo written") == "written\n")
            #expect(try shell("frozen", "cat /proc/mounts").lines.first { $0.hasPrefix("overlay / ") }?.hasPrefix("overlay / overlay ro,") == true)
            // fsGroup: the emptyDir on the host is the group's, set-group-ID; what a container
            // makes in it is the group's.
            #expect(try shell("main", "echo x > /data/made && echo ok") == "ok\n")
            let pods = try FileManager.default.contentsOfDirectory(atPath: env.stateDir + "/pods")
            let volume = try #require(
                pods.map { env.stateDir + "/pods/" + $0 + "/volumes/data" }.first { FileManager.default.fileExists(atPath: $0) })
            var info = stat()
            #expect(stat(volume, &info) == 0 && info.st_gid == 2000 && info.st_mode & 0o7777 == 0o2777, "\(String(info.st_mode, radix: 8))")
            #expect(stat(volume + "/made", &info) == 0 && info.st_uid == 1000 && info.st_gid == 2000)
            env.closeAndCheck()
        }

        /// The default seccomp profile for real: `Seccomp: 2`, and the calls the attacks need —
        /// user namespaces, the kernel keyring, module loading — fail with EPERM, each shown
        /// allowed where an added capability or `privileged` makes it so; no descriptor of the
        /// owner is open in the container; a Localhost profile applies, and a missing one fails
        /// the start naming the file.
        @Test func theDefaultSeccompProfileForReal() throws {
            let root = LinuxTestSupport.scratch("seccomp")
            defer { LinuxTestSupport.remove(root) }
            try FileManager.default.createDirectory(atPath: root + "/profiles", withIntermediateDirectories: true)
            try """
                {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
                """.write(toFile: root + "/profiles/no-mkdir.json", atomically: true, encoding: .utf8)
            let env = try LinuxPods(seccompProfileRoot: root)
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
                print("skip: the keyring and module calls need python3 on the host image")
                return
            }
            func python(_ name: String, _ security: SecurityContext? = nil) -> ContainerSpec {
                var c = ContainerSpec(name: name, image: "host", command: ["sleep", "3600"])
                c.securityContext = security
                return c
            }
            var box = env.box("main", ["sleep", "3600"])
            var admin = env.box("admin", ["sleep", "3600"])
            admin.securityContext = SecurityContext(capabilities: Capabilities(add: ["SYS_ADMIN"]))
            var localhost = env.box("local", ["sleep", "3600"])
            localhost.securityContext = SecurityContext(seccompProfile: SeccompProfile(type: .localhost, localhostProfile: "profiles/no-mkdir.json"))
            box.securityContext = nil
            let pod = try env.runtime.run(
                PodSpec(
                    name: "filtered",
                    containers: [box, admin, localhost, python("py"), python("priv", SecurityContext(privileged: true))]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            func shell(_ container: String, _ script: String) throws -> String {
                try pod.exec(container, ["sh", "-c", "{ " + script + "; } 2>&1"]).stdout
            }
            #expect(try shell("main", "grep ^Seccomp: /proc/self/status") == "Seccomp:\t2\n")
            #expect(try shell("priv", "grep ^Seccomp: /proc/self/status") == "Seccomp:\t0\n", "privileged is unconfined")
            #expect(try shell("main", "unshare -U true || echo refused").contains("Operation not permitted"))
            #expect(try shell("admin", "unshare -U true && echo made") == "made\n", "CAP_SYS_ADMIN unlocks unshare")
            // The kernel's keyring and modules, through python's syscall(2): add_key, keyctl
            // (KEYCTL_GET_KEYRING_ID of the user keyring), init_module.
            let calls = """
                import ctypes, os
                libc = ctypes.CDLL(None, use_errno=True)
                for name, args in [("add_key", (248, b"user", b"probe", b"v", 1, -2)), ("keyctl", (250, 0, -4, 0)),
                                   ("init_module", (175, 0, 0, b""))]:
                    ctypes.set_errno(0)
                    r = libc.syscall(*args)
                    print(name, "ok" if r >= 0 else os.strerror(ctypes.get_errno()))
                """
            let confined = try pod.exec("py", ["python3", "-c", calls]).stdout
            #expect(confined == "add_key Operation not permitted\nkeyctl Operation not permitted\ninit_module Operation not permitted\n", "\(confined)")
            let privileged = try pod.exec("priv", ["python3", "-c", calls]).stdout
            #expect(privileged == "add_key ok\nkeyctl ok\ninit_module Function not implemented\n", "\(privileged)")
            // The owner's descriptors: none but the exec's stdio and what ls opens itself.
            let fds = try shell("main", "ls /proc/self/fd").split(separator: "\n").map(String.init)
            #expect(fds.allSatisfy { ["0", "1", "2", "3"].contains($0) }, "\(fds)")
            // A Localhost profile: mkdir is refused with its errno.
            #expect(try shell("local", "mkdir /tmp/d || echo refused").contains("Permission denied"))
            #expect(try shell("local", "touch /tmp/f && echo touched") == "touched\n")
            env.closeAndCheck()

            let missing = try LinuxPods(seccompProfileRoot: root)
            var lost = missing.box("main", ["sleep", "3600"])
            lost.securityContext = SecurityContext(seccompProfile: SeccompProfile(type: .localhost, localhostProfile: "profiles/none.json"))
            let failed = try missing.runtime.run(PodSpec(name: "lost", restartPolicy: .never, containers: [lost]))
            #expect(try failed.wait(phase: .failed) == .satisfied)
            let message = try failed.status().containers[0].state.termination?.message ?? ""
            #expect(message.contains("cannot load seccomp profile \"\(root)/profiles/none.json\": No such file or directory"), "\(message)")
            missing.closeAndCheck()
        }

        /// The reproducer of an import as a local root escalation: a set-user-ID root program in
        /// an image gives a host user nothing (the store is root's, 0700), while in a container
        /// the file is as the image says.
        @Test func aSetuidFileInAnImageGivesAHostUserNothing() throws {
            let env = try LinuxPods()
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
                print("skip: setuid import: no setpriv")
                return
            }
            let dir = LinuxTestSupport.scratch("suid-image")
            defer { LinuxTestSupport.remove(dir) }
            let rootfs = dir + "/rootfs"
            try FileManager.default.createDirectory(atPath: rootfs + "/bin", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: rootfs + "/bin/busybox")
            for applet in ["sh", "sleep", "ls"] {
                try FileManager.default.createSymbolicLink(atPath: rootfs + "/bin/" + applet, withDestinationPath: "busybox")
            }
            try FileManager.default.copyItem(atPath: "/usr/bin/id", toPath: rootfs + "/bin/suid-id")
            #expect(chown(rootfs + "/bin/suid-id", 0, 0) == 0 && chmod(rootfs + "/bin/suid-id", 0o4755) == 0)
            let store = ImageStore(directory: LinuxTestSupport.imageDir)
            _ = try store.importImage("suid-test", from: rootfs)
            defer { try? store.remove("suid-test:latest") }
            let layer = try #require(try store.lowerDirectories(for: "suid-test").first { FileManager.default.fileExists(atPath: $0 + "/bin/suid-id") })
            var info = stat()
            #expect(stat(layer + "/bin/suid-id", &info) == 0 && info.st_mode & 0o7777 == 0o4755, "the layer keeps the bit")
            var storeInfo = stat()
            #expect(stat(LinuxTestSupport.imageDir, &storeInfo) == 0 && storeInfo.st_mode & 0o777 == 0o700 && storeInfo.st_uid == 0)
            // As nobody on the host (a shell of that user, without setpriv's own capabilities
            // for the exec): the path cannot even be reached.
            let ran = try Command.run(
                "/usr/bin/setpriv",
                ["--reuid", "65534", "--regid", "65534", "--clear-groups", "/bin/sh", "-c", "\"$0\" -u", layer + "/bin/suid-id"],
                mergeOutput: true)
            #expect(ran.status != 0 && !ran.stdout.hasPrefix("0"), "\(ran.stdout)")
            #expect(ran.stdout.contains("Permission denied"), "\(ran.stdout)")
            // In a container it is the image's file, set-user-ID root.
            let pod = try env.runtime.run(
                PodSpec(name: "suid", containers: [ContainerSpec(name: "main", image: "suid-test", command: ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            #expect(try Self.shell(pod, "ls -ln /bin/suid-id").out.hasPrefix("-rwsr-xr-x    1 0        0"), "as the image says")
            env.closeAndCheck()
        }

        /// `hostUsers: false` for real: a 65536-ID range of the pod's own (not 0 on the host),
        /// root inside owns the image's files and writes them, what a container makes in an
        /// emptyDir belongs to the range on the host, two pods get disjoint ranges, and removing
        /// a pod frees its range.
        @Test func aPodOfItsOwnUserNamespace() throws {
            let env = try LinuxPods()
            func mapped(_ name: String) -> PodSpec {
                var spec = PodSpec(
                    name: name, volumes: [VolumeSpec(name: "data", source: .emptyDir(EmptyDirVolumeSource()))],
                    containers: [
                        env.box("main", ["sleep", "3600"], mounts: [VolumeMount(name: "data", mountPath: "/data")]),
                        env.box("user", ["sleep", "3600"], mounts: [VolumeMount(name: "data", mountPath: "/data")]),
                    ])
                spec.hostUsers = false
                spec.containers[1].securityContext = SecurityContext(runAsUser: 1000, runAsGroup: 1000)
                return spec
            }
            let a = try env.runtime.run(mapped("mapped-a"))
            let b = try env.runtime.run(mapped("mapped-b"))
            #expect(try a.wait(phase: .running) == .satisfied && b.wait(phase: .running) == .satisfied)
            func shell(_ pod: Pod, _ container: String, _ script: String) throws -> String {
                try pod.exec(container, ["sh", "-c", "{ " + script + "; } 2>&1"]).stdout
            }
            func range(_ pod: Pod) throws -> (start: UInt64, count: UInt64)? {
                let fields = try shell(pod, "main", "cat /proc/self/uid_map").split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count == 3, fields[0] == "0", let start = UInt64(fields[1]), let count = UInt64(fields[2].filter(\.isNumber))
                else { return nil }
                return (start, count)
            }
            let ra = try #require(try range(a)), rb = try #require(try range(b))
            #expect(ra.count == 65536 && rb.count == 65536 && ra.start != 0 && rb.start != 0)
            #expect(ra.start + ra.count <= rb.start || rb.start + rb.count <= ra.start, "disjoint: \(ra) \(rb)")
            #expect(try shell(a, "main", "cat /proc/self/gid_map").contains(" \(ra.start) "))
            // Root inside: the image is its own (idmapped layers), and writable.
            #expect(try shell(a, "main", "id -u; stat -c %u /bin/busybox; touch /etc/made && echo made") == "0\n0\nmade\n")
            #expect(try shell(a, "main", "touch /data/by-root && echo ok") == "ok\n")
            #expect(try shell(a, "user", "id -u; touch /data/by-user && echo ok") == "1000\nok\n")
            let pods = try FileManager.default.contentsOfDirectory(atPath: env.stateDir + "/pods")
            let volume = try #require(
                pods.map { env.stateDir + "/pods/" + $0 + "/volumes/data" }.first { FileManager.default.fileExists(atPath: $0 + "/by-root") })
            var info = stat()
            #expect(stat(volume + "/by-root", &info) == 0 && UInt64(info.st_uid) == ra.start && UInt64(info.st_gid) == ra.start)
            #expect(stat(volume + "/by-user", &info) == 0 && UInt64(info.st_uid) == ra.start + 1000)
            // Not the host's root: the host's files are nobody's inside, and a host-only
            // capability is not there.
            #expect(try shell(a, "main", "cat /proc/self/status | grep ^CapEff") == "CapEff:\t00000000a00425fb\n")
            // Removing a pod frees its range: the next pod may take it.
            try a.remove()
            let c = try env.runtime.run(mapped("mapped-c"))
            #expect(try c.wait(phase: .running) == .satisfied)
            #expect(try range(c)?.start == ra.start, "the freed range is taken again")
            env.closeAndCheck()
        }

        /// No host root by default: a container without an image is a validation error, and
        /// the host image needs `allowHostImage`; the backend refuses both even when driven
        /// directly.
        @Test func noImageIsAnErrorAndTheHostImageNeedsTheOption() throws {
            let state = LinuxTestSupport.scratch("no-host-image")
            defer { LinuxTestSupport.remove(state) }
            _ = try LinuxPods.requirements(needsBusybox: false)
            let backend = try LinuxBackend(options: LinuxBackendOptions(stateDir: state, imageDir: LinuxTestSupport.imageDir))
            let runtime = PodRuntime(backend: backend)
            defer { runtime.close() }
            func errors(_ image: String) -> String {
                do {
                    _ = try runtime.create(PodSpec(name: "bare", containers: [ContainerSpec(name: "c", image: image, command: ["true"])]))
                    return "created"
                } catch {
                    return "\(error)"
                }
            }
            #expect(errors("") == "spec.containers[0].image: Required value: the linux backend has no default image")
            #expect(errors("host").hasPrefix("spec.containers[0].image: Forbidden: \"host\" is the host's own root file system, not allowed"))
            let sandbox = try backend.createSandbox(SandboxRequest(pod: PodSpec(name: "direct", containers: [ContainerSpec(name: "c")]), uid: "u"))
            defer { try? backend.removeSandbox(sandbox.id) }
            #expect(throws: BackendError.self) {
                try backend.spawn(SpawnRequest(context: .container(sandbox.id, ContainerRequest(name: "c", image: "host")), argv: ["true"]))
            }
            #expect(throws: BackendError.self) {
                try backend.spawn(SpawnRequest(context: .container(sandbox.id, ContainerRequest(name: "c")), argv: ["true"]))
            }
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
