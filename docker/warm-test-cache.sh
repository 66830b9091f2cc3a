#!/usr/bin/env bash
# Fills the build cache of the Docker daemon tests/docker uses, so that the test can build the
# images with no network: it runs its daemon in the test's private network namespace, where
# no registry is reachable. scripts/setup.sh calls this for `npm test`; it builds only when the
# Dockerfile, the build script or the lock file changed since the last time (the first time
# takes minutes). The test itself then rebuilds what source changes touch, in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

name=neko-ts-test-docker
data=/var/lib/$name
stamp=$data/.warm

fresh() {
  [ -f "$stamp" ] && compgen -G 'docker/.cache/*.tgz' >/dev/null || return 1
  local f
  for f in docker/Dockerfile docker/build.sh package-lock.json; do
    [ "$f" -nt "$stamp" ] && return 1
  done
  return 0
}

fresh && exit 0
# The test holds this lock while it uses the daemon.
exec 9>"/run/$name.lock"
flock 9
fresh && exit 0
echo "setup: building the Docker images for tests/docker (the first time takes minutes)" >&2
NEKO_DOCKER_PRIVATE=1 NEKO_DOCKERD_NAME=$name NEKO_DOCKER_DATA_ROOT=$data bash docker/build.sh
touch "$stamp"
