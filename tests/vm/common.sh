# Helpers shared by suite.sh and bench.sh (sourced; $1 = the repo).
set -u
REPO=$1
# a checkout under /tmp, /home, /run, /root or /var/tmp is hidden by the guest's
# fresh tmpfs there: the raw host root is at /.vm/host
[ -e "$REPO/dist/bunker" ] || [ ! -e "/.vm/host$REPO/dist/bunker" ] || REPO=/.vm/host$REPO
B=$REPO/dist/bunker
BUN=${BUN:-$REPO/node_modules/bun/bin/bun.exe}
VUID=$(id -u vmuser)
D=/sys/fs/cgroup$VM_CGROUP          # delegated to vmuser (user@UID.service)
H=/sys/fs/cgroup$VM_CGROUP_LEAF     # where the test starts (D/test.scope)
pass=0 fail=0 known=0
ok()  { pass=$((pass+1)); echo "PASS: $*"; }
bad() { fail=$((fail+1)); echo "FAIL: $*"; }
# a known gap owned by another part of bunker: reported, not counted
gap() { known=$((known+1)); echo "KNOWN: $*"; }
# as vmuser, started from the delegated cgroup like a user's shell: H, or the
# leaf bunker moved H's processes into once it needed H for controllers
u() {
  t=$H; [ -d "$H/bunker.leaf" ] && t=$H/bunker.leaf
  sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$t" \
    setpriv --reuid="$VUID" --regid="$VUID" --init-groups env HOME=/home/vmuser USER=vmuser "$@"
}
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
# waits (up to 20 s) for the container NAME's cgroup to have a process
wait_cg() { i=0; while [ $i -lt 300 ]; do [ -n "$(cat "$1/cgroup.procs" 2>/dev/null)" ] && return 0; sleep 0.1; i=$((i+1)); done; return 1; }
# after a failure: kill every container left in H (cgroup.kill), then reap bunker
reap() { for k in "$H"/bunker-*/cgroup.kill "$H"/sub/bunker-*/cgroup.kill; do [ -e "$k" ] && echo 1 > "$k"; done; wait "$1"; }
field() { awk -v k="$1" '$1==k{print $2}' "$2"; }
run() { u "$B" run --rootfs host "$@"; }

