#!/usr/bin/env bash
# From a fresh Debian machine to a running sandbox, offline: installs what devbox needs (through sudo when
# not root), builds devbox, makes a busybox image locally from busybox-static and runs a command in it.
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" = 0 ]; then
  bash test/setup-machine.sh
else
  sudo bash test/setup-machine.sh "$(id -un)"
fi
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build

# A busybox root file system, packed into a tar and imported as the image "busybox".
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,tmp,root,proc,dev,sys}
cp /bin/busybox "$rootfs/bin/"
for applet in $("$rootfs/bin/busybox" --list); do [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\n' > "$rootfs/etc/group"
tar -C "$rootfs" -cf "$rootfs.tar" .
./bin/devbox image import "$rootfs.tar" busybox
rm -f "$rootfs.tar"

./bin/devbox doctor || true
echo
echo "+ devbox run --rm -v \"\$PWD:\$PWD\" -w \"\$PWD\" busybox sh -c '…'"
./bin/devbox run --rm -v "$PWD:$PWD" -w "$PWD" busybox \
  sh -c 'echo "hello from $(hostname), pid $$, as $(id -u):$(id -g) in $(pwd)"; ls README.md'
echo
echo "devbox is ready: ./bin/devbox --help   (or: npm link, then devbox --help)"
