#!/usr/bin/env bash
# Sweeping: what is due, and what is never deleted whatever the registry says.
. "$(dirname "$0")/lib.sh"

later() { EPHEMDIR_TEST_CLOCK_OFFSET=$1 "$EPHEMDIR" "${@:2}"; }

test_expired_directory_is_swept_and_unexpired_one_kept() {
        local old young
        old=$("$EPHEMDIR" new -p "$W" --lifetime 30m)
        young=$("$EPHEMDIR" new -p "$W" --lifetime 2h)
        touch "$old/f" "$young/f"
        later 3600 sweep >/dev/null
        expect_absent "$old"
        expect_exists "$young/f"
        "$EPHEMDIR" rm "$young"
}

test_restart_is_a_new_boot_id_never_a_clock_step() {
        local d
        d=$(EPHEMDIR_TEST_BOOT_ID=boot-a "$EPHEMDIR" new -p "$W")
        # A large clock step with the same boot id is not a restart.
        EPHEMDIR_TEST_BOOT_ID=boot-a EPHEMDIR_TEST_CLOCK_OFFSET=99999999 "$EPHEMDIR" sweep >/dev/null
        expect_exists "$d"
        EPHEMDIR_TEST_BOOT_ID=boot-b "$EPHEMDIR" sweep >/dev/null
        expect_absent "$d"
}

test_keep_on_restart_survives_a_restart() {
        local d
        d=$(EPHEMDIR_TEST_BOOT_ID=boot-a "$EPHEMDIR" new -p "$W" --keep-on-restart)
        EPHEMDIR_TEST_BOOT_ID=boot-b "$EPHEMDIR" sweep >/dev/null
        expect_exists "$d"
        [ "$(json_field "$d" status)" = kept ] || fail "status $(json_field "$d" status)"
        "$EPHEMDIR" rm "$d"
}

test_next_sweep_entries_go_at_explicit_sweeps_only() {
        local d other
        d=$("$EPHEMDIR" new -p "$W" --until-sweep)
        [ "$(json_field "$d" status)" = until-sweep ] || fail "status"
        # The lazy sweep inside `new` must not take it.
        other=$("$EPHEMDIR" new -p "$W")
        expect_exists "$d"
        "$EPHEMDIR" sweep >/dev/null
        expect_absent "$d"
        "$EPHEMDIR" rm "$other"
}

test_new_lazily_sweeps_due_entries() {
        local d e
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        e=$(later 600 new -p "$W")
        expect_absent "$d"
        "$EPHEMDIR" rm "$e"
}

test_dry_run_changes_nothing_and_reports_json() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        run sweep --dry-run --json
        EPHEMDIR_TEST_CLOCK_OFFSET=600 run sweep --dry-run --json
        expect_rc 0 || return
        expect_exists "$d"
        printf '%s' "$out" | python3 -c '
import json, sys
ev = json.load(sys.stdin)
assert any(e["path"] == sys.argv[1] and e["action"] == "would-remove" and e["reason"] == "expired" for e in ev), ev
' "$d" || fail "dry-run json: $out"
        run sweep --json
        expect_rc 2
        "$EPHEMDIR" rm "$d"
}

test_replaced_directory_is_never_deleted() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        local marker
        marker=$(cat "$d/.ephemdir")
        rm -rf "$d"
        mkdir "$d"
        # Even a copied marker does not make a new inode ours.
        echo "$marker" >"$d/.ephemdir"
        echo precious >"$d/data"
        [ "$(json_field "$d" status)" = replaced ] || fail "not shown as replaced"
        later 3600 sweep >/dev/null || true
        later 3600 sweep --force >/dev/null || true
        run rm "$d"
        expect_rc 1
        expect_exists "$d/data"
        [ "$(json_field "$d" status)" = replaced ] || fail "entry dropped"
}

test_directory_with_altered_marker_is_never_deleted() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        echo 0123456789abcdef0123456789abcdef >"$d/.ephemdir"
        echo precious >"$d/data"
        later 3600 sweep >/dev/null || true
        expect_exists "$d/data"
        local status
        status=$(EPHEMDIR_TEST_CLOCK_OFFSET=3600 json_field "$d" status)
        [ "$status" = replaced ] || fail "status $status"
}

# list reads markers only of the entries that are due (one statx for the
# rest): what the next sweep would refuse shows as replaced, not as expired.
test_list_shows_due_directory_without_its_marker_as_replaced() {
        local d status
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        mv "$d/.ephemdir" "$T/marker"
        status=$(EPHEMDIR_TEST_CLOCK_OFFSET=3600 json_field "$d" status)
        [ "$status" = replaced ] || fail "due: status $status, want replaced"
        "$EPHEMDIR" explain "$d" | grep -q identity-changed || fail "explain does not name the identity change"
        # Leave no blocked due entry behind: the lazy sweep tests count on it.
        mv "$T/marker" "$d/.ephemdir"
        "$EPHEMDIR" rm "$d"
}

test_list_shows_directory_replaced_under_the_same_name_as_replaced() {
        local d status
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1h)
        mv "$d" "$d.old"
        mkdir "$d"
        cp "$d.old/.ephemdir" "$d/"
        status=$(json_field "$d" status)
        [ "$status" = replaced ] || fail "status $status"
        rm -r "$d"
        mv "$d.old" "$d"
        "$EPHEMDIR" rm "$d"
}

test_directory_with_missing_marker_is_never_deleted() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        rm "$d/.ephemdir"
        echo precious >"$d/data"
        later 3600 sweep --force >/dev/null || true
        expect_exists "$d/data"
}

test_symlink_marker_is_never_trusted() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        cp "$d/.ephemdir" "$T/real-marker"
        rm "$d/.ephemdir"
        ln -s "$T/real-marker" "$d/.ephemdir"
        echo precious >"$d/data"
        later 3600 sweep >/dev/null || true
        expect_exists "$d/data"
}

test_fifo_marker_does_not_hang_and_is_never_trusted() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        rm "$d/.ephemdir"
        mkfifo "$d/.ephemdir"
        echo precious >"$d/data"
        timeout 20 env EPHEMDIR_TEST_CLOCK_OFFSET=3600 "$EPHEMDIR" sweep >/dev/null || true
        expect_exists "$d/data"
}

test_symlink_at_the_tracked_path_is_never_followed() {
        local d victim
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        victim=$(mktemp -d "$T/victim-XXXXXX")
        cp "$d/.ephemdir" "$victim/.ephemdir"
        echo precious >"$victim/data"
        rm -rf "$d"
        ln -s "$victim" "$d"
        later 3600 sweep --force >/dev/null || true
        expect_exists "$victim/data"
        [ -L "$d" ] || fail "the symlink itself was removed or replaced"
}

test_symlink_inside_is_removed_not_followed() {
        local d victim
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        victim=$(mktemp -d "$T/victim-XXXXXX")
        echo precious >"$victim/data"
        ln -s "$victim" "$d/dirlink"
        ln -s "$victim/data" "$d/filelink"
        later 3600 sweep >/dev/null
        expect_absent "$d"
        expect_exists "$victim/data"
}

test_deletion_guard_refuses_home_and_data_dir_even_when_forced() {
        local d db
        d=$("$EPHEMDIR" new -p "$W")
        db="$EPHEMDIR_DATA_DIR/registry.db"
        echo keep >"$HOME/precious"
        # Hand-edit the registry to point the entry at protected places, with
        # consistent name, parent, inode and a marker, so only the guard
        # stands in the way.
        for target in "$HOME" "$EPHEMDIR_DATA_DIR" "$T"; do
                cp "$d/.ephemdir" "$target/.ephemdir"
                retarget "$db" "$d" "$target"
                run sweep --force
                expect_exists "$HOME/precious"
                expect_exists "$EPHEMDIR_DATA_DIR/registry.db"
                expect_exists "$W"
                run rm "$target"
                expect_rc 1 "rm $target"
                expect_err_contains "deletion guard"
                retarget "$db" "$target" "$d"
                rm -f "$target/.ephemdir"
        done
        "$EPHEMDIR" rm "$d"
}

retarget() {
        python3 - "$@" <<'PY'
import os, sqlite3, sys
db, old, new = sys.argv[1:]
st = os.stat(new)
c = sqlite3.connect(db)
c.execute("UPDATE dirs SET path=?, parent=?, name=?, ino=?, dev=? WHERE path=?",
          (new, os.path.dirname(new), os.path.basename(new), st.st_ino, st.st_dev, old))
c.commit()
PY
}

test_force_sweep_removes_every_verified_entry() {
        local a b
        a=$("$EPHEMDIR" new -p "$W" --keep-on-restart)
        b=$("$EPHEMDIR" new -p "$W" --lifetime 7d)
        run sweep --force
        expect_rc 0 || return
        expect_absent "$a"
        expect_absent "$b"
}

test_group_writable_parent_is_refused_before_anything_is_created() {
        mkdir -m 0777 "$T/open"
        chmod 0777 "$T/open"
        run new -p "$T/open"
        expect_rc 1 || return
        [ "$(count_entries "$T/open")" = 0 ] || fail "created inside a world-writable parent"
        mkdir "$T/real"
        ln -s "$T/real" "$T/link"
        run new -p "$T/link"
        expect_rc 1 || return
        [ "$(count_entries "$T/real")" = 0 ] || fail "followed a symlinked parent"
}

test_tree_deeper_than_the_fd_limit_and_path_max_is_deleted() {
        local d depth=3000
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        # 3000 levels of 8-character names: far deeper than 64 fds, and a
        # full path of ~27,000 bytes, beyond PATH_MAX (built fd-relative).
        python3 - "$d" "$depth" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for _ in range(int(sys.argv[2])):
    os.mkdir("deepdir", dir_fd=fd)
    nfd = os.open("deepdir", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = nfd
os.close(os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
PY
        (ulimit -n 64 && EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep >/dev/null) ||
                fail "sweep under a 64-fd limit failed"
        expect_absent "$d"
}

test_watch_sweeps_periodically_and_stops_cleanly_on_sigterm() {
        local d pid rc
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" watch --interval 1 >"$T/watch.out" 2>"$T/watch.err" &
        pid=$!
        for _ in $(seq 1 50); do [ -e "$d" ] || break; sleep 0.2; done
        expect_absent "$d"
        # A directory that becomes due later is taken by a later round.
        local e
        e=$("$EPHEMDIR" new -p "$W" --until-sweep)
        for _ in $(seq 1 50); do [ -e "$e" ] || break; sleep 0.2; done
        expect_absent "$e"
        kill -TERM "$pid"
        set +e
        wait "$pid"
        rc=$?
        set -e
        [ "$rc" -eq 0 ] || fail "watch exited $rc after SIGTERM: $(cat "$T/watch.err")"
        grep -q "^removed $d" "$T/watch.out" || fail "watch did not report the removal"
        run watch --interval banana
        expect_rc 2
}

test_doctor_reports_locations_and_mechanisms() {
        run doctor --json
        expect_rc 0 || return
        printf '%s' "$out" | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
assert d["data_dir"] == os.environ["EPHEMDIR_DATA_DIR"], d
assert d["data_dir_source"] == "EPHEMDIR_DATA_DIR", d
assert d["mount_id_method"] in ("statx", "fdinfo"), d
assert d["deletion_possible"] is True and d["schema_version"] >= 1
assert isinstance(d["inuse_probe"]["complete"], bool) and d["inuse_probe"]["processes"] > 0, d
assert d["service"]["ephemdir-sweep.timer"] == "absent", d
' || fail "doctor --json: $out"
        "$EPHEMDIR" install-service --no-enable >/dev/null 2>&1 || return 0   # untrusted build tree: see test-service
        run doctor --json
        printf '%s' "$out" | python3 -c '
import json, sys
assert json.load(sys.stdin)["service"]["ephemdir-sweep.timer"] == "installed"' || fail "doctor does not see the installed timer"
        "$EPHEMDIR" uninstall-service >/dev/null 2>&1 || true
}

test_tag_limits_sweep_and_keep() {
        local a b c
        a=$("$EPHEMDIR" new -p "$W" --lifetime 1m --tag build)
        b=$("$EPHEMDIR" new -p "$W" --lifetime 1m --tag cache)
        c=$("$EPHEMDIR" new -p "$W" --lifetime 1h --tag keepme)
        # new's own lazy sweep must not run in the offset clock here.
        EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR" sweep --tag build >/dev/null
        expect_absent "$a"
        expect_exists "$b"
        run keep --tag keepme
        expect_rc 0 || return
        [ "$(json_field "$c" status)" = untracked ] || fail "keep --tag left it tracked"
        expect_exists "$c"
        [ "$(json_field "$b" status)" != untracked ] || fail "keep --tag took an untagged entry"
        run keep --tag keepme "$b"
        expect_rc 2
        "$EPHEMDIR" rm "$b"
        rm -rf "$c"
}

require_hooks
run_tests
