# shellcheck shell=bash
# Shared harness for the CLI integration tests: a private HOME, data and
# config dir per test file, helpers to run the binary and check results.
# Each test function is named after the guarantee it checks.
set -euo pipefail

: "${EPHEMDIR:?EPHEMDIR must point at the built ephemdir binary}"

T=$(mktemp -d /tmp/ephemdir-cli-XXXXXX)
chmod 700 "$T"
export HOME="$T/home"
export EPHEMDIR_DATA_DIR="$T/data"
export EPHEMDIR_CONFIG_DIR="$T/config"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset NO_COLOR EPHEMDIR_TEST_BOOT_ID EPHEMDIR_TEST_CLOCK_OFFSET EPHEMDIR_FAULT EPHEMDIR_TEST_PAUSE XDG_DATA_HOME XDG_CONFIG_HOME
mkdir -p "$HOME" "$T/work"
W="$T/work"

cleanup() {
        local rc=$? m
        set +e
        # Undo anything a root test mounted before removing the fixture.
        for m in $(awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r); do
                umount -l "$m" 2>/dev/null
        done
        chmod -R u+rwx "$T" 2>/dev/null
        rm -rf "$T"
        exit "$rc"
}
trap cleanup EXIT

failures=0
current=""

fail() {
        echo "FAIL [$current]: $*" >&2
        failures=$((failures + 1))
}

# run ARGS...: runs ephemdir, sets $out, $err, $rc (never aborts the script).
run() {
        set +e
        out=$("$EPHEMDIR" "$@" 2>"$T/stderr")
        rc=$?
        set -e
        err=$(cat "$T/stderr")
}

expect_rc() {
        local want=$1
        shift
        if [ "$rc" -ne "$want" ]; then
                fail "expected exit $want, got $rc: ${*:-} stdout=[$out] stderr=[$err]"
                return 1
        fi
}

expect_err_contains() {
        case "$err" in
        *"$1"*) ;;
        *) fail "stderr lacks [$1]: [$err]" ;;
        esac
}

expect_exists() { [ -e "$1" ] || [ -L "$1" ] || fail "expected $1 to exist"; }
expect_absent() { [ ! -e "$1" ] && [ ! -L "$1" ] || fail "expected $1 to be gone"; }

# Count tracked entries (list --json through python's strict parser).
# count_tracked [PARENT]: entries (under PARENT only, when given).
count_tracked() {
        "$EPHEMDIR" list --json | python3 -c '
import json, sys
p = sys.argv[1] if len(sys.argv) > 1 else None
print(sum(1 for e in json.load(sys.stdin) if p is None or e["path"].startswith(p + "/")))' "$@"
}

# json_field PATH FIELD: a field of the list entry for PATH.
json_field() {
        "$EPHEMDIR" list --json | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["path"] == sys.argv[1]:
        v = e[sys.argv[2]]
        print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)
        break
else:
    print("untracked")' "$1" "$2"
}

# Count files in the work dir tree (to prove nothing was created).
count_entries() { find "$1" -mindepth 1 -maxdepth 1 | wc -l; }

# Scripts that drive the test hooks (clock, boot id, faults) skip without them.
require_hooks() {
        if [ "${EPHEMDIR_TEST_HOOKS:-0}" != 1 ]; then
                echo "test hooks not compiled in (-Dtest_hooks=true): skipping"
                exit 77
        fi
}
have_hooks() { [ "${EPHEMDIR_TEST_HOOKS:-0}" = 1 ]; }

is_root() { [ "$(id -u)" -eq 0 ]; }

run_tests() {
        local t
        for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
                current=$t
                echo "--- $t"
                "$t"
        done
        if [ "$failures" -gt 0 ]; then
                echo "$failures failure(s)" >&2
                exit 1
        fi
        echo "all passed"
}
