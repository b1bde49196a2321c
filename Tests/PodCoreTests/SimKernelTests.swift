import Testing

@testable import PodKit
@testable import PodSim

/// The simulated kernel's process and signal rules, each as Linux has it.
@Suite("Sim kernel")
struct SimKernelTests {
    /// A kernel with a pod-like PID namespace whose PID 1 is `pause`.
    static func podNamespace(_ kernel: SimKernel) throws -> (pidNS: SimPIDNamespace, pause: SimProcess) {
        let pidNS = kernel.makePIDNamespace()
        var namespaces = kernel.host
        namespaces.pid = pidNS
        namespaces.uts = kernel.makeUTSNamespace(hostname: "web")
        namespaces.net = kernel.makeNetNamespace()
        namespaces.ipc = kernel.makeIPCNamespace()
        namespaces.mnt = kernel.makeMountNamespace()
        let pause = try kernel.spawn(
            argv: ["pause"], env: [], cwd: "/", namespaces: namespaces,
            parent: kernel.supervisor, output: SimOutput())
        return (pidNS, pause)
    }

    static func spawn(_ kernel: SimKernel, _ argv: [String], in parent: SimProcess) throws -> SimProcess {
        try kernel.spawn(argv: argv, env: [], cwd: "/", namespaces: parent.namespaces, parent: parent, output: SimOutput())
    }

    @Test func namespacesHaveIdentitiesAndHostnames() throws {
        let kernel = SimKernel()
        #expect(kernel.host.net.identity == "net:[4026531992]")
        let (pidNS, pause) = try Self.podNamespace(kernel)
        #expect(pidNS.identity.hasPrefix("pid:[40265322"))
        #expect(pause.pid(in: pidNS) == 1)
        #expect(pause.hostPid >= 1000)
        #expect(SimContext(kernel: kernel, process: pause).hostname() == "web")
        let other = kernel.makeNetNamespace()
        #expect(other.identity != kernel.makeNetNamespace().identity)
    }

    @Test func pid1IgnoresUnhandledSignalsButNotKillFromOutside() throws {
        let kernel = SimKernel()
        let pidNS = kernel.makePIDNamespace()
        var namespaces = kernel.host
        namespaces.pid = pidNS
        let sleeper = try kernel.spawn(
            argv: ["sleep", "100"], env: [], cwd: "/", namespaces: namespaces,
            parent: kernel.supervisor, output: SimOutput())
        #expect(sleeper.isNamespaceInit)
        #expect(kernel.signal(sleeper, .term, from: nil, senderName: "test") == nil)
        #expect(sleeper.isAlive)
        // SIGKILL from inside its own namespace is ignored too.
        let peer = try Self.spawn(kernel, ["sleep", "100"], in: sleeper)
        _ = kernel.signal(sleeper, .kill, from: peer, senderName: "peer")
        #expect(sleeper.isAlive)
        // From the host (an ancestor namespace) SIGKILL always works, and PID 1's death kills
        // every other process of the namespace.
        _ = kernel.signal(sleeper, .kill, from: nil, senderName: "test")
        #expect(!sleeper.isAlive)
        #expect(sleeper.exitStatus == .signaled(.kill))
        #expect(!peer.isAlive)
        #expect(peer.exitDetail?.sender == "the kernel (PID 1 of its PID namespace exited)")
        #expect(pidNS.isDead)
        #expect(throws: SimErrno.ENOMEM) { try Self.spawn(kernel, ["true"], in: sleeper) }
    }

    @Test func handlersRunAndCanEndTheProcess() throws {
        let kernel = SimKernel()
        let (_, pause) = try Self.podNamespace(kernel)
        #expect(kernel.signal(pause, .term, from: nil, senderName: "test") == nil)
        #expect(pause.isAlive)
        kernel.run(until: kernel.clock.nanos) { false }
        #expect(pause.exitStatus == .exited(0))
    }

    @Test func orphansAreReparentedToPID1AndReaped() throws {
        let kernel = SimKernel()
        kernel.register("spawner") { ctx in
            _ = ctx.spawn(["sleep", "50"])
            return .exit(0)
        }
        let (pidNS, pause) = try Self.podNamespace(kernel)
        let parent = try Self.spawn(kernel, ["sh", "-c", "spawner; sleep 1000"], in: pause)
        kernel.run(until: SimClock.nanos(1)) { false }
        let orphan = try #require(kernel.liveProcesses.first { $0.argv == ["sleep", "50"] })
        // Its parent (spawner) exited: it now belongs to PID 1 of the namespace, the pause.
        #expect(orphan.parentPid == pause.hostPid)
        #expect(pause.children.contains(orphan.hostPid))
        kernel.run(until: SimClock.nanos(60)) { false }
        // It exited and pause reaped it at once: no zombie remains in the table.
        #expect(kernel.processes[orphan.hostPid] == nil)
        #expect(pidNS.pids.values.contains(orphan.hostPid) == false)
        #expect(parent.isAlive)
    }

    @Test func zombiesStayUntilTheParentWaits() throws {
        let kernel = SimKernel()
        kernel.register("lazy-parent") { ctx in
            guard case .success(let child) = ctx.spawn(["true"]) else { return .exit(9) }
            return .sleep(10) { _ in .waitChild(child) { _, status in .exit(status?.code ?? 99) } }
        }
        let (_, pause) = try Self.podNamespace(kernel)
        let parent = try Self.spawn(kernel, ["lazy-parent"], in: pause)
        let child = try #require(kernel.processes.values.first { $0.argv == ["true"] })
        #expect(!child.isAlive)
        #expect(kernel.processes[child.hostPid] != nil)  // a zombie
        kernel.run(until: SimClock.nanos(20)) { false }
        #expect(kernel.processes[child.hostPid] == nil)
        #expect(parent.exitStatus == .exited(0))
    }

    @Test func shellExitCodesAndMessages() throws {
        let kernel = SimKernel()
        let (_, pause) = try Self.podNamespace(kernel)
        func run(_ script: String) throws -> (Int32?, String) {
            let p = try Self.spawn(kernel, ["sh", "-c", script], in: pause)
            kernel.run(until: kernel.clock.nanos + SimClock.nanos(100)) { false }
            return (p.exitStatus?.code, p.output.stderr)
        }
        #expect(try run("exit 3") == (3, ""))
        #expect(try run("false; exit") == (1, ""))
        #expect(try run("nosuch") == (127, "sh: nosuch: not found\n"))
        #expect(try run("exit abc") == (2, "sh: exit: line 0: Illegal number: abc\n"))
        #expect(try run("echo 'unterminated") == (2, "sh: syntax error: unterminated quoted string\n"))
        #expect(try run("cat x | wc").0 == 2)
        #expect(try run("sleep 5 && exit 6") == (6, ""))
        // kill is an ash builtin: its messages are the shell's.
        #expect(try run("kill -9 99999") == (1, "sh: can't kill pid 99999: No such process\n"))
        #expect(try run("kill -FOO 1") == (1, "sh: bad signal name 'FOO'\n"))
        #expect(try run("sleep x") == (1, "sleep: invalid number 'x'\n"))
        // exec (an ash builtin): the command replaces the shell, nothing after it runs.
        #expect(try run("exec nosuch; exit 3") == (127, "sh: exec: line 0: nosuch: not found\n"))
        #expect(try run("exec; exit 4") == (4, ""))
        #expect(try run("exec false; exit 0") == (1, ""))
        #expect(try run("exec false > /tmp/x; exit 0") == (1, ""))
        let replaced = try Self.spawn(kernel, ["sh", "-c", "exec sleep 50; exit 9"], in: pause)
        kernel.run(until: kernel.clock.nanos + SimClock.nanos(1)) { false }
        #expect(replaced.argv == ["sleep", "50"] && replaced.exitStatus == nil, "the shell became sleep, same pid")
    }

    @Test func killFromInsideSeesOnlyItsNamespace() throws {
        let kernel = SimKernel()
        let (_, pause) = try Self.podNamespace(kernel)
        let victim = try Self.spawn(kernel, ["sleep", "100"], in: pause)
        let victimPid = try #require(victim.pid(in: pause.pidNamespace))
        let killer = try Self.spawn(kernel, ["kill", "\(victimPid)"], in: pause)
        #expect(killer.exitStatus == .exited(0))
        #expect(victim.exitStatus == .signaled(.term))
        #expect(victim.exitDetail?.sender == "pid 3 (kill)")
        // The host's pids are not visible from inside.
        let outside = try kernel.spawn(
            argv: ["sleep", "100"], env: [], cwd: "/", namespaces: kernel.host,
            parent: kernel.supervisor, output: SimOutput())
        let blind = try Self.spawn(kernel, ["kill", "\(outside.hostPid)"], in: pause)
        #expect(blind.exitStatus == .exited(1))
        #expect(outside.isAlive)
    }

    @Test func virtualTimeRunsEventsInOrder() {
        var clock = SimClock()
        var log: [String] = []
        clock.schedule(at: 5) { log.append("b") }
        clock.schedule(at: 1) { log.append("a") }
        clock.schedule(at: 5) { log.append("c") }
        while let action = clock.popDue(upTo: 10) { action() }
        #expect(log == ["a", "b", "c"])
        #expect(clock.nanos == 5)
    }
}
