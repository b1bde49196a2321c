-- The rest of the pod API: create then start, get, list, uid, version, detach, <close>.
local pod = require "pod"

test("create leaves the containers unstarted until start", function()
  local p = pod.create{ name = "later", containers = { { name = "c", command = { "sleep", "50" } } } }
  local s = p:status()
  assert(s.phase == "Pending" and s.containers.c.state == "waiting", s.containers.c.state)
  assert(s.infra.state == "running" and math.type(s.infra.pid) == "integer")
  assert(p:start() == p)
  assert(p:status().containers.c.state == "running")
  assert(p.uid:match("^%x+%-%x+%-4%x+%-8%x+%-%x+$"), p.uid)
  assert(pod.get("later").uid == p.uid and pod.get("nobody") == nil)
  assert(#pod.list() == 1 and pod.list()[1].name == "later")
  assert(pod.version:match("^%d+%.%d+%.%d+$"), pod.version)
  assert(p:status().qosClass == "BestEffort" and p:status().hostname == "later")
end)

test("a <close> variable removes its pod at the end of the scope", function()
  do
    local p <close> = pod.run{ name = "scoped", containers = { { name = "c", command = { "sleep", "50" } } } }
    assert(pod.get("scoped"))
  end
  assert(pod.get("scoped") == nil)
end)

test("a detached pod is no longer supervised", function()
  local p = pod.run{ name = "loose", containers = { { name = "c", command = { "sh", "-c", "sleep 1; exit 1" } } } }
  p:detach()
  pod.sleep(30)
  assert(p:status().containers.c.restartCount == 0)
  p:remove()
end)

test("exec options: stdin, env and timeout", function()
  local p = pod.run{ name = "opts", containers = { { name = "c", command = { "sleep", "500" }, env = { A = "1" } } } }
  local r = p:exec("c", { "cat" }, { stdin = "piped" })
  assert(r.stdout == "piped", r.stdout)
  r = p:exec("c", "echo $A$B", { env = { B = "2" } })
  assert(r.stdout == "12\n", r.stdout)
  local none, why = p:exec("c", { "sleep", "100" }, { timeout = 3 })
  assert(none == nil and why == "sleep timed out after 3 s", why)
end)
