-- Portable: configMap volumes are files, always read-only.
local pod = require "pod"

test("configMap files", function()
  local p = pod.run{ name = "cfg", restartPolicy = "Never",
    volumes = { { name = "conf", configMap = { data = { ["app.conf"] = "port=8080\n", mode = "debug" } } } },
    containers = { { name = "c", image = "busybox",
      command = { "sh", "-c", "ls /etc/app; cat /etc/app/app.conf; cat /etc/app/mode; echo; echo x > /etc/app/mode" },
      volumeMounts = { { name = "conf", mountPath = "/etc/app" } } } } }
  assert(p:wait("Failed", 20))
  local log = p:logs("c")
  print(log)
  assert(log:find("app.conf\nmode\nport=8080\ndebug\n", 1, true), log)
  assert(log:find("Read-only file system", 1, true), log)
  print(p:status().containers.c.exitCode)
end)
