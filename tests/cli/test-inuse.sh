#!/usr/bin/env bash
# keep_while_in_use and max_size: deferral while a process holds something
# inside (never delete on an unknown), and removal once over the size limit.

# Root counts every process on the machine as its own, so one it cannot read
# (another test's tree deeper than PATH_MAX) rightly turns every answer into
# "unknown".  Root therefore runs this in a pid namespace with its own /proc,
# as the unit tests do; it falls back to the host when that is not possible.
if [ "$(id -u)" -eq 0 ] && [ -z "${EPHEMDIR_INUSE_TEST_NS:-}" ] &&
   unshare --pid --fork --mount-proc true 2>/dev/null; then
        EPHEMDIR_INUSE_TEST_NS=1 exec unshare --pid --fork --mount-proc "$0" "$@"
fi

. "$(dirname "$0")/lib.sh"

later() { EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" "$@"; }

# wait_deferred DIR PID: a sweep keeps DIR while PID holds it, explain names
# the holder, and the next sweep after PID exits removes it.
expect_deferred_until_exit() {
        local d=$1 pid=$2 what=$3
        later sweep >/dev/null 2>&1 || true
        expect_exists "$d"
        later explain --json "$d" | python3 -c '
import json, sys
x = json.load(sys.stdin)
assert "in-use" in x["blocked_by"], x
assert any(c["check"] == "in-use" and ("pid " + sys.argv[1]) in c["detail"] for c in x["decision"]), x
' "$pid" || fail "$what: explain does not name pid $pid"
        "$EPHEMDIR" list --json | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin) if e["path"] == sys.argv[1]][0]
assert isinstance(e["in_use"], dict) and e["in_use"]["pid"] == int(sys.argv[2]), e["in_use"]
' "$d" "$pid" || fail "$what: list does not show who holds it"
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        later sweep -v >/dev/null 2>"$T/sweep.err" || true
        [ ! -e "$d" ] || fail "$what: still there after the holder exited: $(cat "$T/sweep.err")"
}

# The holder scenarios, run once with each probe backend.
open_file_inside_defers_deletion_until_the_holder_exits() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use)
        echo data >"$d/file"
        sleep 300 <"$d/file" &
        expect_deferred_until_exit "$d" $! "open file"
}

working_directory_inside_defers_deletion() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use)
        mkdir "$d/sub"
        (cd "$d/sub" && exec sleep 300) &
        expect_deferred_until_exit "$d" $! "cwd"
}

memory_mapped_file_inside_defers_deletion() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use)
        head -c 8192 /dev/zero >"$d/blob"
        rm -f "$T/mapped"
        python3 -c '
import mmap, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
os.close(fd)          # only the mapping is left
open(sys.argv[2], "w").close()
time.sleep(300)' "$d/blob" "$T/mapped" &
        local pid=$!
        for _ in $(seq 1 100); do [ -e "$T/mapped" ] && break; sleep 0.1; done
        expect_deferred_until_exit "$d" $pid "mmap"
}

test_open_file_inside_defers_deletion_until_the_holder_exits() {
        open_file_inside_defers_deletion_until_the_holder_exits
}

test_working_directory_inside_defers_deletion() {
        working_directory_inside_defers_deletion
}

test_memory_mapped_file_inside_defers_deletion() {
        memory_mapped_file_inside_defers_deletion
}

# The lsof backend (what non-Linux builds use), selected by the test hook.
# It runs the system's lsof, found in the trusted system directories only.
system_lsof() {
        local d
        for d in /usr/sbin /usr/bin /sbin /bin; do
                if [ -x "$d/lsof" ] && [ ! -L "$d/lsof" ]; then
                        echo "$d/lsof"
                        return 0
                fi
        done
        return 1
}

# with_lsof_probe CMD...: CMD with every ephemdir run probing through lsof.
with_lsof_probe() {
        if ! system_lsof >/dev/null; then
                echo "(no lsof installed -- apt-get install lsof: skipped)"
                return 0
        fi
        local -x EPHEMDIR_TEST_INUSE_PROBE=lsof
        "$@"
}

test_lsof_probe_open_file_inside_defers_deletion_until_the_holder_exits() {
        with_lsof_probe open_file_inside_defers_deletion_until_the_holder_exits
}

test_lsof_probe_working_directory_inside_defers_deletion() {
        with_lsof_probe working_directory_inside_defers_deletion
}

test_lsof_probe_memory_mapped_file_inside_defers_deletion() {
        with_lsof_probe memory_mapped_file_inside_defers_deletion
}

# fake_lsof NAME BODY: a script standing in for lsof (EPHEMDIR_TEST_LSOF
# skips the trusted-directory lookup; only test builds have it).
fake_lsof() {
        printf '#!/bin/sh\n%s\n' "$2" >"$T/$1"
        chmod 755 "$T/$1"
        echo "$T/$1"
}

# lsof_failure_defers_and_deletes_nothing LSOF: a sweep whose lsof is LSOF
# keeps a due keep_while_in_use directory, warns, and explain says why;
# the next sweep with a working probe removes it.
lsof_failure_defers_and_deletes_nothing() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use)
        export EPHEMDIR_TEST_INUSE_PROBE=lsof EPHEMDIR_TEST_LSOF=$1 EPHEMDIR_TEST_LSOF_TIMEOUT_MS=500
        EPHEMDIR_TEST_CLOCK_OFFSET=600 run sweep
        expect_exists "$d"
        expect_err_contains "in use"
        later explain --json "$d" | python3 -c '
import json, sys
x = json.load(sys.stdin)
assert "in-use-unknown" in x["blocked_by"], x
assert any(c["check"] == "in-use" and "lsof" in c["detail"] for c in x["decision"]), x
' || fail "explain does not say the lsof probe could not tell"
        unset EPHEMDIR_TEST_INUSE_PROBE EPHEMDIR_TEST_LSOF EPHEMDIR_TEST_LSOF_TIMEOUT_MS
        later sweep -v >/dev/null 2>"$T/sweep.err" || true
        [ ! -e "$d" ] || fail "still there with a working probe: $(cat "$T/sweep.err")"
}

test_lsof_probe_that_fails_defers_with_a_warning_and_deletes_nothing() {
        lsof_failure_defers_and_deletes_nothing "$(fake_lsof lsof-fails 'echo "lsof: cannot open /proc" >&2; exit 1')"
}

test_lsof_probe_that_is_missing_defers_with_a_warning_and_deletes_nothing() {
        lsof_failure_defers_and_deletes_nothing "$T/no-such-lsof"
}

# A hung lsof (a dead NFS server) is killed, with the helpers it forked,
# after the timeout; the sweep goes on and deletes nothing it cannot judge.
test_lsof_probe_that_hangs_is_killed_and_defers_with_a_warning() {
        local fake start helper
        fake=$(fake_lsof lsof-hangs "sleep 300 & echo \$! >$T/lsof-helper; exec sleep 300")
        start=$(date +%s)
        lsof_failure_defers_and_deletes_nothing "$fake"
        [ $(($(date +%s) - start)) -lt 60 ] || fail "a hung lsof held the sweep up"
        helper=$(cat "$T/lsof-helper")
        for _ in $(seq 1 100); do
                grep -q '^State:[[:space:]]*[ZX]' "/proc/$helper/status" 2>/dev/null && break
                [ -e "/proc/$helper" ] || break
                sleep 0.05
        done
        if [ -e "/proc/$helper" ] && ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$helper/status" 2>/dev/null; then
                kill "$helper" 2>/dev/null
                fail "lsof's helper survived the timeout"
        fi
}

# One lsof run per sweep, not one per directory.
test_lsof_probe_runs_lsof_once_per_sweep() {
        local real wrapper n
        real=$(system_lsof) || { echo "(no lsof installed: skipped)"; return 0; }
        wrapper=$(fake_lsof lsof-counting "echo run >>$T/lsof-runs; exec $real \"\$@\"")
        for n in 1 2 3 4; do
                "$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use >/dev/null
        done
        rm -f "$T/lsof-runs"
        EPHEMDIR_TEST_INUSE_PROBE=lsof EPHEMDIR_TEST_LSOF=$wrapper later sweep >/dev/null
        n=$(wc -l <"$T/lsof-runs")
        [ "$n" -eq 1 ] || fail "a sweep of 4 directories ran lsof $n times"
        [ "$(count_tracked "$W")" -eq 0 ] || fail "the free directories were not removed"
}

test_unknown_probe_result_defers_with_a_warning_and_deletes_nothing() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use)
        EPHEMDIR_TEST_INUSE_FAIL=1 EPHEMDIR_TEST_CLOCK_OFFSET=600 run sweep
        expect_exists "$d"
        expect_err_contains "in use"
        later sweep >/dev/null
        expect_absent "$d"
}

test_entries_without_keep_while_in_use_are_not_deferred() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        echo data >"$d/file"
        sleep 300 <"$d/file" &
        local pid=$!
        later sweep >/dev/null
        expect_absent "$d"
        kill "$pid"; wait "$pid" 2>/dev/null || true
}

test_directory_over_max_size_is_removed_and_one_under_is_kept() {
        local big small
        big=$("$EPHEMDIR" new -p "$W" --max-size 64K)
        small=$("$EPHEMDIR" new -p "$W" --max-size 1M)
        head -c 300000 /dev/urandom >"$big/data"
        head -c 10000 /dev/urandom >"$small/data"
        "$EPHEMDIR" explain --json "$big" | python3 -c '
import json, sys
x = json.load(sys.stdin)
assert x["due"] and "over-size" in x["reasons"] and x["size_bytes"] >= 300000, x
' || fail "explain does not show the size"
        "$EPHEMDIR" sweep >/dev/null
        expect_absent "$big"
        expect_exists "$small/data"
        "$EPHEMDIR" rm "$small"
}

test_size_limit_does_not_count_or_cross_a_mount() {
        is_root || { echo "(not root: skipped)"; return 0; }
        local d
        d=$("$EPHEMDIR" new -p "$W" --max-size 1M)
        mkdir "$d/mnt"
        mount -t tmpfs -o size=8m tmpfs "$d/mnt" || { echo "(cannot mount: skipped)"; return 0; }
        head -c 4000000 /dev/zero >"$d/mnt/big"
        "$EPHEMDIR" sweep >/dev/null 2>&1 || true
        expect_exists "$d/mnt/big"
        umount "$d/mnt"
        "$EPHEMDIR" rm "$d"
}

require_hooks
run_tests
