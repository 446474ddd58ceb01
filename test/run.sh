#!/usr/bin/env bash
# The test command (npm test). devbox is rootless, so its suites run as an unprivileged user:
# - as root (a fresh Debian machine, CI): install what the suites need, create the user "devbox-test" with
#   subordinate ids, make /dev/fuse usable, build, copy the checkout where that user can read it, run the
#   suites as that user, the id-map suite as a user without subordinate ids, then the ones that matter as
#   root too;
# - as any other user: build and run the suites as yourself, the prerequisites installed through sudo when it
#   asks no password (else see README).
set -euo pipefail
cd "$(dirname "$0")/.."

# DEVBOX_TEST_USER: another user name, so that two runs on one machine do not share a user (and its podman).
TEST_USER=${DEVBOX_TEST_USER:-devbox-test}
# As root, the machine's packages first: npm ci compiles the helper (package.json's install script), which
# needs gcc, libseccomp-dev, zlib1g-dev and nettle-dev.
if [ "$(id -u)" = 0 ]; then bash test/setup-machine.sh --tests --create "$TEST_USER"
# A user who may sudo without a password (a developer's own machine) gets them the same way, and subordinate ids.
elif sudo -n true 2>/dev/null; then sudo bash test/setup-machine.sh --tests "$(id -un)"; fi
# A fresh clone has no node_modules yet: the test command installs what it builds with.
[ -x node_modules/.bin/tsc ] || npm ci --no-audit --no-fund
# Style and layering first: a formatting slip or an import pointing up fails in seconds, not after the suites.
npm run --silent lint

# The helper's contract suite runs the sanitizer build of the helper (native/README.md).
build() { npm run --silent build && make -s -C native sanitize; }

if [ "$(id -u)" != 0 ]; then
  build
  exec bash test/run-suites.sh
fi

build

# The checkout may sit under /root (mode 700): give the test user its own copy.
work=$(mktemp -d /var/tmp/devbox-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -a bin dist docs native node_modules oclif.manifest.json package.json schema scripts templates test "$work/"
chown -R "$TEST_USER:" "$work"
chmod 755 "$work"

status=0
echo "== suites as $TEST_USER (rootless)"
runuser -u "$TEST_USER" -- env -i PATH="$PATH" HOME="$(getent passwd "$TEST_USER" | cut -d: -f6)" LANG=C.UTF-8 DEVBOX_TEST_FILES="${DEVBOX_TEST_FILES:-}" \
  bash "$work/test/run-suites.sh" | tee "$work/rootless.log" || status=1
# A user without subordinate ids gets devbox's single-id map (root inside is the user, no other id, no
# supplementary groups): the id-map suite again as such a user. useradd gives a new user a range where
# login.defs says so, so this user's lines are taken out.
nosub_user="$TEST_USER-nosub"
id "$nosub_user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$nosub_user"
sed -i -e "/^$nosub_user:/d" -e "/^$(id -u "$nosub_user"):/d" /etc/subuid /etc/subgid
echo "== the id-map suite as $nosub_user (rootless, no subordinate ids)"
runuser -u "$nosub_user" -- env -i PATH="$PATH" HOME="$(getent passwd "$nosub_user" | cut -d: -f6)" LANG=C.UTF-8 \
  DEVBOX_TEST_FILES='^container-userns\.test' bash "$work/test/run-suites.sh" integration | tee "$work/nosub.log" || status=1
echo "== suites as root"
DEVBOX_TEST_AS_ROOT=1 bash test/run-suites.sh | tee "$work/root.log" || status=1

passed=0; failed=0
for log in "$work/rootless.log" "$work/nosub.log" "$work/root.log"; do
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
  [ -n "$line" ] || { failed=$((failed + 1)); continue; }
  passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
  failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
done
# Every phase's failures once more, so that the end of the log says what failed.
for log in "$work/rootless.log" "$work/nosub.log" "$work/root.log"; do
  sed -n '/^== failed$/,/^== end of failed$/p' "$log" 2>/dev/null || true
done
echo "$passed passed, $failed failed"
[ "$status" = 0 ] && [ "$failed" = 0 ]
