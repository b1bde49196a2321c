-- Portable: readOnly mounts refuse writes with EROFS.
local pod = require "pod"

test("a readOnly emptyDir mount", function()
  local p = pod.run{ name = "ro", volumes = { { name = "v", emptyDir = {} } }, containers = {
    { name = "rw", image = "busybox", command = { "sh", "-c", "echo data > /v/file; sleep 3600" },
      volumeMounts = { { name = "v", mountPath = "/v" } } },
    { name = "ro", image = "busybox", command = { "sleep", "3600" },
      volumeMounts = { { name = "v", mountPath = "/v", readOnly = true } } } } }
  assert(p:wait("Running", 20))
  for _ = 1, 100 do
    if p:exec("ro", "cat /v/file").exitCode == 0 then break end
    pod.sleep(0.05)
  end
  local r = p:exec("ro", "cat /v/file; echo more > /v/file")
  print(r.exitCode, r.stdout, r.stderr)
  assert(r.exitCode == 1 and r.stderr:find("Read-only file system", 1, true), r.stderr)
  r = p:exec("ro", "mkdir /v/dir")
  print(r.exitCode, r.stderr)
  r = p:exec("ro", "touch /v/new")
  print(r.exitCode, r.stderr)
  assert(p:exec("rw", "echo more >> /v/file").exitCode == 0)
  print(p:exec("ro", "cat /v/file").stdout)
end)
