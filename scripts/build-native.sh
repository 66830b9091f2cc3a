#!/usr/bin/env bash
# Builds server/native, each part when its source is newer than its build:
# - build/gst: the GStreamer plugin with the damage-driven screen source (without it the
#   screen capture falls back to ximagesrc);
# - build/native: the Node addon that protects and sends viewers' RTP (without it the
#   forwarder does the same in JavaScript, at several times the CPU).
# Without a compiler or the headers it says so and leaves that part out.
set -euo pipefail
cd "$(dirname "$0")/.."

fresh() { [ -f "$1" ] && [ "$1" -nt "$2" ] && [ "$1" -nt "$0" ]; }
CFLAGS=(-O2 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -shared -fPIC)

src=server/native/gst-damage-src.c
out=build/gst/libgstnekodamagesrc.so
mods=(gstreamer-1.0 gstreamer-base-1.0 gstreamer-video-1.0 x11 xext xdamage xi)
if fresh "$out" "$src"; then :
elif ! command -v cc >/dev/null || ! pkg-config --exists "${mods[@]}" 2>/dev/null; then
  echo "build-native: no C compiler or headers for ${mods[*]}; the screen capture falls back to ximagesrc" >&2
else
  mkdir -p build/gst
  # shellcheck disable=SC2046 # pkg-config prints several words on purpose
  cc "${CFLAGS[@]}" -DPLUGIN_VERSION="\"$(pkg-config --modversion gstreamer-1.0)\"" \
    -o "$out.tmp" "$src" $(pkg-config --cflags --libs "${mods[@]}")
  mv "$out.tmp" "$out"
fi

# Node's own headers, OpenSSL's included: the addon uses the OpenSSL inside the node binary.
src=server/native/srtp-sender.c
out=build/native/srtp-sender.node
headers="$(dirname "$(dirname "$(command -v node)")")/include/node"
if fresh "$out" "$src"; then :
elif ! command -v cc >/dev/null || [ ! -f "$headers/node_api.h" ] || [ ! -f "$headers/openssl/evp.h" ]; then
  echo "build-native: no C compiler or Node headers ($headers); viewers' RTP is protected in JavaScript" >&2
else
  mkdir -p build/native
  cc "${CFLAGS[@]}" -DNODE_GYP_MODULE_NAME=srtp_sender -I"$headers" -o "$out.tmp" "$src"
  mv "$out.tmp" "$out"
fi
