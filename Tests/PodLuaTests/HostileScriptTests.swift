import PodTestSupport
import Testing

@testable import PodLua

/// The hostile-input suite, sandboxed-script part: scripts that escape, loop, allocate, nest,
/// backtrack or feed the pod API nonsense. Each must end within a hang guard with a clear error
/// naming the limit, the function or the field — never a trap — and leave the state usable.
@Suite("Hostile suite: sandboxed scripts")
struct HostileScriptTests {
    static let cases: [(script: String, expected: String)] = [
        // Limits: instructions, memory, C paths.
        ("while true do end", "instruction budget of 5000000 exhausted"),
        ("repeat local x = 1 until false", "instruction budget"),
        ("for i = 1, math.maxinteger do end", "instruction budget"),
        ("local function f() return f() end f()", "instruction budget"),
        ("while true do pcall(error) end", "instruction budget"),
        ("while true do pcall(function() while true do end end) end", "instruction budget"),
        ("local co = coroutine.wrap(function() while true do end end) co()", "instruction budget"),
        ("local t = {} for i = 1, 1e9 do t[i] = i end", "limit"),
        ("local s = 'x' while true do s = s .. s end", "memory limit of 33554432 bytes exceeded"),
        ("local t = {} while true do t[#t + 1] = ('x'):rep(1 << 20) end", "memory limit"),
        ("return ('x'):rep(1 << 40)", "resulting string too large"),
        ("return ('x'):rep(1 << 24, ',')", "memory limit"),
        ("return string.rep('ab', math.maxinteger)", "resulting string too large"),
        ("return table.concat(setmetatable({}, {__len = function() return 1e9 end}))", "invalid value"),
        ("return table.unpack({}, 1, 1e8)", "too many results to unpack"),
        ("return select(-1e9, 1)", "index out of range"),
        ("return ('x'):rep(2e6):byte(1, -1)", "string slice too long"),
        ("return string.char(table.unpack({}, 1, 1e7))", "too many results"),
        ("return utf8.char(0x7FFFFFFF + 1)", "value out of range"),
        ("local function f(n) return f(n + 1) + 1 end return f(1)", "memory limit"),
        ("local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x", "stack overflow"),
        ("return assert(load(('(' ):rep(1000) .. '1' .. (')'):rep(1000)))", "C stack overflow"),
        ("return assert(load(('a = {'):rep(100000) .. ('}'):rep(100000)))", "C stack overflow"),
        ("return string.format('%100d', 1)", "invalid conversion specification: '%100d'"),
        ("return string.format('%d', 1.5)", "number has no integer representation"),
        ("return ('a'):rep(20000):find('a*a*a*b')", "instruction budget"),
        ("return string.find(('a'):rep(3000), ('.-'):rep(4) .. 'b')", "instruction budget"),
        ("return string.match(('a'):rep(300), ('a?'):rep(300))", "pattern too complex"),
        ("return ('x'):gsub('x', '%2')", "invalid capture index %2"),
        ("return ('x'):find('[a')", "malformed pattern (missing ']')"),
        ("return ('x'):find('%')", "malformed pattern (ends with '%')"),
        ("return ('x'):gsub('x', {x = {}})", "invalid replacement value (a table)"),
        ("return ('x'):gsub('(x)', function() error('inside') end)", "inside"),
        ("for k in ('a'):rep(1e6):gmatch('a-a-b') do end", "instruction budget"),
        ("return table.move({}, 1, 2^62, 2)", "table.move: at most 16777216 elements in the sandbox"),
        ("setmetatable({}, {__gc = function() end})", "__gc finalizers are not allowed"),
        ("return os.date(('%Y'):rep(1e7))", "memory limit"),
        ("return os.date('%Ez')", "invalid conversion specifier"),
        ("return os.time({year = 1e100, month = 1, day = 1})", "field 'year' is not an integer"),
        ("return math.random(2, 1)", "interval is empty"),
        ("return 1 // 0", "attempt to divide by zero"),
        ("return 1 % 0", "attempt to perform 'n%0'"),
        ("return math.tointeger(2^63) + nil", "attempt to perform arithmetic on a nil value"),
        // Escapes.
        ("return io.open('/etc/passwd')", "global 'io'"),
        ("return os.execute('id')", "field 'execute'"),
        ("return os.getenv('HOME')", "field 'getenv'"),
        ("return os.remove('/tmp/x')", "field 'remove'"),
        ("return os.exit(1)", "field 'exit'"),
        ("return debug.getinfo(1)", "global 'debug'"),
        ("return package.loadlib('libc.so.6', 'system')", "global 'package'"),
        ("return require('io')", "only \"pod\" can be required"),
        ("return require('pod.x')", "only \"pod\" can be required"),
        ("return load(string.dump(print))", "field 'dump'"),
        ("return load('\\27Lua...', 'x', 'b')", "only text chunks"),
        ("return assert(load('\\27LuaT', 'x'))", "attempt to load a binary chunk"),
        ("return collectgarbage('stop')", "only \"count\" is allowed"),
        ("return collectgarbage('step', 1e9)", "only \"count\" is allowed"),
        ("pod.run = print", "the pod module is read-only"),
        ("pod.sim.program = print", "the pod module is read-only"),
        ("rawset(pod, 'run', print)", "the pod module is read-only"),
        ("getmetatable(pod).__index = {}", "attempt to index a string value"),
        ("setmetatable(pod, nil)", "cannot change a protected metatable"),
        ("pod.sim.program('pause', function() return 0 end)", "'pause' is the sandbox's own program"),
        ("pod.use('linux')", "sandboxed scripts reach it only when the host allows it"),
        // The pod API fed nonsense: each names the function and the field.
        ("pod.create()", "pod.create"),
        ("pod.create('web')", "pod.create"),
        ("pod.create({})", "name"),
        ("pod.create{ name = 'x' }", "containers"),
        ("pod.create{ name = 'x', containers = 'c' }", "containers"),
        ("pod.create{ name = 'x', containers = { 'c' } }", "spec.containers[0]: Invalid type: expected a map"),
        ("pod.create{ name = 'x', containers = { { name = 'c', command = 'sleep 1' } } }", "command"),
        ("pod.create{ name = 'x', containers = { { name = 'c', command = { 'sleep', {} } } } }", "spec.containers[0].command[1]: Invalid type"),
        ("pod.create{ name = 'x', containers = { { name = 'c', ports = { { containerPort = 0/0 } } } } }", "containerPort"),
        ("pod.create{ name = 'x', containers = { { name = 'c', ports = { { containerPort = 1/0 } } } } }", "containerPort"),
        ("pod.create{ name = 'x', containers = { { name = 'c', ports = { { containerPort = 80.5 } } } } }", "containerPort"),
        ("pod.create{ name = 'x', containers = { { name = 'c', resources = { limits = { memory = 1/0 } } } } }", "memory"),
        ("pod.create{ name = 'x', containers = { { name = 'c', resources = { limits = { memory = '12Qi' } } } } }", "memory"),
        ("pod.create{ name = 'x', containers = { { name = 'c', env = { A = {} } } } }", "env"),
        ("pod.create{ name = 'x', containers = { { name = 'c', env = { [1.5] = 'x' } } } }", "env"),
        ("pod.create{ name = 'x', containers = { { name = 'c', [true] = 1 } } }", "spec.containers[0]: Invalid type: a boolean key"),
        ("pod.create{ name = 'x', containers = { { name = 'c', command = { 'a\\0b' } } } }", "NUL"),
        ("pod.create{ name = 'x', containers = { { name = 'c' } }, terminationGracePeriodSeconds = -1 }", "terminationGracePeriodSeconds"),
        ("pod.create{ name = 'x', containers = { { name = 'c' } }, restartPolicy = 1 }", "restartPolicy"),
        ("pod.create{ name = 'x', containers = { { name = 'c' } }, volumes = { { name = 'v' } } }", "spec.volumes[0]: Required value"),
        ("pod.create{ name = ('x'):rep(100), containers = { { name = 'c' } } }", "name"),
        ("pod.create(setmetatable({}, {__index = function() error('trap') end}))", "name"),
        ("local t = {} t.containers = { t } t.name = 'x' pod.create(t)", "spec.containers[0]: the table contains itself"),
        ("pod.sleep(-1)", "pod.sleep"),
        ("pod.sleep(0/0)", "pod.sleep"),
        ("pod.sleep(1e12)", "pod.sleep"),
        ("pod.sleep('soon')", "pod.sleep"),
        ("local p = pod.run{ name = 'w', containers = { { name = 'c', command = { 'sleep', '9' } } } } p:wait('Running', 0/0)", "wait"),
        ("local p = pod.run{ name = 'w', containers = { { name = 'c', command = { 'sleep', '9' } } } } p:wait('Sleeping')", "wait"),
        ("local p = pod.run{ name = 'w', containers = { { name = 'c', command = { 'sleep', '9' } } } } p:wait('Running', 1e12)", "wait"),
        ("local p = pod.run{ name = 'w', containers = { { name = 'c', command = { 'sleep', '9' } } } } p:exec('nope', { 'true' })", "nope"),
        ("local p = pod.run{ name = 'w', containers = { { name = 'c', command = { 'sleep', '9' } } } } p:exec('c', 42)", "exec"),
        ("local p = pod.run{ name = 'w', containers = { { name = 'c', command = { 'sleep', '9' } } } } p:logs('nope')", "nope"),
        ("local p = pod.run{ name = 'w', containers = { { name = 'c', command = { 'sleep', '9' } } } } p.status(nil)", "status"),
        ("pod.run{ name = 'w', containers = { { name = 'c' } } } pod.run{ name = 'w', containers = { { name = 'c' } } }", "w"),
        ("pod.get(nil)", "pod.get"),
        ("pod.sim.program(1, 2)", "pod.sim.program"),
    ]

    @Test("a hostile script ends with a clear error, and the state is still usable", arguments: cases)
    func hostile(script: String, expected: String) throws {
        let lua = try LuaState(options: LuaOptions(memoryLimit: 32 << 20, instructionLimit: 5_000_000, timeLimit: 60))
        try lua.openPod()
        let message = result(within: 120) { lua.outcome(script, name: "=hostile") }
        guard let message else {
            Issue.record("\(script): hung")
            return
        }
        #expect(message.contains(expected), "\(script)\n→ \(message)")
        #expect(!message.contains("Fatal error"))
        #expect(try lua.run("return pod.backend()") == [.string("sim")], "usable after: \(script)")
    }
}
