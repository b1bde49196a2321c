import CLua
import CLuaShim
import PodBackends
import PodKit
import PodManifests
import PodSim

/// The methods of `Pod` userdata: `p:start()`, `p:status()`, `p:exec(...)`, ... and the
/// metamethods `__tostring`, `__close` and `__gc`.
struct PodMethods {
    unowned let module: PodModule

    typealias Method = (Pod, LuaCall, String) -> LuaHost.Outcome

    /// The methods by name; each gets the pod, the call and its own name for messages.
    var methods: [String: Method] {
        [
            "start": { pod, call, name in
                return PodMethods.attempt(name) {
                    try pod.start()
                    lua_settop(call.L, 1)
                    return .values(1)
                }
            },
            "status": { pod, call, name in
                return PodMethods.attempt(name) {
                    LuaStatusWriter(call: call).push(try pod.status())
                    return .values(1)
                }
            },
            "events": { pod, call, name in
                return PodMethods.attempt(name) {
                    LuaStatusWriter(call: call).push(try pod.events())
                    return .values(1)
                }
            },
            "exec": { pod, call, name in
                guard let container = call.string(2) else {
                    return .error("\(name): the container name must be a string, got \(call.typeName(2))")
                }
                let argv: [String]
                switch LuaArgs.argv(call, 3, function: name) {
                case .success(let value): argv = value
                case .failure(let message): return .error(message.text)
                }
                let options: LuaArgs.ExecOptions
                switch LuaArgs.execOptions(call, 4, function: name) {
                case .success(let value): options = value
                case .failure(let message): return .error(message.text)
                }
                do {
                    let result = try pod.exec(container, argv, stdin: options.stdin, env: options.env, timeout: options.timeout)
                    LuaStatusWriter(call: call).push(result)
                    return .values(1)
                } catch let error as RuntimeError {
                    return PodMethods.domain(error, call, name)
                } catch {
                    return .error("\(name): \(error)")
                }
            },
            "logs": { pod, call, name in
                guard let container = call.string(2) else {
                    return .error("\(name): the container name must be a string, got \(call.typeName(2))")
                }
                var previous = false
                if call.type(3) == LUA_TTABLE {
                    _ = call.ensureStack(2)
                    call.push("previous")
                    lua_rawget(call.L, 3)
                    previous = call.boolean(-1)
                    clua_pop(call.L, 1)
                } else if !call.isNoneOrNil(3) {
                    return .error("\(name): options must be a table, got \(call.typeName(3))")
                }
                return PodMethods.attempt(name) {
                    call.push(try pod.logs(container, previous: previous))
                    return .values(1)
                }
            },
            "kill": { pod, call, name in
                guard let container = call.string(2) else {
                    return .error("\(name): the container name must be a string, got \(call.typeName(2))")
                }
                var signal = Signal.kill
                if let text = call.string(3) {
                    guard let parsed = Signal(name: text) else { return .error("\(name): unknown signal '\(text)'") }
                    signal = parsed
                } else if let number = call.integer(3) {
                    guard let parsed = Signal(number: Int32(clamping: number)) else { return .error("\(name): unknown signal \(number)") }
                    signal = parsed
                } else if !call.isNoneOrNil(3) {
                    return .error("\(name): the signal must be a name or a number, got \(call.typeName(3))")
                }
                do {
                    try pod.kill(container, signal: signal)
                    return .values(0)
                } catch let error as RuntimeError {
                    return PodMethods.domain(error, call, name)
                } catch {
                    return .error("\(name): \(error)")
                }
            },
            "stop": { pod, call, name in
                var grace: Int64?
                if let seconds = call.integer(2) {
                    grace = seconds
                } else if !call.isNoneOrNil(2) {
                    return .error("\(name): the grace period must be a whole number of seconds, got \(call.typeName(2))")
                }
                return PodMethods.attempt(name) {
                    try pod.stop(gracePeriod: grace)
                    lua_settop(call.L, 1)
                    return .values(1)
                }
            },
            "remove": { pod, _, name in
                return PodMethods.attempt(name) {
                    try pod.remove()
                    return .values(0)
                }
            },
            "detach": { pod, _, name in
                return PodMethods.attempt(name) {
                    try pod.detach()
                    return .values(0)
                }
            },
            "wait": { pod, call, name in PodMethods.wait(pod, call, name) },
        ]
    }

    /// Registers every method once; returns their function numbers by name.
    func register() -> [String: Int32] {
        var ids: [String: Int32] = [:]
        for (key, method) in methods {
            ids[key] = module.host.register { [unowned module] call in
                guard let pod = module.pod(at: 1, call) else {
                    return .error("Pod.\(key): call it as p:\(key)(...) (self is \(call.typeName(1)), not a Pod)")
                }
                return method(pod, call, "p:\(key)")
            }
        }
        return ids
    }

    /// `__index`: a method, or the fields `name` and `uid`.
    static func index(_ call: LuaCall, _ module: PodModule, _ ids: [String: Int32]) -> LuaHost.Outcome {
        guard let pod = module.pod(at: 1, call), let key = call.string(2) else {
            call.pushNil()
            return .values(1)
        }
        switch key {
        case "name": call.push(pod.name)
        case "uid": call.push(pod.uid)
        default:
            guard let id = ids[key] else {
                call.pushNil()
                return .values(1)
            }
            module.host.pushFunction(call.L, id)
        }
        return .values(1)
    }

    func metamethods() -> [(String, LuaHost.Function)] {
        [
            (
                "__tostring",
                { [unowned module] call in
                    guard let pod = module.pod(at: 1, call) else {
                        call.push("Pod(?)")
                        return .values(1)
                    }
                    call.push(pod.description)
                    return .values(1)
                }
            ),
            (
                "__close",
                { [unowned module] call in
                    if let pod = module.pod(at: 1, call) { try? pod.remove() }
                    return .values(0)
                }
            ),
            (
                "__gc",
                { [unowned module] call in
                    module.release(at: 1, call)
                    return .values(0)
                }
            ),
        ]
    }

    /// Runs `body`; a runtime error raises, prefixed with the method's name.
    static func attempt(_ name: String, _ body: () throws -> LuaHost.Outcome) -> LuaHost.Outcome {
        do {
            return try body()
        } catch {
            return .error("\(name): \(error)")
        }
    }

    /// Expected domain failures return `nil, message`; misuse raises.
    static func domain(_ error: RuntimeError, _ call: LuaCall, _ name: String) -> LuaHost.Outcome {
        switch error {
        case .containerNotRunning, .timeout:
            call.pushNil()
            call.push("\(error)")
            return .values(2)
        default:
            return .error("\(name): \(error)")
        }
    }

    /// `p:wait(phase or fn [, timeout])`.
    static func wait(_ pod: Pod, _ call: LuaCall, _ name: String) -> LuaHost.Outcome {
        var timeout = 30.0
        if let seconds = call.number(3) {
            if let problem = PodRuntime.durationProblem(seconds) {
                return .error("\(name): the timeout \(problem), got \(seconds.formattedSeconds)")
            }
            timeout = seconds
        } else if !call.isNoneOrNil(3) {
            return .error("\(name): the timeout must be a number of seconds, got \(call.typeName(3))")
        }
        if call.type(2) == LUA_TFUNCTION { return waitFor(pod, call, name, timeout: timeout) }
        guard let text = call.string(2) else {
            return .error("\(name): expected a phase name (Pending, Running, Succeeded, Failed) or a function, got \(call.typeName(2))")
        }
        guard let phase = PodPhase(rawValue: text) else {
            return .error("\(name): unknown phase '\(text)' (Pending, Running, Succeeded, Failed)")
        }
        do {
            switch try pod.wait(phase: phase, timeout: timeout) {
            case .satisfied:
                call.push(true)
                return .values(1)
            case .timedOut:
                call.pushNil()
                call.push("timeout after \(timeout.formattedSeconds) s (phase \(try pod.status().phase.rawValue))")
                return .values(2)
            case .unreachable(let final):
                call.pushNil()
                call.push("unreachable: pod is \(final.rawValue)")
                return .values(2)
            }
        } catch {
            return .error("\(name): \(error)")
        }
    }
}

extension PodMethods {
    /// `p:wait(fn [, timeout])`: `fn(status)` is called after every event until it returns true.
    static func waitFor(_ pod: Pod, _ call: LuaCall, _ name: String, timeout: Double) -> LuaHost.Outcome {
        var failure: String?
        let outcome: PodRuntime.WaitOutcome
        do {
            outcome = try pod.wait(timeout: timeout) { status in
                guard failure == nil, call.ensureStack(4) else { return true }
                lua_pushvalue(call.L, 2)
                LuaStatusWriter(call: call).push(status)
                guard clua_pcall_script(call.L, 1, 1) == LUA_OK else {
                    failure = call.string(-1) ?? "(error object is not a string)"
                    clua_pop(call.L, 1)
                    return true
                }
                let satisfied = call.boolean(-1)
                clua_pop(call.L, 1)
                return satisfied
            }
        } catch {
            return .error("\(name): \(error)")
        }
        if let failure { return .rawError(failure) }
        switch outcome {
        case .satisfied:
            call.push(true)
            return .values(1)
        case .timedOut:
            call.pushNil()
            call.push("timeout after \(timeout.formattedSeconds) s (the condition did not hold)")
            return .values(2)
        case .unreachable(let final):
            call.pushNil()
            call.push("unreachable: pod is \(final.rawValue)")
            return .values(2)
        }
    }
}

extension Double {
    /// "30", "2.5".
    var formattedSeconds: String {
        self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self)
    }
}
