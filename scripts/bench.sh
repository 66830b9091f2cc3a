#!/usr/bin/env bash
# `npm run bench`: media-loop latency, fan-out and CPU (bench/media.ts; quick by default,
# `npm run bench -- --full` for everything); `npm run soak` runs bench/soak.ts
# the same way (BENCH_SCRIPT). Prints a table; targets are
# reported, not enforced. As root it runs in a private network namespace with only loopback
# up, like the tests, so no WebRTC candidate can point off this machine, and at a raised
# priority (inherited by the server, its encoders and X server) so that other work on a
# shared machine skews the numbers less; the table still reports how busy the machine was.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

run=(node --import tsx "${BENCH_SCRIPT:-bench/media.ts}" "$@")
if [ "$(id -u)" = 0 ]; then
  run=(nice -n -10 "${run[@]}")
  if unshare -n true 2>/dev/null; then
    exec unshare -n bash -c 'ip link set lo up && exec "$@"' netns "${run[@]}"
  fi
fi
echo "bench: no private network namespace here; WebRTC advertises 127.0.0.1 only" >&2
exec "${run[@]}"
