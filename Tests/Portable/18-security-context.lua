-- Portable: securityContext — the user and groups a container runs as, file permissions,
-- a read-only root, runAsNonRoot, and the capabilities that gate binding, kill and hostname.
local pod = require "pod"

test("runAsUser, runAsGroup and fsGroup", function()
  local p = pod.run{ name = "ids", securityContext = { runAsUser = 1000, runAsGroup = 3000, fsGroup = 2000 },
    volumes = { { name = "data", emptyDir = {} } },
    containers = { { name = "c", image = "busybox", command = { "sleep", "3600" },
      volumeMounts = { { name = "data", mountPath = "/data" } } } } }
  assert(p:wait("Running", 20))
  local id = p:exec("c", "id")
  print(id.stdout)
  assert(id.stdout == "uid=1000 gid=3000 groups=2000,3000\n", id.stdout)
  -- Not root: the image's root-owned directories refuse; the emptyDir (0777) takes it.
  local etc = p:exec("c", "touch /etc/x")
  print(etc.exitCode, etc.stderr)
  assert(etc.exitCode == 1 and etc.stderr:find("Permission denied", 1, true), etc.stderr)
  assert(p:exec("c", "touch /data/f && echo written > /data/f").exitCode == 0)
  print(p:exec("c", "cat /data/f").stdout)
  -- The container's own uid wins over the pod's.
  local q = pod.run{ name = "mine", securityContext = { runAsUser = 1000 }, containers = {
    { name = "c", image = "busybox", command = { "sleep", "3600" }, securityContext = { runAsUser = 2000 } } } }
  assert(q:wait("Running", 20))
  print(q:exec("c", "id -u").stdout)
  assert(q:exec("c", "id -u").stdout == "2000\n")
end)

test("readOnlyRootFilesystem", function()
  local p = pod.run{ name = "frozen", volumes = { { name = "v", emptyDir = {} } }, containers = {
    { name = "c", image = "busybox", command = { "sleep", "3600" }, securityContext = { readOnlyRootFilesystem = true },
      volumeMounts = { { name = "v", mountPath = "/v" } } } } }
  assert(p:wait("Running", 20))
  local r = p:exec("c", "touch /x")
  print(r.exitCode, r.stderr)
  assert(r.exitCode == 1 and r.stderr:find("Read-only file system", 1, true), r.stderr)
  print(p:exec("c", "echo v > /v/f && cat /v/f").stdout, p:exec("c", "echo t > /tmp/f && cat /tmp/f").stdout)
end)

test("runAsNonRoot refuses root and lets a non-root uid start", function()
  local p = pod.run{ name = "strict", securityContext = { runAsNonRoot = true },
    containers = { { name = "c", image = "busybox", command = { "sleep", "3600" } } } }
  assert(p:wait(function(s) return s.containers.c.reason == "CreateContainerConfigError" end, 20))
  local c = p:status().containers.c
  print(c.state, c.reason, c.message)
  local q = pod.run{ name = "fine", securityContext = { runAsNonRoot = true, runAsUser = 1000 },
    containers = { { name = "c", image = "busybox", command = { "sleep", "3600" } } } }
  assert(q:wait("Running", 20))
  print(q:exec("c", "id -u").stdout)
  local r = pod.run{ name = "zero", containers = { { name = "c", image = "busybox", command = { "sleep", "3600" },
    securityContext = { runAsNonRoot = true, runAsUser = 0 } } } }
  assert(r:wait(function(s) return s.containers.c.reason == "CreateContainerConfigError" end, 20))
  print(r:status().containers.c.message)
end)

test("capabilities: dropped, added, and none for a non-root uid", function()
  local p = pod.run{ name = "caps", shareProcessNamespace = true, containers = {
    { name = "nobind", image = "busybox", command = { "sleep", "3600" },
      securityContext = { capabilities = { drop = { "NET_BIND_SERVICE" } } } },
    { name = "admin", image = "busybox", command = { "sleep", "3600" },
      securityContext = { capabilities = { add = { "SYS_ADMIN" } } } },
    { name = "user", image = "busybox", command = { "sleep", "3600" }, securityContext = { runAsUser = 1000 } },
    { name = "priv", image = "busybox", command = { "sleep", "3600" }, securityContext = { privileged = true } } } }
  assert(p:wait("Running", 20))
  -- A privileged container says so in the events.
  local said
  for _, e in ipairs(p:events()) do
    if e.reason == "Privileged" then said = e end
  end
  assert(said and said.type == "Warning", "no Privileged event")
  print(said.reason, said.message)
  assert(p:exec("priv", "hostname again").exitCode == 0, "privileged has CAP_SYS_ADMIN")
  local bind = p:exec("nobind", "httpd -f -p 80")
  print(bind.exitCode, bind.stderr)
  assert(bind.exitCode == 1 and bind.stderr:find("Permission denied", 1, true), bind.stderr)
  print(p:exec("nobind", "hostname other").exitCode)
  assert(p:exec("admin", "hostname other").exitCode == 0)
  print(p:exec("admin", "hostname").stdout)
  local kill = p:exec("user", "kill 1")
  print(kill.exitCode, kill.stderr)
  assert(kill.exitCode == 1 and kill.stderr:find("not permitted", 1, true), kill.stderr)
end)
