#!/usr/bin/env bash
# Mount points: deletion never crosses into another mount.  Needs root for
# real tmpfs mounts; skips cleanly otherwise.
. "$(dirname "$0")/lib.sh"

mount_tmpfs() {
        mount -t tmpfs -o size=4m tmpfs "$1"
}

test_mount_inside_a_managed_tree_is_never_crossed() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        mkdir -p "$d/before" "$d/mnt"
        echo x >"$d/before/f"
        mount_tmpfs "$d/mnt"
        echo precious >"$d/mnt/data"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 run sweep
        expect_rc 1 "a parked entry makes the sweep fail"
        expect_err_contains "mount"
        [ "$(cat "$(find "$W" -maxdepth 3 -path '*mnt/data' | head -1)")" = precious ] ||
                fail "mounted data was touched"
        [ "$(json_field "$d" lifecycle_state)" = recovery ] || fail "not parked in recovery"
        # Once the mount is gone, recover finishes the job.
        umount "$(find "$W" -maxdepth 2 -type d -name mnt | head -1)"
        run recover "$d"
        expect_rc 0 || return
        [ "$(json_field "$d" status)" = untracked ] || fail "still tracked after recover"
        [ "$(find "$W" -maxdepth 1 -name '.*ephemdir-deleting-*' | wc -l)" = 0 ] || fail "staging left"
}

test_managed_directory_that_is_a_mount_point_is_left_alone() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        cp "$d/.ephemdir" "$T/marker"
        mount_tmpfs "$d"
        # Same marker inside, but a different filesystem: never ours to delete.
        cp "$T/marker" "$d/.ephemdir"
        echo precious >"$d/data"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep --force >/dev/null 2>&1 || true
        expect_exists "$d/data"
        [ "$(json_field "$d" lifecycle_state)" = active ] || fail "entry state changed"
        umount "$d"
}

test_recover_forget_drops_the_entry_and_touches_nothing() {
        local d staging
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        mkdir "$d/mnt"
        mount_tmpfs "$d/mnt"
        echo precious >"$d/mnt/data"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep >/dev/null 2>&1 || true
        staging=$(find "$W" -maxdepth 1 -name '.*ephemdir-deleting-*' | head -1)
        [ -n "$staging" ] || { fail "no staging dir"; return; }
        run recover --forget "$d"
        expect_rc 0 || return
        [ "$(json_field "$d" status)" = untracked ] || fail "still tracked"
        expect_exists "$staging/mnt/data"
        umount "$staging/mnt"
}

if ! is_root; then
        echo "not root: skipping mount tests"
        exit 77
fi
require_hooks
mkdir "$T/probe"
if ! mount_tmpfs "$T/probe" 2>/dev/null; then
        echo "cannot mount tmpfs here: skipping"
        exit 77
fi
umount "$T/probe"
run_tests
