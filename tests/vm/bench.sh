#!/bin/sh
# Start-up cost of cgroup setup, in the VM (sourced by suite.sh, or run
# alone: tests/vm/run.sh --bench).  Never asserted: numbers are printed.
if [ -z "${B:-}" ]; then
  . "$(dirname "$0")/common.sh"
  mkdir -p /sys/fs/cgroup/suite.scope && echo $$ > /sys/fs/cgroup/suite.scope/cgroup.procs
fi
# --- benchmark: run /bin/true without a cgroup, with one, with --memory ----------------
N=${BENCH_N:-10}
t_off=0 t_cg=0 t_mem=0 i=0
off() { u "$B" --cgroup-manager disabled run --rootfs host "$@"; }
off -- /bin/true; run -- /bin/true; run --memory 64m -- /bin/true   # warm the page cache
while [ $i -lt $N ]; do
  t0=$(now); off -- /bin/true; t1=$(now); run -- /bin/true; t2=$(now); run --memory 64m -- /bin/true; t3=$(now)
  t_off=$((t_off + t1 - t0)); t_cg=$((t_cg + t2 - t1)); t_mem=$((t_mem + t3 - t2)); i=$((i+1))
done
echo "BENCH: run /bin/true in the VM, mean of $N: no cgroup $((t_off / N / 1000)) us, cgroup $((t_cg / N / 1000)) us, --memory 64m $((t_mem / N / 1000)) us"
u "$BUN" "$REPO/tests/vm/bench-cgroup.ts" 50 | sed 's/^/BENCH: /'

# syscalls that cgroup setup adds (bunker process only, not the container)
if command -v strace >/dev/null; then
  calls() { awk '$NF=="total"{print $(NF-2)}' "$1"; }
  u strace -c -o /tmp/st-off "$B" --cgroup-manager disabled run --rootfs host -- /bin/true
  u strace -c -o /tmp/st-mem "$B" run --rootfs host --memory 64m -- /bin/true
  u strace -o /tmp/st-cg -e trace=openat,mkdir,rmdir,statx,newfstatat,access,faccessat,faccessat2 "$B" run --rootfs host --memory 64m -- /bin/true
  echo "BENCH: syscalls of bunker run /bin/true: $(calls /tmp/st-off) without a cgroup, $(calls /tmp/st-mem) with --memory 64m; $(grep -c /sys/fs/cgroup /tmp/st-cg) path syscalls on /sys/fs/cgroup"
fi
