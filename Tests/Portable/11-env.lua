-- Portable: command, args and env as Kubernetes defines them, $(VAR) expansion included.
local pod = require "pod"

test("env, args and $(VAR)", function()
  local p = pod.run{ name = "env", restartPolicy = "Never", containers = { { name = "c", image = "busybox",
    command = { "sh", "-c" },
    args = { "echo $GREETING '$(GREETING)' '$$(GREETING)' '$(UNDEFINED)'; echo $WHO; echo $0 $1 $#", "zero", "one" },
    env = { { name = "NAME", value = "pod" }, { name = "GREETING", value = "hi $(NAME)" }, { name = "WHO", value = "$(GREETING)!" } } } } }
  assert(p:wait("Succeeded", 20))
  local log = p:logs("c")
  print(log)
  assert(log == "hi pod hi pod $(GREETING) $(UNDEFINED)\nhi pod!\nzero one 1\n", log)
end)

test("exec env and stdin", function()
  local p = pod.run{ name = "execenv", containers = { { name = "c", image = "busybox", command = { "sleep", "3600" },
    env = { { name = "FROM", value = "spec" } } } } }
  assert(p:wait("Running", 20))
  local r = p:exec("c", "echo $FROM $EXTRA; cat", { stdin = "piped\n", env = { EXTRA = "opt" } })
  print(r.stdout)
  assert(r.stdout == "spec opt\npiped\n", r.stdout)
end)
