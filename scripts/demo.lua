-- The seed article's pod on the simulated kernel: a pause process holding the shared
-- namespaces, a Node.js-style server and an nginx-style reverse proxy in front of it.
--     podsh scripts/demo.lua
local pod = require "pod"

local function heading(text) print("\n== " .. text) end
local function show(command, result)
  print("$ " .. command)
  local out = result.stdout .. result.stderr
  if out ~= "" then print((out:gsub("\n$", ""))) end
end

-- The programs stand in for the article's images: node-server answers with its hostname,
-- nginx proxies port 80 to 127.0.0.1:8080 inside the pod.
pod.sim.program("node", function(proc)
  assert(proc:listen(tonumber(proc:env("PORT")), function() return "You've hit " .. proc:hostname() .. "\n" end))
  proc:wait()
end)
pod.sim.program("nginx", function(proc)
  assert(proc:listen(80, function(request)
    local body, err = proc:fetch("http://127.0.0.1:8080" .. request.path)
    return body or { status = 502, body = err .. "\n" }
  end))
  proc:wait()
end)

local function webPod(name, sharePID)
  return pod.run{
    name = name, shareProcessNamespace = sharePID,
    containers = {
      { name = "node-server", image = "tiven/kube-tiven", command = { "node", "app.js" }, env = { PORT = "8080" } },
      { name = "nginx", image = "kube-nginx", command = { "nginx", "-g", "daemon off;" },
        ports = { { containerPort = 80, hostPort = (sharePID and 80 or 8081) } } },
    },
  }
end

heading("A pod: pause + node-server + nginx, sharing network, IPC, UTS and PID namespaces")
local web = webPod("web", true)
assert(web:wait("Running"))
print(tostring(web))

heading("The host reaches node-server through nginx on the published port 80")
show("wget -qO- http://127.0.0.1:80/", pod.exec("wget -qO- http://127.0.0.1:80/"))

heading("ps inside node-server: the pause is PID 1, every container's processes are visible")
show("ps", web:exec("node-server", { "ps" }))

heading("One hostname for the whole pod")
for _, name in ipairs{ "node-server", "nginx" } do show("hostname   # in " .. name, web:exec(name, { "hostname" })) end

heading("The same pod without a shared PID namespace: each container sees only itself")
local apart = webPod("web-apart", false)
assert(apart:wait("Running"))
show("ps   # in node-server", apart:exec("node-server", { "ps" }))
show("wget -qO- http://127.0.0.1:8081/   # still one network", pod.exec("wget -qO- http://127.0.0.1:8081/"))
apart:remove()

heading("Killing the pause: the pod's sandbox is gone, so Kubernetes recreates it")
local infra = web:status().infra.pid
show("kill -9 " .. infra .. "   # on the host", pod.exec("kill -9 " .. infra))
pod.sleep(1)
local status = web:status()
print(string.format("infra pid %d -> %d, node-server restarts: %d, phase: %s",
  infra, status.infra.pid, status.containers["node-server"].restartCount, status.phase))
for _, e in ipairs(web:events()) do
  if e.reason == "InfraExited" or e.reason == "SandboxChanged" then print(string.format("  %5.1fs %s %s", e.time, e.reason, e.message)) end
end
show("wget -qO- http://127.0.0.1:80/", pod.exec("wget -qO- http://127.0.0.1:80/"))
