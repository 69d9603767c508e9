#!/usr/bin/env bash
# Installs what `make bench` needs (Debian 12): the peer proxies, h2load, curl, python3 + matplotlib (chart).
# Idempotent: installs only what is missing, runs `apt-get update` only when a package cannot be found
# (or an install fails on a stale package list). Never starts the packages' system services.
set -euo pipefail

PKGS=(haproxy caddy apache2 nginx nghttp2-client curl python3 python3-matplotlib openssl iproute2 util-linux)
# only when the command is missing (they are usually there already on this machine kind)
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v java >/dev/null 2>&1 || PKGS+=(openjdk-17-jdk-headless)
command -v mvn  >/dev/null 2>&1 || PKGS+=(maven)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install.sh: all bench packages present"
  exit 0
fi
echo "install.sh: missing: ${missing[*]}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"
  else
    echo "install.sh: not root; run as root:  apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# keep packages from starting their services (the bench runs its own instances on loopback)
want=$'#!/bin/sh\nexit 101'
if [ "$(cat /usr/sbin/policy-rc.d 2>/dev/null | grep -v '^#' | grep -v '^$' | tail -n1)" != "exit 101" ]; then
  printf '%s\n' "$want" | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
fi
$SUDO chmod +x /usr/sbin/policy-rc.d

export DEBIAN_FRONTEND=noninteractive
need_update=0
for p in "${missing[@]}"; do
  cand="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')"
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; break; fi
done
if [ "$need_update" = 1 ]; then
  echo "install.sh: apt-get update"
  $SUDO apt-get update -q
fi
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  echo "install.sh: install failed; refreshing package lists and retrying once"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install.sh: done"
