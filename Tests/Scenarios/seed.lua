-- The seed article's pod on the sim backend, with node-server and nginx as Lua programs.
local pod = require "pod"

pod.sim.program("node", function(proc)
  local port = tonumber(proc:env("PORT") or "8080")
  assert(proc:listen(port, function(request)
    return "You've hit " .. proc:hostname() .. "\n"
  end))
  print("Server listening on " .. port)
  proc:wait()
end)

pod.sim.program("nginx", function(proc)
  assert(proc:listen(80, function(request)
    local body, err = proc:fetch("http://127.0.0.1:8080" .. request.path)
    if not body then return { status = 502, body = err } end
    return body
  end))
  proc:wait()
end)

local p <close> = pod.run{
  name = "web", shareProcessNamespace = true,
  containers = {
    { name = "node-server", image = "tiven/kube-tiven", command = { "node", "app.js" }, env = { PORT = "8080" } },
    { name = "nginx", image = "kube-nginx", command = { "nginx", "-g", "daemon off;" },
      ports = { { containerPort = 80, hostPort = 80 } } },
  },
}
assert(p:wait("Running"))

local r = pod.exec({ "wget", "-qO-", "http://127.0.0.1:80/" })
assert(r.exitCode == 0, r.stderr)
assert(r.stdout == "You've hit web\n", r.stdout)

local ps = p:exec("node-server", { "ps" }).stdout
assert(ps:find("    1 root     pause\n", 1, true), ps)
assert(ps:find("node app.js", 1, true) and ps:find("nginx -g daemon off;", 1, true), ps)
for _, name in ipairs{ "node-server", "nginx" } do
  assert(p:exec(name, "hostname").stdout == "web\n")
end
assert(p:logs("node-server") == "Server listening on 8080\n", p:logs("node-server"))
return r.stdout
