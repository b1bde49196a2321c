-- Portable: subPath mounts part of a volume; missing directories are made.
local pod = require "pod"

test("subPath", function()
  local p = pod.run{ name = "sub", volumes = { { name = "v", emptyDir = {} } }, containers = {
    { name = "whole", image = "busybox", command = { "sleep", "3600" }, volumeMounts = { { name = "v", mountPath = "/v" } } },
    { name = "part", image = "busybox", command = { "sleep", "3600" },
      volumeMounts = { { name = "v", mountPath = "/srv/part", subPath = "a/b" } } } } }
  assert(p:wait("Running", 20))
  assert(p:exec("part", "echo from-part > /srv/part/f").exitCode == 0)
  local r = p:exec("whole", "cat /v/a/b/f; ls /v; ls /v/a")
  print(r.stdout)
  assert(r.stdout == "from-part\na\nb\n", r.stdout)
  assert(p:exec("whole", "echo from-whole > /v/a/b/g").exitCode == 0)
  print(p:exec("part", "cat /srv/part/g; ls /srv/part").stdout)
end)
