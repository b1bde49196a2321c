-- Portable: a disk emptyDir past its sizeLimit gets the pod evicted, as kubelet does.
local pod = require "pod"

test("evicted: killed at once, Failed with reason Evicted, never restarted", function()
  local p = pod.run{ name = "filler", restartPolicy = "Always",
    volumes = { { name = "cache", emptyDir = { sizeLimit = "1Ki" } } },
    containers = {
      { name = "w", image = "busybox", command = { "sh", "-c", "echo " .. ("x"):rep(3000) .. " > /cache/f; exec sleep 3600" },
        volumeMounts = { { name = "cache", mountPath = "/cache" } } },
      { name = "other", image = "busybox", command = { "sleep", "3600" } } } }
  assert(p:wait("Failed", 60))
  local s = p:status()
  print(s.phase, s.reason, s.message)
  assert(s.reason == "Evicted", s.reason)
  assert(s.message == 'Usage of EmptyDir volume "cache" exceeds the limit "1Ki".', s.message)
  for _, c in ipairs(s.containers) do
    print(c.name, c.state, c.exitCode, c.restartCount, c.cause)
    assert(c.state == "terminated" and c.exitCode == 137 and c.restartCount == 0)
  end
  local evicted = 0
  for _, e in ipairs(p:events()) do
    if e.reason == "Evicted" then evicted = evicted + 1; print(e.type, e.message) end
  end
  assert(evicted == 1)
end)

test("a Memory emptyDir is a tmpfs of its sizeLimit: the write fails", function()
  local p = pod.run{ name = "tight", volumes = { { name = "m", emptyDir = { medium = "Memory", sizeLimit = "4Ki" } } },
    containers = { { name = "w", image = "busybox", command = { "sleep", "3600" },
      volumeMounts = { { name = "m", mountPath = "/m" } } } } }
  assert(p:wait("Running", 20))
  local r = p:exec("w", "echo " .. ("y"):rep(9000) .. " > /m/f")
  print(r.exitCode, r.stderr)
  assert(r.exitCode == 1 and r.stderr:find("No space left on device"), r.stderr)
  print(p:status().phase, p:status().reason)
end)
