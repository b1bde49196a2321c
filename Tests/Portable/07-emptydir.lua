-- Portable: an emptyDir belongs to its pod: shared by its containers, not by other pods.
local pod = require "pod"

local function spec(name)
  return { name = name, volumes = { { name = "data", emptyDir = {} } }, containers = {
    { name = "writer", image = "busybox", command = { "sleep", "3600" }, volumeMounts = { { name = "data", mountPath = "/data" } } },
    { name = "reader", image = "busybox", command = { "sleep", "3600" }, volumeMounts = { { name = "data", mountPath = "/mnt/data" } } } } }
end

test("written by one container, read by the other", function()
  local p = pod.run(spec("first"))
  assert(p:wait("Running", 20))
  assert(p:exec("writer", "echo hello > /data/note; mkdir -p /data/d; echo x > /data/d/f").exitCode == 0)
  local r = p:exec("reader", "cat /mnt/data/note; ls /mnt/data")
  print(r.stdout)
  assert(r.stdout == "hello\nd\nnote\n", r.stdout)
end)

test("the same volume name in another pod is another directory", function()
  local a = pod.run(spec("a"))
  local b = pod.run(spec("b"))
  assert(a:wait("Running", 20) and b:wait("Running", 20))
  assert(a:exec("writer", "echo mine > /data/note").exitCode == 0)
  local r = b:exec("reader", "cat /mnt/data/note")
  print(r.exitCode, r.stderr)
  assert(r.exitCode == 1)
end)

test("a container's own files are its own", function()
  local p = pod.run(spec("private"))
  assert(p:wait("Running", 20))
  assert(p:exec("writer", "echo secret > /tmp/x; echo root > /etc/x").exitCode == 0)
  local r = p:exec("reader", "cat /tmp/x /etc/x")
  print(r.exitCode, r.stderr)
  assert(r.exitCode == 1)
end)
