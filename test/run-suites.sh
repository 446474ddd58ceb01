#!/usr/bin/env bash
# Runs the uvu suites against the built tree (dist/, native/) as the current user, in a throwaway store,
# and ends with the line "N passed, N failed". Usage: run-suites.sh [unit|integration]...
# DEVBOX_TEST_FILES: a regular expression for the test files to run (default: all), e.g. '^(run|build)\.test'.
set -uo pipefail
cd "$(dirname "$0")/.."
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(unit integration)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/devbox-suites.XXXXXX")
export DEVBOX_TEST_TMP="$tmp" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config"
# Rootless podman (the peer in some tests) leaves a pause process per user (catatonit, or podman itself named
# "podman pause"); end the one the suites started.
# pgrep matches at most 15 characters of a process name, so one pattern per name.
pause_processes() { pgrep -u "$(id -u)" -x catatonit; pgrep -u "$(id -u)" -x 'podman pause'; true; }
pause_before=$(pause_processes)
cleanup() {
  # Layer files belong to subordinate ids; remove them as root of the user namespace.
  node dist/test/helpers/remove-tree.js "$tmp" || echo "warning: could not remove $tmp" >&2
  # A store's user namespace owner goes with its store; one whose store lay outside $tmp goes now.
  pkill -u "$(id -u)" -f "devbox-helper keep-namespace $tmp/" || true
  for pid in $(pause_processes); do
    case " $pause_before " in *" $pid "*) ;; *) kill "$pid" 2>/dev/null || true ;; esac
  done
}
trap cleanup EXIT

# What failed, again at the end: a CI log is often read from its tail, and uvu prints each failure after its
# file's dots, hundreds of lines up. One block per failure: the file, the test's name and its first lines.
recap_failures() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
    /\.test\.js$/ { file = $0 }
    /^ *FAIL / { left = 8; print "-- " file }
    left > 0 && !/^ *$/ { print; left-- }'
}

total=0; passed=0; skipped=0; crashed=0; failures=""
for group in "${groups[@]}"; do
  log="$tmp/$group.log"
  # A limit on the whole group besides each test's own (test/helpers/test.ts): what a hung test left running
  # cannot hold the run. timeout signals the whole process group, the suites' children with them.
  timeout --kill-after=30 "${DEVBOX_SUITE_TIMEOUT:-3600}" node node_modules/uvu/bin.js "dist/test/$group" "${DEVBOX_TEST_FILES:-\.test\.js$}" 2>&1 | tee "$log"
  t=$(sed -n 's/^ *Total: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  p=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  s=$(sed -n 's/^ *Skipped: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ -z "$t" ] || [ -z "$p" ]; then
    echo "suite $group did not finish" >&2
    crashed=$((crashed + 1))
    failures+="-- suite $group did not finish; its last lines:"$'\n'"$(tail -n 8 "$log")"$'\n'
    continue
  fi
  total=$((total + t)); passed=$((passed + p)); skipped=$((skipped + ${s:-0}))
  recap=$(recap_failures "$log")
  [ -z "$recap" ] || failures+="$recap"$'\n'
done
failed=$((total - passed - skipped + crashed))
echo
if [ -n "$failures" ]; then printf '== failed\n%s== end of failed\n' "$failures"; fi
if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
[ "$failed" = 0 ]
