-- Lifecycle rules through the Lua API, in virtual time.
local pod = require "pod"

test("crash backoff: 0, 10, 20, 40 s between exits and restarts", function()
  -- Cases share the file's runtime, so times are taken relative to the case's start.
  local t0 = pod.now()
  local p = pod.run{ name = "crash", containers = { { name = "app", command = { "sh", "-c", "sleep 1; exit 1" } } } }
  pod.sleep(80)
  local history = p:status().containers.app.history
  local finished = {}
  for i = 1, 5 do finished[i] = math.tointeger(history[i].finishedAt - t0) end
  assert(table.concat(finished, ",") == "1,2,13,34,75", table.concat(finished, ","))
  assert(p:status().containers.app.restartCount == 4, p:status().containers.app.restartCount)
end)

test("a PID-1 sleep ignores TERM and is killed after the grace period", function()
  local p = pod.run{ name = "stubborn", terminationGracePeriodSeconds = 5,
    containers = { { name = "app", command = { "sleep", "1000" } } } }
  local t0 = pod.now()
  p:stop()
  local app = p:status().containers.app
  assert(pod.now() - t0 == 5, pod.now() - t0)
  assert(app.exitCode == 137 and app.signal == 9, app.exitCode)
  assert(app.cause == "killed by SIGKILL after the grace period of 5 s", app.cause)
end)

test("init containers run in order, then the app", function()
  local t0 = pod.now()
  local p = pod.run{ name = "init", restartPolicy = "Never",
    initContainers = { { name = "one", command = { "sleep", "1" } }, { name = "two", command = { "sleep", "2" } } },
    containers = { { name = "app", command = { "true" } } } }
  assert(p:wait("Succeeded"))
  local started = {}
  for _, e in ipairs(p:events()) do
    if e.reason == "Started" then started[#started + 1] = e.container .. "@" .. math.tointeger(e.time - t0) end
  end
  assert(table.concat(started, " ") == "one@0 two@1 app@3", table.concat(started, " "))
end)

test("kill counts as a crash", function()
  local p = pod.run{ name = "killed", containers = { { name = "app", command = { "sleep", "100" } } } }
  p:kill("app")
  local app = p:status().containers.app
  assert(app.restartCount == 1 and app.history[1].cause == "killed by SIGKILL from kill()", app.history[1].cause)
end)

test("exec in a stopped container is a domain failure", function()
  local p = pod.run{ name = "done", restartPolicy = "Never", containers = { { name = "app", command = { "true" } } } }
  assert(p:wait("Succeeded"))
  local result, message = p:exec("app", "true")
  assert(result == nil and message:find("is not running", 1, true), message)
end)

test("wait with a condition function", function()
  local p = pod.run{ name = "cond", containers = { { name = "app", command = { "sh", "-c", "sleep 1; exit 1" } } } }
  local t0 = pod.now()
  assert(p:wait(function(s) return s.containers.app.restartCount >= 2 end, 60))
  assert(pod.now() - t0 == 12, pod.now() - t0)
  local ok, why = p:wait(function(s) return false end, 5)
  assert(ok == nil and why == "timeout after 5 s (the condition did not hold)", why)
  local raised, message = pcall(p.wait, p, function() error("inside the condition") end)
  assert(not raised and message:find("inside the condition", 1, true), message)
end)
