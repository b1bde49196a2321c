-- Portable: a shared PID namespace: the pause is PID 1 and every container's processes show.
local pod = require "pod"

-- ps rows without the PID column, sorted (start order may interleave).
local function commands(text)
  local rows = {}
  for line in text:gmatch("[^\n]+") do
    local pid, user, command = line:match("^%s*(%S+)%s+(%S+)%s+(.*)$")
    if pid ~= "PID" then rows[#rows + 1] = (pid == "1" and "1 " or "") .. user .. " " .. command end
  end
  table.sort(rows)
  return table.concat(rows, "\n")
end

test("ps in a shared PID namespace", function()
  local p = pod.run{ name = "shared", shareProcessNamespace = true, containers = {
    { name = "a", image = "busybox", command = { "sleep", "3600" } },
    { name = "b", image = "busybox", command = { "sh", "-c", "sleep 3000" } } } }
  assert(p:wait("Running", 20))
  -- A container is running once its process exists; the shell in b replaces itself with
  -- sleep (ash execs the last command) a moment later on a real kernel.
  local out
  for _ = 1, 200 do
    out = commands(p:exec("a", { "ps" }).stdout)
    if out:find("root sleep 3000", 1, true) then break end
    pod.sleep(0.02)
  end
  print(out)
  assert(out:find("1 root pause", 1, true), out)
  assert(out:find("root sleep 3000", 1, true), out)
end)

test("TERM ends a sleep that is not PID 1", function()
  local p = pod.run{ name = "term", shareProcessNamespace = true, restartPolicy = "Never",
    containers = { { name = "a", image = "busybox", command = { "sleep", "3600" } } } }
  assert(p:wait("Running", 20))
  p:kill("a", "TERM")
  assert(p:wait("Failed", 20))
  local a = p:status().containers.a
  print(a.exitCode, a.signal, a.reason)
  assert(a.exitCode == 143)
end)
