#!/usr/bin/env bash
# tests/bench/run.sh (make bench): rootless startup and memory of bunker run vs
# bwrap, unshare (floor), crun and runc, side by side. Prints numbers; never fails
# on them. As root it runs the benchmark as ${BUNKER_TEST_USER:-bunkertest}.
# BENCH_N=50 runs each.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUN=${BUN:-node_modules/bun/bin/bun.exe}
export BENCH_N=${BENCH_N:-50}
[ -x dist/bunker ] || { echo "bench: dist/bunker missing: run make" >&2; exit 1; }
bench=(env "BENCH_N=$BENCH_N" "$PWD/$BUN" "$PWD/tests/bench/bench.ts")

if [ "$(id -u)" -eq 0 ]; then
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
  exec "${drop[@]}" --reuid="$uid" --regid="$gid" --init-groups \
    env -i "HOME=$home" "USER=$user" "LOGNAME=$user" "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
    "XDG_RUNTIME_DIR=/run/user/$uid" "${bench[@]}"
fi
exec "${bench[@]}"
