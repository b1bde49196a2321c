#!/usr/bin/env bash
# The seed article's pod for real, from images people make: builds an nginx image (the seed's
# default.conf: listen 80, proxy_pass http://127.0.0.1:8080) and a Node.js image (app.js answers
# "You've hit <hostname>" on 8080) from Debian packages with mmdebstrap, as OCI layouts with
# umoci, pushes them with skopeo to Debian's docker-registry started on 127.0.0.1, pulls them
# with `podsh image pull`, and runs the seed's pod on the linux backend — the pause publishing
# hostPort 80, both containers without `command`, so their entrypoints come from the images —
# then shows `curl http://127.0.0.1:80/` and `ps` in node-server (the pause is PID 1: the pod
# shares its PID namespace). Cleans up after itself. Root, network access to deb.debian.org
# (or MIRROR=...), port 80 free; outside CI (make seed-linux).
#     scripts/seed-linux.sh [PODSH]
set -euo pipefail
cd "$(dirname "$0")/.."
podsh=$(readlink -f "${1:-.build/debug/podsh}")
mirror=${MIRROR:-http://deb.debian.org/debian}
missing=()
for tool in mmdebstrap umoci skopeo docker-registry curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  echo "seed-linux: installing ${missing[*]}" >&2
  # No service is started while installing (docker-registry's would listen on :5000).
  made_policy=0
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
fi
work=$(mktemp -d)
registry_pid=
cleanup() {
  if [ -n "$registry_pid" ]; then kill -KILL "$registry_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n$ %s\n' "$*"; }

# Two root file systems from Debian packages (no docs, no apt lists).
mkdir -p "$work/files"
cat > "$work/files/default.conf" <<'CONF'
server {
    listen 80;
    location / {
        proxy_pass http://127.0.0.1:8080;
    }
}
CONF
cat > "$work/files/app.js" <<'JS'
const http = require("http");
const os = require("os");
const port = process.env.PORT || 8080;
http.createServer((request, response) => {
  response.end("You've hit " + os.hostname() + "\n");
}).listen(port, () => console.log("listening on " + port));
JS
slim=(--variant=minbase --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
      --dpkgopt='path-exclude=/usr/share/locale/*' --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*')
echo "seed-linux: building the nginx and node root file systems (mmdebstrap, $mirror)" >&2
mmdebstrap "${slim[@]}" --include=nginx-light \
  --customize-hook='rm -f "$1"/etc/nginx/sites-enabled/default' \
  --customize-hook="copy-in $work/files/default.conf /etc/nginx/conf.d" \
  bookworm "$work/nginx.tar" "$mirror" >/dev/null 2>"$work/mmdebstrap.log" || { cat "$work/mmdebstrap.log" >&2; exit 1; }
mmdebstrap "${slim[@]}" --include=nodejs,procps \
  --customize-hook='mkdir -p "$1"/app' --customize-hook="copy-in $work/files/app.js /app" \
  bookworm "$work/node.tar" "$mirror" >/dev/null 2>"$work/mmdebstrap.log" || { cat "$work/mmdebstrap.log" >&2; exit 1; }

# OCI layouts with umoci: one layer each, the entrypoint in the config (umoci writes manifests
# without a mediaType: the pull types them by Content-Type).
umoci init --layout "$work/oci"
image() {  # NAME TARBALL umoci-config-args...
  local name=$1 tarball=$2
  shift 2
  umoci new --image "$work/oci:$name"
  umoci unpack --image "$work/oci:$name" "$work/bundle-$name" >/dev/null
  tar -C "$work/bundle-$name/rootfs" --numeric-owner -xpf "$tarball"
  umoci repack --image "$work/oci:$name" "$work/bundle-$name" >/dev/null
  umoci config --image "$work/oci:$name" "$@"
  rm -rf "$work/bundle-$name"
}
image nginx "$work/nginx.tar" --config.entrypoint nginx --config.cmd=-g --config.cmd="daemon off;" --config.stopsignal SIGQUIT
image node "$work/node.tar" --config.entrypoint node --config.cmd /app/app.js --config.workingdir /app \
  --config.env PORT=8080 --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

. scripts/local-registry.sh
start_registry "$work"
host=127.0.0.1:$registry_port
for name in nginx node; do
  skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$work/oci:$name" "docker://$host/seed/$name:1"
done

images=(--image-dir "$work/images")
say podsh image pull "$host/seed/node:1" --insecure
"$podsh" image pull "$host/seed/node:1" --insecure "${images[@]}" 2>&1
say podsh image pull "$host/seed/nginx:1" --insecure
"$podsh" image pull "$host/seed/nginx:1" --insecure "${images[@]}" 2>&1
say podsh image ls
"$podsh" image ls "${images[@]}"

cat > "$work/seed.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  shareProcessNamespace: true
  containers:
  - name: node-server
    image: $host/seed/node:1
    ports: [{containerPort: 8080}]
    resources: {limits: {cpu: 500m, memory: 128Mi}}
  - name: nginx
    image: $host/seed/nginx:1
    ports: [{containerPort: 80, hostPort: 80}]
YAML
cat > "$work/seed.lua" <<'LUA'
local manifest = assert(io.open(arg[1])):read("a")
local web = pod.run(pod.fromyaml(manifest))
assert(web:wait("Running", 120))
-- Both servers take a moment to listen: ask until nginx answers (or 60 s pass).
local answer
local deadline = pod.now() + 60
repeat
  answer = pod.exec({ "curl", "-s", "--max-time", "2", "http://127.0.0.1:80/" })
  if answer.exitCode ~= 0 or not answer.stdout:find("You've hit") then pod.sleep(0.2) end
until (answer.exitCode == 0 and answer.stdout:find("You've hit")) or pod.now() > deadline
local function show(text) print((text:gsub("\n$", ""))) end
print("$ curl http://127.0.0.1:80/")
show(answer.stdout)
print("$ (in node-server) ps -e -o pid,comm")
show(web:exec("node-server", { "ps", "-e", "-o", "pid,comm" }).stdout)
print("$ (events)")
for _, e in ipairs(web:events()) do
  if e.reason == "Pulled" or e.reason == "Started" then print(e.reason, e.container, e.message) end
end
assert(answer.stdout == "You've hit web\n", answer.stdout)
web:remove()
LUA
say podsh --backend linux --unsafe seed.lua seed.yaml
"$podsh" --backend linux --unsafe "${images[@]}" --state-dir "$work/state" --insecure-registry "$host" "$work/seed.lua" "$work/seed.yaml"
echo
echo "seed-linux: the seed pod ran on pulled images; the registry is stopped and the pod removed" >&2
