-- Portable: exec into a running container.
local pod = require "pod"

test("exec results", function()
  local p = pod.run{ name = "ex", containers = { { name = "c", image = "busybox", command = { "sleep", "3600" } } } }
  assert(p:wait("Running", 20))
  local r = p:exec("c", { "echo", "hello", "pod" })
  print(r.exitCode, r.stdout, r.stderr)
  r = p:exec("c", "echo out; echo err >&2; exit 5")
  print(r.exitCode, r.stdout, r.stderr)
  r = p:exec("c", { "cat", "/nonexistent" })
  print(r.exitCode, r.stderr)
  r = p:exec("c", "cd /tmp && pwd && cd /nonexistent")
  print(r.exitCode, r.stdout, r.stderr)
end)

test("exec into a stopped container is an expected failure", function()
  local p = pod.run{ name = "done", restartPolicy = "Never", containers = { { name = "c", image = "busybox", command = { "true" } } } }
  assert(p:wait("Succeeded", 20))
  local r, message = p:exec("c", { "true" })
  print(r, message)
  assert(r == nil)
end)
