import PodCore
import Testing

@testable import PodKit
@testable import PodSim

/// The sim kernel's second half through the runtime: network, IPC, volumes, cgroups, applets.
@Suite("Sim world")
struct SimWorldTests {
    static func c(_ name: String, _ argv: String...) -> ContainerSpec { ContainerSpec(name: name, command: argv) }
    static func idle(_ name: String) -> ContainerSpec { ContainerSpec(name: name, command: ["sleep", "100000"]) }
    static func pod(_ name: String, shared: Bool = true, volumes: [VolumeSpec] = [], _ containers: [ContainerSpec]) -> PodSpec {
        PodSpec(name: name, shareProcessNamespace: shared, volumes: volumes, containers: containers)
    }

    // MARK: Network

    @Test func aSecondBindFailsWithBusyboxsMessage() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod("p", [Self.c("a", "httpd", "-f", "-p", "8080", "-h", "/"), Self.idle("b")]))
        let second = try pod.exec("b", ["httpd", "-f", "-p", "8080"])
        #expect(second == ExecResult(exitCode: 1, stdout: "", stderr: "httpd: bind: Address already in use\n"))
        // Another pod has a loopback of its own: the same port is free there.
        let other = try runtime.run(Self.pod("q", [Self.c("a", "httpd", "-f", "-p", "8080", "-h", "/")]))
        #expect(try other.status().containers[0].state.isRunning)
    }

    @Test func podsDoNotReachEachOthersLoopback() throws {
        let runtime = PodRuntime()
        let server = try runtime.run(
            Self.pod(
                "server", volumes: [VolumeSpec(name: "www", source: .emptyDir(EmptyDirVolumeSource()))],
                [
                    ContainerSpec(
                        name: "web", command: ["httpd", "-f", "-p", "8080", "-h", "/www"],
                        volumeMounts: [VolumeMount(name: "www", mountPath: "/www")])
                ]))
        #expect(try server.exec("web", ["sh", "-c", "echo hello > /www/index.html"]).exitCode == 0)
        #expect(try server.exec("web", ["wget", "-qO-", "http://127.0.0.1:8080/"]).stdout == "hello\n")
        let client = try runtime.run(Self.pod("client", [Self.idle("c")]))
        #expect(
            try client.exec("c", ["wget", "-qO-", "http://127.0.0.1:8080/"])
                == ExecResult(
                    exitCode: 1, stdout: "", stderr: "wget: can't connect to remote host (127.0.0.1): Connection refused\n"))
        // Nor does the host, without a published port.
        #expect(try runtime.execOnHost(["wget", "-qO-", "http://127.0.0.1:8080/"]).exitCode == 1)
    }

    @Test func publishedPortsFromTheHost() throws {
        let runtime = PodRuntime()
        var spec = Self.pod("p", [Self.c("web", "httpd", "-f", "-p", "80", "-h", "/etc")])
        spec.containers[0].ports = [ContainerPort(containerPort: 80, hostPort: 8081), ContainerPort(containerPort: 90, hostPort: 8090)]
        _ = try runtime.run(spec)
        #expect(try runtime.execOnHost(["wget", "-qO-", "http://127.0.0.1:8081/passwd"]).stdout == "root:x:0:0:root:/root:/bin/sh\n")
        // Published, but nothing listens on the container port: the forwarder drops the connection.
        #expect(
            try runtime.execOnHost(["wget", "-qO-", "http://localhost:8090/"]).stderr
                == "wget: error getting response: Connection reset by peer\n")
        #expect(
            try runtime.execOnHost(["wget", "-qO-", "http://127.0.0.1:8082/"]).stderr
                == "wget: can't connect to remote host (127.0.0.1): Connection refused\n")
        // A host process cannot bind a published port.
        #expect(try runtime.execOnHost(["httpd", "-f", "-p", "8081"]).stderr == "httpd: bind: Address already in use\n")
    }

    @Test func httpdAndWgetBehaveLikeBusybox() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(
            Self.pod(
                "p", volumes: [VolumeSpec(name: "www", source: .emptyDir(EmptyDirVolumeSource()))],
                [
                    ContainerSpec(
                        name: "web",
                        command: ["sh", "-c", "mkdir -p /www/sub && echo two > /www/b.txt && httpd -p 8080 -h /www && sleep 100000"],
                        volumeMounts: [VolumeMount(name: "www", mountPath: "/www")])
                ]))
        func wget(_ args: String...) throws -> ExecResult { try pod.exec("web", ["wget"] + args) }
        #expect(try wget("-qO-", "http://127.0.0.1:8080/b.txt").stdout == "two\n")
        #expect(
            try wget("-qO-", "http://127.0.0.1:8080/nope")
                == ExecResult(
                    exitCode: 1, stdout: "", stderr: "wget: server returned error: HTTP/1.1 404 Not Found\n"))
        #expect(try wget("-qO-", "http://127.0.0.1:8080/sub").stderr == "wget: server returned error: HTTP/1.1 404 Not Found\n")
        #expect(try wget("-qO-", "http://foo.invalid/").stderr == "wget: bad address 'foo.invalid'\n")
        #expect(
            try wget("-O-", "http://127.0.0.1:8080/b.txt")
                == ExecResult(
                    exitCode: 0, stdout: "two\n",
                    stderr: """
                        Connecting to 127.0.0.1:8080 (127.0.0.1:8080)
                        writing to stdout
                        -                    100% |********************************|     4  0:00:00 ETA
                        written to stdout

                        """))
        #expect(try wget("-q", "-O", "/tmp/got", "http://127.0.0.1:8080/b.txt").exitCode == 0)
        #expect(try pod.exec("web", ["cat", "/tmp/got"]).stdout == "two\n")
        #expect(try wget("-T", "5", "http://127.0.0.1:8080/").exitCode == 139)
        // httpd without -f daemonized: its parent (the shell's child) exited, a child serves.
        #expect(try pod.exec("web", ["ps"]).stdout.contains("httpd -p 8080 -h /www -f"))
    }

    // MARK: IPC

    @Test func ipcObjectsAreVisibleOnlyInsideTheirNamespace() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod("p", [Self.idle("a"), Self.idle("b")]))
        let made = try pod.exec("a", ["ipcmk", "-M", "1024", "-Q", "-S", "2"])
        #expect(made.stdout == "Shared memory id: 0\nMessage queue id: 0\nSemaphore id: 0\n")
        let seen = try pod.exec("b", ["ipcs", "-m"]).stdout
        let lines = seen.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 6)
        #expect(lines[1] == "------ Shared Memory Segments --------")
        #expect(lines[2] == "key        shmid      owner      perms      bytes      nattch     status      ")
        #expect(
            lines[3].hasPrefix("0x") && lines[3].dropFirst(10) == " 0          root       644        1024       0                       ")
        let other = try runtime.run(Self.pod("q", [Self.idle("c")]))
        #expect(
            try other.exec("c", ["ipcs", "-m"]).stdout
                == "\n------ Shared Memory Segments --------\nkey        shmid      owner      perms      bytes      nattch     status      \n\n"
        )
        #expect(try runtime.execOnHost(["ipcs", "-q"]).stdout.split(separator: "\n").count == 2)
        #expect(
            try pod.exec("a", ["ipcmk"])
                == ExecResult(
                    exitCode: 1, stdout: "",
                    stderr: "ipcmk: bad usage\nTry 'ipcmk --help' for more information.\n"))
    }

    @Test func hostIPCSharesTheHostsNamespace() throws {
        let runtime = PodRuntime()
        var spec = Self.pod("p", [Self.idle("a")])
        spec.hostIPC = true
        let pod = try runtime.run(spec)
        _ = try pod.exec("a", ["ipcmk", "-Q"])
        #expect(try runtime.execOnHost(["ipcs", "-q"]).stdout.split(separator: "\n").count == 3)
    }

    // MARK: Volumes

    static let data = VolumeSpec(name: "data", source: .emptyDir(EmptyDirVolumeSource()))
    static func mounting(
        _ name: String, _ volume: String = "data", at path: String = "/data", readOnly: Bool = false,
        subPath: String? = nil, _ argv: [String] = ["sleep", "100000"]
    ) -> ContainerSpec {
        ContainerSpec(
            name: name, command: argv,
            volumeMounts: [VolumeMount(name: volume, mountPath: path, readOnly: readOnly, subPath: subPath)])
    }

    @Test func emptyDirIsSharedInsideAPodAndSeparateBetweenPods() throws {
        let runtime = PodRuntime()
        let a = try runtime.run(Self.pod("a", volumes: [Self.data], [Self.mounting("w"), Self.mounting("r")]))
        #expect(try a.exec("w", ["sh", "-c", "echo shared > /data/f"]).exitCode == 0)
        #expect(try a.exec("r", ["cat", "/data/f"]).stdout == "shared\n")
        let b = try runtime.run(Self.pod("b", volumes: [Self.data], [Self.mounting("r")]))
        #expect(
            try b.exec("r", ["cat", "/data/f"])
                == ExecResult(
                    exitCode: 1, stdout: "", stderr: "cat: can't open '/data/f': No such file or directory\n"))
        // The root outside the volume is per container.
        #expect(try a.exec("w", ["touch", "/tmp/mine"]).exitCode == 0)
        #expect(try a.exec("r", ["ls", "/tmp"]).stdout == "")
    }

    @Test func containerRootsShareTheImageUntilTheyWrite() throws {
        let backend = SimBackend()
        let runtime = PodRuntime(backend: backend)
        let pod = try runtime.run(Self.pod("p", [Self.idle("a"), Self.idle("b")]))
        let roots = backend.kernel.liveProcesses.filter { $0.argv == ["sleep", "100000"] }.map(\.namespaces.mnt)
        #expect(roots.count == 2)
        #expect(roots.allSatisfy { $0.rootShared && $0.root === backend.kernel.imageRoot })
        #expect(try pod.exec("a", ["sh", "-c", "echo mine > /etc/motd"]).exitCode == 0)
        #expect(!roots[0].rootShared && roots[0].root !== backend.kernel.imageRoot)
        #expect(roots[1].rootShared)
        #expect(try pod.exec("b", ["cat", "/etc/motd"]).exitCode == 1)
        let fresh = try runtime.run(Self.pod("q", [Self.idle("c")]))
        #expect(try fresh.exec("c", ["ls", "/etc"]).stdout == "group\npasswd\n")
    }

    @Test func emptyDirSurvivesAContainerRestart() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod("p", volumes: [Self.data], [Self.mounting("app")]))
        _ = try pod.exec("app", ["sh", "-c", "echo kept > /data/f"])
        try pod.kill("app")
        #expect(try pod.status().containers[0].restartCount == 1)
        #expect(try pod.exec("app", ["cat", "/data/f"]).stdout == "kept\n")
    }

    @Test func readOnlyMountsFailWithBusyboxsMessage() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod("p", volumes: [Self.data], [Self.mounting("w"), Self.mounting("r", readOnly: true)]))
        #expect(
            try pod.exec("r", ["sh", "-c", "echo x > /data/f"])
                == ExecResult(
                    exitCode: 1, stdout: "", stderr: "sh: can't create /data/f: Read-only file system\n"))
        #expect(try pod.exec("r", ["mkdir", "/data/d"]).stderr == "mkdir: can't create directory '/data/d': Read-only file system\n")
        _ = try pod.exec("w", ["touch", "/data/f"])
        #expect(try pod.exec("r", ["rm", "/data/f"]).stderr == "rm: can't remove '/data/f': Read-only file system\n")
        #expect(try pod.exec("r", ["ls", "/data"]).stdout == "f\n")
    }

    @Test func subPathIsCreatedAndScopesTheMount() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(
            Self.pod(
                "p", volumes: [Self.data],
                [
                    Self.mounting("whole"), Self.mounting("part", at: "/logs", subPath: "app/logs"),
                ]))
        #expect(try pod.exec("part", ["sh", "-c", "echo line > /logs/out.log"]).exitCode == 0)
        #expect(try pod.exec("whole", ["cat", "/data/app/logs/out.log"]).stdout == "line\n")
        #expect(try pod.exec("part", ["ls", "/logs"]).stdout == "out.log\n")
    }

    @Test func configMapFilesAreReadOnly() throws {
        let runtime = PodRuntime()
        let config = VolumeSpec(name: "cfg", source: .configMap(ConfigMapVolumeSource(data: ["app.conf": "mode=1\n"])))
        let pod = try runtime.run(Self.pod("p", volumes: [config], [Self.mounting("a", "cfg", at: "/etc/app")]))
        #expect(try pod.exec("a", ["cat", "/etc/app/app.conf"]).stdout == "mode=1\n")
        #expect(
            try pod.exec("a", ["sh", "-c", "echo 2 > /etc/app/app.conf"]).stderr
                == "sh: can't create /etc/app/app.conf: Read-only file system\n")
    }

    @Test func hostPathTypeChecks() throws {
        let runtime = PodRuntime()
        func host(_ path: String, _ type: HostPathVolumeSource.PathType) -> VolumeSpec {
            VolumeSpec(name: "h", source: .hostPath(HostPathVolumeSource(path: path, type: type)))
        }
        #expect(
            throws: RuntimeError.backend(
                BackendError(
                    .unsupported, "createSandbox(a)", "volume \"h\": hostPath type check failed: /srv/missing does not exist"))
        ) {
            try runtime.run(Self.pod("a", volumes: [host("/srv/missing", .directory)], [Self.mounting("c", "h")]))
        }
        #expect(throws: RuntimeError.self) {
            try runtime.run(Self.pod("a", volumes: [host("/etc/hostname", .directory)], [Self.mounting("c", "h")]))
        }
        let pod = try runtime.run(Self.pod("b", volumes: [host("/srv/shared", .directoryOrCreate)], [Self.mounting("c", "h")]))
        _ = try pod.exec("c", ["sh", "-c", "echo from-pod > /data/x"])
        #expect(try runtime.execOnHost(["cat", "/srv/shared/x"]).stdout == "from-pod\n")
        let file = try runtime.run(Self.pod("f", volumes: [host("/etc/hostname", .file)], [Self.mounting("c", "h", at: "/etc/host-name")]))
        #expect(try file.exec("c", ["cat", "/etc/host-name"]).stdout == "sim-host\n")
        #expect(inventory(of: runtime.backend).sandboxes == 2)
    }

    // MARK: cgroups

    static func hog(_ kernel: SimKernel) {
        kernel.register("hog") { ctx in
            let mib = Int64(ctx.args.dropFirst().first ?? "1") ?? 1
            for _ in 0..<mib where !ctx.alloc(1 << 20) { return .waitForever }
            ctx.write("allocated \(mib) MiB\n")
            return .waitForever
        }
    }

    @Test func overTheMemoryLimitTheOOMKillerEndsTheContainer() throws {
        let backend = SimBackend()
        Self.hog(backend.kernel)
        let runtime = PodRuntime(backend: backend)
        var hog = Self.c("hog", "hog", "200")
        hog.resources = ResourceRequirements(limits: ResourceList(memory: try Quantity(parsing: "64Mi")))
        let pod = try runtime.run(PodSpec(name: "p", restartPolicy: .never, containers: [hog, Self.c("sibling", "hog", "10")]))
        runtime.sleep(1)
        let status = try pod.status()
        let termination = try #require(status.containers[0].state.termination)
        #expect(termination.reason == .oomKilled)
        #expect(termination.exitCode == 137)
        #expect(termination.cause == .oomKilled)
        #expect(status.containers[1].state.isRunning)
        #expect(try pod.logs("sibling") == "allocated 10 MiB\n")
        #expect(try pod.events().contains { $0.reason == "OOMKilled" && $0.container == "hog" })
    }

    @Test func aMemoryEmptyDirCountsAgainstTheLimit() throws {
        let runtime = PodRuntime()
        let cache = VolumeSpec(name: "cache", source: .emptyDir(EmptyDirVolumeSource(medium: .memory)))
        var writer = Self.mounting("w", "cache", at: "/cache", ["sleep", "100000"])
        writer.resources = ResourceRequirements(limits: ResourceList(memory: try Quantity(parsing: "1Ki")))
        let pod = try runtime.run(PodSpec(name: "p", restartPolicy: .never, volumes: [cache], containers: [writer]))
        let small = String(repeating: "x", count: 500)
        #expect(try pod.exec("w", ["sh", "-c", "echo \(small) > /cache/a"]).exitCode == 0)
        let big = String(repeating: "y", count: 2000)
        let result = try pod.exec("w", ["sh", "-c", "echo \(big) > /cache/b; echo survived"])
        #expect(result.stdout == "")
        runtime.sleep(1)
        let termination = try #require(try pod.status().containers[0].state.termination)
        #expect(termination.reason == .oomKilled)
    }

    /// A disk emptyDir takes writes past its sizeLimit, as a real disk does; kubelet's
    /// eviction manager then evicts the pod: every container killed at once, Failed with reason
    /// Evicted and kubelet's message, and nothing restarts under restartPolicy Always.
    @Test func aDiskEmptyDirPastItsSizeLimitGetsThePodEvicted() throws {
        let runtime = PodRuntime()
        let small = VolumeSpec(name: "s", source: .emptyDir(EmptyDirVolumeSource(sizeLimit: try Quantity(parsing: "1Ki"))))
        let pod = try runtime.run(Self.pod("p", volumes: [small], [Self.mounting("w", "s"), Self.idle("other")]))
        let big = String(repeating: "z", count: 2000)
        #expect(try pod.exec("w", ["sh", "-c", "echo \(big) > /data/b"]).exitCode == 0)
        #expect(try pod.wait(phase: .failed) == .satisfied)
        let message = "Usage of EmptyDir volume \"s\" exceeds the limit \"1Ki\"."
        let status = try pod.status()
        #expect(status.reason == "Evicted" && status.message == message)
        for container in status.containers {
            let ended = try #require(container.state.termination)
            #expect(ended.exitCode == 137 && ended.cause == .evicted(message), "\(ended)")
        }
        #expect(try pod.events().contains { $0.type == .warning && $0.reason == "Evicted" && $0.message == message })
        runtime.sleep(600)
        let later = try pod.status()
        #expect(later.phase == .failed && later.containers.allSatisfy { $0.restartCount == 0 })
        // Below the limit, nothing happens.
        let roomy = VolumeSpec(name: "s", source: .emptyDir(EmptyDirVolumeSource(sizeLimit: try Quantity(parsing: "1Mi"))))
        let fine = try runtime.run(Self.pod("q", volumes: [roomy], [Self.mounting("w", "s")]))
        #expect(try fine.exec("w", ["sh", "-c", "echo \(big) > /data/b"]).exitCode == 0)
        runtime.sleep(60)
        #expect(try fine.status().phase == .running && fine.status().reason == nil)
    }

    /// A Memory emptyDir with a sizeLimit is a tmpfs of that size: the write past it fails.
    @Test func aMemoryEmptyDirIsATmpfsOfItsSizeLimit() throws {
        let runtime = PodRuntime()
        let small = VolumeSpec(
            name: "s", source: .emptyDir(EmptyDirVolumeSource(medium: .memory, sizeLimit: try Quantity(parsing: "1Ki"))))
        let pod = try runtime.run(Self.pod("p", volumes: [small], [Self.mounting("w", "s")]))
        let big = String(repeating: "z", count: 2000)
        // The shell creates the file; the write into it fails (echo is a builtin of ash).
        #expect(
            try pod.exec("w", ["sh", "-c", "echo \(big) > /data/b"])
                == ExecResult(
                    exitCode: 1, stdout: "", stderr: "sh: write error: No space left on device\n"))
        #expect(try pod.exec("w", ["sh", "-c", "echo small > /data/a"]).exitCode == 0)
        #expect(try pod.status().phase == .running)
    }

    @Test func pidsMaxMakesForkFail() throws {
        let backend = SimBackend(podPidsLimit: 10)
        backend.kernel.register("forkbomb") { ctx in
            var forked = 0
            while true {
                switch ctx.spawn(["sleep", "100000"]) {
                case .success: forked += 1
                case .failure(let error):
                    ctx.write("forked \(forked): \(error)\n")
                    return .waitForever
                }
            }
        }
        let runtime = PodRuntime(backend: backend)
        let pod = try runtime.run(Self.pod("p", [Self.c("bomb", "forkbomb")]))
        // The pause and the bomb itself are 2 of the 10 tasks.
        #expect(try pod.logs("bomb") == "forked 8: Resource temporarily unavailable\n")
        // A shell in a full pod cannot start anything either (the last command needs no fork:
        // ash runs it in its own process).
        let tight = SimBackend(podPidsLimit: 3)
        let tightRuntime = PodRuntime(backend: tight)
        let small = try tightRuntime.run(Self.pod("s", [Self.idle("a")]))
        #expect(
            try small.exec("a", ["sh", "-c", "sleep 1; true"])
                == ExecResult(
                    exitCode: 2, stdout: "", stderr: "sh: can't fork: Resource temporarily unavailable\n"))
        // With every task taken, the exec itself cannot be forked.
        let full = try PodRuntime(backend: SimBackend(podPidsLimit: 2)).run(Self.pod("f", [Self.idle("a")]))
        #expect(throws: RuntimeError.backend(BackendError(.resourceExhausted, "spawn(sh)", "fork: Resource temporarily unavailable"))) {
            try full.exec("a", ["sh", "-c", "true"])
        }
    }

    // MARK: Applets and sh

    @Test func shellFeatures() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(
            Self.pod("p", [ContainerSpec(name: "a", command: ["sleep", "100000"], env: [EnvVar(name: "GREETING", value: "hi there")])]))
        func sh(_ script: String) throws -> ExecResult { try pod.exec("a", ["sh", "-c", script]) }
        #expect(try sh("echo $GREETING; echo \"$GREETING\"!; echo '$GREETING'").stdout == "hi there\nhi there!\n$GREETING\n")
        #expect(try sh("X=1; echo ${X}2 $X").stdout == "12 1\n")
        #expect(try sh("false; echo $?; true && echo yes || echo no").stdout == "1\nyes\n")
        #expect(try sh("echo $(echo nested $(hostname))").stdout == "nested p\n")
        #expect(try sh("echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f").stdout == "one\ntwo\n")
        #expect(try sh("cat /nope 2> /tmp/err; cat /tmp/err").stdout == "cat: can't open '/nope': No such file or directory\n")
        #expect(try sh("cat /nope 2>&1").stdout == "cat: can't open '/nope': No such file or directory\n")
        #expect(try sh("echo in > /tmp/i; cat < /tmp/i").stdout == "in\n")
        #expect(try sh("cd /etc && cat passwd").stdout == "root:x:0:0:root:/root:/bin/sh\n")
        #expect(try sh("export A=b; sh -c 'echo $A'").stdout == "b\n")
        #expect(try sh("A=c sh -c 'echo $A'").stdout == "c\n")
        #expect(try sh("echo x > /no/such/f").stderr == "sh: can't create /no/such/f: nonexistent directory\n")
        #expect(try sh("echo a | cat").stderr.hasPrefix("sh: unsupported syntax: '|'"))
        #expect(try sh("echo ok # a comment").stdout == "ok\n")
    }

    @Test func fileAppletsSpeakBusybox() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod("p", [Self.idle("a")]))
        func run(_ argv: String...) throws -> ExecResult { try pod.exec("a", argv) }
        #expect(try run("mkdir", "/tmp").stderr == "mkdir: can't create directory '/tmp': File exists\n")
        #expect(try run("mkdir", "/nonexist/a").stderr == "mkdir: can't create directory '/nonexist/a': No such file or directory\n")
        #expect(try run("mkdir", "-p", "/lt/d").exitCode == 0)
        #expect(try run("sh", "-c", "echo abc > /lt/f; touch /lt/.hidden").exitCode == 0)
        #expect(try run("ls", "/lt").stdout == "d\nf\n")
        #expect(try run("ls", "-a", "/lt").stdout == ".\n..\n.hidden\nd\nf\n")
        #expect(try run("ls", "-1", "/lt/f", "/lt/d").stdout == "/lt/f\n\n/lt/d:\n")
        #expect(try run("ls", "/nonexist") == ExecResult(exitCode: 1, stdout: "", stderr: "ls: /nonexist: No such file or directory\n"))
        #expect(try run("cat", "/lt/d").stderr == "cat: read error: Is a directory\n")
        #expect(try run("touch", "/nonexist/a").stderr == "touch: /nonexist/a: No such file or directory\n")
        #expect(try run("rm", "/nonexist").stderr == "rm: can't remove '/nonexist': No such file or directory\n")
        #expect(try run("rm", "-f", "/nonexist").exitCode == 0)
        #expect(try run("rm", "/lt/d").stderr == "rm: '/lt/d' is a directory\n")
        #expect(try run("rm", "-r", "/lt").exitCode == 0)
        #expect(try run("ls", "/lt").exitCode == 1)
        #expect(try run("kill").stderr == "kill: you need to specify whom to kill\n")
        #expect(try run("hostname", "other").stderr == "hostname: sethostname: Operation not permitted\n")
        #expect(try run("cat").stdout == "")
        #expect(try pod.exec("a", ["cat"], stdin: "piped\n").stdout == "piped\n")
    }
}
