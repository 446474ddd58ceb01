#!/usr/bin/env bash
# From a fresh Debian machine to a project's sandbox, offline: installs what devbox needs (through sudo when
# not root), builds devbox, makes a busybox image locally from busybox-static, and enters an example project
# whose environment is built from a Dockerfile on it.
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

# devbox's main job: a project's sandbox. An example project whose environment is built from a Dockerfile on
# the busybox image (offline), entered twice: the first entry builds and starts it, the second joins it.
example=$(mktemp -d)
trap 'rm -rf "$rootfs"; ./bin/devbox stop "$example" >/dev/null 2>&1 || true; rm -rf "$example"' EXIT
mkdir -p "$example/.devbox"
printf '{ "name": "example" }\n' > "$example/devbox.json"
printf 'FROM busybox\nRUN echo "built by devbox build" > /etc/motd\n' > "$example/.devbox/Dockerfile"
devbox=$PWD/bin/devbox
echo
echo "+ cd $example && devbox run sh -c '…'"
(cd "$example" && "$devbox" run sh -c 'cat /etc/motd; echo "hello from the sandbox of $DEVBOX_PROJECT, as $(id -un) in $(pwd)"; touch made-inside')
ls -l "$example/made-inside"
echo "+ devbox run ps   (a second entry joins the same sandbox)"
(cd "$example" && "$devbox" run ps)
echo
echo "devbox is ready: ./bin/devbox --help   (or: npm link, then devbox --help; in a project: devbox init, devbox shell)"
