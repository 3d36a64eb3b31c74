#!/usr/bin/env bash
# tests/run-all.sh [unit|unit-only|integration|vm|all]  (default: all)
# Runs bun test on tests/unit and tests/integration (and tests/vm/run.sh in
# `all` when it exists), adds up the pass/fail counts and ends with the line
#   N passed, N failed
# As root, tests/unit runs twice: as root, then as the unprivileged test user
# ($BUNKER_TEST_USER, default bunkertest) when it exists, since unit tests must
# not depend on who runs them.  `unit` adds the type check; `unit-only` (make
# test-unit) is the unit suites alone.
# Exit status: non-zero when anything failed or when nothing ran.
set -u
cd "$(dirname "$0")/.."
BUN=${BUN:-node_modules/bun/bin/bun.exe}
what=${1:-all}
TEST_USER=${BUNKER_TEST_USER:-bunkertest}
passed=0 failed=0 ran=0
log=$(mktemp /tmp/bunker-run-all.XXXXXX)
# every failing test's name, printed again just before the summary (CI shows only the end of the output)
failures=$(mktemp /tmp/bunker-run-all-failures.XXXXXX)
trap 'rm -f "$log" "$failures"' EXIT

case $what in unit|unit-only|integration|vm|all) ;; *) echo "usage: $0 [unit|unit-only|integration|vm|all]" >&2; exit 2 ;; esac

# count_bun FILE: adds bun test's " N pass" / " N fail" summary lines to the totals.
count_bun() {
  local p f
  p=$(grep -aE '^ *[0-9]+ pass$' "$1" | tail -n1 | tr -dc 0-9)
  f=$(grep -aE '^ *[0-9]+ fail$' "$1" | tail -n1 | tr -dc 0-9)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  ran=$((ran + ${p:-0} + ${f:-0}))
}

# run_bun DIR [PREFIX...]: bun test on DIR when it has test files, run through PREFIX (another user's setpriv) if given.
run_bun() {
  local dir=$1 rc
  shift
  if ! compgen -G "$dir/*.test.ts" >/dev/null; then
    echo "== $dir: no test files, skipped"
    return
  fi
  echo "== bun test $dir${1:+ (as $TEST_USER)}"
  "$@" "$BUN" test --timeout 60000 "$dir" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count_bun "$log"
  grep -aE '^\(fail\) ' "$log" | sort -u | sed "s|^|$dir${1:+ (as $TEST_USER)}: |" >>"$failures"
  # a crash before the summary (or a load error) is a failure even with no counts
  if [ "$rc" -ne 0 ] && ! grep -aqE '^ *[1-9][0-9]* fail$' "$log"; then
    echo "== $dir: bun test exited $rc without a failure count: counted as 1 failure"
    failed=$((failed + 1))
  fi
}

# end_test_user_holder: as $TEST_USER, `bunker __end-userns` (the holder its state root records, by pid)
end_test_user_holder() {
  local entry uid gid home
  entry=$(getent passwd "$TEST_USER") || return 0
  IFS=: read -r _ _ uid gid _ home _ <<<"$entry"
  setpriv "--reuid=$uid" "--regid=$gid" --init-groups env -i "HOME=$home" "XDG_RUNTIME_DIR=/run/user/$uid" \
    "$PWD/dist/bunker" __end-userns >/dev/null 2>&1 || true
}

# run_bun_as_test_user DIR: as root, bun test on DIR again as $TEST_USER (setpriv, a clean environment
# like tests/lib/bunker.ts envFor); skipped when not root or when the user does not exist.
run_bun_as_test_user() {
  local dir=$1 entry uid gid home
  [ "$(id -u)" -eq 0 ] || return 0
  if ! entry=$(getent passwd "$TEST_USER"); then
    echo "== $dir as $TEST_USER: no such user, skipped (tests/setup.sh creates it)"
    return
  fi
  IFS=: read -r _ _ uid gid _ home _ <<<"$entry"
  local as=(setpriv "--reuid=$uid" "--regid=$gid" --init-groups env -i "HOME=$home" "USER=$TEST_USER" "LOGNAME=$TEST_USER"
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" LANG=C)
  [ -d "/run/user/$uid" ] && [ "$(stat -c %u "/run/user/$uid")" = "$uid" ] && as+=("XDG_RUNTIME_DIR=/run/user/$uid")
  # absolute paths: relative ones would resolve from a cwd the user could not reach itself
  local readable='cd / && test -r "$1" && test -x "$1" && "$2" --version' bun=$BUN
  [[ $bun = /* ]] || bun=$PWD/$bun
  if "${as[@]}" sh -c "$readable" sh "$PWD/$dir" "$bun" >/dev/null 2>&1; then
    run_bun "$dir" "${as[@]}"
    return
  fi
  # a checkout the user cannot read (e.g. under /root): a copy of it (without .git) the user owns
  local copy
  copy=$(mktemp -d /tmp/bunker-unit-as-user.XXXXXX)
  echo "== $dir as $TEST_USER: $TEST_USER cannot read $PWD: run in a copy, $copy"
  tar -C . --exclude=./.git -cf - . | tar -C "$copy" -xf -
  chown -R "$uid:$gid" "$copy"
  chmod 755 "$copy"
  pushd "$copy" >/dev/null || return
  [[ $BUN = /* ]] || bun=$PWD/$BUN
  if "${as[@]}" sh -c "$readable" sh "$PWD/$dir" "$bun" >/dev/null 2>&1; then
    run_bun "$dir" "${as[@]}"
  else
    echo "== $dir as $TEST_USER: cannot read its copy $copy or run $BUN: counted as 1 failure"
    failed=$((failed + 1))
  fi
  popd >/dev/null || true
  rm -rf "$copy"
}

if [ "$what" = unit ] || [ "$what" = all ]; then
  # the type check (bun build does not check types): one test, passed or failed
  echo "== tsc --noEmit"
  if node_modules/.bin/tsc --noEmit -p .; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  ran=$((ran + 1))
fi
if [ "$what" = unit ] || [ "$what" = unit-only ] || [ "$what" = all ]; then
  run_bun tests/unit
  run_bun_as_test_user tests/unit
fi

if [ "$what" = integration ] || [ "$what" = all ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "== tests/integration: skipped, needs root (it runs bunker as root and, through setpriv, as the user \${BUNKER_TEST_USER:-bunkertest})"
  elif [ ! -x dist/bunker ]; then
    echo "== tests/integration: dist/bunker missing (run make): counted as 1 failure"
    failed=$((failed + 1))
  else
    run_bun tests/integration
    # the test user's shared user namespace holder (src/container/userns.ts) outlives the runs that made it:
    # ended by the pid its holder file records (bunker __end-userns checks it is still bunker's holder)
    end_test_user_holder
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
    grep -aE '^FAIL' "$log" | sed 's|^|tests/vm: |' >>"$failures"
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
if [ -s "$failures" ]; then
  echo "== failed:"
  cat "$failures"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$ran" -gt 0 ]
