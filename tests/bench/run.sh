#!/usr/bin/env bash
# tests/bench/run.sh (make bench): side by side, never failing on the numbers:
#  - unpack.ts: unpack of one large gzip layer on tmpfs (bunker load vs tar -xzf
#    vs umoci), as root and as the test user (BENCH_UNPACK=0 skips it, a few minutes)
#  - bench.ts: rootless startup of bunker run vs bwrap, unshare (the floor), crun
#    and runc, the OCI cycle and exec, timed by build/spawnbench (posix_spawn +
#    wait4, interleaved); memory; image-start.ts: run IMAGE vs run --rootfs DIR;
#    net.ts: what each --network mode adds to run, 1 GiB through a published port
#    and between two containers, bunker vs podman (BENCH_NET_ROUNDS=3)
#  - registry.ts: push and pull throughput to docker-registry on 127.0.0.1,
#    bunker vs skopeo (as the caller: root here; BENCH_REGISTRY=0 skips it)
#  - build.ts: bunker build vs buildah bud vs podman build, cold and cached,
#    rootless (BENCH_BUILD=0 skips it; BENCH_BUILD_N=3 rounds)
# As root the rootless parts run as ${BUNKER_TEST_USER:-bunkertest}.
# BENCH_N=50 runs each; BENCH_UNPACK_N=3 unpack rounds of BENCH_UNPACK_SRC=/usr/share;
# BENCH_CONCURRENT=100 runs started at once per runtime (0: none).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUN=${BUN:-node_modules/bun/bin/bun.exe}
export BENCH_N=${BENCH_N:-50}
[ -x dist/bunker ] && [ -x build/spawnbench ] || { echo "bench: dist/bunker or build/spawnbench missing: run make bench" >&2; exit 1; }
bun="$PWD/$BUN"
benv=(env "BENCH_N=$BENCH_N" "BENCH_CONCURRENT=${BENCH_CONCURRENT:-100}" "BUN_FLAGS=${BUN_FLAGS:-}" "BENCH_UNPACK_N=${BENCH_UNPACK_N:-3}" "BENCH_UNPACK_SRC=${BENCH_UNPACK_SRC:-/usr/share}")
bench=("${benv[@]}" "$bun" "$PWD/tests/bench/bench.ts")
image_start=("${benv[@]}" "$bun" "$PWD/tests/bench/image-start.ts")
net=("${benv[@]}" "BENCH_NET_ROUNDS=${BENCH_NET_ROUNDS:-3}" "$bun" "$PWD/tests/bench/net.ts")
registry=(true)
[ "${BENCH_REGISTRY:-1}" = 0 ] || registry=("${benv[@]}" "$bun" "$PWD/tests/bench/registry.ts")
unpack=("${benv[@]}" "$bun" "$PWD/tests/bench/unpack.ts")
build_bench=("${benv[@]}" "BENCH_BUILD_N=${BENCH_BUILD_N:-3}" "$bun" "$PWD/tests/bench/build.ts")
[ "${BENCH_BUILD:-1}" != 0 ] || build_bench=(true)

# the unpack benchmark's layer and outputs: a fresh directory on tmpfs
work=""
if [ "${BENCH_UNPACK:-1}" != 0 ]; then
  work=$(mktemp -d "${BENCH_TMPFS:-/dev/shm}/bunker-bench-XXXXXX")
  trap 'rm -rf "$work"' EXIT
  chmod 0755 "$work"
  mkdir "$work/layer" "$work/root"
fi

if [ "$(id -u)" -ne 0 ]; then
  [ -z "$work" ] || "${unpack[@]}" "$work/layer" "$work/root"
  "${bench[@]}"
  "${image_start[@]}"
  "${net[@]}"
  "${registry[@]}"
  "${build_bench[@]}"
  exit 0
fi

user=${BUNKER_TEST_USER:-bunkertest}
if ! id "$user" >/dev/null 2>&1; then
  echo "bench: the rootless benchmark runs as the user $user, who does not exist (useradd -m $user, or run .ci/run)" >&2
  exit 1
fi
uid=$(id -u "$user") gid=$(id -g "$user")
home=$(getent passwd "$user" | cut -d: -f6)
install -d -m 0700 -o "$uid" -g "$gid" "/run/user/$uid"
drop=(setpriv)
if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] && mountpoint -q /sys/fs/cgroup/unified; then
  # A hybrid cgroup host: crun refuses to run there ("cgroups in hybrid mode not
  # supported"). Every runtime runs in one private mount namespace without the
  # cgroup2 mount instead (nothing changes on the host), so crun can be measured.
  bench=(env "BENCH_NOTE=hybrid cgroup host: all runtimes run in a private mount namespace without /sys/fs/cgroup/unified" "${bench[@]}")
  drop=(unshare -m --propagation private /bin/sh -c 'umount -l /sys/fs/cgroup/unified && exec "$@"' sh setpriv)
fi
as_user=("${drop[@]}" --reuid="$uid" --regid="$gid" --init-groups
  env -i "HOME=$home" "USER=$user" "LOGNAME=$user" "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
  "XDG_RUNTIME_DIR=/run/user/$uid")

if [ -n "$work" ]; then
  "${unpack[@]}" "$work/layer" "$work/root"
  install -d -o "$uid" -g "$gid" "$work/user"
  "${as_user[@]}" "${unpack[@]}" "$work/layer" "$work/user"
fi
# the test user's shared user namespace holder outlives the runs (src/container/userns.ts): ended by the
# pid its holder file records (bunker __end-userns checks it is still bunker's holder)
trap '"${as_user[@]}" "$PWD/dist/bunker" __end-userns >/dev/null 2>&1 || true; [ -z "$work" ] || rm -rf "$work"' EXIT
"${as_user[@]}" "${bench[@]}"
"${as_user[@]}" "${image_start[@]}"
"${as_user[@]}" "${net[@]}"
"${registry[@]}"
"${as_user[@]}" "${build_bench[@]}"
