import CLua
import CLuaShim
import PodBackends
import PodKit
import PodManifests
import PodSim

/// A value returned from Lua to Swift.
public enum LuaValue: Sendable, Equatable {
    case `nil`
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    /// A table, function, userdata or thread, by its Lua type name.
    case other(String)
}

/// A Lua error, with Lua's `chunk:line: message` text and, for runtime errors, the traceback.
public struct LuaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed: loading (syntax), running, a limit, or memory.
    public enum Kind: Sendable, Equatable {
        case syntax
        case runtime
        /// The instruction budget or the memory limit stopped the chunk, or it was interrupted.
        case limit
        case memory
        case other
    }

    public var kind: Kind
    public var message: String
    public var description: String { message }
}

/// How a state runs scripts.
public struct LuaOptions: Sendable {
    /// The sandbox of PodLua.docc/Sandbox.md (an allowlisted environment); false opens every library.
    public var sandboxed: Bool
    /// The most memory the script may use, in bytes (nil: no limit).
    public var memoryLimit: Int?
    /// The most VM instructions one chunk may run (nil: no limit).
    public var instructionLimit: UInt64?
    /// The most wall-clock seconds one chunk may run, waits and C calls included (nil: no
    /// limit). Past it the chunk stops as an interrupt would, with a `wall-clock limit` error.
    public var timeLimit: Double?
    /// Whether `pod.use` may switch to a backend that acts on the host (the registry's trusted
    /// ones: linux, which runs as root and whose `pod.exec` runs host programs). By default only
    /// unsandboxed scripts may; podsh also allows it with `--backend linux`.
    public var allowsTrustedBackends: Bool
    /// Options given to every backend `pod.use` switches to (podsh's `--state-dir` and the
    /// like); each backend takes the ones it knows, and a script's own options win.
    public var hostBackendOptions: BackendOptions
    /// Whether `pod.exec` may run host programs on a trusted backend (linux). By default only
    /// unsandboxed scripts may; podsh also allows it with `--allow-host-exec`.
    public var allowsHostExec: Bool
    /// Backend options a script may not give `pod.use` itself: the host program's policy
    /// (podsh's sandbox locks `allowHostImage`, `allowHostNamespaces`, `allowPrivileged` and
    /// `allowHostPaths`).
    public var lockedBackendOptions: Set<String> = []
    /// The backends `pod.use` and `pod.backends()` know (a host program may add its own).
    public var registry: BackendRegistry = .standard

    public init(
        sandboxed: Bool = true, memoryLimit: Int? = 256 << 20, instructionLimit: UInt64? = 2_000_000_000,
        timeLimit: Double? = LuaOptions.defaultTimeLimit,
        allowsTrustedBackends: Bool? = nil, hostBackendOptions: BackendOptions = BackendOptions()
    ) {
        (self.sandboxed, self.memoryLimit, self.instructionLimit, self.timeLimit) = (sandboxed, memoryLimit, instructionLimit, timeLimit)
        self.allowsTrustedBackends = allowsTrustedBackends ?? !sandboxed
        self.hostBackendOptions = hostBackendOptions
        allowsHostExec = !sandboxed
    }

    /// `podsh --unsafe`: the whole standard library, no limits.
    public static let unsafe = LuaOptions(sandboxed: false, memoryLimit: nil, instructionLimit: nil, timeLimit: nil)

    /// The sandbox's wall-clock limit per chunk: an hour, long enough for a script that runs
    /// real pods for a while, short enough that a stuck one ends.
    public static let defaultTimeLimit: Double = 3600
}

/// One Lua 5.4 state, owned by this object and closed with it. A state is confined to one
/// thread at a time (it is not Sendable). Lua is entered only through a protected call with a
/// traceback handler, and Swift functions are called through the C trampoline, so no Lua error
/// unwinds through Swift.
public final class LuaState {
    /// The underlying `lua_State *`.
    let L: OpaquePointer
    let options: LuaOptions
    private let limits: UnsafeMutablePointer<clua_limits>
    let host = LuaHost()
    private var module: PodModule?

    /// The Lua release this was built against, e.g. "Lua 5.4.4".
    public static var luaRelease: String { String(cString: clua_version_string()) }

    /// Creates a state with the standard libraries open, sandboxed and limited per `options`.
    public init(options: LuaOptions = .unsafe) throws(LuaError) {
        self.options = options
        limits = UnsafeMutablePointer<clua_limits>.allocate(capacity: 1)
        limits.initialize(to: clua_limits())
        limits.pointee.memory_limit = options.memoryLimit.map { max(0, $0) } ?? 0
        guard let state = clua_newstate(limits) else {
            limits.deallocate()
            throw LuaError(kind: .memory, message: "cannot create a Lua state: out of memory")
        }
        L = state
        if clua_openlibs(L) != LUA_OK {
            let message = Self.popMessage(L)
            lua_close(L)
            limits.deallocate()
            throw LuaError(kind: .memory, message: message)
        }
    }

    deinit {
        module?.runtime.interruption = nil  // the flag it reads is freed below
        lua_close(L)
        limits.deallocate()
        module?.runtime.close()
    }

    /// Installs the `pod` module (global `pod`, and `require "pod"`) bound to `runtime` (nil: a
    /// runtime on the registry's default backend), then the sandbox when the options ask for
    /// it. `configuration` is how the runtime's backend was made, when the caller knows it.
    public func openPod(runtime: PodRuntime? = nil, configuration: BackendConfiguration? = nil) throws(LuaError) {
        let module: PodModule
        if let runtime {
            module = PodModule(runtime: runtime, host: host)
            module.configuration = configuration
        } else {
            do {
                module = try PodModule.onDefaultBackend(host: host, registry: options.registry)
            } catch {
                throw LuaError(kind: .runtime, message: "pod: \(error)")
            }
        }
        let runtime = module.runtime
        module.registry = options.registry
        module.allowsTrustedBackends = options.allowsTrustedBackends
        module.hostBackendOptions = options.hostBackendOptions
        module.allowsHostExec = options.allowsHostExec
        module.lockedBackendOptions = options.lockedBackendOptions
        self.module = module
        // Ctrl-C (the interrupt flag) also ends the runtime's waits, which take real time on linux.
        let limits = self.limits
        runtime.interruption = { clua_should_stop(limits) != 0 }
        if let limit = options.memoryLimit {
            // What the script had the sim hold (files, logs, pods) counts against its limit.
            host.afterCall = { [unowned module] in
                let held = max(0, module.runtime.backend.heldBytes)
                limits.pointee.host_bytes = held
                guard held + limits.pointee.memory_used > limit else { return nil }
                return "memory limit of \(limit) bytes exceeded: the sim holds \(held) bytes of the script's files, logs and pods"
            }
        }
        _ = lua_checkstack(L, 4)
        lua_rawgeti(L, clua_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))  // [G]
        LuaCall(L).push("pod")  // [G, "pod"]
        module.push(L)  // [G, "pod", pod]
        lua_rawset(L, -3)  // [G]
        let print = host.register { [unowned module] call in
            // print's formatting: tostring of each argument, tabs between, a newline.
            var parts: [String] = []
            for index in 1...max(1, call.count) where index <= call.count {
                parts.append(LuaState.describe(call, index))
            }
            let line = parts.joined(separator: "\t") + "\n"
            if let context = module.programs?.running.last { context.write(line) } else { module.output(line) }
            return .values(0)
        }
        LuaCall(L).push("print")  // [G, "print"]
        host.pushFunction(L, print)  // [G, "print", f]
        lua_rawset(L, -3)  // [G]
        clua_pop(L, 1)  // []
        if options.sandboxed && clua_bound_patterns(L) != LUA_OK {
            throw LuaError(kind: .memory, message: Self.popMessage(L))
        }
        _ = try run(options.sandboxed ? LuaState.sandboxSetup : LuaState.unsafeSetup, name: "=(swift-pods setup)")
    }

    /// Protects the module and, sandboxed, leaves only the allowlisted environment.
    static let unsafeSetup = """
        \(protectModule)
        package.loaded.pod = pod
        """

    /// `pod` and `pod.sim` become read-only views of the module's tables: writes raise, pairs
    /// lists the fields through a closure (never handing out the table itself), and `rawset` on
    /// a view raises too, so no field can be shadowed.
    static let protectModule = """
        do
          local next, error, setmetatable, rawset, type = next, error, setmetatable, rawset, type
          local views = setmetatable({}, { __mode = "k" })
          local function readonly(module)
            for key, value in next, module do
              if type(value) == "table" then module[key] = readonly(value) end
            end
            local view = setmetatable({}, {
              __index = module, __metatable = "pod",
              __newindex = function() error("the pod module is read-only", 2) end,
              __pairs = function()
                local key
                return function()
                  local value
                  key, value = next(module, key)
                  return key, value
                end
              end })
            views[view] = true
            return view
          end
          _G.pod = readonly(pod)
          _G.rawset = function(t, k, v)
            if views[t] then error("the pod module is read-only", 2) end
            return rawset(t, k, v)
          end
        end
        """

    static let sandboxSetup = """
        \(protectModule)
        local pod, load, type, error, collectgarbage = pod, load, type, error, collectgarbage
        local os = os
        _G.os = { clock = os.clock, time = os.time, date = os.date, difftime = os.difftime }
        _G.io, _G.package, _G.debug, _G.dofile, _G.loadfile = nil, nil, nil, nil, nil
        string.dump = nil
        _G.load = function(chunk, name, mode, env)
          if mode ~= nil and mode ~= "t" then error("load: only text chunks can be loaded in the sandbox", 2) end
          return load(chunk, name, "t", env)
        end
        _G.collectgarbage = function(option)
          if option == "count" then return collectgarbage("count") end
          error("collectgarbage: only \\"count\\" is allowed in the sandbox", 2)
        end
        _G.require = function(name)
          if name == "pod" then return pod end
          error("require: only \\"pod\\" can be required in the sandbox (module '" .. tostring(name) .. "')", 2)
        end
        -- Lua runs finalizers with hooks off, so a __gc could loop past the instruction budget;
        -- a metatable is marked for finalization only if it has __gc when it is set.
        local setmetatable, rawget = setmetatable, rawget
        _G.setmetatable = function(t, mt)
          if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
            error("setmetatable: __gc finalizers are not allowed in the sandbox", 2)
          end
          return setmetatable(t, mt)
        end
        -- table.move copies in C, where the budget cannot stop it: at most 2^24 elements.
        local move, tointeger = table.move, math.tointeger
        table.move = function(a1, f, e, t, a2)
          local first, last = tointeger(f), tointeger(e)
          if first and last and (last + 0.0) - first >= 16777216 then
            error("table.move: at most 16777216 elements in the sandbox", 2)
          end
          return move(a1, f, e, t, a2)
        end
        """

    /// Runs `chunk` (text only) named `name` (`@file.lua` shows as `file.lua:line:`) and returns
    /// its results.
    public func run(_ chunk: String, name: String = "=(chunk)", arguments: [String] = []) throws(LuaError) -> [LuaValue] {
        let base = lua_gettop(L)
        limits.pointee.instructions_limited = options.instructionLimit == nil ? 0 : 1
        limits.pointee.instructions_left = options.instructionLimit ?? 0
        clua_arm(L, limits, options.timeLimit.map { $0 > 0 ? $0 : 0 } ?? 0)
        defer { clua_disarm(limits) }
        if limits.pointee.interrupted != 0 {  // the host is quitting (a signal): no new chunk starts
            throw LuaError(kind: .limit, message: "interrupted")
        }
        var status = chunk.utf8CString.withUnsafeBufferPointer { buffer in
            clua_load(L, buffer.baseAddress, buffer.count - 1, name)
        }
        if status == LUA_OK {
            _ = lua_checkstack(L, Int32(arguments.count) + 2)
            for argument in arguments { LuaCall(L).push(argument) }
            status = clua_pcall_traceback(L, Int32(arguments.count), LUA_MULTRET)
            if status == LUA_OK && limits.pointee.stopping != 0 {
                // A limit struck and the chunk's own pcall caught it as its last act (`return
                // pcall(f)`, a tail call: no instruction ran after it to raise it again).
                lua_settop(L, base)
                LuaCall(L).push(String(cString: limits.pointee.stop_reason))
                status = LUA_ERRRUN
            }
        }
        guard status == LUA_OK else {
            var message = Self.popMessage(L)
            lua_settop(L, base)
            var kind = Self.kind(of: status)
            if limits.pointee.stopping != 0 {
                kind = .limit
                if limits.pointee.memory_exceeded != 0, let limit = options.memoryLimit {
                    let held = limits.pointee.host_bytes
                    let detail = held > 0 ? " (the sim holds \(held) bytes of the script's files, logs and pods)" : ""
                    message = "memory limit of \(limit) bytes exceeded\(detail)" + Self.traceback(message)
                } else if let reason = limits.pointee.stop_reason.map({ String(cString: $0) }), reason == "instruction budget exhausted",
                    let limit = options.instructionLimit
                {
                    message = "instruction budget of \(limit) exhausted" + Self.traceback(message)
                } else if limits.pointee.timed_out != 0, let limit = options.timeLimit {
                    message = "wall-clock limit of \(limit == limit.rounded() && limit < 1e15 ? String(Int64(limit)) : String(limit)) s exceeded" + Self.traceback(message)
                }
            }
            limits.pointee.stopping = 0
            throw LuaError(kind: kind, message: message)
        }
        let top = lua_gettop(L)
        var results: [LuaValue] = []
        if top > base {
            for index in (base + 1)...top { results.append(value(at: index)) }
        }
        lua_settop(L, base)
        return results
    }

    /// Sets the global `arg` as lua.c does: `arg[0]` the script, `arg[1...]` its arguments, and
    /// the interpreter's own arguments at negative indices.
    public func setArg(script: String, arguments: [String], interpreter: [String] = []) {
        let call = LuaCall(L)
        _ = call.ensureStack(6)
        lua_rawgeti(L, clua_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        call.push("arg")
        call.pushTable(arrayCount: Int32(arguments.count), fieldCount: Int32(interpreter.count + 1)) { t in
            for (i, word) in interpreter.enumerated() {
                _ = call.ensureStack(2)
                call.push(word)
                lua_rawseti(L, t.table, lua_Integer(i - interpreter.count))
            }
            call.push(script)
            lua_rawseti(L, t.table, 0)
            for (i, word) in arguments.enumerated() { t.append(i + 1) { call.push(word) } }
        }
        lua_rawset(L, -3)
        clua_pop(L, 1)
    }

    /// Where `print` outside sim programs writes (by default, standard output).
    public func setOutput(_ output: @escaping (String) -> Void) { module?.output = output }

    /// The text `tostring` gives for plain values, without calling metamethods (which could
    /// raise): strings, numbers, booleans, nil; other values by type and address.
    static func describe(_ call: LuaCall, _ index: Int32) -> String {
        switch lua_type(call.L, index) {
        case LUA_TNIL, LUA_TNONE: return "nil"
        case LUA_TBOOLEAN: return call.boolean(index) ? "true" : "false"
        case LUA_TNUMBER:
            if let integer = call.integer(index), lua_isinteger(call.L, index) != 0 { return String(integer) }
            return LuaSpecReader.decimal(call.number(index) ?? .nan)
        case LUA_TSTRING: return call.string(index) ?? ""
        default:
            let pointer = lua_topointer(call.L, index).map { String(UInt(bitPattern: $0), radix: 16) } ?? "0"
            return "\(call.typeName(index)): 0x\(pointer)"
        }
    }

    /// Async-signal-safe C functions for a host's signal handlers: stop the chunk running now
    /// (whichever state runs it), or quit: stop it and every chunk started from now on, and the
    /// runtime's waits, so that the host can leave through its normal exit.
    public static let interruptRunningChunk: @convention(c) () -> Void = clua_interrupt_running
    public static let quitAllChunks: @convention(c) () -> Void = clua_quit
    /// For a watchdog thread: a number for the chunk running now in the process (0: none; each
    /// chunk gets a new one), and its wall-clock deadline (CLOCK_MONOTONIC seconds; 0: none).
    public static let runningChunk: @convention(c) () -> UInt = clua_running_chunk
    public static let runningDeadline: @convention(c) () -> Double = clua_running_deadline

    /// Sets the interrupt flag: the running chunk stops at its next instruction check.
    public func interrupt() { limits.pointee.interrupted = 1 }

    /// The interrupt flag's address, for a signal handler written in C (podsh's Ctrl-C): setting
    /// it to 1 does what `interrupt()` does. Valid while the state lives.
    public var interruptFlag: UnsafeMutablePointer<Int32> { clua_interrupt_flag(limits) }

    /// The names a `Pod` value answers to (its methods, then `name` and `uid`), for completion.
    public var podMemberNames: [String] {
        guard let module else { return [] }
        return PodMethods(module: module).methods.keys.sorted() + ["name", "uid"]
    }

    /// Bytes the state uses now.
    public var memoryUsed: Int { limits.pointee.memory_used }

    private static func traceback(_ message: String) -> String {
        guard let range = message.range(of: "\nstack traceback:") else { return "" }
        return String(message[range.lowerBound...])
    }

    /// Reads the value at `index` without calling anything that can raise.
    func value(at index: Int32) -> LuaValue {
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .integer(Int64(lua_tointegerx(L, index, nil))) }
            return .number(lua_tonumberx(L, index, nil))
        case LUA_TSTRING:
            var length = 0
            guard let bytes = lua_tolstring(L, index, &length) else { return .string("") }
            return .string(String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self))
        default:
            return .other(String(cString: lua_typename(L, lua_type(L, index))))
        }
    }

    private static func kind(of status: Int32) -> LuaError.Kind {
        switch status {
        case LUA_ERRSYNTAX: return .syntax
        case LUA_ERRRUN: return .runtime
        case LUA_ERRMEM: return .memory
        default: return .other
        }
    }

    /// Pops the error message on top of the stack (a string, or a placeholder for other values).
    private static func popMessage(_ L: OpaquePointer) -> String {
        defer { clua_pop(L, 1) }
        guard lua_type(L, -1) == LUA_TSTRING else { return "(error object is not a string)" }
        var length = 0
        guard let bytes = lua_tolstring(L, -1, &length) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }
}
