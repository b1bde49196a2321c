-- Portable: logs are stdout and stderr as written.
local pod = require "pod"

test("logs", function()
  local p = pod.run{ name = "logs", restartPolicy = "Never", containers = { { name = "c", image = "busybox",
    command = { "sh", "-c", "echo one; echo two >&2; echo -n 'no newline'" } } } }
  assert(p:wait("Succeeded", 20))
  local log = p:logs("c")
  print(log)
  assert(log == "one\ntwo\nno newline", log)
end)

test("the previous run's logs", function()
  local p = pod.run{ name = "prev", restartPolicy = "OnFailure", volumes = { { name = "s", emptyDir = {} } },
    containers = { { name = "c", image = "busybox",
      command = { "sh", "-c", "test -e /s/x && echo run two && exit 0; touch /s/x; echo run one; exit 9" },
      volumeMounts = { { name = "s", mountPath = "/s" } } } } }
  assert(p:wait("Succeeded", 20))
  print(p:logs("c", { previous = true }))
  print(p:logs("c"))
end)
