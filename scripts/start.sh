#!/usr/bin/env bash
# `npm start`: installs what is missing, builds the viewer and runs the server, which starts
# its own virtual desktop (X server, window manager, demo app), PulseAudio and encoders.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node scripts/build-client.mjs
exec node --import tsx server/src/main.ts "$@"
