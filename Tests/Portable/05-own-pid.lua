-- Portable: without a shared PID namespace each container's command is its PID 1.
local pod = require "pod"

test("ps sees only the container", function()
  -- Two sleeps told apart by their durations: each container's PID 1 is its own.
  local seconds = { a = "3600", b = "3000" }
  local containers = {}
  for _, c in ipairs{ "a", "b" } do
    containers[#containers + 1] = { name = c, image = "busybox", command = { "sleep", seconds[c] } }
  end
  local p = pod.run{ name = "apart", containers = containers }
  assert(p:wait("Running", 20))
  for _, c in ipairs{ "a", "b" } do
    local out = p:exec(c, { "ps" }).stdout
    local first = out:match("\n%s*1%s+root%s+([^\n]*)")
    print(c, first)
    assert(first and first:find("sleep " .. seconds[c], 1, true), c .. ": PID 1 is not its sleep:\n" .. out)
    assert(not out:find("pause", 1, true), c .. ": sees the pause:\n" .. out)
  end
  assert(p:exec("a", "echo $$").stdout ~= "1\n")
end)

test("PID 1 ignores TERM without a handler; the grace period ends it", function()
  local p = pod.run{ name = "stubborn", restartPolicy = "Never", terminationGracePeriodSeconds = 1,
    containers = { { name = "a", image = "busybox", command = { "sleep", "3600" } } } }
  assert(p:wait("Running", 20))
  p:stop()
  local a = p:status().containers.a
  print(a.exitCode, a.signal, a.reason, p:status().phase)
  assert(a.exitCode == 137)
end)
