#!/usr/bin/env bash
# A private Docker daemon for machines where none runs (build.sh and the container test use
# it): its own containerd, socket, exec root and data root, and no network set-up at all —
# no bridge, no iptables rules, no NAT, no IP forwarding. Containers get `--network none` or
# `--network host`, nothing else.
#
#   docker/dockerd.sh start   start it (stops a leftover one of the same name first)
#   docker/dockerd.sh stop    stop it, and its containerd
#   docker/dockerd.sh env     print DOCKER_HOST=… for the running daemon
#
# NEKO_DOCKERD_NAME (default neko-ts-docker) names the run directory /run/<name>;
# NEKO_DOCKER_DATA_ROOT (default /var/lib/<name>) keeps images and build cache across runs.
#
# The daemon runs in the network namespace of the caller. Its own containerd, never a
# machine-wide one, is what makes that so: containers are started by containerd's shims, and
# a shared containerd would start them in its own namespace instead.
set -euo pipefail

name=${NEKO_DOCKERD_NAME:-neko-ts-docker}
run=/run/$name
data=${NEKO_DOCKER_DATA_ROOT:-/var/lib/$name}
sock=$run/docker.sock

# Whether a process runs. A zombie does not: where PID 1 does not reap orphans, a stopped
# daemon stays one.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Sends SIGTERM to the process in a pid file and waits for it to be gone (SIGKILL after $2 s).
stop_pid() {
  local file=$1 grace=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  if [ -n "$pid" ] && alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq $((grace * 10))); do alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$file"
}

stop() {
  stop_pid "$run/dockerd.pid" 20
  # dockerd has stopped its containers by now, so no shim outlives containerd.
  stop_pid "$run/containerd.pid" 10
  # dockerd pins its network namespace with a bind mount that it leaves behind.
  local mnt
  for mnt in $(awk -v run="$run/" 'index($2, run) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$mnt" 2>/dev/null || umount --lazy "$mnt" 2>/dev/null || true
  done
}

wait_for_socket() {
  local file=$1 pid=$2 what=$3 log=$4
  for _ in $(seq 300); do
    [ -S "$file" ] && return 0
    if ! alive "$pid"; then
      echo "dockerd.sh: $what exited while starting:" >&2
      tail -20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "dockerd.sh: $what not ready after 30 s" >&2
  tail -20 "$log" >&2
  return 1
}

start() {
  stop
  mkdir -p "$run" "$data"
  cat >"$run/containerd.toml" <<EOF
version = 2
root = "$data/containerd"
state = "$run/containerd"
# Only what dockerd uses: no Kubernetes interface (it would look for CNI networks).
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$run/containerd.sock"
EOF
  setsid containerd --config "$run/containerd.toml" >"$run/containerd.log" 2>&1 </dev/null &
  echo $! >"$run/containerd.pid"
  wait_for_socket "$run/containerd.sock" "$!" containerd "$run/containerd.log"

  setsid dockerd \
    --host "unix://$sock" \
    --containerd "$run/containerd.sock" \
    --data-root "$data" \
    --exec-root "$run/exec" \
    --pidfile "$run/dockerd.pid" \
    --bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
    --userland-proxy=false \
    --log-level=warn \
    >"$run/dockerd.log" 2>&1 </dev/null &
  wait_for_socket "$sock" "$!" dockerd "$run/dockerd.log"
  for _ in $(seq 100); do
    docker_cli -H "unix://$sock" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "dockerd.sh: dockerd does not answer on $sock" >&2
  return 1
}

# Debian's client matches Debian's daemon; a newer stand-alone client may be first on PATH.
docker_cli() {
  if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi
}

case "${1:-}" in
  start) start && echo "DOCKER_HOST=unix://$sock" ;;
  stop) stop ;;
  env) echo "DOCKER_HOST=unix://$sock" ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
