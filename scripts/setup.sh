#!/usr/bin/env bash
# Installs whatever the product and its tests need and is missing: Debian packages (as root,
# with apt; otherwise prints the apt line to run) and npm packages. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  xvfb x11-utils x11-xserver-utils x11-xkb-utils xdotool xclip xterm openbox
  xserver-xorg-core xserver-xorg-video-dummy
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-x
  pulseaudio chromium iproute2 util-linux fonts-dejavu-core fonts-noto-color-emoji
  nginx libnginx-mod-rtmp
  # to build server/native (scripts/build-native.sh)
  gcc libc6-dev pkg-config libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libx11-dev libxext-dev libxdamage-dev libxi-dev
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing system packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

bash scripts/build-native.sh

# npm install only when the lock file changed since the last install (or nothing is installed).
stamp=node_modules/.setup-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi

# tests/docker builds the Docker images in the test's private network namespace, where no
# registry is reachable: the downloads (Debian base and packages, Node, node_modules) go into
# its build cache here, once, and again only when the Dockerfile or the lock file change.
if [ "${npm_lifecycle_event:-}" = test ] && [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
  bash docker/warm-test-cache.sh || echo "setup: the Docker images could not be prepared: tests/docker will fail" >&2
fi
