#!/usr/bin/env bash
# Installs the real WebSocket peers used by the interop tests:
#   - Debian packages: chromium (headless browser), python3-websockets,
#     firefox-esr (run headless), libwebkit2gtk-4.1-0 (its MiniBrowser is
#     WebKit's test browser) and xvfb (the X server MiniBrowser runs on)
#   - npm packages from testdata/peers/package-lock.json (ws, playwright-core)
# Idempotent and non-interactive. Run from anywhere: bash .ci/install-peers.sh
# Needs Debian/Ubuntu with apt, Node >= 20 and npm already on PATH.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# Debian packages: only touch apt when something is missing.
pkgs=(chromium python3-websockets firefox-esr libwebkit2gtk-4.1-0 xvfb)
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-peers: apt-get install ${missing[*]}"
  # Another apt run may hold the dpkg lock: wait for it.
  $sudo apt-get -o DPkg::Lock::Timeout=900 update -q
  $sudo apt-get -o DPkg::Lock::Timeout=900 install -y "${missing[@]}"
else
  echo "install-peers: apt packages already installed"
fi

# Node peers (playwright-core 1.65 needs Node >= 20).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-peers: node and npm (Node >= 20) are required" >&2
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "install-peers: Node >= 20 required, found $(node -v)" >&2
  exit 1
fi
cd "$root/testdata/peers"
npm ci --no-audit --no-fund

# Sanity checks: the peers must be importable/runnable.
/usr/bin/python3 -c 'import websockets; print("install-peers: python3-websockets", websockets.__version__)'
node -p '"install-peers: ws " + require("ws/package.json").version + ", playwright-core " + require("playwright-core/package.json").version'
echo "install-peers: $(/usr/bin/chromium --version 2>/dev/null)"
echo "install-peers: $(firefox-esr --version 2>/dev/null)"
minibrowser="$(ls /usr/lib/*/webkit2gtk-4.1/MiniBrowser 2>/dev/null | head -n 1)"
if [ -z "$minibrowser" ]; then
  echo "install-peers: libwebkit2gtk-4.1-0 installed no MiniBrowser" >&2
  exit 1
fi
echo "install-peers: WebKitGTK MiniBrowser at $minibrowser, Xvfb at $(command -v Xvfb)"
