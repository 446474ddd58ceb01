#!/usr/bin/env bash
# Root-only: what a rootless devbox and its test suites need on a Debian machine. Idempotent.
set -euo pipefail
user=${1:?usage: setup-machine.sh USER}

packages=(gcc make libc6-dev uidmap fuse-overlayfs fuse3 busybox-static slirp4netns podman runc skopeo bubblewrap)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! id "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user"
fi
# A subordinate range no other user has: pick the first free 65536-block above 100000.
for file in /etc/subuid /etc/subgid; do
  touch "$file"
  if ! grep -q "^$user:" "$file"; then
    start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' "$file")
    echo "$user:$start:65536" >> "$file"
  fi
done
# As a desktop has them: fuse and tun usable by users (fuse-overlayfs, slirp4netns).
chmod 666 /dev/fuse
[ -e /dev/net/tun ] && chmod 666 /dev/net/tun
exit 0
