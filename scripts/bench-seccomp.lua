-- Benchmark (not a test): what the RuntimeDefault seccomp profile costs a container, against
-- the same container Unconfined, measured in one run on the linux backend (root; python3 on
-- the host image):
--
--     podsh --backend linux --unsafe --seccomp-profile-root DIR scripts/bench-seccomp.lua ROUNDS DIR
--
-- Two workloads, each timed inside the container by python's perf_counter: a getpid loop
-- (a syscall that does nothing, so the filter is most of its cost) and a pipe ping-pong
-- between two processes (a byte each way per round: read, write and two context switches).
-- The rounds alternate between the containers; medians and their ratios are printed. A third
-- container runs under a Localhost profile that allows everything: what any filter costs on
-- this kernel (the syscall entry's seccomp path), apart from what the default profile adds.
local rounds = tonumber(arg and arg[1]) or 15
local root = arg and arg[2]
assert(root, "usage: scripts/bench-seccomp.lua ROUNDS SECCOMP_PROFILE_ROOT")
assert(pod.exec{ "sh", "-c", "mkdir -p \"$1\" && echo '{\"defaultAction\": \"SCMP_ACT_ALLOW\"}' > \"$1\"/allow-all.json", "sh", root }.exitCode == 0)
local calls = 2000000
local pings = 100000

local getpid = ([[
import os, time
t = time.perf_counter()
for _ in range(%d): os.getpid()
print(time.perf_counter() - t)
]]):format(calls)

local pingpong = ([[
import os, time
a, b = os.pipe(); c, d = os.pipe()
if os.fork() == 0:
    for _ in range(%d):
        os.read(a, 1); os.write(d, b"x")
    os._exit(0)
t = time.perf_counter()
for _ in range(%d):
    os.write(b, b"x"); os.read(c, 1)
print(time.perf_counter() - t)
os.wait()
]]):format(pings, pings)

local p = pod.run{ name = "seccomp-bench", containers = {
  { name = "default", image = "host", command = { "sleep", "3600" } },
  { name = "unconfined", image = "host", command = { "sleep", "3600" },
    securityContext = { seccompProfile = { type = "Unconfined" } } },
  { name = "allow-all", image = "host", command = { "sleep", "3600" },
    securityContext = { seccompProfile = { type = "Localhost", localhostProfile = "allow-all.json" } } } } }
assert(p:wait("Running", 30), "the pod did not start")
for _, c in ipairs{ "default", "unconfined", "allow-all" } do
  local status = p:exec(c, { "grep", "^Seccomp:", "/proc/self/status" }).stdout
  print(("%-10s %s"):format(c, status:gsub("%s+", " ")))
end

local function median(values)
  table.sort(values)
  return values[(#values + 1) // 2]
end

local names = { "default", "unconfined", "allow-all" }

local function measure(script)
  local times = { default = {}, unconfined = {}, ["allow-all"] = {} }
  for round = 1, rounds do
    -- Rotate which goes first, so drift does not favour one.
    for i = 0, #names - 1 do
      local c = names[(round + i) % #names + 1]
      local r = p:exec(c, { "python3", "-c", script })
      assert(r.exitCode == 0, c .. ": " .. r.stderr)
      table.insert(times[c], tonumber(r.stdout))
    end
  end
  return median(times.default), median(times.unconfined), median(times["allow-all"])
end

local function report(what, count, unit, scale, d, u, a)
  print(("%s, medians of %d: default %.2f %s, unconfined %.2f, allow-all filter %.2f; default/unconfined %.3f,"
    .. " default/allow-all %.3f"):format(what, rounds, d / count * scale, unit, u / count * scale, a / count * scale, d / u, d / a))
end

report(("getpid loop (%d calls)"):format(calls), calls, "ns/call", 1e9, measure(getpid))
report(("pipe ping-pong (%d round trips)"):format(pings), pings, "us/trip", 1e6, measure(pingpong))
p:remove()
