#!/usr/bin/env bash
# `npm test`: installs what is missing, type-checks, builds the viewer, then runs every test.
# As root the run happens in a private network namespace with only loopback up, so no
# WebRTC candidate or browser request can leave this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc --noEmit -p .
node scripts/build-client.mjs

if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find tests -name '*.test.ts' | sort); fi
run=(node --import tsx --test --test-concurrency=1 --test-timeout=180000 "${files[@]}")
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
  exec unshare -n bash -c 'ip link set lo up && exec "$@"' netns "${run[@]}"
fi
echo "test: no private network namespace here; WebRTC tests advertise 127.0.0.1 only" >&2
exec "${run[@]}"
