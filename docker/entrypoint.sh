#!/bin/sh
# Entry point of the neko-ts images (PID 2, under tini): prepares the state volume, runs the
# app image's start hooks (/etc/neko/entrypoint.d/*.sh), then becomes the server.
set -eu

if [ "$(id -u)" = 0 ]; then
  # A fresh volume or host folder starts empty. The server's files (sessions, members) are
  # root's alone; the desktop user's home (browser profile, downloads) is that user's.
  install -d -m 755 /var/lib/neko
  install -d -m 700 /var/lib/neko/server
  user=${NEKO_DESKTOP_USER:-neko}
  if home=$(getent passwd "$user" | cut -d: -f6) && [ -n "$home" ]; then
    install -d -m 700 -o "$user" -g "$(id -g "$user")" "$home"
  fi
fi

for hook in /etc/neko/entrypoint.d/*.sh; do
  if [ -e "$hook" ]; then . "$hook"; fi
done

exec node /opt/neko/server/src/main.js "$@"
