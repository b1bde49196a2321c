import CLua
import CLuaShim
import PodBackends
import PodKit
import PodManifests
import PodSim

/// `pod.sim.program(name, fn)`: programs for the sim backend written in Lua. Each run is a
/// coroutine `fn(proc)`; `proc:sleep`, `proc:wait` and `proc:fetch` yield to the simulated
/// kernel, which resumes the coroutine in virtual time. Each request to a `proc:listen` handler
/// runs in a coroutine of its own. Returning from `fn` exits 0; an error exits 1 with the
/// message (and traceback) in the container's log; `print` writes to the log.
final class SimPrograms {
    /// What a yielding `proc` method asked for.
    enum Pending {
        case sleep(Double)
        case wait
        case fetch(String)
        case exit(Int32)
    }

    /// The `proc` object of one process.
    final class Proc {
        let context: SimContext
        init(context: SimContext) { self.context = context }
    }

    /// What the coroutine that just yielded asked for. One slot is enough: a yield returns
    /// straight to the resume that runs it, whichever proc object the method was called on.
    private var pending: Pending?

    unowned let module: PodModule
    let L: OpaquePointer
    private var procs: [Int: Proc] = [:]
    private var nextProc = 0
    /// The process whose Lua code runs now (for `print`), innermost last.
    private(set) var running: [SimContext] = []
    static let procMetatable = "swift-pods.Proc"

    init(module: PodModule, L: OpaquePointer) {
        (self.module, self.L) = (module, L)
    }

    /// `pod.sim.program(name, fn)`.
    func register(_ call: LuaCall) -> LuaHost.Outcome {
        guard let name = call.string(1), !name.isEmpty else {
            return .error("pod.sim.program: the name must be a non-empty string, got \(call.typeName(1))")
        }
        guard call.type(2) == LUA_TFUNCTION else {
            return .error("pod.sim.program: the program must be a function, got \(call.typeName(2))")
        }
        guard let host = module.runtime.backend as? any SimProgramHost else {
            return .error("pod.sim.program: programs run on the sim backend; this runtime uses \(module.runtime.backend.name)")
        }
        guard !host.reservedPrograms.contains(name) else {
            return .error("pod.sim.program: '\(name)' is the sandbox's own program and cannot be replaced")
        }
        lua_settop(call.L, 2)
        let function = luaL_ref(call.L, clua_registryindex())  // pops fn
        host.register(program: name) { [unowned self] ctx in self.start(function: function, ctx) }
        return .values(0)
    }

    // MARK: Running coroutines

    private func start(function: Int32, _ ctx: SimContext) -> SimStep {
        guard lua_checkstack(L, 4) != 0, let co = lua_newthread(L) else { return .exit(1) }
        let threadRef = luaL_ref(L, clua_registryindex())  // anchors and pops the thread
        ctx.atExit { [weak self] in self?.release(threadRef) }
        let proc = Proc(context: ctx)
        nextProc += 1
        let handle = nextProc
        procs[handle] = proc
        ctx.atExit { [weak self] in self?.procs[handle] = nil }
        _ = lua_checkstack(co, 4)
        lua_rawgeti(co, clua_registryindex(), lua_Integer(function))
        pushProc(co, handle)
        return resume(co, proc, nargs: 1) { _ in .exit(0) }
    }

    private func release(_ ref: Int32) {
        luaL_unref(L, clua_registryindex(), ref)
    }

    /// A registry reference released once: when its coroutine finishes, or when the process
    /// exits while the coroutine is suspended.
    final class Anchor {
        private weak var owner: SimPrograms?
        private var ref: Int32?
        init(_ owner: SimPrograms, _ ref: Int32) {
            (self.owner, self.ref) = (owner, ref)
        }
        func release() {
            guard let ref else { return }
            self.ref = nil
            owner?.release(ref)
        }
    }

    /// Resumes `co` and turns what it did into the kernel's next step. `finished` makes the
    /// step for a coroutine that returned (its results on its stack).
    func resume(_ co: OpaquePointer, _ proc: Proc, nargs: Int32, finished: @escaping (OpaquePointer) -> SimStep) -> SimStep {
        var count: Int32 = 0
        running.append(proc.context)
        let status = clua_resume(co, L, nargs, &count)
        running.removeLast()
        switch status {
        case LUA_OK:
            let step = finished(co)
            lua_settop(co, 0)
            return step
        case LUA_YIELD:
            lua_settop(co, 0)
            guard let pending = self.pending else { return .waitForever }
            self.pending = nil
            switch pending {
            case .exit(let code): return .exit(code)
            case .wait: return .waitForever
            case .sleep(let seconds):
                return .sleep(seconds) { [unowned self] _ in self.resume(co, proc, nargs: 0, finished: finished) }
            case .fetch(let url):
                return .fetch(url, SimHTTPRequest(path: SimPrograms.path(of: url))) { [unowned self] _, result in
                    _ = lua_checkstack(co, 2)
                    let call = LuaCall(co)
                    switch result {
                    case .success(let response) where response.status < 400:
                        call.push(response.body)
                        return self.resume(co, proc, nargs: 1, finished: finished)
                    case .success(let response):
                        call.pushNil()
                        call.push(response.statusLine)
                        return self.resume(co, proc, nargs: 2, finished: finished)
                    case .failure(let error):
                        call.pushNil()
                        call.push(error.description)
                        return self.resume(co, proc, nargs: 2, finished: finished)
                    }
                }
            }
        default:
            let message = LuaCall(co).string(-1) ?? "(error object is not a string)"
            lua_settop(co, 0)
            proc.context.writeError(message + "\n")
            return .exit(1)
        }
    }

    static func path(of url: String) -> String {
        guard url.hasPrefix("http://") else { return "/" }
        let rest = url.dropFirst(7)
        return rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
    }

    // MARK: proc

    private func pushProc(_ co: OpaquePointer, _ handle: Int) {
        _ = lua_checkstack(co, 4)
        guard let block = lua_newuserdatauv(co, MemoryLayout<Int>.size, 0) else { return }
        block.storeBytes(of: handle, as: Int.self)
        clua_setmetatable(co, SimPrograms.procMetatable)
    }

    func proc(at index: Int32, _ call: LuaCall) -> Proc? {
        guard let block = clua_testudata(call.L, index, SimPrograms.procMetatable) else { return nil }
        return procs[block.load(as: Int.self)]
    }

    /// Installs the Proc metatable (its methods and fields).
    func installMetatable() {
        var ids: [String: Int32] = [:]
        for (name, method) in methods() {
            ids[name] = module.host.register { [unowned self] call in
                guard let proc = self.proc(at: 1, call) else {
                    return .error("proc.\(name): call it as proc:\(name)(...) (self is \(call.typeName(1)), not a proc)")
                }
                return method(proc, call)
            }
        }
        module.host.installMetatable(
            L, name: SimPrograms.procMetatable, typeName: "proc",
            index: { [unowned self] call in
                guard let proc = self.proc(at: 1, call), let key = call.string(2) else {
                    call.pushNil()
                    return .values(1)
                }
                switch key {
                case "pid": call.push(proc.context.pid)
                case "args":
                    let args = proc.context.args
                    call.pushTable(arrayCount: Int32(args.count)) { t in
                        for (i, arg) in args.enumerated() { t.append(i + 1) { call.push(arg) } }
                    }
                default:
                    if let id = ids[key] { self.module.host.pushFunction(call.L, id) } else { call.pushNil() }
                }
                return .values(1)
            })
    }

    typealias Method = (Proc, LuaCall) -> LuaHost.Outcome

    private func methods() -> [(String, Method)] {
        unowned let self_ = self
        return [
            (
                "hostname",
                { proc, call in
                    call.push(proc.context.hostname())
                    return .values(1)
                }
            ),
            (
                "env",
                { proc, call in
                    guard let name = call.string(2) else { return .error("proc:env: the name must be a string, got \(call.typeName(2))") }
                    if let value = proc.context.env(name) { call.push(value) } else { call.pushNil() }
                    return .values(1)
                }
            ),
            (
                "sleep",
                { proc, call in
                    guard let seconds = call.number(2), seconds >= 0, seconds.isFinite else {
                        return .error("proc:sleep: seconds must be a non-negative number, got \(call.typeName(2))")
                    }
                    self_.pending = .sleep(seconds)
                    return .values(CLUA_YIELD_BASE)
                }
            ),
            (
                "wait",
                { proc, _ in
                    self_.pending = .wait
                    return .values(CLUA_YIELD_BASE)
                }
            ),
            (
                "exit",
                { proc, call in
                    self_.pending = .exit(Int32(clamping: call.integer(2) ?? 0))
                    return .values(CLUA_YIELD_BASE)
                }
            ),
            (
                "fetch",
                { proc, call in
                    guard let url = call.string(2) else { return .error("proc:fetch: the URL must be a string, got \(call.typeName(2))") }
                    self_.pending = .fetch(url)
                    return .values(CLUA_YIELD_BASE)
                }
            ),
            (
                "read",
                { proc, call in
                    guard let path = call.string(2) else { return .error("proc:read: the path must be a string, got \(call.typeName(2))") }
                    switch proc.context.read(path) {
                    case .success(let content):
                        call.push(content)
                        return .values(1)
                    case .failure(let error):
                        call.pushNil()
                        call.push("\(path): \(error)")
                        return .values(2)
                    }
                }
            ),
            (
                "write",
                { proc, call in
                    guard let path = call.string(2), let data = call.string(3) else {
                        return .error("proc:write: expected a path and a string, got \(call.typeName(2)) and \(call.typeName(3))")
                    }
                    if let error = proc.context.writeFile(path, data) {
                        call.pushNil()
                        call.push("\(path): \(error)")
                        return .values(2)
                    }
                    call.push(true)
                    return .values(1)
                }
            ),
            (
                "alloc",
                { proc, call in
                    guard let bytes = call.integer(2), bytes >= 0 else {
                        return .error("proc:alloc: bytes must be a non-negative integer, got \(call.typeName(2))")
                    }
                    if !proc.context.alloc(bytes) {
                        self_.pending = .wait
                        return .values(CLUA_YIELD_BASE)
                    }
                    call.push(true)
                    return .values(1)
                }
            ),
            ("listen", { [unowned self] proc, call in self.listen(proc, call) }),
            ("trap", { [unowned self] proc, call in self.trap(proc, call) }),
        ]
    }

    /// `proc:listen(port, handler)`: each request runs `handler(request)` in a coroutine of its
    /// own; it returns a body string or `{ status =, body = }`.
    private func listen(_ proc: Proc, _ call: LuaCall) -> LuaHost.Outcome {
        guard let port = call.integer(2) else { return .error("proc:listen: the port must be an integer, got \(call.typeName(2))") }
        guard call.type(3) == LUA_TFUNCTION else { return .error("proc:listen: the handler must be a function, got \(call.typeName(3))") }
        lua_settop(call.L, 3)
        let handler = luaL_ref(call.L, clua_registryindex())
        proc.context.atExit { [weak self] in self?.release(handler) }
        let error = proc.context.listen(Int(port)) { [unowned self] ctx, request in
            self.serve(handler: handler, proc: proc, ctx, request)
        }
        if let error {
            release(handler)
            call.pushNil()
            call.push("\(error)")
            return .values(2)
        }
        call.push(true)
        return .values(1)
    }

    private func serve(handler: Int32, proc: Proc, _ ctx: SimContext, _ request: SimHTTPRequest) -> SimStep {
        guard lua_checkstack(L, 4) != 0, let co = lua_newthread(L) else {
            return .respond(SimHTTPResponse(status: 500, body: "500 Internal Server Error\n"))
        }
        let anchor = Anchor(self, luaL_ref(L, clua_registryindex()))
        ctx.atExit { anchor.release() }
        // The request thread's own proc: its yields are its own, not the main thread's.
        let requestProc = Proc(context: ctx)
        _ = lua_checkstack(co, 4)
        lua_rawgeti(co, clua_registryindex(), lua_Integer(handler))
        let call = LuaCall(co)
        call.pushTable(fieldCount: 4) { t in
            t.set("method", request.method)
            t.set("path", request.path)
            t.set("body", request.body)
            t.set("headers") {
                call.pushTable(fieldCount: Int32(request.headers.count)) { h in
                    for (key, value) in request.headers.sorted(by: { $0.key < $1.key }) { h.set(key, value) }
                }
            }
        }
        let step = resume(co, requestProc, nargs: 1) { co in
            anchor.release()
            return .respond(SimPrograms.response(from: co))
        }
        if case .exit = step {
            // The handler failed: the client gets a 500, the process keeps running.
            anchor.release()
            return .respond(SimHTTPResponse(status: 500, body: "500 Internal Server Error\n"))
        }
        return step
    }

    /// A handler's return value as a response: a string body, or `{ status =, body = }`.
    static func response(from co: OpaquePointer) -> SimHTTPResponse {
        let call = LuaCall(co)
        let top = lua_gettop(co)
        guard top >= 1 else { return SimHTTPResponse(status: 204) }
        if let body = call.string(1) { return SimHTTPResponse(body: body) }
        if lua_type(co, 1) == LUA_TTABLE {
            _ = call.ensureStack(2)
            call.push("status")
            lua_rawget(co, 1)
            let status = call.integer(-1).map { Int($0) } ?? 200
            clua_pop(co, 1)
            call.push("body")
            lua_rawget(co, 1)
            let body = call.string(-1) ?? ""
            clua_pop(co, 1)
            return SimHTTPResponse(status: status, body: body)
        }
        return SimHTTPResponse(status: 500, body: "500 Internal Server Error\n")
    }

    /// `proc:trap(signal, fn)`: on the signal, `fn()` runs; `proc:exit` in it ends the process.
    private func trap(_ proc: Proc, _ call: LuaCall) -> LuaHost.Outcome {
        let signal: Signal
        if let name = call.string(2), let parsed = Signal(name: name) {
            signal = parsed
        } else if let number = call.integer(2), let parsed = Signal(number: Int32(clamping: number)) {
            signal = parsed
        } else {
            return .error("proc:trap: unknown signal \(call.typeName(2) == "string" ? "'\(call.string(2) ?? "")'" : call.typeName(2))")
        }
        guard signal != .kill else { return .error("proc:trap: SIGKILL cannot be caught") }
        guard call.type(3) == LUA_TFUNCTION else { return .error("proc:trap: the handler must be a function, got \(call.typeName(3))") }
        lua_settop(call.L, 3)
        let handler = luaL_ref(call.L, clua_registryindex())
        proc.context.atExit { [weak self] in self?.release(handler) }
        proc.context.trap(signal) { [unowned self] ctx in
            guard lua_checkstack(self.L, 4) != 0, let co = lua_newthread(self.L) else { return nil }
            let anchor = Anchor(self, luaL_ref(self.L, clua_registryindex()))
            ctx.atExit { anchor.release() }
            lua_rawgeti(co, clua_registryindex(), lua_Integer(handler))
            let handlerProc = Proc(context: ctx)
            var finished = false
            let step = self.resume(co, handlerProc, nargs: 0) { _ in
                finished = true
                anchor.release()
                return .waitForever
            }
            // A handler that returned lets the process carry on; one that exited or blocks
            // takes over the main thread.
            return finished ? nil : step
        }
        return .values(0)
    }
}
