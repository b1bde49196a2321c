-- Portable: restart policies (the first restart comes at once, as kubelet's backoff starts at 0).
local pod = require "pod"

test("OnFailure restarts a failed container once, then it succeeds", function()
  local p = pod.run{ name = "retry", restartPolicy = "OnFailure", volumes = { { name = "state", emptyDir = {} } },
    containers = { { name = "c", image = "busybox",
      command = { "sh", "-c", "[ -e /state/ran ] && echo second && exit 0; touch /state/ran; echo first; exit 1" },
      volumeMounts = { { name = "state", mountPath = "/state" } } } } }
  assert(p:wait("Succeeded", 20))
  local c = p:status().containers.c
  print(c.restartCount, c.exitCode, c.history[1].exitCode, c.history[1].reason)
  print(p:logs("c", { previous = true }), p:logs("c"))
  assert(c.restartCount == 1)
end)

test("Never does not restart", function()
  local p = pod.run{ name = "once", restartPolicy = "Never", containers = { { name = "c", image = "busybox", command = { "false" } } } }
  assert(p:wait("Failed", 20))
  print(p:status().containers.c.restartCount, p:status().phase)
end)

test("Always restarts a container that completed", function()
  local p = pod.run{ name = "always", volumes = { { name = "state", emptyDir = {} } },
    containers = { { name = "c", image = "busybox",
      command = { "sh", "-c", "echo run >> /state/runs; test -e /state/second && sleep 3600; touch /state/second" },
      volumeMounts = { { name = "state", mountPath = "/state" } } } } }
  assert(p:wait(function(s) return s.containers.c.restartCount == 1 and s.containers.c.state == "running" end, 20))
  local c = p:status().containers.c
  print(c.restartCount, c.history[1].exitCode, c.history[1].reason, p:status().phase)
end)
