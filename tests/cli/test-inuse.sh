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

# counting_lsof: a wrapper around the system's lsof that logs each run to
# $T/lsof-runs; fails (the caller skips) without lsof.
counting_lsof() {
        local real
        real=$(system_lsof) || return 1
        fake_lsof lsof-counting "echo run >>$T/lsof-runs; exec $real \"\$@\""
}

# One lsof run per sweep for the first look at every candidate, plus one
# per batch of directories staged for removal (after their renames, see
# delete.c); a directory found in use at the first look costs nothing more.
test_lsof_probe_runs_lsof_once_per_sweep_plus_once_per_batch() {
        local wrapper n held pid
        wrapper=$(counting_lsof) || { echo "(no lsof installed: skipped)"; return 0; }
        for n in 1 2 3 4; do
                "$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use >/dev/null
        done
        held=$("$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use)
        (cd "$held" && exec sleep 300) &
        pid=$!
        wait_exec "$pid" sleep
        rm -f "$T/lsof-runs"
        EPHEMDIR_TEST_INUSE_PROBE=lsof EPHEMDIR_TEST_LSOF=$wrapper later sweep >/dev/null
        n=$(wc -l <"$T/lsof-runs")
        [ "$n" -eq 2 ] || fail "a sweep removing 4 of 5 directories ran lsof $n times, want 1 + 1 (one batch)"
        [ "$(count_tracked "$W")" -eq 1 ] || fail "the free directories were not removed, or the held one was"
        kill "$pid"; wait "$pid" 2>/dev/null || true
        later sweep >/dev/null
}

# A batch holds at most 128 staged trees, and no more than the fd limit / 8
# (3 fds each): under a limit of 256, 32; 70 free directories then take
# ceil(70/32) = 3 scans after the first look.
test_lsof_probe_sweep_scans_once_per_batch_of_staged_directories() {
        local wrapper n
        wrapper=$(counting_lsof) || { echo "(no lsof installed: skipped)"; return 0; }
        for n in $(seq 1 70); do
                "$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use >/dev/null
        done
        rm -f "$T/lsof-runs"
        (ulimit -n 256 && EPHEMDIR_TEST_INUSE_PROBE=lsof EPHEMDIR_TEST_LSOF=$wrapper later sweep >/dev/null) ||
                fail "sweep failed"
        n=$(wc -l <"$T/lsof-runs")
        [ "$n" -eq 4 ] || fail "a sweep removing 70 directories ran lsof $n times, want 1 + 3 (batches of 32)"
        [ "$(count_tracked "$W")" -eq 0 ] || fail "$(count_tracked "$W") directories were not removed"
}

# ---------------------------------------------------------------------------
# The race between the probe and the rename.  A sweep's first probe uses a
# snapshot taken once per sweep; a process that gets into the directory after
# it and before the rename must still keep the directory (caught by the scan
# each batch of staged directories gets after their renames).  EPHEMDIR_TEST_PAUSE
# stops the sweep (SIGSTOP) at a named step of the deletion, so the holder
# starts exactly in that window; SIGCONT lets the sweep go on.

# wait_exec PID COMM: until PID has exec'd COMM (its redirections and cd are
# then done: it holds what it was started to hold).
wait_exec() {
        local _
        for _ in $(seq 1 600); do
                [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] && return 0
                sleep 0.05
        done
        fail "pid $1 never became $2"
        return 1
}

# wait_stopped PID: until PID stops itself at an EPHEMDIR_TEST_PAUSE step.
# Fails (and kills it) if it exits or never stops.
wait_stopped() {
        local pid=$1 state _
        for _ in $(seq 1 1200); do
                state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
                case $state in
                T) return 0 ;;
                Z|X|"") fail "pid $pid exited instead of pausing"; return 1 ;;
                esac
                sleep 0.05
        done
        fail "pid $pid never paused"
        kill -KILL "$pid" 2>/dev/null
        return 1
}

# start_holder HOW DIR: a process holding DIR/file open (file) or with its
# working directory in DIR/sub (cwd), reached by DIR's path; sets $holder.
start_holder() {
        case $1 in
        file) sleep 300 <"$2/file" & ;;
        cwd) (cd "$2/sub" && exec sleep 300) & ;;
        esac
        holder=$!
        wait_exec "$holder" sleep
}

# holder_target: what the holder holds, as the kernel names it now.
holder_target() {
        case $1 in
        file) readlink "/proc/$holder/fd/0" ;;
        cwd) readlink "/proc/$holder/cwd" ;;
        esac
}

# racy_dir: a due keep_while_in_use directory with something to hold.
racy_dir() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m --keep-while-in-use)
        echo precious >"$d/file"
        mkdir "$d/sub"
        echo also >"$d/sub/kept"
        printf '%s' "$d"
}

# sweep_racing_a_holder HOW DIR STEPS [FAULT]: a sweep paused at each of the
# comma-separated STEPS (the first: before-stage, after its probe found DIR
# free); at the first one a holder (HOW) gets into DIR; for each later step
# the function on_pause_<step> runs.  With FAULT, the sweep is killed at
# that step (EPHEMDIR_FAULT).  Sets $holder and $sweep_rc.
sweep_racing_a_holder() {
        local how=$1 d=$2 steps=$3 sweep step first=1
        EPHEMDIR_TEST_PAUSE=$steps EPHEMDIR_FAULT=${4:-} EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep -v \
                >"$T/race.out" 2>"$T/race.err" &
        sweep=$!
        for step in ${steps//,/ }; do
                wait_stopped "$sweep" || return 1
                if [ $first = 1 ]; then
                        start_holder "$how" "$d"
                        first=0
                else
                        "on_pause_$step" "$d"
                fi
                kill -CONT "$sweep"
        done
        sweep_rc=0
        { wait "$sweep"; } 2>/dev/null || sweep_rc=$?
}

staging_of() { find "$W" -maxdepth 1 -name ".$(basename "$1").ephemdir-deleting-*"; }

# expect_put_back_intact DIR HOW WHAT: DIR is back under its name,
# untouched, tracked and active, and the holder (HOW) holds it there.
expect_put_back_intact() {
        local d=$1 how=$2 what=$3
        [ "$(cat "$d/file" 2>/dev/null)" = precious ] || fail "$what: the held file is gone"
        [ "$(cat "$d/sub/kept" 2>/dev/null)" = also ] || fail "$what: the rest of the tree is gone"
        [ "$(json_field "$d" lifecycle_state)" = active ] ||
                fail "$what: entry is [$(json_field "$d" lifecycle_state)], not active"
        [ -z "$(staging_of "$d")" ] || fail "$what: a staging directory is left"
        [ "$(holder_target "$how")" = "$d/$([ "$how" = file ] && echo file || echo sub)" ] ||
                fail "$what: the holder holds [$(holder_target "$how")], not the original path"
}

# The holder exits: the next sweep removes the directory.
expect_removed_after_the_holder_exits() {
        local d=$1 what=$2
        kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true
        later sweep -v >/dev/null 2>"$T/sweep.err" || true
        [ ! -e "$d" ] || fail "$what: still there after the holder exited: $(cat "$T/sweep.err")"
        [ "$(json_field "$d" status)" = untracked ] || fail "$what: still tracked after removal"
}

holder_entering_after_the_probe_keeps_the_directory() {
        local how d
        for how in file cwd; do
                d=$(racy_dir)
                sweep_racing_a_holder "$how" "$d" before-stage || continue
                [ "$sweep_rc" -eq 0 ] || fail "$how: sweep exit $sweep_rc: $(cat "$T/race.err")"
                grep -q "skipped $d (in-use): in use by pid $holder (sleep)" "$T/race.err" ||
                        fail "$how: the sweep does not say it found pid $holder: $(cat "$T/race.err")"
                expect_put_back_intact "$d" "$how" "$how"
                expect_removed_after_the_holder_exits "$d" "$how"
        done
}

test_holder_entering_between_probe_and_rename_keeps_the_directory() {
        holder_entering_after_the_probe_keeps_the_directory
}

test_lsof_probe_holder_entering_between_probe_and_rename_keeps_the_directory() {
        with_lsof_probe holder_entering_after_the_probe_keeps_the_directory
}

# One scan judges a whole batch, so it must start after the last rename of
# the batch: a holder that gets into one of its directories after the first
# look and after another directory of the batch was renamed keeps just that
# one; the others of the same batch are deleted.  The sweep pauses before
# each of the three renames; at the second pause (one renamed already) the
# holder enters a directory still under its name.
holder_entering_one_directory_of_a_batch_keeps_only_that_one() {
        local d1 d2 d3 d held= sweep i
        d1=$(racy_dir); d2=$(racy_dir); d3=$(racy_dir)
        EPHEMDIR_TEST_PAUSE=before-stage EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep -v \
                >"$T/race.out" 2>"$T/race.err" &
        sweep=$!
        for i in 1 2 3; do
                wait_stopped "$sweep" || return 1
                if [ "$i" = 2 ]; then
                        for d in "$d1" "$d2" "$d3"; do
                                [ -e "$d" ] && [ -z "$held" ] && held=$d
                        done
                        [ "$(ls -A "$W" | grep -c ephemdir-deleting)" -eq 1 ] || fail "not one directory staged at pause 2"
                        start_holder file "$held"
                fi
                kill -CONT "$sweep"
        done
        wait "$sweep" || fail "sweep exit $?: $(cat "$T/race.err")"
        grep -q "skipped $held (in-use): in use by pid $holder (sleep)" "$T/race.err" ||
                fail "the sweep does not say it found pid $holder in $held: $(cat "$T/race.err")"
        expect_put_back_intact "$held" file "held"
        for d in "$d1" "$d2" "$d3"; do
                [ "$d" = "$held" ] || [ ! -e "$d" ] || fail "the free directory $d of the batch was kept"
        done
        [ "$(count_tracked "$W")" -eq 1 ] || fail "the free directories of the batch are still tracked"
        expect_removed_after_the_holder_exits "$held" "held"
}

test_holder_entering_one_directory_of_a_batch_keeps_only_that_one() {
        holder_entering_one_directory_of_a_batch_keeps_only_that_one
}

test_lsof_probe_holder_entering_one_directory_of_a_batch_keeps_only_that_one() {
        with_lsof_probe holder_entering_one_directory_of_a_batch_keeps_only_that_one
}

# Something new takes the original name while the in-use tree sits at its
# staging name: it is not renamed over it, nor deleted, but parked.
on_pause_after-reprobe() {
        mkdir "$1"
        echo new >"$1/newfile"
}

name_taken_meanwhile_parks_the_in_use_directory() {
        local d staging
        d=$(racy_dir)
        sweep_racing_a_holder file "$d" before-stage,after-reprobe || return
        [ "$sweep_rc" -eq 1 ] || fail "sweep exit $sweep_rc, want 1 (parked)"
        grep -q "parked $d (name-taken)" "$T/race.err" || fail "no name-taken report: $(cat "$T/race.err")"
        staging=$(staging_of "$d")
        [ -n "$staging" ] || { fail "the staging directory is gone"; return; }
        [ "$(cat "$staging/file")" = precious ] && [ "$(cat "$staging/sub/kept")" = also ] ||
                fail "the parked tree lost files"
        [ "$(cat "$d/newfile")" = new ] || fail "the new object at the original name was touched"
        [ "$(json_field "$d" lifecycle_state)" = recovery ] || fail "not parked in recovery"
        [ "$(holder_target file)" = "$staging/file" ] || fail "the holder lost its file"
        # Parked: later sweeps leave it alone, even once nobody holds it.
        kill "$holder"; wait "$holder" 2>/dev/null || true
        later sweep >/dev/null 2>&1 || true
        [ "$(cat "$staging/file" 2>/dev/null)" = precious ] || fail "a sweep touched the parked tree"
        # recover (an explicit request) finishes the deletion; the new object stays.
        "$EPHEMDIR" recover "$d" || fail "recover failed"
        [ -z "$(staging_of "$d")" ] || fail "recover left the staging tree"
        [ "$(cat "$d/newfile")" = new ] || fail "recover touched the new object"
        rm -rf "$d"
}

test_name_taken_while_in_use_parks_the_directory_and_deletes_nothing() {
        name_taken_meanwhile_parks_the_in_use_directory
}

test_lsof_probe_name_taken_while_in_use_parks_the_directory_and_deletes_nothing() {
        with_lsof_probe name_taken_meanwhile_parks_the_in_use_directory
}

# A crash after the rename leaves the entry deleting, with a staging tree a
# process may hold: recovery probes it again and puts it back, rather than
# finishing the deletion under the holder.
crash_with_a_holder_is_recovered_without_deleting() {
        local point d
        for point in after-rename after-reprobe after-unstage; do
                d=$(racy_dir)
                sweep_racing_a_holder file "$d" before-stage "$point" || continue
                [ "$sweep_rc" -eq 137 ] || { fail "$point: sweep not killed (exit $sweep_rc)"; continue; }
                [ "$(json_field "$d" lifecycle_state)" = deleting ] || fail "$point: not left deleting"
                later sweep -v >"$T/rec.out" 2>"$T/rec.err" || fail "$point: recovery sweep failed: $(cat "$T/rec.err")"
                grep -q "recovered $d (claim-released)" "$T/rec.out" ||
                        fail "$point: recovery did not release the claim: $(cat "$T/rec.out")"
                grep -q "skipped $d (in-use)" "$T/rec.err" || fail "$point: not deferred as in use: $(cat "$T/rec.err")"
                expect_put_back_intact "$d" file "$point"
                expect_removed_after_the_holder_exits "$d" "$point"
        done
}

test_crash_with_a_holder_inside_is_recovered_without_deleting() {
        crash_with_a_holder_is_recovered_without_deleting
}

test_lsof_probe_crash_with_a_holder_inside_is_recovered_without_deleting() {
        with_lsof_probe crash_with_a_holder_is_recovered_without_deleting
}

# The re-probe cannot tell (lsof fails the second time): never delete on an
# unknown, put it back.
test_lsof_probe_unknown_at_the_reprobe_puts_the_directory_back() {
        local real wrapper d
        real=$(system_lsof) || { echo "(no lsof installed: skipped)"; return 0; }
        wrapper=$(fake_lsof lsof-once "[ -e $T/lsof-ran ] && exit 2; touch $T/lsof-ran; exec $real \"\$@\"")
        d=$(racy_dir)
        rm -f "$T/lsof-ran"
        EPHEMDIR_TEST_INUSE_PROBE=lsof EPHEMDIR_TEST_LSOF=$wrapper later sweep -v >/dev/null 2>"$T/sweep.err" ||
                fail "sweep failed: $(cat "$T/sweep.err")"
        grep -q "skipped $d (in-use-unknown)" "$T/sweep.err" || fail "not deferred as unknown: $(cat "$T/sweep.err")"
        [ "$(cat "$d/file" 2>/dev/null)" = precious ] || fail "deleted on an unknown"
        [ "$(json_field "$d" lifecycle_state)" = active ] || fail "not active again"
        [ -z "$(staging_of "$d")" ] || fail "a staging directory is left"
        later sweep >/dev/null
        expect_absent "$d"
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
