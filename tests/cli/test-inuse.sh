#!/usr/bin/env bash
# keep_while_in_use and max_size: deferral while a process holds something
# inside (never delete on an unknown), and removal once over the size limit.
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

test_open_file_inside_defers_deletion_until_the_holder_exits() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use)
        echo data >"$d/file"
        sleep 300 <"$d/file" &
        expect_deferred_until_exit "$d" $! "open file"
}

test_working_directory_inside_defers_deletion() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use)
        mkdir "$d/sub"
        (cd "$d/sub" && exec sleep 300) &
        expect_deferred_until_exit "$d" $! "cwd"
}

test_memory_mapped_file_inside_defers_deletion() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use)
        head -c 8192 /dev/zero >"$d/blob"
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
