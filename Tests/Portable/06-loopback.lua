-- Portable: containers of a pod share the network namespace, loopback included.
local pod = require "pod"

local function eventually(fn)
  for _ = 1, 200 do
    local ok, value = fn()
    if ok then return value end
    pod.sleep(0.05)
  end
  return select(2, fn())
end

test("httpd answers wget from the other container over 127.0.0.1", function()
  local p = pod.run{ name = "web", volumes = { { name = "www", emptyDir = {} } }, containers = {
    { name = "server", image = "busybox",
      command = { "sh", "-c", "echo served > /www/index.html; httpd -f -p 8080 -h /www" },
      volumeMounts = { { name = "www", mountPath = "/www" } } },
    { name = "client", image = "busybox", command = { "sleep", "3600" } } } }
  assert(p:wait("Running", 20))
  local r = eventually(function()
    local r = p:exec("client", { "wget", "-qO-", "http://127.0.0.1:8080/" })
    return r.exitCode == 0, r
  end)
  print(r.exitCode, r.stdout)
  assert(r.stdout == "served\n")
  -- A port nobody listens on: refused at once.
  local refused = p:exec("client", { "wget", "-qO-", "http://127.0.0.1:9/" })
  print(refused.exitCode, refused.stderr)
end)

test("another pod's loopback is another network", function()
  local a = pod.run{ name = "alone", containers = { { name = "s", image = "busybox", command = { "httpd", "-f", "-p", "8081", "-h", "/" } } } }
  local b = pod.run{ name = "other", containers = { { name = "c", image = "busybox", command = { "sleep", "3600" } } } }
  assert(a:wait("Running", 20) and b:wait("Running", 20))
  local r = b:exec("c", { "wget", "-qO-", "http://127.0.0.1:8081/" })
  print(r.exitCode, r.stderr)
  assert(r.exitCode == 1)
end)

test("a second bind of a port in one pod fails", function()
  local p = pod.run{ name = "twice", restartPolicy = "Never", containers = {
    { name = "one", image = "busybox", command = { "sh", "-c", "echo up > /tmp/index.html; httpd -f -p 8082 -h /tmp" } } } }
  assert(p:wait("Running", 20))
  eventually(function()
    local r = p:exec("one", { "wget", "-qO-", "http://127.0.0.1:8082/" })
    return r.exitCode == 0, r
  end)
  local r = p:exec("one", { "httpd", "-f", "-p", "8082", "-h", "/" })
  print(r.exitCode, r.stderr)
  assert(r.exitCode == 1)
end)
