-- The seed article's pod for real, on this kernel (root): a pause holding the shared
-- namespaces, busybox httpd standing in for the server, a client container beside it.
--     scripts/busybox-image.sh && podsh --backend linux scripts/demo-linux.lua
-- (make demo-linux does both.) hostPort publishing arrives with issue 8, so the client is
-- inside the pod.
local pod = require "pod"

local function heading(text) print("\n== " .. text) end
-- A command, with its exit status when it failed (the refused write below), and what it printed.
local function show(command, result)
  local failed = result.exitCode ~= 0 and ("   (exit status " .. result.exitCode .. ")") or ""
  print("$ " .. command .. failed)
  local out = result.stdout .. result.stderr
  if out ~= "" then print((out:gsub("\n$", ""))) end
end

local function webPod(name, shared)
  return pod.run{ name = name, shareProcessNamespace = shared,
    volumes = { { name = "www", emptyDir = {} } },
    containers = {
      { name = "server", image = "busybox",
        command = { "sh", "-c", "echo \"You've hit $(hostname)\" > /www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /www" },
        volumeMounts = { { name = "www", mountPath = "/www" } } },
      { name = "client", image = "busybox", command = { "sleep", "3600" },
        volumeMounts = { { name = "www", mountPath = "/srv/www", readOnly = true } } } } }
end

-- httpd needs a moment after the container is running.
local function fetch(p)
  for _ = 1, 100 do
    local r = p:exec("client", { "wget", "-qO-", "http://127.0.0.1:8080/" })
    if r.exitCode == 0 then return r end
    pod.sleep(0.05)
  end
  return p:exec("client", { "wget", "-qO-", "http://127.0.0.1:8080/" })
end

heading("A pod: pause + httpd + a client, sharing network, IPC, UTS and PID namespaces")
local web <close> = webPod("web", true)
assert(web:wait("Running"))
print(tostring(web))

heading("The client reaches httpd over the pod's loopback")
show("wget -qO- http://127.0.0.1:8080/   # in client", fetch(web))

heading("ps inside the client: the pause is PID 1, every container's processes are visible")
show("ps", web:exec("client", { "ps" }))

heading("One hostname for the whole pod; the emptyDir is shared, read-only in the client")
for _, name in ipairs{ "server", "client" } do show("hostname   # in " .. name, web:exec(name, { "hostname" })) end
show("cat /srv/www/index.html   # in client", web:exec("client", { "cat", "/srv/www/index.html" }))
show("echo x > /srv/www/y   # in client", web:exec("client", "echo x > /srv/www/y"))

heading("The same pod without a shared PID namespace: each container's command is its PID 1")
local apart <close> = webPod("web-apart", false)
assert(apart:wait("Running"))
show("ps   # in client", apart:exec("client", { "ps" }))
show("wget -qO- http://127.0.0.1:8080/   # still one network", fetch(apart))

heading("A command that does not exist")
local broken <close> = pod.run{ name = "broken", restartPolicy = "Never",
  containers = { { name = "c", image = "busybox", command = { "no-such-command" } } } }
broken:wait("Failed")
local c = broken:status().containers.c
print(string.format("exitCode %d, reason %s: %s", c.exitCode, c.reason, (broken:logs("c"):gsub("\n$", ""))))
