-- Portable: init containers run one after another, each to success, before the app.
local pod = require "pod"

test("init containers in order", function()
  local p = pod.run{ name = "init", restartPolicy = "Never", volumes = { { name = "log", emptyDir = {} } },
    initContainers = {
      { name = "one", image = "busybox", command = { "sh", "-c", "echo one >> /log/order" }, volumeMounts = { { name = "log", mountPath = "/log" } } },
      { name = "two", image = "busybox", command = { "sh", "-c", "echo two >> /log/order" }, volumeMounts = { { name = "log", mountPath = "/log" } } } },
    containers = { { name = "app", image = "busybox", command = { "sh", "-c", "echo app >> /log/order; cat /log/order" },
      volumeMounts = { { name = "log", mountPath = "/log" } } } } }
  assert(p:wait("Succeeded", 20))
  print(p:logs("app"))
  assert(p:logs("app") == "one\ntwo\napp\n")
  for _, c in ipairs(p:status().initContainers) do print(c.name, c.state, c.exitCode, c.reason) end
end)

test("a failing init container fails the pod with restartPolicy Never", function()
  local p = pod.run{ name = "badinit", restartPolicy = "Never",
    initContainers = { { name = "check", image = "busybox", command = { "sh", "-c", "echo checking; exit 2" } } },
    containers = { { name = "app", image = "busybox", command = { "true" } } } }
  assert(p:wait("Failed", 20))
  local s = p:status()
  print(s.phase, s.initContainers.check.exitCode, s.containers.app.state, s.containers.app.reason)
  print(p:logs("check"))
end)
