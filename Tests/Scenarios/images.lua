-- Images on the sim (DESIGN §8.2): the image config as Kubernetes applies it, imagePullPolicy,
-- kubelet's pull events, waiting reasons and image backoff, and pod.image.*, in virtual time.
local pod = require "pod"

local function events(p, reason)
  local out = {}
  for _, e in ipairs(p:events()) do
    if reason == nil or e.reason == reason then out[#out + 1] = e end
  end
  return out
end

local function messages(p, reason)
  local out = {}
  for _, e in ipairs(events(p, reason)) do out[#out + 1] = e.message end
  return table.concat(out, " | ")
end

-- Registered first: from here on the sim checks every reference against its images.
local web = pod.sim.image{ name = "registry.test:5000/team/web:1.0",
  entrypoint = { "sh", "-c" }, cmd = { "echo cmd:$GREETING:$MODE; pwd; id; sleep 1000" },
  env = { "GREETING=from-image", "MODE=image", "PATH=/bin" }, workingDir = "/srv/www", user = "1000:2000",
  stopSignal = "SIGQUIT", size = 4096, pullSeconds = 3 }
pod.sim.image{ name = "tools", entrypoint = { "echo", "entry" }, cmd = { "default-cmd" } }

test("pod.sim.image returns the image: a config digest as its id", function()
  assert(web.ref == "registry.test:5000/team/web:1.0", web.ref)
  assert(web.id:match("^sha256:%x+$") and #web.id == 71, web.id)
  assert(web.size == 4096 and web.workingDir == "/srv/www" and web.user == "1000:2000", web.size)
  assert(web.stopSignal == "SIGQUIT" and web.entrypoint[1] == "sh" and #web.layers == 0)
  -- A local name is in the store at once, with its default tag made explicit.
  local tools = pod.image.inspect("tools")
  assert(tools and tools.ref == "tools:latest" and tools.cmd[1] == "default-cmd", tools and tools.ref)
  local same = pod.image.inspect("tools:latest")
  assert(same and same.id == tools.id)
  -- Not pulled yet: the registry's image is not in the store.
  local missing, why = pod.image.inspect("registry.test:5000/team/web:1.0")
  assert(missing == nil and why:find("no image", 1, true), why)
end)

test("no command: the image's entrypoint and cmd, its env under the container's, workingDir, user", function()
  local t0 = pod.now()
  local p = pod.run{ name = "web", containers = { { name = "app", image = "registry.test:5000/team/web:1.0",
    env = { { name = "MODE", value = "container" } } } } }
  assert(p:wait("Running", 10))
  pod.sleep(0)
  assert(p:logs("app") == "cmd:from-image:container\n/srv/www\nuid=1000 gid=2000\n", p:logs("app"))
  -- The pull took the image's 3 virtual seconds, and kubelet's events say so.
  assert(messages(p, "Pulling") == 'Pulling image "registry.test:5000/team/web:1.0"', messages(p, "Pulling"))
  assert(messages(p, "Pulled") ==
    'Successfully pulled image "registry.test:5000/team/web:1.0" in 3s (3s including waiting). Image size: 4096 bytes.',
    messages(p, "Pulled"))
  local started = events(p, "Started")[1]
  assert(started.time - t0 == 3, started.time - t0)
  -- An exec sees the image's variables too.
  local r = p:exec("app", { "sh", "-c", "echo $GREETING" })
  assert(r.stdout == "from-image\n", r.stdout)
  p:remove()
end)

test("while the image pulls the pod is Pending and its container ContainerCreating", function()
  pod.sim.image{ name = "registry.test:5000/slow:1", cmd = { "sleep", "1000" }, pullSeconds = 20 }
  local p = pod.run{ name = "slow", containers = { { name = "app", image = "registry.test:5000/slow:1" } } }
  pod.sleep(5)
  local app = p:status().containers.app
  assert(p:status().phase == "Pending", p:status().phase)
  assert(app.state == "waiting" and app.reason == "ContainerCreating", app.reason)
  assert(p:wait("Running", 30))
  p:remove()
end)

test("command replaces entrypoint and drops cmd; args replace cmd", function()
  local p = pod.run{ name = "rules", restartPolicy = "Never",
    initContainers = {
      { name = "cmd-only", image = "tools" },
      { name = "args-only", image = "tools", args = { "given-args" } },
      { name = "command-only", image = "tools", command = { "echo", "own" } },
    },
    containers = { { name = "both", image = "tools", command = { "echo", "own" }, args = { "and-args" } } } }
  assert(p:wait("Succeeded", 10))
  assert(p:logs("cmd-only") == "entry default-cmd\n", p:logs("cmd-only"))
  assert(p:logs("args-only") == "entry given-args\n", p:logs("args-only"))
  assert(p:logs("command-only") == "own\n", p:logs("command-only"))
  assert(p:logs("both") == "own and-args\n", p:logs("both"))
  -- A local image is never pulled: the default policy (Always, for :latest) acts as IfNotPresent.
  assert(#events(p, "Pulling") == 0)
  assert(messages(p, "Pulled"):find('Container image "tools" already present on machine', 1, true), messages(p, "Pulled"))
  p:remove()
end)

test("the image's StopSignal is what a graceful stop sends", function()
  pod.sim.program("quitter", function(proc)
    proc:trap("QUIT", function() print("got QUIT"); proc:exit(0) end)
    proc:trap("TERM", function() print("got TERM"); proc:exit(1) end)
    proc:sleep(1000)
  end)
  pod.sim.image{ name = "quits", entrypoint = { "quitter" }, stopSignal = "QUIT" }
  pod.sim.image{ name = "terms", entrypoint = { "quitter" } }
  local p = pod.run{ name = "stopsig", containers = { { name = "q", image = "quits" }, { name = "t", image = "terms" } } }
  assert(p:wait("Running", 10))
  p:stop()
  assert(p:logs("q") == "got QUIT\n", p:logs("q"))
  assert(p:logs("t") == "got TERM\n", p:logs("t"))
  local q = p:status().containers.q
  assert(q.exitCode == 0, q.exitCode)
  p:remove()
end)

test("IfNotPresent uses the pulled image; Always pulls a registry image again", function()
  local p = pod.run{ name = "again", containers = {
    { name = "a", image = "registry.test:5000/team/web:1.0", imagePullPolicy = "IfNotPresent" },
    { name = "b", image = "registry.test:5000/team/web:1.0", imagePullPolicy = "Always" } } }
  assert(p:wait("Running", 10))
  assert(messages(p, "Pulled"):find('Container image "registry.test:5000/team/web:1.0" already present on machine', 1, true))
  assert(#events(p, "Pulling") == 1, #events(p, "Pulling"))
  p:remove()
end)

test("Never with an image not in the store: ErrImageNeverPull, then it runs once the image is there", function()
  local p = pod.run{ name = "never", containers = { { name = "app", image = "registry.test:5000/later:1",
    imagePullPolicy = "Never", command = { "sleep", "1000" } } } }
  pod.sleep(1)
  local app = p:status().containers.app
  assert(app.reason == "ErrImageNeverPull", app.reason)
  assert(app.message == 'Container image "registry.test:5000/later:1" is not present with pull policy of Never', app.message)
  assert(events(p, "ErrImageNeverPull")[1].type == "Warning")
  pod.sim.image{ name = "registry.test:5000/later:1" }
  assert(pod.image.pull("registry.test:5000/later:1").ref == "registry.test:5000/later:1")
  assert(p:wait("Running", 30))
  p:remove()
end)

test("a missing image: ErrImagePull, then ImagePullBackOff with kubelet's 10 s doubling delays", function()
  local t0 = pod.now()
  local p = pod.run{ name = "missing", containers = { { name = "app", image = "registry.test:5000/nope:2" } } }
  -- ErrImagePull with the registry's words, then at once ImagePullBackOff until the next try.
  assert(messages(p, "Failed") == 'Failed to pull image "registry.test:5000/nope:2": failed to resolve reference '
    .. '"registry.test:5000/nope:2": registry.test:5000/nope:2: not found | Error: ErrImagePull | Error: ImagePullBackOff',
    messages(p, "Failed"))
  local app = p:status().containers.app
  assert(app.reason == "ImagePullBackOff", app.reason)
  assert(app.message == 'Back-off pulling image "registry.test:5000/nope:2"', app.message)
  pod.sleep(400)
  -- The delays the runtime planned, from its events, and the pulls at those times.
  local planned, pulls = {}, {}
  for _, e in ipairs(events(p, "BackOff")) do planned[#planned + 1] = e.message:match("^Back%-off (%d+)s pulling") end
  for _, e in ipairs(events(p, "Pulling")) do pulls[#pulls + 1] = math.tointeger(e.time - t0) end
  assert(table.concat(planned, ",", 1, 6) == "10,20,40,80,160,300", table.concat(planned, ","))
  assert(table.concat(pulls, ",", 1, 6) == "0,10,30,70,150,310", table.concat(pulls, ","))
  assert(p:status().phase == "Pending")
  -- Once the registry has it, the next try succeeds.
  pod.sim.image{ name = "registry.test:5000/nope:2", cmd = { "sleep", "1000" } }
  assert(p:wait("Running", 301))
  assert(p:status().containers.app.restartCount == 0)
  p:remove()
end)

test("an unparsable reference is InvalidImageName", function()
  local p = pod.run{ name = "bad-ref", containers = { { name = "app", image = "Registry.test/UPPER:1" } } }
  local app = p:status().containers.app
  assert(app.reason == "InvalidImageName", app.reason)
  assert(app.message:find('Failed to apply default image tag "Registry.test/UPPER:1": couldn\'t parse image name', 1, true), app.message)
  assert(events(p, "InspectFailed")[1].type == "Warning")
  p:remove()
end)

test("an unknown local name fails to pull: nothing to pull it from", function()
  local p = pod.run{ name = "unknown", containers = { { name = "app", image = "nginx:1.25" } } }
  assert(p:status().containers.app.reason == "ImagePullBackOff")
  assert(messages(p, "Failed"):find('Failed to pull image "nginx:1.25": "nginx:1.25" names no registry and is not in the store', 1, true),
    messages(p, "Failed"))
  p:remove()
end)

test("pod.image.list, pull and inspect", function()
  local pulled = assert(pod.image.pull("registry.test:5000/team/web:1.0"))
  assert(pulled.id == web.id and pulled.cmd[1]:find("^echo cmd:"), pulled.id)
  local refs = {}
  for _, image in ipairs(pod.image.list()) do
    refs[#refs + 1] = image.ref
    assert(image.id:match("^sha256:") and image.size >= 0)
  end
  assert(table.concat(refs, " "):find("registry.test:5000/team/web:1.0 ", 1, true), table.concat(refs, " "))
  local none, why = pod.image.pull("registry.test:5000/absent:1")
  assert(none == nil and why:find("not found", 1, true), why)
  local bad, reason = pod.image.pull("UPPER")
  assert(bad == nil and reason:find("invalid reference format", 1, true), reason)
end)

test("pod.sim.image refuses what an OCI config cannot hold", function()
  local ok, err = pcall(pod.sim.image, { name = "x", stopSignal = "SIGNOPE" })
  assert(not ok and err:find('stopSignal "SIGNOPE" is not a signal', 1, true), err)
  ok, err = pcall(pod.sim.image, { name = "x", env = { "NOEQUALS" } })
  assert(not ok and err:find('env entry "NOEQUALS" is not NAME=value', 1, true), err)
  ok, err = pcall(pod.sim.image, { name = "x", colour = "red" })
  assert(not ok and err:find("unknown field 'colour'", 1, true), err)
  ok, err = pcall(pod.sim.image, { cmd = { "true" } })
  assert(not ok and err:find("name (the image reference) is required", 1, true), err)
  ok, err = pcall(pod.sim.image, { name = "Bad Name" })
  assert(not ok and err:find("invalid reference format", 1, true), err)
end)

test("a bad user is a start failure naming the user", function()
  pod.sim.image{ name = "badwho", cmd = { "true" }, user = "www-data" }
  local p = pod.run{ name = "badwho", restartPolicy = "Never", containers = { { name = "app", image = "badwho" } } }
  assert(p:wait("Failed", 10))
  local app = p:status().containers.app
  assert(app.reason == "StartError" and app.message:find("unable to find user www-data", 1, true), app.message)
  p:remove()
end)

-- A registry that asks who pulls: imagePullSecrets name a kubernetes.io/dockerconfigjson Secret.
pod.sim.image{ name = "private.test/team/app:1", cmd = { "echo", "private" }, credentials = "alice:pw", pullSeconds = 2 }

local function dockerconfig(registry, user, password)
  -- base64 of "alice:pw" and "alice:wrong", as docker writes config.json.
  local auth = ({ ["alice:pw"] = "YWxpY2U6cHc=", ["alice:wrong"] = "YWxpY2U6d3Jvbmc=" })[user .. ":" .. password]
  return '{"auths":{"' .. registry .. '":{"auth":"' .. auth .. '"}}}'
end

test("a private image pulls with its pod's imagePullSecrets and fails without them", function()
  local anonymous = pod.run{ name = "anon", restartPolicy = "Never",
    containers = { { name = "c", image = "private.test/team/app:1" } } }
  assert(anonymous:wait(function(s) return s.containers.c.reason == "ImagePullBackOff" end, 5))
  assert(messages(anonymous, "Failed"):find("private.test: unauthorized: authentication required", 1, true),
    messages(anonymous, "Failed"))
  anonymous:remove()
  local wrong = pod.secret{ name = "wrong", type = "kubernetes.io/dockerconfigjson",
    stringData = { [".dockerconfigjson"] = dockerconfig("private.test", "alice", "wrong") } }
  local refused = pod.run{ name = "refused", restartPolicy = "Never", imagePullSecrets = { { name = "wrong" } },
    containers = { { name = "c", image = "private.test/team/app:1" } } }
  assert(refused:wait(function(s) return s.containers.c.reason == "ImagePullBackOff" end, 5))
  assert(messages(refused, "Failed"):find("the credentials were refused", 1, true), messages(refused, "Failed"))
  refused:remove()
  -- data holds base64, as in a manifest; the Secret may hold other registries too.
  local good = pod.secret{ name = "regcred", type = "kubernetes.io/dockerconfigjson",
    stringData = { [".dockerconfigjson"] = '{"auths":{"other.test":{"auth":"eDp5"},"private.test/team":{"auth":"YWxpY2U6cHc="}}}' } }
  assert(good.name == "regcred" and good.type == "kubernetes.io/dockerconfigjson")
  local p = pod.run{ name = "private", restartPolicy = "Never",
    imagePullSecrets = { { name = "missing" }, { name = "regcred" } },
    containers = { { name = "c", image = "private.test/team/app:1" } } }
  assert(p:wait("Succeeded", 10))
  assert(p:logs("c") == "private\n", p:logs("c"))
  assert(messages(p, "FailedToRetrieveImagePullSecret") ==
    "Unable to retrieve some image pull secrets (missing); attempting to pull the image may not succeed.",
    messages(p, "FailedToRetrieveImagePullSecret"))
  p:remove()
  assert(good:remove() == true and good:remove() == false)
  assert(wrong:remove() == true)
end)

test("pod.secret refuses what a Secret cannot hold", function()
  local ok, err = pcall(pod.secret, { name = "x", data = { k = "not base64!" } })
  assert(not ok and err:find("data.k: illegal base64 data", 1, true), err)
  ok, err = pcall(pod.secret, { name = "x", type = "kubernetes.io/dockerconfigjson", stringData = { a = "b" } })
  assert(not ok and err:find("has no .dockerconfigjson key", 1, true), err)
  ok, err = pcall(pod.secret, { name = "x", type = "kubernetes.io/dockerconfigjson", stringData = { [".dockerconfigjson"] = "{" } })
  assert(not ok and err:find("not JSON", 1, true), err)
  ok, err = pcall(pod.secret, { data = {} })
  assert(not ok and err:find("name is required", 1, true), err)
  ok, err = pcall(pod.secret, { name = "Bad_Name" })
  assert(not ok and err:find('name "Bad_Name"', 1, true), err)
  ok, err = pcall(pod.secret, { name = "x", colour = "red" })
  assert(not ok and err:find("unknown field 'colour'", 1, true), err)
end)
