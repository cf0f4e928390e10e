#!/usr/bin/env bash
# Installs the real proxies used by deploy_test.go and proxy_test.go:
#   - reverse proxies: nginx, caddy
#   - forward proxies: tinyproxy, squid
# The tests start their own instances on free loopback ports, with configs
# generated from testdata/deploy and pid/log/cache files in temp dirs, so
# the distribution's own services are neither wanted nor left running.
# Idempotent and non-interactive: apt is touched only when a package is
# missing. Run from anywhere: bash .ci/install-proxies.sh
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

pkgs=(nginx caddy tinyproxy squid)
services=(nginx caddy tinyproxy squid)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-proxies: apt-get install ${missing[*]}"
  # Keep the packages' maintainer scripts from starting the services:
  # nginx and caddy both want port 80, and a failed start fails the
  # install. policy-rc.d answering 101 ("action forbidden") is honoured by
  # invoke-rc.d and deb-systemd-invoke alike. An existing policy is kept.
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    own_policy=1
  fi
  cleanup() { if [ -n "$own_policy" ]; then $sudo rm -f "$policy"; fi; }
  trap cleanup EXIT
  $sudo apt-get -o DPkg::Lock::Timeout=900 update -q
  $sudo apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
  cleanup
  trap - EXIT
else
  echo "install-proxies: apt packages already installed"
fi

# Stop and disable any distribution service that runs anyway (a machine
# with systemd, or an install made before this script), so that nothing
# listens on 80/3128/8888 behind the tests' backs.
for s in "${services[@]}"; do
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    $sudo systemctl disable --now "$s" >/dev/null 2>&1 || true
  elif [ -x "/etc/init.d/$s" ]; then
    $sudo "/etc/init.d/$s" stop >/dev/null 2>&1 || true
  fi
done
# Without an init system, a daemon started by hand leaves only its pid file.
for pidfile in /run/nginx.pid /run/squid.pid /run/tinyproxy/tinyproxy.pid; do
  if [ -s "$pidfile" ]; then
    pid="$(cat "$pidfile")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      echo "install-proxies: stopping the running $(basename "$pidfile" .pid) (pid $pid)"
      $sudo kill "$pid" || true
    fi
  fi
done

# Sanity checks: every binary the tests run must be there.
echo "install-proxies: $(nginx -v 2>&1)"
echo "install-proxies: caddy $(caddy version 2>&1 | head -n 1)"
echo "install-proxies: $(tinyproxy -v 2>&1 | head -n 1)"
echo "install-proxies: $(squid -v 2>&1 | head -n 1)"
