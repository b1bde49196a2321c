-- Portable: a command that cannot be executed.
local pod = require "pod"

test("a missing command exits 127 with StartError", function()
  local p = pod.run{ name = "missing", restartPolicy = "Never",
    containers = { { name = "c", image = "busybox", command = { "no-such-command", "--flag" } } } }
  assert(p:wait("Failed", 20))
  local c = p:status().containers.c
  assert(c.exitCode == 127 and c.reason == "StartError", c.reason)
  print(c.exitCode, c.reason)
  print(p:logs("c"))
end)

test("a missing absolute path too", function()
  local p = pod.run{ name = "absent", restartPolicy = "Never",
    containers = { { name = "c", image = "busybox", command = { "/bin/nope" } } } }
  assert(p:wait("Failed", 20))
  local c = p:status().containers.c
  print(c.exitCode, c.reason)
end)

test("a missing command in exec is the shell's 127", function()
  local p = pod.run{ name = "execmissing", containers = { { name = "c", image = "busybox", command = { "sleep", "3600" } } } }
  assert(p:wait("Running", 20))
  local r = p:exec("c", "nosuch")
  assert(r.exitCode == 127, r.exitCode)
  print(r.exitCode, r.stdout, r.stderr)
end)
