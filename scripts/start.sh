#!/usr/bin/env bash
# `npm start`: installs what is missing, builds the viewer and runs the server, which starts
# its own virtual desktop (X server, window manager, Chromium), PulseAudio and encoders.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node scripts/build-client.mjs
# Sessions and share links survive a restart, so viewers reconnect without logging in again.
# Flags beat NEKO_* variables, so a variable the user set is left to speak for itself.
state="${NEKO_STATE_DIR:-$PWD/.state}"
defaults=()
[ -n "${NEKO_SESSION_FILE:-}" ] || defaults+=(--session.file "$state/sessions.json")
[ -n "${NEKO_SHARE_DIR:-}" ] || defaults+=(--share.dir "$state")
exec node --import tsx server/src/main.ts "${defaults[@]}" "$@"
