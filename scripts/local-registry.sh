# Sourced by the pull scripts: start_registry DIR starts Debian's docker-registry on a free port
# of 127.0.0.1 with its storage and access log (DIR/registry.log) in DIR, waits until it
# listens, and sets registry_port and registry_pid (the caller kills it).
start_registry() {
  local dir=$1
  registry_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$dir/config.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $dir/data}}
http: {addr: 127.0.0.1:$registry_port}
YML
  docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
  registry_pid=$!
  disown
  until python3 -c "import socket; socket.create_connection(('127.0.0.1',$registry_port))" 2>/dev/null; do sleep 0.05; done
}
