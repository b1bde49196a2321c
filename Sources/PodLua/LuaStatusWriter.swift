import PodBackends
import PodKit
import PodManifests
import PodSim

/// Status, events and exec results as the Lua tables of PodLua.docc/LuaAPI.md. Integers (pids, exit
/// codes, signals, restart counts) are Lua integers; times are floats.
struct LuaStatusWriter {
    let call: LuaCall

    func push(_ status: PodStatus) {
        call.pushTable(fieldCount: 8) { t in
            t.set("phase", status.phase.rawValue)
            t.set("qosClass", status.qosClass.rawValue)
            t.set("hostname", status.hostname)
            t.set("message", status.message)
            t.set("reason", status.reason)
            t.set("infra") {
                call.pushTable(fieldCount: 2) { infra in
                    infra.set("state", status.infra.state)
                    infra.set("pid", status.infra.pid)
                }
            }
            t.set("containers") { push(status.containers) }
            t.set("initContainers") { push(status.initContainers) }
        }
    }

    /// An array in spec order, each entry also under its name.
    private func push(_ containers: [ContainerStatus]) {
        call.pushTable(arrayCount: Int32(containers.count), fieldCount: Int32(containers.count)) { t in
            for (i, container) in containers.enumerated() {
                t.append(i + 1) { push(container) }
                t.alias(container.name, toIndex: i + 1)
            }
        }
    }

    private func push(_ container: ContainerStatus) {
        call.pushTable(fieldCount: 12) { t in
            t.set("name", container.name)
            t.set("state", container.state.name)
            t.set("restartCount", container.restartCount)
            switch container.state {
            case .waiting(let reason, let message):
                t.set("reason", reason)
                t.set("message", message)
            case .running(let startedAt, let pid):
                t.set("startedAt", startedAt)
                t.set("pid", pid)
            case .terminated(let termination):
                set(termination, into: t)
            }
            t.set("history") {
                call.pushTable(arrayCount: Int32(container.history.count)) { h in
                    for (i, termination) in container.history.enumerated() {
                        h.append(i + 1) { call.pushTable(fieldCount: 8) { set(termination, into: $0) } }
                    }
                }
            }
        }
    }

    private func set(_ termination: Termination, into t: LuaTableBuilder) {
        t.set("reason", termination.reason.rawValue)
        t.set("exitCode", Int(termination.exitCode))
        t.set("signal", termination.signal.map { Int($0) })
        t.set("startedAt", termination.startedAt)
        t.set("finishedAt", termination.finishedAt)
        t.set("cause", termination.cause.description)
        t.set("message", termination.message)
    }

    func push(_ events: [PodEvent]) {
        call.pushTable(arrayCount: Int32(events.count)) { t in
            for (i, event) in events.enumerated() {
                t.append(i + 1) {
                    call.pushTable(fieldCount: 5) { e in
                        e.set("time", event.time)
                        e.set("type", event.type.rawValue)
                        e.set("reason", event.reason)
                        e.set("container", event.container)
                        e.set("message", event.message)
                    }
                }
            }
        }
    }

    func push(_ result: ExecResult) {
        call.pushTable(fieldCount: 3) { t in
            t.set("exitCode", Int(result.exitCode))
            t.set("stdout", result.stdout)
            t.set("stderr", result.stderr)
        }
    }
}

/// A `PodSpec` as the flat Lua table a script writes (what `pod.fromyaml` returns): the
/// manifest's fields, with quantities as canonical strings.
struct LuaSpecWriter {
    let call: LuaCall

    func push(_ spec: PodSpec) {
        push(spec.flatNode)
    }

    private func push(_ node: SpecNode) {
        switch node.value {
        case .null: call.pushNil()
        case .bool(let b): call.push(b)
        case .number(let text):
            if let integer = Int64(text) { call.push(integer) } else { call.push(Double(text) ?? .nan) }
        case .string(let s): call.push(s)
        case .array(let items):
            call.pushTable(arrayCount: Int32(items.count)) { t in
                for (i, item) in items.enumerated() { t.append(i + 1) { push(item) } }
            }
        case .map(let entries):
            call.pushTable(fieldCount: Int32(entries.count)) { t in
                for entry in entries { t.set(entry.key) { push(entry.node) } }
            }
        }
    }
}
