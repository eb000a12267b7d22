#!/usr/bin/env bash
# new, list, path, rm, keep, extend, prune: the everyday surface, and bad
# input that must exit 2 with nothing created.
. "$(dirname "$0")/lib.sh"

test_new_prints_only_the_path_of_a_private_marked_directory() {
        run new -p "$W"
        expect_rc 0 || return
        [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "stdout is more than one line: [$out]"
        [ -z "$err" ] || fail "stderr not empty: [$err]"
        case "$out" in "$W"/*) ;; *) fail "path not under parent: $out" ;; esac
        [ -d "$out" ] || fail "not a directory: $out"
        [ "$(stat -c %a "$out")" = 700 ] || fail "mode is not 0700"
        [ -f "$out/.ephemdir" ] || fail "no marker"
        grep -Eq '^[0-9a-f]{32}$' "$out/.ephemdir" || fail "marker is not a 128-bit hex id"
        [[ "$(basename "$out")" =~ ^[a-z]+-[a-z]+-[0-9a-f]{16}$ ]] || fail "name pattern: $out"
        [ "$(json_field "$out" status)" = until-restart ] || fail "default status is not until-restart"
}

test_new_defaults_to_the_current_directory() {
        local d
        d=$(cd "$W" && "$EPHEMDIR" new)
        [ "$(dirname "$d")" = "$W" ] || fail "created outside cwd: $d"
}

test_new_applies_lifetime_words_and_prefix() {
        run new -p "$W" --lifetime 2h --words 3 --prefix scratch- --keep-on-restart
        expect_rc 0 || return
        [[ "$(basename "$out")" =~ ^scratch-[a-z]+-[a-z]+-[a-z]+-[0-9a-f]{16}$ ]] || fail "name: $out"
        [ "$(json_field "$out" remove_on_restart)" = false ] || fail "keep-on-restart ignored"
        local left
        left=$(json_field "$out" remaining_seconds)
        [ "$left" -gt 7000 ] && [ "$left" -le 7200 ] || fail "remaining_seconds=$left"
        [ "$(json_field "$out" status)" = active ] || fail "status not active"
}

test_bad_values_exit_2_naming_the_value_and_create_nothing() {
        local before
        before=$(count_entries "$W")
        for args in "--lifetime banana" "--lifetime 0" "--lifetime -5m" "--words 9" "--words 0" \
                    "--prefix a/b" "--prefix .." "--max-size 10XB" "--name-style fancy" \
                    "--cleanup sometimes" "--tag Bad!Tag" "--bogus" "extra-arg"; do
                # shellcheck disable=SC2086
                run new -p "$W" $args
                expect_rc 2 "new $args" || continue
                local value=${args#* }
                case "$args" in --bogus|extra-arg) value=$args ;; esac
                expect_err_contains "$value"
                case "$err" in "ephemdir: new: "*) ;; *) fail "error prefix: [$err]" ;; esac
        done
        run new -p "$W" --prefix "$(printf 'a\nb')"
        expect_rc 2 "control character in prefix"
        run new -p "$W" --until-sweep --lifetime 1h
        expect_rc 2 "next-sweep with a lifetime"
        [ "$(count_entries "$W")" = "$before" ] || fail "something was created"
        [ "$(count_tracked)" = "$(find "$W" -mindepth 1 -maxdepth 1 | wc -l)" ] || fail "registry changed"
}

test_clean_names_are_refused_in_a_shared_parent() {
        run new -p /tmp --name-style clean
        expect_rc 2 || return
        expect_err_contains "owner-private"
        run new -p "$W" --name-style clean
        expect_rc 0 || return
        [[ "$(basename "$out")" =~ ^[a-z]+-[a-z]+$ ]] || fail "clean name has a token: $out"
        "$EPHEMDIR" rm "$out"
}

test_path_resolves_full_path_exact_name_and_unique_prefix() {
        local d name
        d=$("$EPHEMDIR" new -p "$W" --prefix zq-)
        name=$(basename "$d")
        for target in "$d" "$name" "${name:0:8}" "zq-"; do
                run path "$target"
                expect_rc 0 "path $target" && [ "$out" = "$d" ] || fail "path $target gave [$out]"
        done
        (cd "$W" && "$EPHEMDIR" path "./$name" >/dev/null) || fail "relative path target"
        "$EPHEMDIR" rm "$d"
}

test_ambiguous_prefix_exits_1_listing_the_candidates() {
        local a b
        a=$("$EPHEMDIR" new -p "$W" --prefix amb-)
        b=$("$EPHEMDIR" new -p "$W" --prefix amb-)
        run path amb-
        expect_rc 1 || return
        expect_err_contains "$(basename "$a")"
        expect_err_contains "$(basename "$b")"
        run rm amb-
        expect_rc 1
        expect_exists "$a"
        expect_exists "$b"
        "$EPHEMDIR" rm "$a" "$b"
}

test_unknown_target_exits_1() {
        run path no-such-thing
        expect_rc 1 || return
        expect_err_contains "no-such-thing"
        run rm "$W/not-tracked"
        expect_rc 1
}

test_rm_deletes_contents_and_stops_tracking() {
        local d
        d=$("$EPHEMDIR" new -p "$W")
        mkdir -p "$d/a/b/c"
        echo hi >"$d/a/b/c/f"
        ln -s /etc/passwd "$d/link"
        run rm "$(basename "$d")"
        expect_rc 0 || return
        expect_absent "$d"
        [ "$(json_field "$d" status)" = untracked ] || fail "still tracked"
        [ -e /etc/passwd ] || fail "symlink target was touched"
        ls -a "$W" | grep -q ephemdir-deleting && fail "staging directory left behind"
        true
}

test_keep_stops_tracking_and_leaves_the_directory() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        echo data >"$d/file"
        run keep "$d"
        expect_rc 0 || return
        expect_exists "$d/file"
        expect_absent "$d/.ephemdir"
        [ "$(json_field "$d" status)" = untracked ] || fail "still tracked"
        have_hooks || return 0
        EPHEMDIR_TEST_CLOCK_OFFSET=3600 "$EPHEMDIR" sweep >/dev/null
        expect_exists "$d/file"
}

test_extend_sets_a_fresh_lifetime_or_none() {
        local d left
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        run extend "$d" 3h
        expect_rc 0 || return
        left=$(json_field "$d" remaining_seconds)
        [ "$left" -gt 10000 ] || fail "remaining_seconds=$left after extend 3h"
        run extend "$d" --forever
        expect_rc 0 || return
        [ "$(json_field "$d" expires_at)" = null ] || fail "forever kept an expiry"
        run extend "$d" banana
        expect_rc 2
        expect_err_contains banana
        run extend "$d"
        expect_rc 2
        "$EPHEMDIR" rm "$d"
}

test_missing_directory_stays_tracked_until_prune() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        rm -rf "$d"
        [ "$(json_field "$d" status)" = missing ] || fail "not shown as missing"
        "$EPHEMDIR" sweep --force >/dev/null || true
        [ "$(json_field "$d" status)" = missing ] || fail "sweep forgot a missing entry"
        run rm "$d"
        expect_rc 1
        expect_err_contains "missing"
        run prune
        expect_rc 0 || return
        [ "$(json_field "$d" status)" = untracked ] || fail "prune kept it"
}

test_list_json_is_strict_and_has_the_documented_fields() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1h --tag build --desc "a test dir")
        "$EPHEMDIR" list --json | python3 -c '
import json, sys
def no_nan(x): raise ValueError("non-strict constant " + x)
entries = json.load(sys.stdin, parse_constant=no_nan)
want = {"path","name","status","exists","created_at","expires_at","remaining_seconds",
        "remove_on_restart","keep_while_in_use","cleanup","max_size_bytes","tags",
        "description","origin","staging_path","lifecycle_state","original_state"}
for e in entries:
    missing = want - set(e)
    assert not missing, missing
    assert isinstance(e["created_at"], int)
e = [e for e in entries if e["path"] == sys.argv[1]][0]
assert e["tags"] == ["build"], e["tags"]
assert e["description"] == "a test dir"
assert e["origin"] == "cli"
assert e["lifecycle_state"] == "active"
' "$d" || fail "list --json contract"
        "$EPHEMDIR" rm "$d"
}

test_list_plain_uses_ascii_tags_and_escapes_control_characters() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --prefix "$(printf 'x\033y-')") && fail "escape char accepted in prefix"
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1h)
        run list --plain
        expect_rc 0 || return
        case "$out" in *"[ok]"*) ;; *) fail "no ASCII tag: [$out]" ;; esac
        printf '%s' "$out" | LC_ALL=C grep -q "$(printf '\xf0')" && fail "emoji in --plain output"
        run list
        case "$out" in *"🟢"*) ;; *) fail "no emoji in UTF-8 list: [$out]" ;; esac
        LANG=C LC_ALL=C run list
        case "$out" in *"[ok]"*) ;; *) fail "no ASCII fallback in C locale: [$out]" ;; esac
        "$EPHEMDIR" rm "$d"
}

test_no_target_means_the_managed_directory_you_stand_in() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1h)
        mkdir -p "$d/a/b"
        (cd "$d/a/b" && "$EPHEMDIR" path) >"$T/p" || fail "path from a subdirectory failed"
        [ "$(cat "$T/p")" = "$d" ] || fail "path from a subdirectory gave $(cat "$T/p")"
        (cd "$d/a" && "$EPHEMDIR" extend 3h) || fail "bare duration inside did not extend"
        [ "$(json_field "$d" remaining_seconds)" -gt 10000 ] || fail "not extended"
        (cd "$d/a" && "$EPHEMDIR" explain --json) | python3 -c '
import json, sys
x = json.load(sys.stdin)
for k in ("path","name","status","due","reasons","blocked_by","decision","destructive_allowed",
          "size_bytes","max_size_bytes"):
    assert k in x, k
assert x["path"] == sys.argv[1] and x["due"] is False and x["blocked_by"] == []
assert all({"check","ok","detail"} <= set(c) for c in x["decision"])
' "$d" || fail "explain --json from inside"
        (cd "$d/a/b" && "$EPHEMDIR" rm) || fail "rm with no target inside failed"
        expect_absent "$d"
}

test_no_target_outside_managed_directories_fails_closed() {
        local d
        d=$("$EPHEMDIR" new -p "$W")
        mkdir "$W/plain"
        # A copied marker does not make a directory managed.
        cp "$d/.ephemdir" "$W/plain/.ephemdir"
        (cd "$W/plain" && run rm)
        (cd "$W/plain" && "$EPHEMDIR" rm 2>/dev/null) && fail "rm acted outside a managed directory"
        expect_exists "$W/plain/.ephemdir"
        expect_exists "$d"
        # path alone, outside, is the most recent one.
        [ "$(cd "$W/plain" && "$EPHEMDIR" path)" = "$("$EPHEMDIR" last)" ] || fail "path != last outside"
        "$EPHEMDIR" rm "$d"
}

test_stats_count_created_removed_and_kept() {
        local before after a b
        before=$("$EPHEMDIR" stats --json)
        a=$("$EPHEMDIR" new -p "$W")
        b=$("$EPHEMDIR" new -p "$W")
        "$EPHEMDIR" rm "$a"
        "$EPHEMDIR" keep "$b"
        after=$("$EPHEMDIR" stats --json)
        python3 -c '
import json, sys
b, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["created"] - b["created"] == 2, (a, b)
assert a["removed"] - b["removed"] == 1, (a, b)
assert a["kept"] - b["kept"] == 1, (a, b)
' "$before" "$after" || fail "stats deltas"
}

test_last_prints_the_newest_directory() {
        local a b
        a=$("$EPHEMDIR" new -p "$W")
        sleep 1
        b=$("$EPHEMDIR" new -p "$W")
        [ "$("$EPHEMDIR" last)" = "$b" ] || fail "last is not the newest"
        "$EPHEMDIR" rm "$a" "$b"
}

test_corrupt_registry_fails_clearly_and_changes_nothing() {
        local d before db="$EPHEMDIR_DATA_DIR/registry.db"
        d=$("$EPHEMDIR" new -p "$W")
        cp "$db" "$T/good.db"
        head -c 20000 /dev/urandom >"$db"
        cp "$db" "$T/bad.db"
        before=$(count_entries "$W")
        run new -p "$W"
        expect_rc 1 || return
        expect_err_contains "corrupt"
        expect_err_contains "registry.db.corrupt-"
        [ "$(count_entries "$W")" = "$before" ] || fail "a directory was created"
        run sweep --force
        expect_rc 1
        expect_exists "$d"
        cmp -s "$db" "$T/bad.db" || fail "the broken registry was modified or replaced"
        ls "$EPHEMDIR_DATA_DIR"/registry.db.corrupt-* >/dev/null 2>&1 || fail "no copy of the inspected bytes"
        cp "$T/good.db" "$db"
        rm -f "$EPHEMDIR_DATA_DIR"/registry.db-wal "$EPHEMDIR_DATA_DIR"/registry.db-shm
        "$EPHEMDIR" rm "$d"
}

test_tree_groups_by_parent_with_measured_sizes() {
        mkdir -p "$W/ta" "$W/tb"
        local a b
        a=$("$EPHEMDIR" new -p "$W/ta" --tag tt)
        b=$("$EPHEMDIR" new -p "$W/tb" --tag tt)
        head -c 200000 /dev/zero >"$a/data"
        run tree --plain --tag tt
        expect_rc 0 || return
        case "$out" in *"$W/ta  (1 directory"*) ;; *) fail "no group for ta: $out" ;; esac
        "$EPHEMDIR" tree --json --tag tt | python3 -c '
import json, sys
g = {x["parent"]: x for x in json.load(sys.stdin)}
a = g[sys.argv[1]]["entries"][0]
assert a["size_bytes"] >= 200000 and a["size_complete"] is True, a
assert g[sys.argv[2]]["entries"][0]["size_bytes"] < 200000
' "$W/ta" "$W/tb" || fail "tree --json sizes"
        "$EPHEMDIR" rm "$a" "$b"
}

test_no_color_and_pipes_never_get_escape_sequences() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1h)
        run list --color always
        case "$out" in *$'\033['*) ;; *) fail "--color always has no colour" ;; esac
        NO_COLOR=1 run list
        case "$out" in *$'\033['*) fail "NO_COLOR ignored" ;; esac
        run list
        case "$out" in *$'\033['*) fail "colour written to a pipe" ;; esac
        run list --json --color always
        case "$out" in *$'\033['*) fail "colour inside JSON" ;; esac
        run list --color sometimes
        expect_rc 2
        "$EPHEMDIR" rm "$d"
}

test_description_and_tags_are_validated() {
        local long
        long=$(head -c 300 /dev/zero | tr '\0' x)
        run new -p "$W" --desc "$long"
        expect_rc 2
        run new -p "$W" --desc "$(printf 'a\tb')"
        expect_rc 2
        run new -p "$W" $(for i in $(seq 1 17); do printf -- '--tag t%s ' "$i"; done)
        expect_rc 2
        expect_err_contains "tags"
}

test_help_and_version() {
        run --version
        expect_rc 0
        run new --help
        expect_rc 0
        case "$out" in *--lifetime*) ;; *) fail "new --help lacks --lifetime" ;; esac
        run frobnicate
        expect_rc 2
        expect_err_contains frobnicate
}

run_tests
