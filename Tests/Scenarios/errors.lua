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
  fails("pod.use: backend 'linux' unavailable:", pod.use, "linux")
  fails("pod.get: the name must be a string, got no value", pod.get)
end)

test("methods called with a dot, and after remove", function()
  local p = pod.run{ name = "m", containers = { { name = "c", command = { "sleep", "9" } } } }
  fails("Pod.status: call it as p:status(...) (self is no value, not a Pod)", p.status)
  fails("p:exec: argv must be a list of strings or a string, got number", p.exec, p, "c", 42)
  fails("p:kill: unknown signal 'NOPE'", p.kill, p, "c", "NOPE")
  fails("p:wait: unknown phase 'Done'", p.wait, p, "Done")
  p:remove()
  p:remove()
  fails("p:status: pod \"m\" has been removed", p.status, p)
  assert(tostring(p) == "Pod(m, removed)")
end)
