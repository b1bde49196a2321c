-- Portable: the pod's hostname, in every container.
local pod = require "pod"

test("the pod name is the hostname of every container", function()
  local p = pod.run{ name = "named", containers = {
    { name = "a", image = "busybox", command = { "sleep", "3600" } },
    { name = "b", image = "busybox", command = { "sleep", "3600" } } } }
  assert(p:wait("Running", 20))
  for _, c in ipairs{ "a", "b" } do
    local r = p:exec(c, { "hostname" })
    assert(r.stdout == "named\n", r.stdout)
    print(c, r.stdout)
  end
  print(p:status().hostname)
end)

test("spec.hostname wins", function()
  local p = pod.run{ name = "pod-x", hostname = "custom", containers = {
    { name = "a", image = "busybox", command = { "sleep", "3600" } } } }
  assert(p:wait("Running", 20))
  assert(p:exec("a", "hostname").stdout == "custom\n")
  print(p:exec("a", "echo $HOSTNAME").stdout)
end)
