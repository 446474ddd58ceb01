#!/usr/bin/env bash
# Benchmarks (npm run bench). Like the tests, they run as an unprivileged user; as root, as "devbox-test"
# (set up by test/setup-machine.sh). Prints medians and ratios against podman and bwrap measured in the same run:
# sandbox start-up (startup.ts), the everyday commands (commands.ts), network throughput and port-forward
# latency (network.ts), pulls (pull.ts), entering a project's sandbox (project.ts), opening a devcontainer.json
# with Features (devcontainer.ts), template builds (build.ts), a build cache shared through a registry
# (build-cache.ts), each template's first shell (templates.ts), the container verbs (containers.ts), what idle
# sandboxes cost (idle.ts).
# DEVBOX_MINBASE_TAR: a Debian minbase tar (mmdebstrap --variant=minbase bookworm FILE) for the build benchmark;
# without it the benchmark makes one.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${DEVBOX_BENCH_BUILT:-}" ] || npm run --silent build

if [ "$(id -u)" != 0 ]; then
  # podman's rootless pause process, if this run started it, ends with the run
  # pgrep matches at most 15 characters of a process name, so one pattern per name.
  pause_processes() { pgrep -u "$(id -u)" -x catatonit; pgrep -u "$(id -u)" -x 'podman pause'; true; }
  pause_before=$(pause_processes)
  node dist/bench/startup.js "$@"
  node dist/bench/commands.js
  node dist/bench/network.js
  node dist/bench/pull.js
  node dist/bench/project.js "$@"
  node dist/bench/devcontainer.js
  node dist/bench/build.js
  node dist/bench/build-cache.js
  node dist/bench/templates.js
  node dist/bench/containers.js
  node dist/bench/idle.js
  for pid in $(pause_processes); do
    case " $pause_before " in *" $pid "*) ;; *) kill "$pid" 2>/dev/null || true ;; esac
  done
  exit 0
fi

user=devbox-test
bash test/setup-machine.sh --create "$user"
work=$(mktemp -d /var/tmp/devbox-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -a bench bin dist native node_modules oclif.manifest.json package.json schema templates "$work/"
chown -R "$user:" "$work"
runuser -u "$user" -- env -i PATH="$PATH" HOME="$(getent passwd "$user" | cut -d: -f6)" LANG=C.UTF-8 DEVBOX_BENCH_BUILT=1 \
  ${DEVBOX_BENCH_ROOTFS:+DEVBOX_BENCH_ROOTFS="$DEVBOX_BENCH_ROOTFS"} \
  ${DEVBOX_MINBASE_TAR:+DEVBOX_MINBASE_TAR="$DEVBOX_MINBASE_TAR"} \
  ${DEVBOX_BENCH_BASELINE:+DEVBOX_BENCH_BASELINE="$DEVBOX_BENCH_BASELINE"} \
  bash "$work/bench/run.sh" "$@"
