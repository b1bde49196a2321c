import Foundation
import Testing

@testable import PodKit
@testable import PodLinux

#if canImport(Glibc)
import Glibc
#endif

/// A runtime on the linux backend with a state directory of its own; checks at the end that
/// nothing is left: no child process, no mount below the state directory, no pod directory.
final class LinuxPods {
    let stateDir: String
    let backend: LinuxBackend
    let runtime: PodRuntime
    let image: String
    private var closed = false

    /// The `VmRSS` of a `/proc/PID/status` text, in kB (`Int.max` when it has none).
    static func residentKB(_ status: String) -> Int {
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? Int.max
    }

    /// A runtime, or the test is skipped with the reason printed.
    init(
        allowHostPaths: [String]? = nil, needsBusybox: Bool = true, podPidsLimit: Int = 4096,
        containerLogMaxSize: Int = LinuxBackendOptions.defaultContainerLogMaxSize, seccompProfileRoot: String? = nil
    ) throws {
        image = try Self.requirements(needsBusybox: needsBusybox)
        stateDir = LinuxTestSupport.scratch("pods")
        var options = LinuxBackendOptions(
            stateDir: stateDir, imageDir: LinuxTestSupport.imageDir,
            allowHostPaths: allowHostPaths, podPidsLimit: podPidsLimit, containerLogMaxSize: containerLogMaxSize)
        if let seccompProfileRoot { options.seccompProfileRoot = seccompProfileRoot }
        // The tests run the host's programs on purpose (python3, the host's tools).
        options.allowHostImage = true
        backend = try LinuxBackend(options: options)
        runtime = PodRuntime(backend: backend)
    }

    /// The image to use, or the test is skipped with the reason printed.
    static func requirements(needsBusybox: Bool) throws -> String {
        if let reason = LinuxBackend.unavailableReason() {
            print("skip: linux backend: \(reason)")
            try Test.cancel("the linux backend is unavailable here: \(reason)")
        }
        switch LinuxTestSupport.busyboxImage {
        case .success(let name): return name
        case .failure(let missing):
            if needsBusybox {
                print("skip: busybox image: \(missing.reason)")
                try Test.cancel("no busybox image: \(missing.reason)")
            }
            return "host"
        }
    }

    /// Closes the runtime and asserts that nothing of ours is left.
    func closeAndCheck(sourceLocation: SourceLocation = #_sourceLocation) {
        runtime.close()
        closed = true
        #expect(backend.inventory().isEmpty, "\(backend.inventory().details)", sourceLocation: sourceLocation)
        #expect(LinuxTestSupport.leftoverChildren() == [], "processes left", sourceLocation: sourceLocation)
        #expect(LinuxTestSupport.mounts(below: stateDir) == 0, "mounts left", sourceLocation: sourceLocation)
        #expect(LinuxTestSupport.backendDescriptors(below: stateDir) == [], "descriptors left", sourceLocation: sourceLocation)
        #expect(LinuxTestSupport.entries(below: stateDir + "/pods") == [], "state left", sourceLocation: sourceLocation)
    }

    deinit {
        if !closed { runtime.close() }
        LinuxTestSupport.remove(stateDir)
    }

    /// A busybox container.
    func box(_ name: String, _ command: [String], mounts: [VolumeMount] = [], env: [EnvVar] = []) -> ContainerSpec {
        ContainerSpec(name: name, image: image, command: command, env: env, volumeMounts: mounts)
    }

    /// Runs `argv` in `container` until it succeeds or `seconds` pass (a server may still be starting).
    func eventually(_ pod: Pod, _ container: String, _ argv: [String], seconds: Double = 10) throws -> ExecResult {
        let deadline = runtime.now + seconds
        while true {
            let result = try pod.exec(container, argv)
            if result.exitCode == 0 || runtime.now > deadline { return result }
            runtime.sleep(0.05)
        }
    }
}

extension String {
    /// Lines without the trailing empty one.
    var lines: [String] { split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty } }
}

extension RealLinux {
    @Suite("Linux pods for real: the seed walkthrough on busybox", .serialized)
    struct LinuxPodTests {
        @Test func httpdAnswersWgetOverLoopbackAndThePauseIsPID1WithASharedPIDNamespace() throws {
            let env = try LinuxPods()
            let spec = PodSpec(
                name: "web", shareProcessNamespace: true,
                volumes: [
                    VolumeSpec(name: "www", source: .emptyDir(EmptyDirVolumeSource()))
                ],
                containers: [
                    env.box(
                        "server", ["sh", "-c", "echo hello from httpd > /www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /www"],
                        mounts: [VolumeMount(name: "www", mountPath: "/www")]),
                    env.box("client", ["sleep", "3600"], mounts: [VolumeMount(name: "www", mountPath: "/srv/www", readOnly: true)]),
                ])
            let pod = try env.runtime.run(spec)
            #expect(try pod.wait(phase: .running) == .satisfied)
            // Shared network namespace with lo up: the client reaches httpd on 127.0.0.1.
            let fetched = try env.eventually(pod, "client", ["wget", "-qO-", "http://127.0.0.1:8080/"])
            #expect(fetched == ExecResult(exitCode: 0, stdout: "hello from httpd\n", stderr: ""))
            // ps: the pause is PID 1, the containers' commands are there with their full command line.
            let ps = try pod.exec("client", ["ps"])
            let rows = ps.stdout.lines
            #expect(rows.first?.trimmingCharacters(in: .whitespaces).hasPrefix("PID") == true, "\(ps.stdout)")
            #expect(rows.dropFirst().first?.split(separator: " ").map(String.init) == ["1", "root", "pause"], "\(ps.stdout)")
            #expect(rows.contains { $0.hasSuffix("httpd -f -p 127.0.0.1:8080 -h /www") }, "\(ps.stdout)")
            #expect(rows.contains { $0.hasSuffix("sleep 3600") }, "\(ps.stdout)")
            // The hostname is the pod's, in both containers (shared UTS namespace).
            #expect(try pod.exec("server", ["hostname"]).stdout == "web\n")
            #expect(try pod.exec("client", ["hostname"]).stdout == "web\n")
            // The emptyDir written by one container is read by the other; read-only there (EROFS).
            #expect(try pod.exec("client", ["cat", "/srv/www/index.html"]).stdout == "hello from httpd\n")
            let refused = try pod.exec("client", ["sh", "-c", "echo x > /srv/www/other"])
            #expect(refused.exitCode != 0)
            #expect(refused.stderr.contains("Read-only file system"), "\(refused)")
            // The container's root is the image, with the pod's /proc and a minimal /dev.
            #expect(
                try pod.exec("client", ["ls", "/dev"]).stdout.lines == [
                    "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr",
                    "stdin", "stdout", "tty", "urandom", "zero",
                ])
            #expect(try pod.exec("client", ["readlink", "/bin/sh"]).stdout == "busybox\n")
            let status = try pod.status()
            #expect(status.containers.allSatisfy { $0.state.isRunning })
            if case .running(_, let pid) = status.containers[0].state {
                #expect(try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8).hasPrefix("httpd"))
            }
            try pod.remove()
            env.closeAndCheck()
        }

        @Test func withoutASharedPIDNamespaceEachCommandIsPID1() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(PodSpec(name: "solo", containers: [env.box("main", ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            let rows = try pod.exec("main", ["ps"]).stdout.lines
            #expect(rows.dropFirst().first?.split(separator: " ").map(String.init) == ["1", "root", "sleep", "3600"], "\(rows)")
            #expect(!rows.contains { $0.hasSuffix("pause") })
            // SIGTERM is ignored by sleep as PID 1: the graceful stop waits the grace period, then kills.
            try pod.stop(gracePeriod: 1)
            let ended = try #require(try pod.status().containers.first?.state.termination)
            #expect(ended.exitCode == 137)
            #expect(try pod.status().phase == .failed)
            env.closeAndCheck()
        }

        @Test func ipcIsSharedInsideThePodOnly() throws {
            let env = try LinuxPods(needsBusybox: false)
            // util-linux's ipcmk/ipcs come from the host image (busybox has none).
            let spec = PodSpec(
                name: "ipc",
                containers: [
                    ContainerSpec(name: "a", image: "host", command: ["sleep", "3600"]),
                    ContainerSpec(name: "b", image: "host", command: ["sleep", "3600"]),
                ])
            let pod = try env.runtime.run(spec)
            let other = try env.runtime.run(
                PodSpec(name: "other", containers: [ContainerSpec(name: "a", image: "host", command: ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            #expect(try other.wait(phase: .running) == .satisfied)
            let made = try pod.exec("a", ["ipcmk", "-Q"])
            #expect(made.exitCode == 0)
            let id = try #require(made.stdout.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines))
            // ipcs -q rows: key, msqid, owner...; the queue is found by id in the pod, then by key elsewhere.
            func rows(_ text: String) -> [[String]] { text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) } }
            let seen = rows(try pod.exec("b", ["ipcs", "-q"]).stdout)
            let key = try #require(seen.first { $0.count > 2 && $0[1] == id }?.first, "\(seen)")
            #expect(!rows(try other.exec("a", ["ipcs", "-q"]).stdout).contains { $0.first == key }, "not in another pod")
            #expect(!rows(try env.runtime.execOnHost(["ipcs", "-q"]).stdout).contains { $0.first == key }, "not on the host")
            env.closeAndCheck()
        }

        @Test func anEmptyDirIsThePodsOwnAndSubPathMountsPartOfIt() throws {
            let env = try LinuxPods()
            func spec(_ name: String) -> PodSpec {
                PodSpec(
                    name: name,
                    volumes: [
                        VolumeSpec(name: "data", source: .emptyDir(EmptyDirVolumeSource(medium: .memory, sizeLimit: Quantity(1 << 20))))
                    ],
                    containers: [
                        env.box("a", ["sleep", "3600"], mounts: [VolumeMount(name: "data", mountPath: "/data")]),
                        env.box("b", ["sleep", "3600"], mounts: [VolumeMount(name: "data", mountPath: "/mnt", subPath: "sub/dir")]),
                    ])
            }
            let first = try env.runtime.run(spec("first"))
            let second = try env.runtime.run(spec("second"))
            #expect(try first.wait(phase: .running) == .satisfied)
            #expect(try second.wait(phase: .running) == .satisfied)
            #expect(try first.exec("b", ["sh", "-c", "echo via subpath > /mnt/f"]).exitCode == 0)
            #expect(try first.exec("a", ["cat", "/data/sub/dir/f"]).stdout == "via subpath\n")
            // Same volume name, another pod: another directory.
            let missing = try second.exec("a", ["cat", "/data/sub/dir/f"])
            #expect(missing.exitCode == 1)
            #expect(missing.stderr.contains("No such file or directory"))
            // Medium Memory: a tmpfs of the size asked for.
            let df = try first.exec("a", ["df", "-k", "/data"]).stdout
            #expect(df.contains("tmpfs"), "\(df)")
            #expect(df.lines.last?.split(separator: " ").dropFirst().first == "1024", "\(df)")
            env.closeAndCheck()
        }

        @Test func configMapFilesAreMountedReadOnlyWholeOrOneKeyBySubPath() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(
                PodSpec(
                    name: "config", restartPolicy: .never,
                    volumes: [
                        VolumeSpec(
                            name: "cfg",
                            source: .configMap(ConfigMapVolumeSource(name: "settings", data: ["app.conf": "port=8080\n", "mode": "debug"])))
                    ],
                    containers: [
                        env.box(
                            "c", ["sh", "-c", "ls /etc/app; cat /etc/app/app.conf /etc/one.conf; echo x > /etc/app/mode || echo refused"],
                            mounts: [
                                VolumeMount(name: "cfg", mountPath: "/etc/app"),
                                VolumeMount(name: "cfg", mountPath: "/etc/one.conf", subPath: "app.conf"),
                            ])
                    ]))
            #expect(try pod.wait(phase: .succeeded) == .satisfied)
            let log = try pod.logs("c")
            #expect(log.hasPrefix("app.conf\nmode\nport=8080\nport=8080\n"), "\(log)")
            #expect(log.contains("Read-only file system") && log.hasSuffix("refused\n"), "\(log)")
            env.closeAndCheck()
        }

        @Test func aMissingCommandIs127AndStartErrorAndLogsKeepThePreviousRun() throws {
            let env = try LinuxPods()
            let broken = try env.runtime.run(
                PodSpec(name: "broken", restartPolicy: .never, containers: [env.box("main", ["no-such-command"])]))
            #expect(try broken.wait(phase: .failed) == .satisfied)
            let ended = try #require(try broken.status().containers.first?.state.termination)
            #expect(ended.exitCode == 127)
            #expect(ended.reason == .startError)
            #expect(try broken.logs("main").contains("executable file not found"))

            let flaky = try env.runtime.run(
                PodSpec(
                    name: "flaky",
                    containers: [
                        env.box("main", ["sh", "-c", "echo run at $(cat /proc/uptime | cut -d' ' -f1); echo to stderr >&2; exit 3"])
                    ]))
            #expect(try flaky.wait(timeout: 10) { ($0.containers.first?.restartCount ?? 0) >= 1 } == .satisfied)
            let previous = try flaky.logs("main", previous: true)
            #expect(previous.hasPrefix("run at "), "\(previous)")
            #expect(previous.hasSuffix("to stderr\n"), "stdout and stderr in one log, as written")
            let history = try flaky.status().containers[0].history
            #expect(history.first?.exitCode == 3)
            env.closeAndCheck()
        }

        @Test func commandArgsEnvAndWorkingDirAsKubernetesDefinesThem() throws {
            let env = try LinuxPods()
            var container = env.box(
                "main", ["sh", "-c"], env: [EnvVar(name: "GREETING", value: "hi"), EnvVar(name: "PATH", value: "/bin")])
            container.args = ["echo $GREETING $HOSTNAME $PATH $(pwd); echo $0 $1", "zero", "one"]
            container.workingDir = "/work/here"
            let pod = try env.runtime.run(PodSpec(name: "args", restartPolicy: .never, containers: [container]))
            #expect(try pod.wait(phase: .succeeded) == .satisfied)
            #expect(try pod.logs("main") == "hi args /bin /work/here\nzero one\n")
            env.closeAndCheck()
        }

        @Test func hostNetworkHostPIDAndHostIPCAreHonoured() throws {
            let env = try LinuxPods(needsBusybox: false)
            func namespace(_ kind: String) -> String {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/\(kind)")) ?? "?"
            }
            let pod = try env.runtime.run(
                PodSpec(
                    name: "hostns", hostNetwork: true, hostPID: true, hostIPC: true,
                    containers: [
                        ContainerSpec(name: "c", image: "host", command: ["sleep", "3600"])
                    ]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            let seen = try pod.exec(
                "c",
                [
                    "readlink", "/proc/self/ns/net", "/proc/self/ns/ipc", "/proc/self/ns/pid", "/proc/self/ns/uts",
                    "/proc/self/ns/mnt",
                ]
            ).stdout.lines
            #expect(Array(seen.prefix(4)) == ["net", "ipc", "pid", "uts"].map(namespace), "host network (and UTS), IPC and PID")
            #expect(seen.last != namespace("mnt"), "still a mount namespace of its own")
            #expect(try pod.exec("c", ["test", "-d", "/proc/\(getpid())"]).exitCode == 0, "the host's processes are visible")
            var name = [CChar](repeating: 0, count: 256)
            gethostname(&name, 255)
            let hostname = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(try pod.exec("c", ["hostname"]).stdout == hostname + "\n")
            // And the default: none of them shared with the host.
            let isolated = try env.runtime.run(
                PodSpec(name: "isolated", containers: [ContainerSpec(name: "c", image: "host", command: ["sleep", "3600"])]))
            #expect(try isolated.wait(phase: .running) == .satisfied)
            let own = try isolated.exec(
                "c", ["readlink", "/proc/self/ns/net", "/proc/self/ns/ipc", "/proc/self/ns/pid", "/proc/self/ns/uts"]
            ).stdout.lines
            for (kind, value) in zip(["net", "ipc", "pid", "uts"], own) { #expect(value != namespace(kind), "\(kind)") }
            env.closeAndCheck()
        }

        @Test func execGetsStdinEnvAndTheContainersRoot() throws {
            let env = try LinuxPods()
            let pod = try env.runtime.run(
                PodSpec(name: "exec", containers: [env.box("main", ["sleep", "3600"], env: [EnvVar(name: "FROM", value: "spec")])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            #expect(try pod.exec("main", ["cat"], stdin: "piped\n").stdout == "piped\n")
            #expect(
                try pod.exec("main", ["sh", "-c", "echo $FROM $EXTRA"], env: [EnvVar(name: "EXTRA", value: "opt")]).stdout == "spec opt\n")
            // The exec sees what the container wrote in its root (its own mount namespace).
            #expect(try pod.exec("main", ["sh", "-c", "echo kept > /etc/note"]).exitCode == 0)
            #expect(try pod.exec("main", ["cat", "/etc/note"]).stdout == "kept\n")
            #expect(
                !FileManager.default.fileExists(atPath: "/etc/note")
                    || (try? String(contentsOfFile: "/etc/note", encoding: .utf8)) != "kept\n")
            // Capabilities and no_new_privs as Docker's defaults (privilege escalation allowed).
            let status = try pod.exec("main", ["grep", "-E", "^(CapBnd|NoNewPrivs)", "/proc/self/status"]).stdout
            #expect(status.contains("00000000a00425fb"), "\(status)")
            #expect(status.contains("NoNewPrivs:\t0"), "\(status)")
            let killed = try pod.exec("main", ["sh", "-c", "kill -9 $$"])
            #expect(killed.exitCode == 137)
            env.closeAndCheck()
        }

        @Test func aContainersWritableLayerHoldsOnlyWhatItWroteAndIsNeverSynced() throws {
            let env = try LinuxPods()
            // The store's mount-point layer, the top lower directory of every container, has the
            // mount points the image lacks (the rootfs had bin, etc, root, www).
            let image = LinuxTestSupport.imageDir + "/layers/mountpoints"
            #expect(try ImageStore(directory: LinuxTestSupport.imageDir).lowerDirectories(for: env.image).first == image)
            var info = stat()
            for (point, mode) in [("proc", 0o555), ("dev", 0o755), ("tmp", 0o1777)] as [(String, mode_t)] {
                #expect(stat(image + "/" + point, &info) == 0 && info.st_mode & 0o7777 == mode, "\(point) in the image")
            }
            let pod = try env.runtime.run(PodSpec(name: "layer", containers: [env.box("main", ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            let sandbox = try #require(try env.runtime.record("layer").sandbox.flatMap { env.backend.directory(of: $0.id) })
            let upper = sandbox + "/runs/main-1/upper"
            #expect(LinuxTestSupport.entries(below: upper) == [], "nothing written yet: /proc, /dev and /tmp come from the image")
            #expect(try pod.exec("main", ["sh", "-c", "echo x > /etc/note"]).exitCode == 0)
            #expect(LinuxTestSupport.entries(below: upper) == ["etc", "etc/note"])
            // The layer goes when the run ends, so its overlay skips the sync at unmount.
            #expect(try pod.exec("main", ["grep", "-c", "fsync=volatile", "/proc/self/mountinfo"]).stdout == "1\n")
            env.closeAndCheck()
        }

        @Test func anOwnerWithMuchMemoryStartsContainersAsWell() throws {
            // The pause's setup and the container's process share the owner's memory until their
            // exec (no copy of the page tables): 256 MB touched in the owner changes nothing in what
            // the container sees, and the pause — the embedded program, from a memfd — holds none.
            let env = try LinuxPods()
            let size = 256 << 20
            let ballast = try #require(malloc(size))
            defer { free(ballast) }
            memset(ballast, 7, size)
            let pod = try env.runtime.run(PodSpec(name: "big", containers: [env.box("main", ["sleep", "3600"])]))
            #expect(try pod.wait(phase: .running) == .satisfied)
            let pause = try #require(try pod.status().infra.pid)
            let status = LinuxSystem.readFile("/proc/\(pause)/status")
            let rss = LinuxPods.residentKB(status)
            #expect(rss < 1024, "the pause's resident kB: \(rss)")
            #expect(status.hasPrefix("Name:\tpause\n"))
            #expect(LinuxSystem.readFile("/proc/\(pause)/cmdline") == "pause\0")
            let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pause)/exe")) ?? ""
            #expect(exe.hasPrefix("/memfd:pause"), "\(exe)")
            for i in 0..<20 {
                #expect(try pod.exec("main", ["sh", "-c", "echo $((\(i) * 2))"]).stdout == "\(i * 2)\n")
            }
            #expect(try pod.exec("main", ["no-such-program"]).exitCode == 127)
            #expect(ballast.load(fromByteOffset: size - 1, as: UInt8.self) == 7)
            env.closeAndCheck()
        }
    }

    @Suite("Linux pods for real: bad input leaves nothing behind", .serialized)
    struct LinuxBadInputTests {
        @Test func anImageThatDoesNotExist() throws {
            let env = try LinuxPods(needsBusybox: false)
            // As kubelet: the sandbox exists, the container waits for its image (nothing to pull
            // a name without a registry from), and nothing is left once the pod is removed.
            let pod = try env.runtime.run(
                PodSpec(name: "ghost", containers: [ContainerSpec(name: "c", image: "no-such-image", command: ["true"])]))
            let waiting = try pod.status().containers[0].state
            guard case .waiting(let reason, let message) = waiting else {
                Issue.record("not waiting: \(waiting)")
                return
            }
            #expect(reason == "ImagePullBackOff", "\(reason)")
            #expect(message == "Back-off pulling image \"no-such-image\"", "\(message ?? "")")
            let failed = try pod.events().filter { $0.reason == "Failed" }.map(\.message)
            #expect(failed.first?.contains("\"no-such-image:latest\" names no registry and is not in the store") == true, "\(failed)")
            env.closeAndCheck()
        }

        @Test func aHostPathOutsideTheAllowedPrefixes() throws {
            let allowed = LinuxTestSupport.scratch("allowed")
            defer { LinuxTestSupport.remove(allowed) }
            let env = try LinuxPods(allowHostPaths: [allowed], needsBusybox: false)
            func spec(_ path: String) -> PodSpec {
                PodSpec(
                    name: "hp", volumes: [VolumeSpec(name: "h", source: .hostPath(HostPathVolumeSource(path: path)))],
                    containers: [
                        ContainerSpec(name: "c", image: "host", command: ["sleep", "3600"], volumeMounts: [VolumeMount(name: "h", mountPath: "/h")])
                    ])
            }
            do {
                _ = try env.runtime.run(spec("/etc"))
                Issue.record("a hostPath outside the allowed prefixes was accepted")
            } catch {
                #expect("\(error)".contains("outside the allowed prefixes"), "\(error)")
            }
            // A symlink inside the allowed prefix that leads out of it is refused too.
            try FileManager.default.createSymbolicLink(atPath: allowed + "/out", withDestinationPath: "/etc")
            do {
                _ = try env.runtime.run(spec(allowed + "/out"))
                Issue.record("a hostPath symlink out of the allowed prefixes was accepted")
            } catch {
                #expect("\(error)".contains("resolves to /etc"), "\(error)")
            }
            // FileOrCreate and DirectoryOrCreate through a symlink out of the prefix create
            // nothing outside it (the check used to come after the file was made).
            let outside = LinuxTestSupport.scratch("outside")
            defer { LinuxTestSupport.remove(outside) }
            try FileManager.default.createSymbolicLink(atPath: allowed + "/link-out", withDestinationPath: outside)
            for (type, name) in [(HostPathVolumeSource.PathType.fileOrCreate, "x"), (.directoryOrCreate, "d/e")] {
                do {
                    _ = try env.runtime.run(
                        PodSpec(
                            name: "made",
                            volumes: [VolumeSpec(name: "h", source: .hostPath(HostPathVolumeSource(path: allowed + "/link-out/" + name, type: type)))],
                            containers: [ContainerSpec(name: "c", image: "host", command: ["true"], volumeMounts: [VolumeMount(name: "h", mountPath: "/h")])]))
                    Issue.record("a \(type) hostPath through a symlink out of the prefix was accepted")
                } catch {
                    #expect("\(error)".contains("leads out of the allowed prefix"), "\(error)")
                }
                #expect(LinuxTestSupport.entries(below: outside) == [], "\(type) created \(LinuxTestSupport.entries(below: outside))")
            }
            // Inside the prefix they are made, as kubelet makes them.
            let made = try env.runtime.run(
                PodSpec(
                    name: "made", restartPolicy: .never,
                    volumes: [
                        VolumeSpec(name: "f", source: .hostPath(HostPathVolumeSource(path: allowed + "/new-file", type: .fileOrCreate))),
                        VolumeSpec(name: "d", source: .hostPath(HostPathVolumeSource(path: allowed + "/new/dir", type: .directoryOrCreate))),
                    ],
                    containers: [
                        ContainerSpec(
                            name: "c", image: "host", command: ["true"],
                            volumeMounts: [VolumeMount(name: "f", mountPath: "/f"), VolumeMount(name: "d", mountPath: "/d")])
                    ]))
            #expect(try made.wait(timeout: 60) { $0.phase.isTerminal } == .satisfied)
            var info = stat()
            #expect(stat(allowed + "/new-file", &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && info.st_mode & 0o777 == 0o644)
            #expect(stat(allowed + "/new/dir", &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR)
            try made.remove()
            // Type checks.
            do {
                _ = try env.runtime.run(
                    PodSpec(
                        name: "typed",
                        volumes: [
                            VolumeSpec(name: "h", source: .hostPath(HostPathVolumeSource(path: allowed + "/missing", type: .directory)))
                        ], containers: [ContainerSpec(name: "c", image: "host", command: ["true"])]))
                Issue.record("a missing Directory hostPath was accepted")
            } catch {
                #expect("\(error)".contains("hostPath type check failed"), "\(error)")
            }
            env.closeAndCheck()
        }

        @Test func aSubPathOrSymlinkEscape() throws {
            let allowed = LinuxTestSupport.scratch("escape")
            defer { LinuxTestSupport.remove(allowed) }
            try FileManager.default.createSymbolicLink(atPath: allowed + "/up", withDestinationPath: "../../..")
            try FileManager.default.createSymbolicLink(atPath: allowed + "/abs", withDestinationPath: "/etc")
            let env = try LinuxPods(allowHostPaths: [allowed])
            // `..` is refused by validation, before anything exists.
            do {
                _ = try env.runtime.run(
                    PodSpec(
                        name: "dots", volumes: [VolumeSpec(name: "d", source: .emptyDir(EmptyDirVolumeSource()))],
                        containers: [env.box("c", ["true"], mounts: [VolumeMount(name: "d", mountPath: "/d", subPath: "../x")])]))
                Issue.record("a subPath with .. was accepted")
            } catch {
                #expect("\(error)".contains("must not contain '..'"), "\(error)")
            }
            // Symlinks out of the volume: the container cannot start, with the reason, and the pod
            // is undone.
            for link in ["up", "abs"] {
                do {
                    _ = try env.runtime.run(
                        PodSpec(
                            name: "link-\(link)", restartPolicy: .never,
                            volumes: [
                                VolumeSpec(name: "h", source: .hostPath(HostPathVolumeSource(path: allowed)))
                            ], containers: [env.box("c", ["true"], mounts: [VolumeMount(name: "h", mountPath: "/h", subPath: link)])]))
                    Issue.record("a subPath symlink out of the volume was accepted")
                } catch {
                    #expect("\(error)".contains("subPath \(link) escapes the volume"), "\(error)")
                }
            }
            // A symlink that stays inside is fine.
            try FileManager.default.createDirectory(atPath: allowed + "/real", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: allowed + "/inside", withDestinationPath: "real")
            let pod = try env.runtime.run(
                PodSpec(
                    name: "inside", restartPolicy: .never,
                    volumes: [
                        VolumeSpec(name: "h", source: .hostPath(HostPathVolumeSource(path: allowed)))
                    ],
                    containers: [
                        env.box("c", ["sh", "-c", "echo ok > /h/f"], mounts: [VolumeMount(name: "h", mountPath: "/h", subPath: "inside")])
                    ]))
            #expect(try pod.wait(phase: .succeeded) == .satisfied)
            #expect((try? String(contentsOfFile: allowed + "/real/f", encoding: .utf8)) == "ok\n")
            env.closeAndCheck()
        }

        @Test func theBackendSaysWhyItIsUnavailable() throws {
            // Here (root, namespaces): available. The reason for a non-root user is tested through
            // podsh run as nobody (podshTests).
            if geteuid() == 0 {
                #expect(LinuxBackend.unavailableReason() == nil)
            } else {
                #expect(LinuxBackend.unavailableReason()?.contains("needs root") == true)
                #expect(throws: BackendError.self) { _ = try LinuxBackend() }
            }
        }
    }
}
