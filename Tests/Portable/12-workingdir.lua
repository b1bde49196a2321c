-- Portable: workingDir, made when missing.
local pod = require "pod"

test("workingDir", function()
  local p = pod.run{ name = "wd", restartPolicy = "Never", containers = {
    { name = "c", image = "busybox", command = { "sh", "-c", "pwd; echo here > file; cat /srv/app/file" }, workingDir = "/srv/app" } } }
  assert(p:wait("Succeeded", 20))
  print(p:logs("c"))
  assert(p:logs("c") == "/srv/app\nhere\n")
end)

test("without workingDir: /", function()
  local p = pod.run{ name = "root", restartPolicy = "Never", containers = { { name = "c", image = "busybox", command = { "pwd" } } } }
  assert(p:wait("Succeeded", 20))
  print(p:logs("c"))
end)
