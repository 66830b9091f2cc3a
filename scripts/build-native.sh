#!/usr/bin/env bash
# Builds the GStreamer plugin in server/native (the damage-driven screen source) into
# build/gst, when its source is newer than the build. Without a compiler or the headers it
# says so and leaves it out: the server then captures with ximagesrc.
set -euo pipefail
cd "$(dirname "$0")/.."
src=server/native/gst-damage-src.c
out=build/gst/libgstnekodamagesrc.so
[ -f "$out" ] && [ "$out" -nt "$src" ] && exit 0
mods=(gstreamer-1.0 gstreamer-base-1.0 gstreamer-video-1.0 x11 xext xdamage xi)
if ! command -v cc >/dev/null || ! pkg-config --exists "${mods[@]}" 2>/dev/null; then
  echo "build-native: no C compiler or headers for ${mods[*]}; the screen capture falls back to ximagesrc" >&2
  exit 0
fi
mkdir -p build/gst
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -O2 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -shared -fPIC \
  -DPLUGIN_VERSION="\"$(pkg-config --modversion gstreamer-1.0)\"" \
  -o "$out.tmp" "$src" $(pkg-config --cflags --libs "${mods[@]}")
mv "$out.tmp" "$out"
