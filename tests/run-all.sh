#!/usr/bin/env bash
# tests/run-all.sh [unit|integration|vm|all]  (default: all)
# Runs bun test on tests/unit and tests/integration (and tests/vm/run.sh in
# `all` when it exists), adds up the pass/fail counts and ends with the line
#   N passed, N failed
# Exit status: non-zero when anything failed or when nothing ran.
set -u
cd "$(dirname "$0")/.."
BUN=${BUN:-node_modules/bun/bin/bun.exe}
what=${1:-all}
passed=0 failed=0 ran=0
log=$(mktemp /tmp/bunker-run-all.XXXXXX)
trap 'rm -f "$log"' EXIT

case $what in unit|integration|vm|all) ;; *) echo "usage: $0 [unit|integration|vm|all]" >&2; exit 2 ;; esac

# count_bun FILE: adds bun test's " N pass" / " N fail" summary lines to the totals.
count_bun() {
  local p f
  p=$(grep -aE '^ *[0-9]+ pass$' "$1" | tail -n1 | tr -dc 0-9)
  f=$(grep -aE '^ *[0-9]+ fail$' "$1" | tail -n1 | tr -dc 0-9)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  ran=$((ran + ${p:-0} + ${f:-0}))
}

# run_bun DIR: bun test on DIR when it has test files.
run_bun() {
  local dir=$1 rc
  if ! compgen -G "$dir/*.test.ts" >/dev/null; then
    echo "== $dir: no test files, skipped"
    return
  fi
  echo "== bun test $dir"
  "$BUN" test --timeout 60000 "$dir" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count_bun "$log"
  # a crash before the summary (or a load error) is a failure even with no counts
  if [ "$rc" -ne 0 ] && ! grep -aqE '^ *[1-9][0-9]* fail$' "$log"; then
    echo "== $dir: bun test exited $rc without a failure count: counted as 1 failure"
    failed=$((failed + 1))
  fi
}

if [ "$what" = unit ] || [ "$what" = all ]; then
  # the type check (bun build does not check types): one test, passed or failed
  echo "== tsc --noEmit"
  if node_modules/.bin/tsc --noEmit -p .; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  ran=$((ran + 1))
  run_bun tests/unit
fi

if [ "$what" = integration ] || [ "$what" = all ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "== tests/integration: skipped, needs root (it runs bunker as root and, through setpriv, as the user \${BUNKER_TEST_USER:-bunkertest})"
  elif [ ! -x dist/bunker ]; then
    echo "== tests/integration: dist/bunker missing (run make): counted as 1 failure"
    failed=$((failed + 1))
  else
    run_bun tests/integration
    # the test user's shared user namespace holder (src/container/userns.ts) outlives the runs that made it
    pkill -x -u "${BUNKER_TEST_USER:-bunkertest}" bunker-userns 2>/dev/null || true
  fi
fi

if { [ "$what" = vm ] || [ "$what" = all ]; } && [ -f tests/vm/run.sh ]; then
  echo "== tests/vm/run.sh"
  bash tests/vm/run.sh 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
  if [ -n "$line" ]; then
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    passed=$((passed + p)); failed=$((failed + f)); ran=$((ran + p + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
      echo "== tests/vm/run.sh exited $rc with no failures counted: counted as 1 failure"
      failed=$((failed + 1))
    fi
  else
    echo "== tests/vm/run.sh printed no 'N passed, N failed' line (exit $rc): counted as 1 failure"
    failed=$((failed + 1))
  fi
fi

if [ "$ran" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "== no test ran"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$ran" -gt 0 ]
