#!/usr/bin/env bash
# From a fresh Debian machine to a project's sandbox, offline: installs what devbox needs (through sudo when
# not root), builds devbox, puts `devbox` on the PATH, makes a busybox image locally from busybox-static, and
# enters an example project whose environment is built from a Dockerfile on it; the example's sandbox and
# image are removed at the end.
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" = 0 ]; then
  bash test/setup-machine.sh
else
  sudo bash test/setup-machine.sh "$(id -un)"
fi
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build

# On the PATH: /usr/local/bin for root, ~/.local/bin for a user (Debian's ~/.profile puts it on the PATH at
# login when it exists). A link to this checkout, so a rebuild is what `devbox` runs: to its launcher
# (native/launcher.c), which enters a live project sandbox again without starting Node.js and runs
# bin/devbox for everything else.
if [ "$(id -u)" = 0 ]; then bindir=/usr/local/bin; else bindir=$HOME/.local/bin; fi
mkdir -p "$bindir"
ln -sfn "$PWD/native/devbox-launcher" "$bindir/devbox"
echo "devbox is linked from $bindir/devbox"

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

devbox=$PWD/native/devbox-launcher
"$devbox" doctor || true

# devbox's main job: a project's sandbox. An example project whose environment is built from a Dockerfile on
# the busybox image (offline), entered twice: the first entry builds and starts it, the second joins it.
example=$(mktemp -d)
images_before=$(./bin/devbox images -q --no-trunc)
# The example leaves nothing behind: its sandbox (stopped and removed) and the image built for it.
cleanup_example() {
  (cd "$example" && "$devbox" rm --force >/dev/null 2>&1) || true
  for id in $("$devbox" images -q --no-trunc); do
    case "$images_before" in *"$id"*) ;; *) "$devbox" rmi --force "$id" >/dev/null 2>&1 || true ;; esac
  done
  rm -rf "$example"
}
trap 'rm -rf "$rootfs"; cleanup_example' EXIT
mkdir -p "$example/.devbox"
printf '{ "name": "example" }\n' > "$example/devbox.json"
printf 'FROM busybox\nRUN echo "built by devbox build" > /etc/motd\n' > "$example/.devbox/Dockerfile"
echo
echo "+ cd $example && devbox run sh -c '…'"
(cd "$example" && "$devbox" run sh -c 'cat /etc/motd; echo "hello from the sandbox of $DEVBOX_PROJECT, as $(id -un) in $(pwd)"; touch made-inside')
ls -l "$example/made-inside"
echo "+ devbox run ps   (a second entry joins the same sandbox)"
(cd "$example" && "$devbox" run ps)
echo
case ":$PATH:" in
  *":$bindir:"*) echo "devbox is ready: devbox --help   (in a project: devbox init, devbox shell)" ;;
  *) echo "devbox is ready: $bindir/devbox --help, or devbox --help once $bindir is on your PATH (log in again)" ;;
esac
