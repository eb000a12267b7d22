#!/bin/sh
# Install the Debian build dependencies (when missing), then configure and
# build ephemdir in ./build.  Idempotent: safe to run again at any time.
#
#   contrib/bootstrap.sh                       # deps + developer build in ./build
#   EPHEMDIR_BUILD_DIR=x contrib/bootstrap.sh -Db_sanitize=address,undefined
#
# The developer build compiles in the test hooks (EPHEMDIR_TEST_*,
# EPHEMDIR_FAULT) so that `meson test -C build` runs every test; packagers
# configure without them (-Dtest_hooks=false is meson's default).  Extra
# arguments are passed to `meson setup` and override these.
set -eu

cd "$(dirname "$0")/.."

packages="meson ninja-build pkg-config gcc libc6-dev
libsqlite3-dev libjansson-dev libyaml-dev libcyaml-dev libsystemd-dev
libcmocka-dev scdoc systemd bash fish bash-completion util-linux
python3 hyperfine lsof"

missing=""
for p in $packages; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
                missing="$missing $p"
        fi
done

if [ -n "$missing" ]; then
        echo "bootstrap: installing:$missing" >&2
        if [ "$(id -u)" -eq 0 ]; then
                sudo=""
        elif command -v sudo >/dev/null 2>&1; then
                sudo="sudo"
        else
                echo "bootstrap: missing packages:$missing (run as root or install sudo)" >&2
                exit 1
        fi
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        # shellcheck disable=SC2086
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

build="${EPHEMDIR_BUILD_DIR:-build}"
if [ -f "$build/build.ninja" ]; then
        meson setup --reconfigure "$build" -Dtest_hooks=true "$@" >/dev/null
else
        meson setup "$build" -Dtest_hooks=true "$@" >/dev/null
fi
meson compile -C "$build" >/dev/null
echo "bootstrap: built $build/src/cli/ephemdir" >&2
