#!/usr/bin/env bash
# `npm run bench`: media-loop latency and CPU (bench/media.ts). Prints a table; targets are
# reported, not enforced. As root it runs in a private network namespace with only loopback
# up, like the tests, so no WebRTC candidate can point off this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

run=(node --import tsx bench/media.ts "$@")
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
  exec unshare -n bash -c 'ip link set lo up && exec "$@"' netns "${run[@]}"
fi
echo "bench: no private network namespace here; WebRTC advertises 127.0.0.1 only" >&2
exec "${run[@]}"
