#!/bin/sh
# coturn with what compose.yaml passes as variables: TURN_PASSWORD (required), TURN_USER
# (default neko) and TURN_EXTERNAL_IP (the public address relays are announced at).
set -eu
if [ -z "${TURN_PASSWORD:-}" ]; then
  echo "coturn: set TURN_PASSWORD" >&2
  exit 2
fi
set -- -c /etc/turnserver.conf --user="${TURN_USER:-neko}:$TURN_PASSWORD" "$@"
if [ -n "${TURN_EXTERNAL_IP:-}" ]; then set -- "$@" --external-ip="$TURN_EXTERNAL_IP"; fi
exec turnserver "$@"
