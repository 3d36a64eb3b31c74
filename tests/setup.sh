#!/usr/bin/env bash
# tests/setup.sh: what `make test` needs on a fresh Debian 12, installed when
# missing (root only): Debian packages, npm packages (Bun), the unprivileged
# test user with a /etc/subuid and /etc/subgid range.  Idempotent and quick
# when everything is there already.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
TEST_USER=${BUNKER_TEST_USER:-bunkertest}
# Bun and every devDependency installed (a merge may add one to an existing node_modules)
npm_complete() {
  [ -x node_modules/bun/bin/bun.exe ] &&
    node -e 'const fs = require("fs"); for (const d of Object.keys(require("./package.json").devDependencies ?? {})) if (!fs.existsSync(`node_modules/${d}/package.json`)) process.exit(1)'
}
if [ "$(id -u)" -ne 0 ]; then
  echo "== setup: not root: skipping package installs and the test user (integration tests need root)"
  npm_complete || npm install --no-audit --no-fund </dev/null
  exit 0
fi

# Debian packages: build tools (musl-tools: the small static monitor), the rootfs source for tests (busybox-static),
# the rootless helpers (uidmap, slirp4netns, passt; iproute2, iptables: user networks), the benchmark peers
# (bubblewrap, crun, runc, umoci, buildah), the VM suite (qemu, a kernel), OCI clients
# (podman, conmon, skopeo, docker-registry, containerd, docker.io, docker-compose,
# podman-compose and CNI's dnsname for its service names) and small tools the tests use
# (xfsprogs: a reflink filesystem for the copy storage driver; redis-server and
# postgresql-15: the images of the article's scenario, tests/integration/scenario.test.ts).
PACKAGES=(
  build-essential gcc make musl-tools busybox-static uidmap bubblewrap crun runc umoci buildah
  slirp4netns passt util-linux iproute2 iptables procps time python3
  qemu-system-x86 linux-image-amd64 libseccomp-dev
  podman conmon catatonit fuse-overlayfs containernetworking-plugins
  docker-registry skopeo apache2-utils ca-certificates git dbus-daemon strace xfsprogs e2fsprogs
  containerd docker.io docker-compose podman-compose golang-github-containernetworking-plugin-dnsname
  redis-server postgresql-15
)
command -v npm >/dev/null || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
echo "== apt-get update (missing: ${missing[*]})"
apt-get update -q </dev/null
available=()
for p in "${missing[@]}"; do
  cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/{print $2}')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
    echo "== package $p: not available in the archive, skipped"
  else
    available+=("$p")
  fi
done
echo "== apt-get install ${available[*]}"
# no service starts during the install (docker.io would start the host's own
# dockerd, which writes cgroup directories): a policy-rc.d that refuses, for
# the install only, unless the machine has one already
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
fi
apt-get install -y -q --no-install-recommends "${available[@]}" </dev/null || { [ -z "$own_policy" ] || rm -f "$policy"; exit 1; }
[ -z "$own_policy" ] || rm -f "$policy"
fi

echo "== npm install"
npm_complete || npm install --no-audit --no-fund </dev/null
if [ ! -x node_modules/bun/bin/bun.exe ]; then
  node node_modules/bun/install.js
fi
node_modules/bun/bin/bun.exe --version

echo "== test user $TEST_USER"
id "$TEST_USER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$TEST_USER"
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  if ! grep -q "^$TEST_USER:200000:65536\$" "$f"; then
    sed -i "/^$TEST_USER:/d" "$f"
    echo "$TEST_USER:200000:65536" >>"$f"
  fi
done
# root's `run --userns=auto` maps the range of "containers" (podman's convention)
for f in /etc/subuid /etc/subgid; do
  grep -q "^containers:" "$f" || echo "containers:300000:65536" >>"$f"
done
uid=$(id -u "$TEST_USER")
install -d -m 0700 -o "$TEST_USER" -g "$(id -g "$TEST_USER")" "/run/user/$uid"

