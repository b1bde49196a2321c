-- Misuse raises with the caller's position and the function's name.
local pod = require "pod"

local function fails(expected, fn, ...)
  local ok, message = pcall(fn, ...)
  assert(not ok, "expected an error: " .. expected)
  assert(message:find(expected, 1, true), "got: " .. tostring(message))
end

test("wrong types and typos", function()
  fails("pod.create: the spec must be a table, got string", pod.create, "web")
  fails("pod.run: spec.containers[0].command: Invalid type: expected an array of strings, got string \"node app.js\"",
    pod.run, { name = "a", containers = { { name = "c", command = "node app.js" } } })
  fails("pod.create: spec.contianers: unknown field 'contianers' (did you mean 'containers'?)",
    pod.create, { name = "a", contianers = {} })
  fails("pod.create: metadata.name: Required value: name is required", pod.create, { containers = { { name = "c" } } })
  fails("pod.sleep: seconds must be a non-negative number, got string", pod.sleep, "soon")
  fails("pod.sleep: seconds must be at most 2592000 seconds (30 days of pod time), got 1000000000000", pod.sleep, 1e12)
  fails("pod.sleep: seconds must be a non-negative number of seconds, got nan", pod.sleep, 0/0)
  fails("pod.use: backend 'linux' unavailable:", pod.use, "linux")
  fails("pod.get: the name must be a string, got no value", pod.get)
end)

test("methods called with a dot, and after remove", function()
  local p = pod.run{ name = "m", containers = { { name = "c", command = { "sleep", "9" } } } }
  fails("Pod.status: call it as p:status(...) (self is no value, not a Pod)", p.status)
  fails("p:exec: argv must be a list of strings or a string, got number", p.exec, p, "c", 42)
  fails("p:kill: unknown signal 'NOPE'", p.kill, p, "c", "NOPE")
  fails("p:wait: unknown phase 'Done'", p.wait, p, "Done")
  fails("p:wait: the timeout must be a non-negative number of seconds, got nan", p.wait, p, "Running", 0/0)
  fails("p:wait: the timeout must be at most 2592000 seconds (30 days of pod time), got 1000000000000", p.wait, p, "Succeeded", 1e12)
  p:remove()
  p:remove()
  fails("p:status: pod \"m\" has been removed", p.status, p)
  assert(tostring(p) == "Pod(m, removed)")
end)

test("arguments of the module's functions", function()
  fails("pod.exec: argv must not be empty", pod.exec, {})
  fails("pod.exec: argv[2] must be a string, got number", pod.exec, { "echo", 1 })
  fails("pod.exec: unknown option 'stdn' (stdin, timeout, env)", pod.exec, "true", { stdn = "x" })
  fails("pod.fromyaml: the manifest must be a string, got table", pod.fromyaml, {})
  fails("pod.fromyaml: kind: Required value: every document needs kind: Pod, ConfigMap or Secret (line 1)", pod.fromyaml, "a: b")
  fails("pod.toyaml: expected a spec table or a Pod, got number", pod.toyaml, 3)
  fails("pod.create: spec: Invalid type: a table mixing list entries and named fields", pod.create, { "x", name = "y" })
  fails("pod.create: spec.containers[0].command[0]: Invalid type: a function cannot be part of a spec",
    pod.create, { name = "f", containers = { { name = "c", command = { print } } } })
  local loop = { name = "loop" }
  loop.self = loop
  fails("pod.create: spec.self: the table contains itself", pod.create, loop)
  fails("pod.sim.program: the program must be a function, got string", pod.sim.program, "x", "not a function")
  fails("pod.use: unknown backend 'docker'; available: sim", pod.use, "docker")
end)

test("arguments of the pod's methods", function()
  local p = pod.run{ name = "args", containers = { { name = "c", command = { "sleep", "99" } } } }
  fails("p:logs: the container name must be a string, got number", p.logs, p, 1)
  fails("p:stop: the grace period must be a whole number of seconds, got string", p.stop, p, "now")
  fails("p:wait: the timeout must be a number of seconds, got string", p.wait, p, "Running", "soon")
  fails("Pod.kill: call it as p:kill(...) (self is string, not a Pod)", p.kill, "c")
  fails("p:exec: pod \"args\" has no container named \"nope\"", p.exec, p, "nope", "true")
end)
