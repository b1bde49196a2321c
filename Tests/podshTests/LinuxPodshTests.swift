import Foundation
import PodLinux
import PodTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// podsh with the linux backend, through the real binary: images, `--backend linux`, and the
/// reason the backend is unavailable to a user who is not root.
@Suite("podsh on linux", .serialized)
struct LinuxPodshTests {
    static func scratch(_ label: String) -> String { Scratch.directory("podsh-linux-\(label)") }

    static func requireRoot() throws {
        if geteuid() != 0 {
            print("skip: podsh on linux: needs root")
            try Test.cancel("needs root")
        }
    }

    @Test func imagesAreImportedFromDirectoriesAndTarballsListedReplacedAndRemoved() throws {
        let images = Self.scratch("images"), source = Self.scratch("rootfs")
        defer {
            try? FileManager.default.removeItem(atPath: images)
            try? FileManager.default.removeItem(atPath: source)
        }
        try FileManager.default.createDirectory(atPath: source + "/etc", withIntermediateDirectories: true)
        try "one\n".write(toFile: source + "/etc/version", atomically: true, encoding: .utf8)
        let imported = try PodshTests.run(["image", "import", "demo", source, "--image-dir", images])
        #expect(imported.status == 0 && imported.stdout.hasPrefix("imported demo:latest "), "\(imported)")
        /// The file as a container on `reference` sees it: in the top layer that has it.
        func version(_ reference: String) throws -> String? {
            let dirs = try ImageStore(directory: images).lowerDirectories(for: reference)
            return dirs.lazy.compactMap { try? String(contentsOfFile: $0 + "/etc/version", encoding: .utf8) }.first
        }
        #expect(try version("demo") == "one\n")
        // A tarball under the same reference moves it; the first image keeps its layer until prune.
        try "two\n".write(toFile: source + "/etc/version", atomically: true, encoding: .utf8)
        let tarball = source + ".tar.gz"
        defer { try? FileManager.default.removeItem(atPath: tarball) }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", tarball, "-C", source, "."]
        try tar.run()
        tar.waitUntilExit()
        let replaced = try PodshTests.run(["image", "import", "demo:2", tarball, "--image-dir", images])
        #expect(replaced.status == 0, "\(replaced)")
        #expect(try version("demo:2") == "two\n")
        #expect(try version("demo:latest") == "one\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: images + "/tmp") == [], "no staging left")
        let listed = try PodshTests.run(["image", "ls", "--image-dir", images]).stdout.split(separator: "\n")
        #expect(
            listed.count == 3 && listed[0].hasPrefix("REF") && listed[1].hasPrefix("demo:2 ") && listed[2].hasPrefix("demo:latest "),
            "\(listed)")
        let json = try PodshTests.run(["image", "ls", "--json", "--image-dir", images]).stdout
        #expect(json.contains("\"ref\":\"demo:2\"") && json.contains("\"id\":\"sha256:"), "\(json)")
        let inspected = try PodshTests.run(["image", "inspect", "demo", "--json", "--image-dir", images])
        #expect(inspected.status == 0 && inspected.stdout.contains("\"layers\":[{\"digest\":\"sha256:"), "\(inspected)")
        // Bad input: a clear line and exit 1 (2 for usage).
        let badName = try PodshTests.run(["image", "import", "../x", source, "--image-dir", images])
        #expect(badName.status == 1 && badName.stderr.contains("invalid reference format"), "\(badName)")
        let hostName = try PodshTests.run(["image", "import", "host", source, "--image-dir", images])
        #expect(hostName.status == 1 && hostName.stderr.contains("\"host\" is the host's own root"), "\(hostName)")
        let missing = try PodshTests.run(["image", "import", "x", source + "/nope", "--image-dir", images])
        #expect(missing.status == 1 && missing.stderr.contains("No such file or directory"), "\(missing)")
        let notTar = try PodshTests.run(["image", "import", "x", source + "/etc/version", "--image-dir", images])
        #expect(notTar.status == 1 && notTar.stderr.contains("tar"), "\(notTar)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: images + "/tmp") == [], "failed imports leave nothing")
        #expect(try PodshTests.run(["image", "ls", "--json", "--image-dir", images]).stdout.split(separator: "\n").count == 2)
        #expect(try PodshTests.run(["image", "frob", "--image-dir", images]).status == 2)
        #expect(try PodshTests.run(["image", "rm", "demo", "--image-dir", images]).status == 0)
        #expect(try PodshTests.run(["image", "rm", "demo:2", "--image-dir", images]).status == 0)
        let gone = try PodshTests.run(["image", "rm", "demo:2", "--image-dir", images])
        #expect(gone.status == 1 && gone.stderr.contains("no image \"demo:2\""), "\(gone)")
        let pruned = try PodshTests.run(["image", "prune", "--image-dir", images])
        #expect(pruned.stdout == "removed 0 images, 2 layers, 4 blobs, 0 leftovers\n", "\(pruned)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: images + "/layers") == ["mountpoints"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: images + "/blobs/sha256") == [])
    }

    @Test func aScriptRunsOnTheLinuxBackendAndLeavesNothing() throws {
        try Self.requireRoot()
        let state = Self.scratch("state")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let script = """
            local p = pod.run{ name = "hello", restartPolicy = "Never", shareProcessNamespace = true,
              containers = { { name = "c", image = "host", command = { "sh", "-c", "hostname; cat /proc/1/comm" } } } }
            assert(p:wait("Succeeded"))
            print(p:logs("c") .. pod.backend(), p:status().containers[1].exitCode)
            """
        let ran = try PodshTests.run(["--backend", "linux", "--allow-host-image", "--state-dir", state, "-e", script])
        #expect(ran == PodshTests.Run(status: 0, stdout: "hello\npause\nlinux\t0\n", stderr: ""), "\(ran)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/pods") == [], "the pod went with the script")
        // The sandbox cannot switch to linux on its own.
        let refused = try PodshTests.run(["-e", "pod.use('linux')"])
        #expect(refused.status == 1 && refused.stderr.contains("sandboxed scripts reach it only when the host allows it"))
    }

    /// SIGTERM (or SIGHUP, or Ctrl-C) stops a script waiting on linux; podsh removes its pods —
    /// which live in sessions of their own — before it exits, with 128 + the signal.
    @Test func aTerminatedScriptRemovesItsPods() throws {
        try Self.requireRoot()
        guard let podsh = PodshTests.podsh else { try Test.cancel("podsh is not built") }
        let state = Self.scratch("term")
        defer { try? FileManager.default.removeItem(atPath: state) }
        for signal in [SIGTERM, SIGHUP, SIGINT] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: podsh)
            process.arguments = [
                "--backend", "linux", "--allow-host-image", "--state-dir", state, "-e",
                """
                local p = pod.run{ name = "long", containers = { { name = "c", image = "host", command = { "sleep", "3600" } } } }
                assert(p:wait("Running"))
                print(p:status().infra.pid, p:status().containers.c.pid)
                pod.sleep(3600)
                """,
            ]
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            let pids = line.split(whereSeparator: { $0 == "\t" || $0 == "\n" }).compactMap { Int32($0) }
            #expect(pids.count == 2, "\(line)")
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 128 + signal, "\(signal): \(stderr)")
            #expect(stderr.contains("interrupted"), "\(stderr)")
            for pid in pids { #expect(kill(pid, 0) != 0, "pid \(pid) is gone after signal \(signal)") }
            #expect((try? FileManager.default.contentsOfDirectory(atPath: state + "/pods")) == [])
        }
    }

    /// Stuck in a C call the hook never reaches, podsh cannot leave through its normal exit: the
    /// watchdog removes the pods from the records on disk, then ends it.
    @Test func theWatchdogRemovesThePodsOfAScriptStuckInC() throws {
        try Self.requireRoot()
        let state = Self.scratch("stuck")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let podsh = try SignalTests.Running([
            "--unsafe", "--backend", "linux", "--allow-host-image", "--state-dir", state, "--cgroup-parent", "swift-pods-test-stuck", "-e",
            """
            local p = pod.run{ name = "stuck", containers = { { name = "c", image = "host", command = { "sleep", "3600" } } } }
            assert(p:wait("Running"))
            print(p:status().infra.pid, p:status().containers.c.pid) io.stdout:flush()
            \(SignalTests.stuckInC)
            """,
        ])
        let pids = podsh.firstLine.split(whereSeparator: { $0 == "\t" || $0 == "\n" }).compactMap { Int32($0) }
        #expect(pids.count == 2, "\(podsh.firstLine)")
        podsh.waitUntilBusy()
        kill(podsh.process.processIdentifier, SIGTERM)
        let ended = podsh.finish()
        #expect(ended?.status == 128 + SIGTERM, "\(String(describing: ended))")
        #expect(ended?.stderr.contains("removing its pods and leaving") == true, "\(String(describing: ended))")
        for pid in pids { #expect(kill(pid, 0) != 0, "pid \(pid) is gone") }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: state + "/pods")) == [])
        for base in ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup"] {
            let left = (FileManager.default.subpaths(atPath: base + "/swift-pods-test-stuck") ?? []).filter { path in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: base + "/swift-pods-test-stuck/" + path, isDirectory: &isDirectory)
                    && isDirectory.boolValue
            }
            #expect(left.isEmpty, "cgroups left in \(base): \(left)")
            rmdir(base + "/swift-pods-test-stuck")
        }
    }

    /// `podsh play` on linux follows a pod in real time: SIGTERM ends it at once (143), the pod
    /// removed rather than stopped gracefully.
    @Test func aTerminatedPlayRemovesItsPod() throws {
        try Self.requireRoot()
        let state = Self.scratch("play")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let manifest = state + "-pod.yaml"
        try """
        apiVersion: v1
        kind: Pod
        metadata: {name: long}
        spec:
          terminationGracePeriodSeconds: 30
          containers: [{name: c, image: host, command: [sleep, "3600"]}]
        """.write(toFile: manifest, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: manifest) }
        let play = try SignalTests.Running(["play", "--backend", "linux", "--allow-host-image", "--state-dir", state, manifest, "--for", "3600"])
        #expect(play.firstLine.contains("Scheduled") || play.firstLine.contains("long"), "\(play.firstLine)")
        kill(play.process.processIdentifier, SIGTERM)
        let ended = play.finish()
        #expect(ended?.status == 128 + SIGTERM, "\(String(describing: ended))")
        // The main thread says so; on a machine too busy for it to get there within the
        // watchdog's second, the watchdog does (and removes the pods itself): either way the pod goes.
        let said = ended?.stderr ?? ""
        #expect(said.contains("SIGTERM: removing the pods") || said.contains("removing its pods and leaving"), "\(String(describing: ended))")
        let left = try? FileManager.default.contentsOfDirectory(atPath: state + "/pods")
        #expect(left == [], "the pod went with play: \(String(describing: left))")
    }

    /// The sandbox is honest on linux: a script without --unsafe gets the Pod Security
    /// Standards' baseline — no host commands, no hostPath, no host namespaces, no host image,
    /// nothing privileged — and each --allow-* flag (or PODSH_ALLOW item) lifts one part.
    @Test func aSandboxedScriptGetsTheBaselineUnlessTheHostAllowsMore() throws {
        try Self.requireRoot()
        let podsh = try #require(PodshTests.podsh)
        let state = Self.scratch("baseline-state")
        let shared = Self.scratch("baseline-host")
        defer {
            try? FileManager.default.removeItem(atPath: state)
            try? FileManager.default.removeItem(atPath: shared)
        }
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        func script(_ extra: [String], _ lua: String, environment: [String] = []) throws -> PodshTests.Run {
            try PodshTests.run(
                environment + [podsh, "--backend", "linux", "--state-dir", state] + extra + ["-e", lua], tool: "/usr/bin/env")
        }
        func pod(_ fields: String, image: String = "host") -> String {
            """
            local p = pod.run{ name = "b", restartPolicy = "Never", \(fields),
              containers = { { name = "c", image = "\(image)", command = { "true" }\(fields.contains("privileged") ? ", securityContext = { privileged = true }" : "") } } }
            assert(p:wait("Succeeded", 20)); print("ran")
            """
        }
        let exec = try script([], "print(pod.exec{'sh', '-c', 'head -c 20 /etc/shadow'}.stdout)")
        #expect(exec.status == 1 && exec.stderr.contains("pod.exec: host commands are refused to a sandboxed script"), "\(exec)")
        #expect(try script(["--allow-host-exec"], "print(pod.exec{'id', '-u'}.stdout)").stdout == "0\n\n")
        let image = try script([], pod("labels = {}"))
        #expect(image.stderr.contains("spec.containers[0].image: Forbidden: \"host\" is the host's own root file system"), "\(image)")
        let root = try script(["--allow-host-image"], pod("volumes = { { name = 'r', hostPath = { path = '/' } } }"))
        #expect(root.stderr.contains("spec.volumes[0].hostPath: Forbidden: hostPath volumes violate PodSecurity \"baseline\""), "\(root)")
        #expect(try script(["--allow-host-image", "--allow-host-path", shared], pod("volumes = { { name = 'r', hostPath = { path = '\(shared)' } } }")).stdout == "ran\n")
        let outside = try script(["--allow-host-image", "--allow-host-path", shared], pod("volumes = { { name = 'r', hostPath = { path = '/' } } }"))
        #expect(outside.stderr.contains("outside the allowed prefixes"), "\(outside)")
        let network = try script(["--allow-host-image"], pod("hostNetwork = true"))
        #expect(network.stderr.contains("spec.hostNetwork: Forbidden: host namespaces violate"), "\(network)")
        #expect(try script(["--allow-host-image"], pod("hostNetwork = true"), environment: ["PODSH_ALLOW=host-namespaces"]).stdout == "ran\n")
        let privileged = try script(["--allow-host-image"], pod("labels = { privileged = 'yes' }"))
        #expect(privileged.stderr.contains("securityContext.privileged: Forbidden: violates PodSecurity \"baseline\""), "\(privileged)")
        #expect(try script(["--allow-host-image", "--allow-privileged"], pod("labels = { privileged = 'yes' }")).stdout == "ran\n")
        // The script cannot lift the policy itself.
        let lifted = try script([], "pod.use('linux', { allowHostPaths = { '/' } })")
        #expect(lifted.stderr.contains("pod.use: option allowHostPaths is the host's to set"), "\(lifted)")
        // --unsafe: a trusted script, all of it allowed.
        #expect(try script(["--unsafe"], pod("hostNetwork = true, volumes = { { name = 'r', hostPath = { path = '/' } } }")).stdout == "ran\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/pods") == [], "no pod left")
    }

    @Test func withoutRootTheBackendSaysWhy() throws {
        try Self.requireRoot()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), let podsh = PodshTests.podsh else {
            print("skip: without root: no setpriv or no podsh")
            try Test.cancel("no setpriv")
        }
        let ran = try PodshTests.run(
            [
                "--reuid", "65534", "--regid", "65534", "--clear-groups", podsh, "--backend", "linux",
                "-e", "print(1)",
            ], tool: "/usr/bin/setpriv")
        #expect(ran.status == 1)
        #expect(ran.stderr == "podsh: backend 'linux' unavailable: it needs root (namespaces, mounts, cgroups); running as uid 65534\n")
        let listed = try PodshTests.run(
            [
                "--reuid", "65534", "--regid", "65534", "--clear-groups", podsh, "-e",
                "print(#pod.backends(), select(2, pcall(pod.use, 'linux')))",
            ], tool: "/usr/bin/setpriv")
        #expect(listed.stdout.hasPrefix("1\t"), "only sim is usable: \(listed)")
    }

    @Test func aHostThatRefusesExecutableMemfdsGetsAClearErrorAndNothingLeft() throws {
        // vm.memfd_noexec = 2 (Linux 6.3+, per PID namespace, and it can only be raised): the
        // pause cannot be executed from its memfd. Set in a PID namespace of its own, so the
        // host keeps its value.
        try Self.requireRoot()
        guard access("/proc/sys/vm/memfd_noexec", F_OK) == 0 else {
            print("skip: podsh on linux: this kernel has no vm.memfd_noexec (before 6.3)")
            try Test.cancel("no vm.memfd_noexec")
        }
        let podsh = try #require(PodshTests.podsh)
        let state = Self.scratch("noexec-state")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let script = "pod.run{ name = 'x', containers = { { name = 'c', image = 'host', command = { 'true' } } } }"
        let run = try PodshTests.run(
            [
                "--pid", "--fork", "--mount-proc", "/bin/sh", "-c",
                "echo 2 > /proc/sys/vm/memfd_noexec && exec \"$0\" \"$@\"",
                podsh, "--backend", "linux", "--allow-host-image", "--state-dir", state, "-e", script,
            ],
            tool: "/usr/bin/unshare")
        #expect(run.status == 1, "\(run)")
        #expect(
            run.stderr.contains(
                "createSandbox(x): memfd_create(pause): Permission denied (the host refuses to execute memfds: vm.memfd_noexec = 2)"),
            "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: state + "/pods") == [], "no pod directory left")
        #expect(try PodshTests.run(["ps", "--state-dir", state]).stdout.split(separator: "\n").count <= 1)
        // = 1 seals memfds against exec unless they ask for it (MFD_EXEC): the pause does.
        let sealing = try PodshTests.run(
            [
                "--pid", "--fork", "--mount-proc", "/bin/sh", "-c",
                "echo 1 > /proc/sys/vm/memfd_noexec && exec \"$0\" \"$@\"",
                podsh, "--backend", "linux", "--allow-host-image", "--state-dir", state, "-e",
                "local p = pod.run{ name = 'y', restartPolicy = 'Never', containers = { { name = 'c', image = 'host', command = { 'true' } } } }; p:wait('Succeeded'); print(p:status().phase)",
            ],
            tool: "/usr/bin/unshare")
        #expect(sealing.status == 0 && sealing.stdout == "Succeeded\n", "\(sealing)")
    }
}
