#!/bin/bash
# make test-vm: boot one throw-away VM (Debian's kernel under qemu, pure
# cgroup v2, an unprivileged vmuser owning a delegated subtree) and run the
# whole cgroup suite (suite.sh) in it with the compiled dist/bunker.
# --bench: only the start-up benchmark (bench.sh).  Other options are passed
# to run-in-vm.sh (e.g. --uml, --console, --kvm).
# Env: VM_CACHE (default .cache/vm in the repo), BENCH_N (runs per benchmark side).
# The host's own cgroups are never touched: everything happens in the guest.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export VM_CACHE=${VM_CACHE:-$REPO/.cache/vm}
[ -x "$REPO/dist/bunker" ] || make -C "$REPO" dist/bunker
case "$REPO" in *[\ ,]*) echo "tests/vm: the repo path must not contain spaces or commas" >&2; exit 125;; esac
# --root: the suite orchestrates as root (to make a non-delegated cgroup);
# every bunker command in it runs as vmuser.
SCRIPT=suite.sh
ARGS=()
for a in "$@"; do
  if [ "$a" = --bench ]; then SCRIPT=bench.sh; else ARGS+=("$a"); fi
done
exec bash "$HERE/run-in-vm.sh" --root --timeout 600 ${ARGS[@]+"${ARGS[@]}"} "$HERE" "$SCRIPT" "$REPO"
