-- Portable (sim and linux, compared by Tests/podshTests/DifferentialTests.swift): exit codes,
-- reasons and phases of busybox commands.
local pod = require "pod"

local function run(name, command)
  local p = pod.run{ name = name, restartPolicy = "Never",
    containers = { { name = "c", image = "busybox", command = command } } }
  assert(p:wait(function(s) return s.phase == "Succeeded" or s.phase == "Failed" end, 20))
  local c = p:status().containers.c
  print(name, p:status().phase, c.state, c.exitCode, c.reason, c.signal)
  p:remove()
  return c
end

test("exit codes and reasons", function()
  assert(run("true", { "true" }).exitCode == 0)
  assert(run("false", { "false" }).exitCode == 1)
  assert(run("exit3", { "sh", "-c", "exit 3" }).exitCode == 3)
  assert(run("exit300", { "sh", "-c", "exit 300" }).exitCode == 44)
  assert(run("and-or", { "sh", "-c", "false || true && exit 7" }).exitCode == 7)
end)

test("a signal is 128 + its number; PID 1 ignores what it does not handle", function()
  -- Kubernetes expands $$ in a command to $, so the shell's own pid is $$$$.
  local function spec(name, shared)
    return { name = name, shareProcessNamespace = shared, restartPolicy = "Never",
      containers = { { name = "c", image = "busybox", command = { "sh", "-c", "kill -9 $$$$; echo still here" } } } }
  end
  local shared = pod.run(spec("shared", true))
  assert(shared:wait("Failed", 20))
  local c = shared:status().containers.c
  print("not PID 1", c.exitCode, c.signal, shared:logs("c"))
  assert(c.exitCode == 137 and c.signal == 9, c.exitCode)
  local alone = pod.run(spec("alone", false))
  assert(alone:wait("Succeeded", 20))
  print("PID 1", alone:status().containers.c.exitCode, alone:logs("c"))
  local dollar = run("dollar", { "sh", "-c", "kill -9 $$" })
  print("kill -9 $", dollar.exitCode)
end)
