import PodCore
import Testing

@testable import PodKit
@testable import PodSim

/// Every lifecycle rule of the lifecycle article (PodCore.docc/Lifecycle.md) on the sim backend, with exact virtual timestamps.
@Suite("Runtime lifecycle")
struct RuntimeLifecycleTests {
    static func pod(
        name: String = "p", policy: RestartPolicy = .always, shared: Bool = false, grace: Int64 = 30,
        init inits: [ContainerSpec] = [], _ containers: [ContainerSpec]
    ) -> PodSpec {
        PodSpec(
            name: name, shareProcessNamespace: shared, restartPolicy: policy, terminationGracePeriodSeconds: grace,
            initContainers: inits, containers: containers)
    }

    /// Runs a pod whose init container `setup` runs `script` before the container `app`.
    static func runWithSetup(_ runtime: PodRuntime, policy: RestartPolicy, _ script: String) throws -> Pod {
        try runtime.run(pod(policy: policy, init: [c("setup", "sh", "-c", script)], [c("app", "sleep", "100")]))
    }

    static func c(_ name: String, _ argv: String...) -> ContainerSpec { ContainerSpec(name: name, command: argv) }

    static func starts(_ events: [PodEvent], _ container: String) -> [Double] {
        events.filter { $0.reason == "Started" && $0.container == container }.map(\.time)
    }

    @Test func crashBackoffDoublesFromTenToThreeHundredSeconds() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod([Self.c("app", "sh", "-c", "sleep 1; exit 1")]))
        runtime.sleep(1000)
        let status = try pod.status()
        let history = status.containers[0].history
        let starts = Self.starts(try pod.events(), "app")
        #expect(history.map(\.finishedAt).prefix(9) == [1, 2, 13, 34, 75, 156, 317, 618, 919])
        // The gap between each exit and the next start.
        let gaps = zip(history, starts.dropFirst()).map { $1 - $0.finishedAt }
        #expect(gaps.prefix(8) == [0, 10, 20, 40, 80, 160, 300, 300])
        #expect(status.containers[0].restartCount == starts.count - 1)
        #expect(history.allSatisfy { $0.exitCode == 1 && $0.reason == .error && $0.cause == .exited(1) })
        let backoffs = try pod.events().filter { $0.reason == "BackOff" }
        #expect(backoffs.first?.time == 2)
        #expect(backoffs.first?.type == .warning)
    }

    @Test func crashLoopBackOffIsTheWaitingReason() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod([Self.c("app", "sh", "-c", "sleep 1; exit 1")]))
        runtime.sleep(5)  // exits at 1 and 2; the next start is due at 12
        let state = try pod.status().containers[0].state
        #expect(state == .waiting(reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container=app pod=p"))
        #expect(try pod.status().phase == .running)
    }

    @Test func backoffResetsAfterTenMinutesOfCleanRunning() throws {
        let runtime = PodRuntime()
        var run = 0
        (runtime.backend as? SimBackend)?.kernel.register("flaky") { _ in
            run += 1
            return .sleep(run == 4 ? 700 : 1) { _ in .exit(1) }
        }
        let pod = try runtime.run(Self.pod([Self.c("app", "flaky")]))
        runtime.sleep(800)
        let history = try pod.status().containers[0].history
        let starts = Self.starts(try pod.events(), "app")
        let gaps = zip(history, starts.dropFirst()).map { $1 - $0.finishedAt }
        // Exits 1-3 back off 0, 10, 20; run 4 lasted 700 s, so its exit restarts at once, and
        // the crash after it starts again from 10 s.
        #expect(gaps.prefix(5) == [0, 10, 20, 0, 10])
    }

    @Test func gracePeriodKillOfAPID1SleepThatIgnoresTerm() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod(grace: 30, [Self.c("app", "sleep", "3600")]))
        runtime.sleep(5)
        try pod.stop()
        #expect(runtime.now == 35)
        let termination = try #require(try pod.status().containers[0].state.termination)
        #expect(termination.exitCode == 137)
        #expect(termination.signal == 9)
        #expect(termination.cause == .gracePeriodExpired(seconds: 30))
        #expect(termination.finishedAt == 35)
        #expect(try pod.status().phase == .failed)
        #expect(try pod.status().infra.state == "terminated")
        let killing = try pod.events().filter { $0.reason == "Killing" }.map(\.time)
        #expect(killing == [5, 35])
        // Stopped means stopped: no restart, even under restartPolicy Always.
        runtime.sleep(100)
        #expect(try pod.status().containers[0].restartCount == 0)
    }

    @Test func sharedPIDNamespaceLetsTermEndSleep() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod(shared: true, [Self.c("app", "sleep", "3600")]))
        runtime.sleep(5)
        try pod.stop()
        #expect(runtime.now == 5)
        let termination = try #require(try pod.status().containers[0].state.termination)
        #expect(termination.exitCode == 143)
        #expect(termination.cause == .signaled(.term, sender: "the runtime (pod stop)"))
    }

    @Test func aTermHandlerMakesTheStopClean() throws {
        let runtime = PodRuntime()
        (runtime.backend as? SimBackend)?.kernel.register("server") { ctx in
            ctx.trap(.term) { _ in .sleep(2) { _ in .exit(0) } }
            return .waitForever
        }
        let pod = try runtime.run(Self.pod([Self.c("app", "server")]))
        try pod.stop()
        #expect(runtime.now == 2)
        #expect(try pod.status().phase == .succeeded)
        #expect(try pod.status().containers[0].state.termination?.reason == .completed)
    }

    @Test(
        "exit codes and reasons under each restart policy",
        arguments: [
            (RestartPolicy.never, "exit 0", PodPhase.succeeded, 0, Termination.Reason.completed),
            (RestartPolicy.never, "exit 2", PodPhase.failed, 0, Termination.Reason.error),
            (RestartPolicy.onFailure, "exit 0", PodPhase.succeeded, 0, Termination.Reason.completed),
            (RestartPolicy.onFailure, "exit 2", PodPhase.running, 2, Termination.Reason.error),
            (RestartPolicy.always, "exit 0", PodPhase.running, 2, Termination.Reason.completed),
            (RestartPolicy.always, "exit 2", PodPhase.running, 2, Termination.Reason.error),
        ])
    func restartPolicies(policy: RestartPolicy, script: String, phase: PodPhase, restarts: Int, reason: Termination.Reason) throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod(policy: policy, [Self.c("app", "sh", "-c", "sleep 1; \(script)")]))
        runtime.sleep(12.5)  // exits at 1, 2 (restart at once) and 13 (after 10 s) when restarted
        let status = try pod.status()
        #expect(status.phase == phase)
        #expect(status.containers[0].restartCount == restarts)
        #expect(status.containers[0].history.last?.reason == reason)
        #expect(status.containers[0].history.last?.exitCode == (script == "exit 0" ? 0 : 2))
        if phase.isTerminal { #expect(status.infra.state == "terminated") }
    }

    @Test func startErrorIsExitCode127() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod(policy: .never, [Self.c("app", "no-such-binary")]))
        runtime.sleep(1)
        let status = try pod.status()
        let termination = try #require(status.containers[0].state.termination)
        #expect(termination.exitCode == 127)
        #expect(termination.reason == .startError)
        #expect(termination.cause == .startFailure("exec: \"no-such-binary\": executable file not found in $PATH"))
        #expect(status.phase == .failed)
        #expect(try pod.events().contains { $0.reason == "Failed" && $0.message.contains("no-such-binary") })
    }

    @Test func initContainersRunInOrderBeforeTheApp() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(
            Self.pod(
                init: [Self.c("first", "sleep", "2"), Self.c("second", "sh", "-c", "sleep 3")],
                [Self.c("app", "sleep", "100")]))
        #expect(try pod.status().phase == .pending)
        runtime.sleep(4)
        #expect(try pod.status().phase == .pending)
        #expect(try pod.status().containers[0].state == .waiting(reason: "PodInitializing", message: nil))
        runtime.sleep(2)
        let events = try pod.events()
        #expect(Self.starts(events, "first") == [0])
        #expect(Self.starts(events, "second") == [2])
        #expect(Self.starts(events, "app") == [5])
        #expect(try pod.status().phase == .running)
        #expect(try pod.status().initContainers.map { $0.state.termination?.reason } == [.completed, .completed])
    }

    @Test func aFailedInitContainerFailsANeverPod() throws {
        let runtime = PodRuntime()
        let pod = try Self.runWithSetup(runtime, policy: .never, "exit 3")
        runtime.sleep(1)
        let status = try pod.status()
        #expect(status.phase == .failed)
        #expect(status.message == "init container setup failed with exit code 3")
        #expect(Self.starts(try pod.events(), "app") == [])
    }

    @Test func aFailedInitContainerIsRetriedWithBackoff() throws {
        let runtime = PodRuntime()
        let pod = try Self.runWithSetup(runtime, policy: .onFailure, "sleep 1; exit 3")
        runtime.sleep(14)
        #expect(Self.starts(try pod.events(), "setup") == [0, 1, 12])
        #expect(try pod.status().phase == .pending)
    }

    @Test func aSidecarRunsThroughTheAppsLifeAndStopsAfterIt() throws {
        let runtime = PodRuntime()
        (runtime.backend as? SimBackend)?.kernel.register("shipper") { ctx in
            ctx.trap(.term) { _ in .sleep(1) { _ in .exit(0) } }
            return .waitForever
        }
        var first = Self.c("logs", "shipper")
        first.restartPolicy = .always
        var second = Self.c("metrics", "shipper")
        second.restartPolicy = .always
        let pod = try runtime.run(Self.pod(policy: .never, init: [first, second], [Self.c("app", "sleep", "10")]))
        runtime.sleep(5)
        var status = try pod.status()
        #expect(status.initContainers.map(\.state.isRunning) == [true, true])
        #expect(status.phase == .running)
        runtime.sleep(20)
        status = try pod.status()
        #expect(status.phase == .succeeded)
        // The app ends at 10; the sidecars then stop in reverse order, one second each.
        #expect(status.initContainers.map { $0.state.termination?.finishedAt } == [12, 11])
        #expect(status.initContainers.map { $0.state.termination?.exitCode } == [0, 0])
        let killing = try pod.events().filter { $0.reason == "Killing" }.map { "\($0.time.formatted3) \($0.container ?? "")" }
        #expect(killing == ["10 metrics", "11 logs"])
        #expect(status.infra.state == "terminated")
    }

    @Test func aSidecarThatCrashesIsRestartedEvenUnderNever() throws {
        var sidecar = Self.c("side", "sh", "-c", "sleep 3; exit 1")
        sidecar.restartPolicy = .always
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod(policy: .never, init: [sidecar], [Self.c("app", "sleep", "100")]))
        runtime.sleep(10)
        #expect(Self.starts(try pod.events(), "side") == [0, 3])
        #expect(try pod.status().initContainers[0].restartCount == 1)
    }

    static func killInfra(_ runtime: PodRuntime, _ name: String) throws {
        let record = try runtime.record(name)
        let infra = try #require(record.sandbox?.infraProcess)
        try runtime.backend.signal(infra, .kill)
    }

    @Test func infraDeathUnderNeverFailsThePod() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod(policy: .never, [Self.c("a", "sleep", "100"), Self.c("b", "sleep", "100")]))
        runtime.sleep(3)
        try Self.killInfra(runtime, "p")
        runtime.sleep(1)
        let status = try pod.status()
        #expect(status.phase == .failed)
        #expect(status.message == "the pod's infra container (pause) died: killed by SIGKILL from the runtime")
        for container in status.containers {
            #expect(container.state.termination?.cause == .infraDeath)
            #expect(container.state.termination?.exitCode == 137)
            #expect(container.state.termination?.finishedAt == 3)
        }
        #expect(inventory(of: runtime.backend).processes == 0)
    }

    @Test("infra death under Always and OnFailure recreates the sandbox", arguments: [RestartPolicy.always, .onFailure])
    func infraDeathRecreatesTheSandbox(policy: RestartPolicy) throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod(policy: policy, shared: true, [Self.c("a", "sleep", "100")]))
        let before = try #require(try pod.status().infra.pid)
        runtime.sleep(3)
        try Self.killInfra(runtime, "p")
        runtime.sleep(1)
        let status = try pod.status()
        #expect(status.phase == .running)
        #expect(status.infra.state == "running")
        #expect(status.infra.pid != before)
        #expect(status.containers[0].restartCount == 1)
        #expect(status.containers[0].history.last?.cause == .infraDeath)
        #expect(try pod.events().map(\.reason).contains("SandboxChanged"))
        #expect(Self.starts(try pod.events(), "a") == [0, 3])
    }

    @Test(
        "kill counts as a crash",
        arguments: [
            (RestartPolicy.always, PodPhase.running, 1), (RestartPolicy.onFailure, PodPhase.running, 1),
            (RestartPolicy.never, PodPhase.failed, 0),
        ])
    func killIsACrash(policy: RestartPolicy, phase: PodPhase, restarts: Int) throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod(policy: policy, [Self.c("app", "sleep", "100")]))
        runtime.sleep(2)
        try pod.kill("app")
        let status = try pod.status()
        #expect(status.phase == phase)
        #expect(status.containers[0].restartCount == restarts)
        #expect(status.containers[0].history.first?.cause == .signaled(.kill, sender: "kill()"))
        #expect(status.containers[0].history.first?.exitCode == 137)
    }

    @Test func sameScenarioTwiceGivesIdenticalEvents() throws {
        func scenario() throws -> [PodEvent] {
            let runtime = PodRuntime()
            var sidecar = Self.c("side", "sleep", "1000")
            sidecar.restartPolicy = .always
            _ = try runtime.run(
                Self.pod(
                    name: "a", shared: true, init: [Self.c("setup", "sleep", "1"), sidecar],
                    [Self.c("web", "sh", "-c", "sleep 7; exit 1"), Self.c("db", "sleep", "50")]))
            _ = try runtime.run(Self.pod(name: "b", policy: .onFailure, [Self.c("job", "sh", "-c", "sleep 3; exit 2")]))
            runtime.sleep(200)
            try runtime.kill("a", container: "db")
            try runtime.stop("b")
            runtime.sleep(100)
            return runtime.events
        }
        let first = try scenario()
        #expect(first.count > 30)
        #expect(try scenario() == first)
    }

    @Test func execAndLogs() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod([Self.c("app", "sh", "-c", "echo started; sleep 5; exit 1"), Self.c("idle", "sleep", "1000")]))
        let result = try pod.exec("idle", ["echo", "hi"])
        #expect(result == ExecResult(exitCode: 0, stdout: "hi\n", stderr: ""))
        let failing = try pod.exec("idle", ["sh", "-c", "nosuch"])
        #expect(failing.exitCode == 127)
        #expect(failing.stderr == "sh: nosuch: not found\n")
        runtime.sleep(6)
        #expect(try pod.logs("app") == "started\n")
        #expect(try pod.logs("app", previous: true) == "started\n")
        // An exec that outlives its timeout is killed, and says so.
        #expect(throws: RuntimeError.timeout("sleep timed out after 2 s")) {
            try pod.exec("idle", ["sleep", "100"], timeout: 2)
        }
    }

    /// A crash loop keeps the logs `logs` can ask for — the current or last run and the one
    /// before — and no older one: a long loop must not hold every run's log.
    @Test func aCrashLoopKeepsTwoFinishedLogs() throws {
        let runtime = PodRuntime()
        // Each run prints one more line than the one before.
        var app = Self.c("app", "sh", "-c", "echo x >> /s/n; cat /s/n; exit 1")
        app.volumeMounts = [VolumeMount(name: "s", mountPath: "/s")]
        var spec = Self.pod(name: "crash", [app])
        spec.volumes = [VolumeSpec(name: "s", source: .emptyDir(EmptyDirVolumeSource()))]
        let pod = try runtime.run(spec)
        #expect(try pod.wait(timeout: 3600) { ($0.containers.first?.restartCount ?? 0) >= 8 } == .satisfied)
        let record = try runtime.record("crash")
        #expect(record.containers[0].finishedLogs.count <= ContainerRecord.keptFinishedLogs)
        let history = try pod.status().containers[0].history
        #expect(history.count >= 8)
        let last = try pod.logs("app")
        let previous = try pod.logs("app", previous: true)
        #expect(last.count == previous.count + 2 && last.hasPrefix(previous), "\(previous) then \(last)")
        try pod.remove()
    }

    @Test func detachedPodsAreNotSupervisedAndOutliveTheRuntime() throws {
        let backend = SimBackend()
        do {
            let runtime = PodRuntime(backend: backend)
            let pod = try runtime.run(Self.pod(name: "kept", [Self.c("app", "sh", "-c", "sleep 1; exit 1")]))
            _ = try runtime.run(Self.pod(name: "dropped", [Self.c("app", "sleep", "100")]))
            try pod.detach()
            runtime.sleep(30)
            #expect(try pod.status().containers[0].restartCount == 0)
            runtime.close()
        }
        let held = backend.inventory()
        #expect(held.sandboxes == 1)
        #expect(held.details.contains { $0.contains("pause") })
    }

    @Test func admissionChecksAreReportedLikeValidation() throws {
        let runtime = PodRuntime()
        var web = Self.pod(name: "web", [Self.c("app", "sleep", "100")])
        web.containers[0].ports = [ContainerPort(containerPort: 80, hostPort: 8080)]
        _ = try runtime.run(web)
        var clash = web
        clash.containers.append(Self.c("app", "true"))
        #expect(
            throws: RuntimeError.invalid(
                ValidationError([
                    FieldError(.duplicate, FieldPath("spec.containers[1].name"), value: "\"app\""),
                    FieldError(.duplicate, FieldPath("metadata.name"), value: "\"web\"", detail: "a pod of this name exists already"),
                    FieldError(
                        .duplicate, FieldPath("spec.containers[0].ports[0].hostPort"), value: "\"8080/TCP\"",
                        detail: "already published by pod \"web\""),
                ]))
        ) {
            try runtime.run(clash)
        }
        #expect(inventory(of: runtime.backend).sandboxes == 1)
    }

    @Test func badInputGivesClearErrors() throws {
        let runtime = PodRuntime()
        #expect(throws: RuntimeError.noSuchPod("ghost")) { try runtime.status(of: "ghost") }
        let pod = try runtime.run(Self.pod(policy: .never, [Self.c("app", "sh", "-c", "exit 0")]))
        runtime.sleep(1)
        #expect(throws: RuntimeError.noSuchContainer(pod: "p", container: "nope")) { try pod.logs("nope") }
        #expect(throws: RuntimeError.containerNotRunning(pod: "p", container: "app", state: "terminated: Completed, exit code 0")) {
            try pod.exec("app", ["echo"])
        }
        #expect(throws: RuntimeError.containerNotRunning(pod: "p", container: "app", state: "terminated: Completed, exit code 0")) {
            try pod.kill("app", signal: .term)
        }
        try pod.remove()
        try pod.remove()
        #expect(throws: RuntimeError.podRemoved("p")) { try pod.status() }
        #expect(throws: RuntimeError.podRemoved("p")) { try pod.kill("app") }
        #expect(pod.description == "Pod(p, removed)")
        // The name is free again, and the old handle does not reach the new pod.
        let again = try runtime.run(Self.pod(policy: .never, [Self.c("app", "sleep", "5")]))
        #expect(throws: RuntimeError.podRemoved("p")) { try pod.status() }
        #expect(again.description == "Pod(p, 1 container, Running)")
        #expect(inventory(of: runtime.backend).sandboxes == 1)
    }

    @Test func removeKillsAtOnceAndFreesEverything() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod(shared: true, [Self.c("a", "sleep", "100"), Self.c("b", "sh", "-c", "sleep 100; true")]))
        runtime.sleep(1)
        try pod.remove()
        #expect(runtime.now == 1)
        #expect(inventory(of: runtime.backend).isEmpty)
        #expect(runtime.list().isEmpty)
    }

    @Test func waitOutcomes() throws {
        let runtime = PodRuntime()
        let pod = try runtime.run(Self.pod(policy: .never, [Self.c("app", "sh", "-c", "sleep 4; exit 1")]))
        #expect(try pod.wait(phase: .running) == .satisfied)
        #expect(try pod.wait(phase: .succeeded, timeout: 2) == .timedOut)
        #expect(runtime.now == 2)
        #expect(try pod.wait(phase: .succeeded) == .unreachable(.failed))
        #expect(runtime.now == 4)
        #expect(try pod.wait { $0.containers[0].history.count == 1 } == .satisfied)
    }

    @Test func closeRemovesEveryPod() throws {
        let backend = SimBackend()
        let runtime = PodRuntime(backend: backend)
        _ = try runtime.run(Self.pod(name: "a", [Self.c("app", "sleep", "100")]))
        _ = try runtime.run(Self.pod(name: "b", shared: true, [Self.c("app", "sleep", "100")]))
        runtime.close()
        #expect(backend.inventory().isEmpty)
        #expect(throws: RuntimeError.unsupported("the runtime is closed")) { try runtime.run(Self.pod(name: "c", [Self.c("x", "true")])) }
    }

    @Test func asyncFacadeAndEventStream() async throws {
        let runtime = PodRuntimeActor()
        let stream = await runtime.eventStream()
        try await runtime.run(Self.pod(policy: .never, [Self.c("app", "sh", "-c", "sleep 1; exit 0")]))
        await runtime.sleep(2)
        #expect(try await runtime.status(of: "p").phase == .succeeded)
        await runtime.close()
        var reasons: [String] = []
        for await event in stream { reasons.append(event.reason) }
        #expect(reasons.starts(with: ["Scheduled", "Created", "Started"]))
        #expect(await runtime.events().count == reasons.count)
    }
}
