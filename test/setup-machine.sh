#!/usr/bin/env bash
# Root only. Makes a Debian machine ready for rootless devbox; idempotent.
#   setup-machine.sh [--tests] [--create] [USER...]
# Installs the packages devbox needs (with --tests also those its test suites use), makes /dev/fuse and
# /dev/net/tun usable by users (as a desktop has them), and gives each USER a subordinate id range (creating
# the user first with --create).
set -euo pipefail
tests=0
create=0
if [ "${1:-}" = --tests ]; then tests=1; shift; fi
if [ "${1:-}" = --create ]; then create=1; shift; fi

# devbox: the helper's compiler, libseccomp, zlib and Nettle, newuidmap/newgidmap, fuse-overlayfs, slirp4netns and passt (pasta); ip, iptables and
# nsenter for devbox networks; busybox for setup's example.
packages=(gcc make libc6-dev libseccomp-dev zlib1g-dev nettle-dev uidmap fuse-overlayfs fuse3 busybox-static slirp4netns passt iproute2 iptables util-linux)
# The suites: peers to compare with (podman, skopeo, bubblewrap), shells and a terminal multiplexer for the
# terminal tests, a registry with htpasswd and TLS, Debian images (mmdebstrap), zstd layers.
if [ "$tests" = 1 ]; then packages+=(podman runc skopeo bubblewrap zsh fish tmux docker-registry apache2-utils openssl mmdebstrap zstd strace); fi
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for user in "$@"; do
  if ! id "$user" >/dev/null 2>&1; then
    [ "$create" = 1 ] || { echo "no such user: $user" >&2; exit 1; }
    useradd --create-home --shell /bin/bash "$user"
  fi
  # A range no other user has: the first 65536 ids above every range already given out (and above 100000).
  for file in /etc/subuid /etc/subgid; do
    touch "$file"
    if ! grep -qE "^($user|$(id -u "$user")):" "$file"; then
      start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' "$file")
      echo "$user:$start:65536" >> "$file"
      echo "gave $user the ids $start-$((start + 65535)) in $file"
    fi
  done
done

chmod 666 /dev/fuse
if [ -e /dev/net/tun ]; then chmod 666 /dev/net/tun; fi
