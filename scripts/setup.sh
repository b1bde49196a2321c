#!/usr/bin/env bash
# Installs what building and testing swift-pods needs on a fresh Debian machine, only when it
# is missing: Debian packages (Lua 5.4 headers and interpreter, libedit for the prompt, busybox-static
# (the linux backend's test image), util-linux (ipcmk/ipcs, setpriv), tar (image import), python3-minimal
# (the OOM and fork-bomb tests), libarchive-dev and libssl-dev (the image store: libarchive and
# libcrypto are loaded at first use, so only their headers and libraries are needed),
# libcurl4-openssl-dev (pulls: libcurl too is loaded at first use), pkg-config) and, with --validator,
# what the tests use: Graphviz, tmux (the prompt's tests), docker-registry, skopeo, apache2-utils and
# openssl (the pull tests), and the kubernetes-validate schema checker from PyPI in .venv.
# Idempotent and quiet when everything is there already.
set -euo pipefail
cd "$(dirname "$0")/.."

want_validator=0
for arg in "$@"; do
  case "$arg" in
    --validator) want_validator=1 ;;
    *) echo "usage: scripts/setup.sh [--validator]" >&2; exit 2 ;;
  esac
done

packages=(liblua5.4-dev lua5.4 libedit-dev pkg-config busybox-static util-linux tar python3-minimal libarchive-dev libssl-dev libcurl4-openssl-dev zstd libseccomp-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The tests also render diagrams with Graphviz's dot and drive the prompt through tmux.
test_tools=()
if ((want_validator)); then
  command -v dot >/dev/null 2>&1 || test_tools+=(graphviz)
  command -v tmux >/dev/null 2>&1 || test_tools+=(tmux)
  # Pull tests: Debian's registry, skopeo to push to it, htpasswd for its Basic auth.
  command -v docker-registry >/dev/null 2>&1 || test_tools+=(docker-registry)
  command -v skopeo >/dev/null 2>&1 || test_tools+=(skopeo)
  command -v htpasswd >/dev/null 2>&1 || test_tools+=(apache2-utils)
  command -v openssl >/dev/null 2>&1 || test_tools+=(openssl)
fi
if ((${#test_tools[@]})); then
  echo "setup: installing ${test_tools[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # docker-registry's package would start a registry on :5000; the tests start their own on
  # 127.0.0.1, so no service is started while installing (policy-rc.d, only if there is none).
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${test_tools[@]}" >/dev/null
  ((made_policy)) && $sudo rm -f /usr/sbin/policy-rc.d
fi

if ((want_validator)) && [ ! -x .venv/bin/kubernetes-validate ]; then
  echo "setup: installing kubernetes-validate into .venv" >&2
  if ! python3 -m venv .venv 2>/dev/null; then
    rm -rf .venv
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv .venv
  fi
  .venv/bin/pip install -q --disable-pip-version-check kubernetes-validate
fi
