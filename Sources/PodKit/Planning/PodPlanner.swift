/// Decide, then act: the pure half of the runtime. Given a pod's spec, what has been observed
/// of it and the time, `PodPlanner.plan` returns the next actions, each with its reason, and
/// when it wants to be asked again. It performs no I/O and keeps no state, so every lifecycle
/// rule can be tested by feeding it views (kubelet's `computePodActions` is the model).
public enum PodPlanner {
    /// Everything the planner looks at.
    public struct View: Sendable, Equatable {
        public enum Infra: Sendable, Equatable {
            /// No sandbox yet (or it was removed for recreation).
            case none
            case running
            /// Died on its own (not stopped by us).
            case dead(String)
            /// Stopped by the runtime at the end of the pod.
            case stopped
        }

        public struct Container: Sendable, Equatable {
            public enum Kind: Sendable, Equatable {
                case initContainer
                case sidecar
                case app
            }

            public var name: String
            public var kind: Kind
            public var state: ContainerState
            /// The end of its last run, if it ran (also while it waits in CrashLoopBackOff).
            public var lastTermination: Termination?
            /// Whether it ever ran in the current sandbox.
            public var started: Bool
            /// A regular init container that exited 0 in the current sandbox.
            public var completed: Bool
            /// When the crash backoff lets it start again.
            public var restartAt: Double?
            /// The delay of that backoff, for the message.
            public var backoffDelay: Double
            /// Signals already sent to the current run.
            public var termSent: Bool
            public var killSent: Bool
            /// Its image is being pulled: nothing starts it until the pull ends.
            public var pullingImage: Bool = false
            /// When its image may be tried again (after ErrImagePull, ErrImageNeverPull or
            /// InvalidImageName; kubelet's image backoff for pulls).
            public var imageRetryAt: Double? = nil
        }

        public var podName: String
        public var restartPolicy: RestartPolicy
        public var gracePeriod: Int64
        public var phase: PodPhase
        public var infra: Infra
        public var containers: [Container]
        /// When a stop (asked for, or the pod's completion) began, and its grace period.
        public var stoppingSince: Double?
        public var stopGrace: Int64
        /// Why the node evicted the pod, once it did.
        public var evicted: String? = nil
    }

    /// One thing to do, and why.
    public struct Action: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable {
            case createSandbox
            /// Remove the dead sandbox and make a new one (kubelet's SandboxChanged).
            case recreateSandbox
            case startContainer(String)
            /// Signal a container's current run; the cause is recorded for its termination.
            case signalContainer(String, Signal, TerminationCause?)
            /// Wait in CrashLoopBackOff until the given time.
            case backOff(String, until: Double)
            /// Wait in ImagePullBackOff until the given time (after ErrImagePull).
            case imageBackOff(String, until: Double)
            /// End the pause process once no container runs.
            case stopInfra
            case setPhase(PodPhase, message: String?)
            /// The pod failed with reason Evicted and this message (kubelet's eviction).
            case setEvicted(message: String)
            /// Begin winding the pod down (sidecars, then infra), as after a stop.
            case beginStop
        }

        public var kind: Kind
        public var reason: String

        public init(_ kind: Kind, _ reason: String) {
            (self.kind, self.reason) = (kind, reason)
        }

        public var description: String { "\(kind): \(reason)" }
    }

    /// The actions and the next time to plan again without a new observation.
    public struct Plan: Sendable, Equatable {
        public var actions: [Action] = []
        public var wakeup: Double?

        mutating func add(_ kind: Action.Kind, _ reason: String) { actions.append(Action(kind, reason)) }
        mutating func wake(at time: Double) { wakeup = min(wakeup ?? time, time) }
    }

    public static func plan(_ view: View, now: Double) -> Plan {
        var plan = Plan()
        let anyRunning = view.containers.contains { $0.state.isRunning }

        // Evicted (kubelet's eviction manager kills the pod with a grace period of 0): every
        // running container is killed, the pause ended, the pod Failed; nothing restarts.
        if let message = view.evicted {
            for c in view.containers where c.state.isRunning && !c.killSent {
                plan.add(.signalContainer(c.name, .kill, .evicted(message)), "the pod was evicted: \(message)")
            }
            if anyRunning { return plan }
            if view.infra == .running { plan.add(.stopInfra, "the pod was evicted") }
            if !view.phase.isTerminal { plan.add(.setEvicted(message: message), "the pod was evicted; nothing restarts") }
            return plan
        }

        if case .dead(let why) = view.infra {
            for c in view.containers where c.state.isRunning && !c.killSent {
                plan.add(.signalContainer(c.name, .kill, .infraDeath), "the pod's infra container died: \(why)")
            }
            if anyRunning || view.phase.isTerminal { return plan }
            if view.stoppingSince != nil {
                plan.add(.setPhase(finalPhase(view), message: nil), "every container has terminated")
            } else if view.restartPolicy == .never {
                plan.add(
                    .setPhase(.failed, message: "the pod's infra container (pause) died: \(why)"),
                    "restartPolicy is Never, so the sandbox is not recreated")
            } else {
                plan.add(.recreateSandbox, "the pod's infra container died (\(why)); restartPolicy is \(view.restartPolicy.rawValue)")
            }
            return plan
        }

        if let since = view.stoppingSince {
            planStop(view, since: since, now: now, anyRunning: anyRunning, into: &plan)
            return plan
        }
        if view.phase.isTerminal { return plan }
        if view.infra == .none {
            plan.add(.createSandbox, "the pod has no sandbox")
            return plan
        }

        // Init containers, one after another; a sidecar must be running before the next starts.
        // Once the app containers have started, a sidecar that exits is restarted on its own.
        let appsStarted = view.containers.contains { $0.kind == .app && $0.started }
        for c in view.containers where c.kind != .app {
            if c.kind == .sidecar {
                if c.state.isRunning { continue }
                startOrBackOff(c, view, now: now, into: &plan, reason: c.started ? "sidecar \(c.name) exited" : "sidecar \(c.name) is next")
                if appsStarted { continue }
                return plan
            }
            if c.completed || appsStarted { continue }
            if c.state.isRunning { return plan }
            if let termination = c.lastTermination, c.started {
                if view.restartPolicy == .never {
                    plan.add(
                        .setPhase(.failed, message: "init container \(c.name) failed with exit code \(termination.exitCode)"),
                        "restartPolicy is Never")
                    plan.add(.beginStop, "the pod failed")
                    return plan
                }
                startOrBackOff(c, view, now: now, into: &plan, reason: "init container \(c.name) failed")
                return plan
            }
            start(c, now: now, into: &plan, reason: "init container \(c.name) is next")
            return plan
        }

        // App containers.
        var restarting = false
        var startingApp = false
        var allTerminated = true
        for c in view.containers where c.kind == .app {
            if c.state.isRunning {
                allTerminated = false
                continue
            }
            guard c.started, let termination = c.lastTermination else {
                allTerminated = false
                if !c.started && start(c, now: now, into: &plan, reason: "init containers are done") { startingApp = true }
                continue
            }
            if shouldRestart(termination, view.restartPolicy) {
                restarting = true
                let before = plan.actions.count
                startOrBackOff(
                    c, view, now: now, into: &plan,
                    reason: "container \(c.name) \(termination.cause); restartPolicy is \(view.restartPolicy.rawValue)")
                if plan.actions.count > before, case .startContainer = plan.actions[plan.actions.count - 1].kind { startingApp = true }
            }
        }
        if allTerminated && !restarting && !startingApp {
            plan.add(.setPhase(finalPhase(view), message: nil), "every app container has terminated and none restarts")
            plan.add(.beginStop, "the pod is complete: stop sidecars and infra")
        } else if view.phase == .pending && appsStarted {
            plan.add(.setPhase(.running, message: nil), "the app containers have been started")
        }
        return plan
    }

    /// A graceful stop: TERM the app (and one-shot init) containers, then the sidecars one at a
    /// time in reverse order, SIGKILL whatever is left at the deadline, then end the infra.
    static func planStop(_ view: View, since: Double, now: Double, anyRunning: Bool, into plan: inout Plan) {
        let deadline = since + Double(view.stopGrace)
        if now >= deadline && anyRunning {
            for c in view.containers where c.state.isRunning && !c.killSent {
                plan.add(
                    .signalContainer(c.name, .kill, .gracePeriodExpired(seconds: view.stopGrace)),
                    "the grace period of \(view.stopGrace) s expired")
            }
            return
        }
        var mainRunning = false
        for c in view.containers where c.state.isRunning && c.kind != .sidecar {
            mainRunning = true
            if !c.termSent { plan.add(.signalContainer(c.name, .term, nil), "the pod is stopping") }
        }
        if !mainRunning, let sidecar = view.containers.last(where: { $0.kind == .sidecar && $0.state.isRunning }), !sidecar.termSent {
            plan.add(.signalContainer(sidecar.name, .term, nil), "the app containers have terminated; sidecars stop in reverse order")
        }
        if anyRunning {
            plan.wake(at: deadline)
            return
        }
        if view.infra == .running {
            plan.add(.stopInfra, "every container has terminated")
        }
        if !view.phase.isTerminal {
            plan.add(.setPhase(finalPhase(view), message: nil), "every container has terminated")
        }
    }

    static func startOrBackOff(_ c: View.Container, _ view: View, now: Double, into plan: inout Plan, reason: String) {
        if let at = c.restartAt, at > now {
            if case .waiting(let why, _) = c.state, why == "CrashLoopBackOff" {
                plan.wake(at: at)
                return
            }
            plan.add(.backOff(c.name, until: at), "\(reason); back-off \(c.backoffDelay.formatted3)s")
            plan.wake(at: at)
            return
        }
        start(c, now: now, into: &plan, reason: reason)
    }

    /// Starts `c` unless its image holds it back: a pull under way, or a retry time after an
    /// image failure (ErrImagePull turns into ImagePullBackOff until then). True when the start
    /// was planned.
    @discardableResult
    static func start(_ c: View.Container, now: Double, into plan: inout Plan, reason: String) -> Bool {
        if c.pullingImage { return false }
        if let at = c.imageRetryAt, at > now {
            if case .waiting(let why, _) = c.state, why == "ErrImagePull" {
                plan.add(.imageBackOff(c.name, until: at), "\(reason); its image failed to pull")
            }
            plan.wake(at: at)
            return false
        }
        plan.add(.startContainer(c.name), reason)
        return true
    }

    static func shouldRestart(_ termination: Termination, _ policy: RestartPolicy) -> Bool {
        switch policy {
        case .always: return true
        case .onFailure: return termination.exitCode != 0
        case .never: return false
        }
    }

    /// Succeeded when every app container's last run exited 0, else Failed.
    static func finalPhase(_ view: View) -> PodPhase {
        var apps = 0
        for c in view.containers where c.kind == .app {
            apps += 1
            if c.state.isRunning || c.lastTermination?.exitCode != 0 { return .failed }
        }
        return apps > 0 ? .succeeded : .failed
    }
}
