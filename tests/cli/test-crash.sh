#!/usr/bin/env bash
# Crash safety and concurrency: a real SIGKILL at each step of the deletion
# path (EPHEMDIR_FAULT), and real second processes.
. "$(dirname "$0")/lib.sh"

crash() { EPHEMDIR_FAULT=$1 "$EPHEMDIR" "${@:2}" >/dev/null 2>&1 || true; }

due_dir() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        mkdir -p "$d/sub/deeper"
        for i in $(seq 1 50); do echo "$i" >"$d/sub/f$i"; done
        echo x >"$d/sub/deeper/g"
        printf '%s' "$d"
}

staging_left() { find "${1:-$W}" -maxdepth 1 -name '.*ephemdir-deleting-*' | wc -l; }

test_crash_at_every_deletion_step_is_finished_by_the_next_sweep() {
        local point d state
        for point in after-claim before-stage after-rename mid-delete before-commit; do
                d=$(due_dir)
                EPHEMDIR_TEST_CLOCK_OFFSET=600 crash "$point" sweep
                state=$(json_field "$d" lifecycle_state)
                [ "$state" = deleting ] || fail "$point: entry is [$state], not deleting (untracked mid-deletion?)"
                case $point in
                after-rename|mid-delete)
                        [ "$(json_field "$d" staging_state)" = present ] || fail "$point: staging_state not present"
                        [ "$(json_field "$d" original_state)" = missing ] || fail "$point: original_state not missing" ;;
                esac
                EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep >/dev/null 2>&1 || true
                # Recovery may release a pre-rename claim; the same sweep then deletes.
                EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep >/dev/null 2>&1 || true
                expect_absent "$d"
                [ "$(json_field "$d" status)" = untracked ] || fail "$point: still tracked after recovery"
                [ "$(staging_left)" = 0 ] || fail "$point: staging directory left behind"
        done
}

# A tree big enough that the sweep shares it among threads: past
# RM_WORKERS_AFTER (2,048) entries, with directories above
# RM_OFFER_MIN_DIR_SIZE (60 entries: 1,200 bytes on tmpfs, a block on ext4).
big_due_dir() {
        local d t
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        for t in 1 2 3 4; do
                mkdir -p "$d/t$t/"l{1..20}
                touch "$d/t$t/"l{1..20}/f{1..60}
        done
        printf '%s' "$d"
}

test_crash_while_worker_threads_delete_is_finished_by_the_next_sweep() {
        if [ "$(nproc)" -lt 2 ]; then
                echo "(one CPU: deletion stays single-threaded; skipped)"
                return 0
        fi
        local d rc=0
        d=$(big_due_dir)
        # The hook fires on the sweep's own thread once it has handed a
        # subtree to a worker, so the kill lands while the worker deletes.
        EPHEMDIR_FAULT=mid-parallel-delete EPHEMDIR_TEST_CLOCK_OFFSET=600 \
                "$EPHEMDIR" sweep >/dev/null 2>&1 || rc=$?
        [ "$rc" -eq 137 ] || { fail "sweep was not killed mid parallel deletion (rc $rc)"; return; }
        [ "$(json_field "$d" lifecycle_state)" = deleting ] || fail "entry not left in deleting"
        [ "$(staging_left)" = 1 ] || fail "no half-deleted staging tree"
        local staging left
        staging=$(find "$W" -maxdepth 1 -name '.*ephemdir-deleting-*')
        left=$(find "$staging" -type f | wc -l)
        [ "$left" -gt 0 ] && [ "$left" -lt 4800 ] || fail "$left of 4800 files left: not killed mid-way"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep >/dev/null 2>&1 || true
        expect_absent "$d"
        [ "$(json_field "$d" status)" = untracked ] || fail "still tracked after recovery"
        [ "$(staging_left)" = 0 ] || fail "staging directory left behind"
}

test_half_deleted_tree_is_never_renamed_over_a_new_object() {
        local d
        d=$(due_dir)
        EPHEMDIR_TEST_CLOCK_OFFSET=600 crash mid-delete sweep
        # Something new appears at the original path meanwhile.
        mkdir "$d"
        echo new >"$d/newfile"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep >/dev/null 2>&1 || true
        expect_exists "$d/newfile"
        [ "$(staging_left)" = 0 ] || fail "staging tree not finished"
        rm -rf "$d"
}

test_crash_after_register_leaves_a_tracked_directory() {
        local before after
        before=$(count_entries "$W")
        crash after-register new -p "$W"
        after=$(count_entries "$W")
        [ "$after" -eq $((before + 1)) ] || fail "no directory created"
        local d
        d=$(find "$W" -mindepth 1 -maxdepth 1 -newer "$EPHEMDIR_DATA_DIR" -type d | head -1)
        "$EPHEMDIR" list --json | grep -q "$(basename "$d")" || fail "created directory not tracked"
        "$EPHEMDIR" sweep --force >/dev/null
}

test_staging_replaced_during_crash_is_parked_not_deleted() {
        local d staging
        d=$(due_dir)
        EPHEMDIR_TEST_CLOCK_OFFSET=600 crash after-rename sweep
        staging=$(find "$W" -maxdepth 1 -name '.*ephemdir-deleting-*')
        [ -n "$staging" ] || { fail "no staging dir after after-rename crash"; return; }
        # Swap the staging tree for a foreign directory with the same name.
        mv "$staging" "$T/moved-away"
        mkdir "$staging"
        echo precious >"$staging/data"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep >/dev/null 2>&1 || true
        expect_exists "$staging/data"
        [ "$(json_field "$d" lifecycle_state)" = recovery ] || fail "not parked in recovery"
}

test_two_concurrent_sweeps_delete_each_directory_exactly_once() {
        local i n=200 dirs=() c="$W/concurrent"
        mkdir "$c"
        # A lifetime far longer than creating them takes on a slow machine,
        # so the lazy sweep inside `new` cannot take any of them early.
        for i in $(seq 1 $n); do
                dirs+=("$("$EPHEMDIR" new -p "$c" --lifetime 1h)")
        done
        EPHEMDIR_TEST_CLOCK_OFFSET=7200 "$EPHEMDIR" sweep >"$T/s1" 2>"$T/e1" &
        local p1=$!
        EPHEMDIR_TEST_CLOCK_OFFSET=7200 "$EPHEMDIR" sweep >"$T/s2" 2>"$T/e2" &
        local p2=$!
        wait $p1 || fail "sweep 1 failed: $(cat "$T/e1")"
        wait $p2 || fail "sweep 2 failed: $(cat "$T/e2")"
        local removed
        removed=$(cat "$T/s1" "$T/s2" | grep -c '^removed ')
        [ "$removed" -eq $n ] || fail "removed $removed times, want $n"
        [ "$(cat "$T/s1" "$T/s2" | grep '^removed ' | sort | uniq -d | wc -l)" -eq 0 ] || fail "a directory removed twice"
        for d in "${dirs[@]}"; do expect_absent "$d"; done
        [ "$(count_tracked "$c")" -eq 0 ] || fail "entries left: $(count_tracked "$c")"
        [ "$(staging_left "$c")" = 0 ] || fail "leftover staging dirs"
}

test_extend_committed_before_the_claim_wins_over_a_sweep() {
        # A sweep stopped right after its claim loses nothing: an extend
        # before that claim leaves the entry not due, so the sweep skips it.
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        "$EPHEMDIR" extend "$d" 2h
        EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep >/dev/null
        expect_exists "$d"
        # And after a claim, keep answers "being deleted" instead of racing it.
        EPHEMDIR_TEST_CLOCK_OFFSET=99999 crash after-claim sweep
        run keep "$d"
        expect_rc 1
        expect_err_contains "being deleted"
        EPHEMDIR_TEST_CLOCK_OFFSET=99999 "$EPHEMDIR" sweep >/dev/null 2>&1 || true
        EPHEMDIR_TEST_CLOCK_OFFSET=99999 "$EPHEMDIR" sweep >/dev/null 2>&1 || true
        expect_absent "$d"
}

test_symlink_swapped_in_during_deletion_is_never_followed() {
        local victim round
        victim="$T/victim"
        mkdir -p "$victim"
        for i in $(seq 1 20); do echo "precious $i" >"$victim/f$i"; done
        for round in 1 2 3; do
                local d
                d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
                mkdir -p "$d/sub"
                for i in $(seq 1 300); do mkdir "$d/sub/d$i"; echo x >"$d/sub/d$i/f"; done
                # A second process keeps swapping sub for a symlink to the victim.
                (
                        while [ -e "$d" ]; do
                                mv "$d/sub" "$d/sub.away" 2>/dev/null && ln -s "$victim" "$d/sub" 2>/dev/null
                                rm -f "$d/sub" 2>/dev/null
                                mv "$d/sub.away" "$d/sub" 2>/dev/null
                        done
                ) 2>/dev/null &
                local racer=$!
                EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep >/dev/null 2>&1 || true
                kill "$racer" 2>/dev/null || true
                wait "$racer" 2>/dev/null || true
                [ "$(ls "$victim" | wc -l)" = 20 ] || fail "round $round: the victim lost files"
        done
}

require_hooks
run_tests
