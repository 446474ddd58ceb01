#!/usr/bin/env bash
# Benchmarks (npm run bench). Like the tests, they run as an unprivileged user; as root, as "devbox-test"
# (set up by test/setup-machine.sh). Prints medians and ratios against podman and bwrap measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
if [ "$(id -u)" != 0 ]; then
  exec node dist/bench/startup.js "$@"
fi
user=devbox-test
bash test/setup-machine.sh --create "$user"
work=$(mktemp -d /var/tmp/devbox-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -a bin dist native node_modules package.json "$work/"
chown -R "$user:" "$work"
runuser -u "$user" -- env -i PATH="$PATH" HOME="$(getent passwd "$user" | cut -d: -f6)" LANG=C.UTF-8 \
  node "$work/dist/bench/startup.js" "$@"
