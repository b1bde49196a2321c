import Testing

@testable import PodKit

/// The planner is pure: views in, actions with reasons out.
@Suite("Planner")
struct PlannerTests {
    typealias View = PodPlanner.View
    typealias C = PodPlanner.View.Container

    static func container(
        _ name: String, _ kind: C.Kind = .app, state: ContainerState = .waiting(reason: "ContainerCreating", message: nil),
        last: Termination? = nil, started: Bool = false, completed: Bool = false, restartAt: Double? = nil
    ) -> C {
        C(
            name: name, kind: kind, state: state, lastTermination: last, started: started, completed: completed,
            restartAt: restartAt, backoffDelay: 10, termSent: false, killSent: false)
    }

    static func view(
        _ containers: [C], infra: View.Infra = .running, policy: RestartPolicy = .always,
        phase: PodPhase = .pending, stopping: Double? = nil
    ) -> View {
        View(
            podName: "p", restartPolicy: policy, gracePeriod: 30, phase: phase, infra: infra, containers: containers,
            stoppingSince: stopping, stopGrace: 30)
    }

    static func exited(_ code: Int32, at time: Double) -> Termination {
        Termination(
            exitCode: code, signal: nil, reason: code == 0 ? .completed : .error, cause: .exited(code),
            startedAt: 0, finishedAt: time)
    }

    /// Evicted: kill everything at once (grace 0), under any restart policy, then end the pause
    /// and fail the pod with reason Evicted; once it has, nothing more.
    @Test func anEvictedPodIsKilledAndFailsWithoutRestarting() {
        let message = "Usage of EmptyDir volume \"v\" exceeds the limit \"10Mi\"."
        let running = Self.container("a", state: .running(startedAt: 1, pid: 10), started: true)
        let crashed = Self.exited(1, at: 5)
        let waiting = Self.container("b", state: .terminated(crashed), last: crashed, started: true, restartAt: 15)
        var view = Self.view([running, waiting], phase: .running)
        view.evicted = message
        #expect(
            PodPlanner.plan(view, now: 6).actions == [
                PodPlanner.Action(.signalContainer("a", .kill, .evicted(message)), "the pod was evicted: \(message)")
            ])
        let killed = Termination(
            exitCode: 137, signal: 9, reason: .error, cause: .evicted(message), startedAt: 1, finishedAt: 6)
        view.containers[0] = Self.container("a", state: .terminated(killed), last: killed, started: true, restartAt: 16)
        #expect(
            PodPlanner.plan(view, now: 20).actions == [
                PodPlanner.Action(.stopInfra, "the pod was evicted"),
                PodPlanner.Action(.setEvicted(message: message), "the pod was evicted; nothing restarts"),
            ])
        view.phase = .failed
        view.infra = .stopped
        #expect(PodPlanner.plan(view, now: 30).actions == [])
        // A stop under way is overtaken: no grace period.
        var stopping = Self.view([running], phase: .running, stopping: 0)
        stopping.evicted = message
        #expect(PodPlanner.plan(stopping, now: 1).actions.map(\.kind) == [.signalContainer("a", .kill, .evicted(message))])
        #expect(TerminationMapping.explains(.evicted(message), .kill))
    }

    @Test func aNewPodGetsASandboxFirst() {
        let plan = PodPlanner.plan(Self.view([Self.container("a")], infra: .none), now: 0)
        #expect(plan.actions == [PodPlanner.Action(.createSandbox, "the pod has no sandbox")])
    }

    @Test func initContainersGateTheApps() {
        let plan = PodPlanner.plan(Self.view([Self.container("setup", .initContainer), Self.container("a")]), now: 0)
        #expect(plan.actions == [PodPlanner.Action(.startContainer("setup"), "init container setup is next")])
        let done = Self.container(
            "setup", .initContainer, state: .terminated(Self.exited(0, at: 1)), last: Self.exited(0, at: 1),
            started: true, completed: true)
        let next = PodPlanner.plan(Self.view([done, Self.container("a")]), now: 1)
        #expect(next.actions == [PodPlanner.Action(.startContainer("a"), "init containers are done")])
        // Running once an app container has started (a start may wait for its image first).
        let app = Self.container("a", state: .running(startedAt: 1, pid: 9), started: true)
        #expect(
            PodPlanner.plan(Self.view([done, app]), now: 1).actions == [
                PodPlanner.Action(.setPhase(.running, message: nil), "the app containers have been started")
            ])
    }

    @Test func backoffWaitsAndWakesUpOnTime() {
        let crashed = Self.exited(1, at: 5)
        let c = Self.container("a", state: .terminated(crashed), last: crashed, started: true, restartAt: 15)
        let plan = PodPlanner.plan(Self.view([c], phase: .running), now: 5)
        #expect(
            plan.actions == [
                PodPlanner.Action(
                    .backOff("a", until: 15),
                    "container a exited with code 1; restartPolicy is Always; back-off 10s")
            ])
        #expect(plan.wakeup == 15)
        #expect(PodPlanner.plan(Self.view([c], phase: .running), now: 15).actions.map(\.kind) == [.startContainer("a")])
    }

    @Test func completionUnderNeverEndsThePod() {
        let ok = Self.exited(0, at: 3)
        let c = Self.container("a", state: .terminated(ok), last: ok, started: true)
        let plan = PodPlanner.plan(Self.view([c], policy: .never, phase: .running), now: 3)
        #expect(plan.actions.map(\.kind) == [.setPhase(.succeeded, message: nil), .beginStop])
    }

    @Test func stopTermsThenKillsAtTheDeadline() {
        let running = Self.container("a", state: .running(startedAt: 0, pid: 1000), started: true)
        let first = PodPlanner.plan(Self.view([running], phase: .running, stopping: 10), now: 10)
        #expect(first.actions == [PodPlanner.Action(.signalContainer("a", .term, nil), "the pod is stopping")])
        #expect(first.wakeup == 40)
        var termed = running
        termed.termSent = true
        let late = PodPlanner.plan(Self.view([termed], phase: .running, stopping: 10), now: 40)
        #expect(
            late.actions == [
                PodPlanner.Action(
                    .signalContainer("a", .kill, .gracePeriodExpired(seconds: 30)),
                    "the grace period of 30 s expired")
            ])
    }

    @Test func infraDeathKillsTheContainersThenDependsOnThePolicy() {
        let running = Self.container("a", state: .running(startedAt: 0, pid: 1000), started: true)
        let plan = PodPlanner.plan(Self.view([running], infra: .dead("exited with code 2"), phase: .running), now: 4)
        #expect(plan.actions.map(\.kind) == [.signalContainer("a", .kill, .infraDeath)])
        let dead = Self.exited(137, at: 4)
        let gone = Self.container("a", state: .terminated(dead), last: dead, started: true)
        #expect(PodPlanner.plan(Self.view([gone], infra: .dead("x"), phase: .running), now: 4).actions.map(\.kind) == [.recreateSandbox])
        #expect(
            PodPlanner.plan(Self.view([gone], infra: .dead("x"), policy: .never, phase: .running), now: 4).actions.map(\.kind)
                == [.setPhase(.failed, message: "the pod's infra container (pause) died: x")])
    }
}

@Suite("Crash backoff and termination mapping")
struct PureRuntimeRulesTests {
    @Test func backoffIsKubeletsDoublingFromTenSecondsToFiveMinutes() {
        var delays: [Double] = []
        var previous: Double? = nil
        for _ in 0..<8 {
            let delay = CrashBackoff.delay(ranFor: 1, previous: previous)
            delays.append(delay)
            previous = delay
        }
        #expect(delays == [0, 10, 20, 40, 80, 160, 300, 300])
        #expect(CrashBackoff.delay(ranFor: 600, previous: 300) == 0)
        #expect(CrashBackoff.delay(ranFor: 599.9, previous: 300) == 300)
    }

    @Test func exitsMapToKubernetesReasonsAndAttributedCauses() {
        func map(_ exit: ProcessExit, pending: TerminationCause? = nil) -> Termination {
            TerminationMapping.termination(of: exit, pending: pending, startedAt: 1, finishedAt: 2)
        }
        #expect(map(ProcessExit(exitCode: 0, time: 2)).reason == .completed)
        #expect(map(ProcessExit(exitCode: 3, time: 2)).cause == .exited(3))
        let oom = map(ProcessExit(exitCode: 137, signal: .kill, oomKilled: true, time: 2))
        #expect(oom.reason == .oomKilled && oom.cause == .oomKilled && oom.signal == 9)
        let start = map(ProcessExit(exitCode: 127, startError: "exec: \"x\": not found", time: 2))
        #expect(start.reason == .startError && start.message == "exec: \"x\": not found")
        // A SIGKILL the grace period explains is the grace period's; one it does not, the sender's.
        #expect(
            map(ProcessExit(exitCode: 137, signal: .kill, sender: "pid 1", time: 2), pending: .gracePeriodExpired(seconds: 30)).cause
                == .gracePeriodExpired(seconds: 30))
        #expect(
            map(ProcessExit(exitCode: 143, signal: .term, sender: "pid 7 (kill)", time: 2), pending: .gracePeriodExpired(seconds: 30)).cause
                == .signaled(.term, sender: "pid 7 (kill)"))
        #expect(map(ProcessExit(exitCode: 137, signal: .kill, time: 2)).cause == .signaled(.kill, sender: "an unknown sender"))
    }
}
