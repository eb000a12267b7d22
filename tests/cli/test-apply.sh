#!/usr/bin/env bash
# ephemdir-apply: rules.d reconciled with the registry through the same
# core as the CLI; invalid rules never cause deletion.
. "$(dirname "$0")/lib.sh"

: "${EPHEMDIR_APPLY:?EPHEMDIR_APPLY must point at the built ephemdir-apply}"
R="$T/rules"        # highest priority
R2="$T/rules-low"   # lower priority
P="$T/declared"     # parents of declared directories
mkdir -p "$R" "$R2"
chmod 700 "$R" "$R2"

apply() {
        set +e
        out=$("$EPHEMDIR_APPLY" --rules-dir "$R" --rules-dir "$R2" "$@" 2>"$T/stderr")
        rc=$?
        set -e
        err=$(cat "$T/stderr")
}

# apply_dirs DIR... -- ARGS...: like apply, with these rules dirs only.
apply_dirs() {
        local dirs=()
        while [ "$1" != -- ]; do
                dirs+=(--rules-dir "$1")
                shift
        done
        shift
        set +e
        out=$("$EPHEMDIR_APPLY" "${dirs[@]}" "$@" 2>"$T/stderr")
        rc=$?
        set -e
        err=$(cat "$T/stderr")
}

# json_keys: the top-level keys of the JSON report in $out, one per line.
json_keys() {
        printf '%s' "$out" | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)))'
}

rule_file() {   # rule_file DIR FILE CONTENT...
        local dir=$1 file=$2
        shift 2
        printf '%s\n' "$@" >"$dir/$file"
        chmod 600 "$dir/$file"
}

test_apply_creates_declared_directories_and_is_idempotent() {
        rule_file "$R" 50-build.yaml "version: 1" "directories:" \
                "  - name: build-cache" "    parent: $P/a" "    lifetime: 2h" "    tags: [build]"
        apply
        expect_rc 0 || return
        [ -d "$P/a/build-cache" ] || fail "not created"
        [ -f "$P/a/build-cache/.ephemdir" ] || fail "no marker"
        [ "$(stat -c %a "$P/a")" = 700 ] || fail "missing parent not created 0700"
        [ "$(json_field "$P/a/build-cache" origin)" = "rule:build-cache" ] || fail "origin"
        apply
        expect_rc 0 || return
        case "$out" in *created*) fail "second apply created again: $out" ;; esac
        apply --json
        printf '%s' "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert "created" not in r, r' ||
                fail "second apply --json reports creations: $out"
        rm -f "$R/50-build.yaml"
        "$EPHEMDIR" rm "$P/a/build-cache"
}

test_expired_rule_directory_is_swept_and_recreated_fresh() {
        rule_file "$R" 50-x.yaml "version: 1" "directories:" \
                "  - name: short" "    parent: $P/b" "    lifetime: 1m"
        apply
        local d="$P/b/short" m1 m2
        m1=$(cat "$d/.ephemdir")
        echo old >"$d/file"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 apply
        expect_rc 0 || return
        [ -d "$d" ] || fail "not recreated"
        expect_absent "$d/file"
        m2=$(cat "$d/.ephemdir")
        [ "$m1" != "$m2" ] || fail "same marker id after recreation"
        rm -f "$R/50-x.yaml"
        "$EPHEMDIR" rm "$d"
}

test_recreate_false_only_sweeps() {
        rule_file "$R" 50-y.yaml "version: 1" "directories:" \
                "  - name: once" "    parent: $P/c" "    lifetime: 1m" "    recreate: false"
        apply
        EPHEMDIR_TEST_CLOCK_OFFSET=600 apply --rules-only
        expect_rc 0 || return
        expect_absent "$P/c/once"
        # ... and it stays gone on the next runs.
        apply --rules-only
        expect_absent "$P/c/once"
        rm -f "$R/50-y.yaml"
}

test_restart_recreates_remove_on_restart_rules_and_keeps_others() {
        rule_file "$R" 50-z.yaml "version: 1" "directories:" \
                "  - name: per-boot" "    parent: $P/d" \
                "  - name: durable" "    parent: $P/d" "    remove_on_restart: false"
        EPHEMDIR_TEST_BOOT_ID=boot-1 apply
        echo x >"$P/d/per-boot/f"
        echo y >"$P/d/durable/f"
        EPHEMDIR_TEST_BOOT_ID=boot-2 apply
        expect_rc 0 || return
        expect_absent "$P/d/per-boot/f"
        [ -d "$P/d/per-boot" ] || fail "per-boot not recreated"
        expect_exists "$P/d/durable/f"
        rm -f "$R/50-z.yaml"
        "$EPHEMDIR" rm "$P/d/per-boot" "$P/d/durable"
}

test_foreign_directory_at_the_declared_path_is_a_conflict_never_touched() {
        mkdir -p "$P/e/taken"
        echo precious >"$P/e/taken/data"
        rule_file "$R" 50-c.yaml "version: 1" "directories:" "  - name: taken" "    parent: $P/e"
        apply
        expect_rc 1 || return
        expect_err_contains "conflict"
        expect_exists "$P/e/taken/data"
        [ "$(json_field "$P/e/taken" status)" = untracked ] || fail "foreign dir was adopted"
        rm -f "$R/50-c.yaml"
}

test_precedence_masking_and_duplicates() {
        rule_file "$R2" 40-same.yaml "version: 1" "directories:" "  - name: low-only" "    parent: $P/f"
        rule_file "$R" 40-same.yaml "version: 1" "directories:" "  - name: high-wins" "    parent: $P/f"
        rule_file "$R2" 45-masked.yaml "version: 1" "directories:" "  - name: masked" "    parent: $P/f"
        ln -s /dev/null "$R/45-masked.yaml"
        rule_file "$R" 46-dup-a.yaml "version: 1" "directories:" "  - name: dup" "    parent: $P/f"
        rule_file "$R" 47-dup-b.yaml "version: 1" "directories:" "  - name: dup" "    parent: $P/g"
        apply
        expect_rc 0 || return
        [ -d "$P/f/high-wins" ] || fail "higher directory's file not used"
        expect_absent "$P/f/low-only"
        expect_absent "$P/f/masked"
        [ -d "$P/f/dup" ] || fail "first duplicate did not win"
        expect_absent "$P/g/dup"
        expect_err_contains "47-dup-b.yaml"
        apply --cat-config
        case "$out" in *"# $R/40-same.yaml"*) ;; *) fail "cat-config lacks the effective file: $out" ;; esac
        case "$out" in *"$R2/40-same.yaml"*) fail "cat-config shows the overridden file" ;; esac
        rm -f "$R"/4* "$R2"/4*
        "$EPHEMDIR" rm "$P/f/high-wins" "$P/f/dup"
}

test_removed_rule_leaves_an_orphan_that_is_never_recreated() {
        rule_file "$R" 50-o.yaml "version: 1" "directories:" "  - name: orphan" "    parent: $P/h"
        apply
        rm -f "$R/50-o.yaml"
        apply -v
        expect_rc 0 || return
        expect_err_contains "orphan"
        rm -rf "$P/h/orphan"
        apply
        expect_absent "$P/h/orphan"
        "$EPHEMDIR" prune >/dev/null 2>&1
}

test_changed_policy_updates_the_entry_without_recreating() {
        rule_file "$R" 50-p.yaml "version: 1" "directories:" "  - name: pol" "    parent: $P/i" "    lifetime: 1h"
        apply
        echo keep >"$P/i/pol/file"
        rule_file "$R" 50-p.yaml "version: 1" "directories:" "  - name: pol" "    parent: $P/i" "    lifetime: 3h"
        apply
        expect_rc 0 || return
        expect_exists "$P/i/pol/file"
        [ "$(json_field "$P/i/pol" remaining_seconds)" -gt 7200 ] || fail "lifetime not updated"
        rm -f "$R/50-p.yaml"
        "$EPHEMDIR" rm "$P/i/pol"
}

test_invalid_files_are_reported_with_location_skipped_and_delete_nothing() {
        rule_file "$R" 50-good.yaml "version: 1" "directories:" "  - name: good" "    parent: $P/j" "    lifetime: 1m"
        apply
        # The rule turns invalid; its directory is due: nothing may be deleted
        # on the strength of an invalid file, and other files still apply.
        rule_file "$R" 50-good.yaml "version: 1" "directories:" "  - name: good" "    parent: $P/j" \
                "    lifetime: banana"
        rule_file "$R" 60-other.yaml "version: 1" "directories:" "  - name: other" "    parent: $P/j"
        EPHEMDIR_TEST_CLOCK_OFFSET=30 apply --rules-only
        expect_rc 2 || return
        expect_err_contains "50-good.yaml:5:15:"
        [ -d "$P/j/other" ] || fail "valid file not applied"
        expect_exists "$P/j/good"
        for bad in "version: 1|directories:|  - name: Bad_Name|    parent: $P/j" \
                   "version: 1|directories:|  - name: x|    parent: $P/j|    colour: blue" \
                   "version: 1|directories:|  - name: x|    parent: relative" \
                   "- just a list"; do
                printf '%s\n' "$bad" | tr '|' '\n' >"$R/70-bad.yaml"
                chmod 600 "$R/70-bad.yaml"
                apply --validate
                expect_rc 2 "validate [$bad]"
                expect_err_contains "70-bad.yaml:"
        done
        rm -f "$R"/*.yaml
        "$EPHEMDIR" rm "$P/j/good" "$P/j/other"
}

test_dry_run_changes_nothing() {
        rule_file "$R" 50-d.yaml "version: 1" "directories:" "  - name: dry" "    parent: $P/k"
        apply --dry-run
        expect_rc 0 || return
        expect_absent "$P/k/dry"
        case "$out" in *"would be created"*) ;; *) fail "dry run does not say what it would do: $out" ;; esac
        rm -f "$R/50-d.yaml"
}

test_apply_also_sweeps_ad_hoc_entries_unless_rules_only() {
        local d
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        EPHEMDIR_TEST_CLOCK_OFFSET=600 apply --rules-only
        expect_exists "$d"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 apply
        expect_absent "$d"
}

test_ephemdir_apply_alias_is_the_same_command() {
        run apply --rules-dir "$R" --validate
        expect_rc 0
}

test_sample_rules_in_the_repository_validate() {
        [ -n "${EPHEMDIR_SRC_DIR:-}" ] || return 0
        # Copied into a private dir: the checkout may be another user's or
        # group-writable, and such a rules dir is rightly refused.
        local s="$T/samples"
        mkdir -m 700 "$s"
        cp "$EPHEMDIR_SRC_DIR"/rules.d/*.yaml "$s/"
        chmod 600 "$s"/*.yaml
        apply_dirs "$s" -- --validate
        expect_rc 0 "sample rules invalid" || return
        [ -z "$err" ] || fail "sample rules are not clean: $err"
        rm -rf "$s"
}

# --- --validate and --cat-config only read rule files ---------------------

test_validate_and_cat_config_never_create_the_data_dir() {
        local none="$T/no-data/ephemdir"
        rule_file "$R" 50-v.yaml "version: 1" "directories:" "  - name: v" "    parent: $P/v"
        EPHEMDIR_DATA_DIR=$none apply --validate
        expect_rc 0 || return
        EPHEMDIR_DATA_DIR=$none apply --cat-config
        expect_rc 0 || return
        case "$out" in *"# $R/50-v.yaml"*) ;; *) fail "cat-config without a data dir: $out" ;; esac
        EPHEMDIR_DATA_DIR=$none apply --validate --json
        expect_rc 0 || return
        expect_absent "$T/no-data"
        expect_absent "$P/v"
        rm -f "$R/50-v.yaml"
}

# A broken registry would make any opening fail (and leave a .corrupt-*
# copy): validating works, and nothing in the data dir changes.
test_validate_and_cat_config_never_open_the_registry() {
        local data="$T/broken-data" before after
        mkdir -m 700 "$data"
        head -c 8192 /dev/urandom >"$data/registry.db"
        rule_file "$R" 50-v.yaml "version: 1" "directories:" "  - name: v" "    parent: $P/v"
        before=$(cd "$data" && ls -la --time-style=full-iso && sha256sum registry.db)
        EPHEMDIR_DATA_DIR=$data apply --validate
        expect_rc 0 || return
        EPHEMDIR_DATA_DIR=$data apply --cat-config
        expect_rc 0 || return
        after=$(cd "$data" && ls -la --time-style=full-iso && sha256sum registry.db)
        [ "$before" = "$after" ] || fail "the data dir changed: [$before] -> [$after]"
        # The same registry stops a real run: the condition above was real.
        EPHEMDIR_DATA_DIR=$data apply --dry-run
        expect_rc 1 "apply on a broken registry" || return
        # A data dir that could not even be opened (not private) is no obstacle.
        chmod 770 "$data"
        EPHEMDIR_DATA_DIR=$data apply --validate
        expect_rc 0 || return
        rm -rf "$data"
        rm -f "$R/50-v.yaml"
}

# --- an invalid file means "unknown", not "rule deleted" --------------------

test_entries_of_an_invalid_rule_file_are_held_not_orphaned_nor_swept() {
        local d="$P/held/kept" f="$R/50-held.yaml"
        rule_file "$R" 50-held.yaml "version: 1" "directories:" "  - name: kept" "    parent: $P/held" \
                "    lifetime: 1m"
        apply
        expect_rc 0 || return
        echo precious >"$d/data"
        # Broken YAML, while the entry is due by its registered lifetime.
        rule_file "$R" 50-held.yaml "version: 1" "directories:" "  - name: kept" "    parent: $P/held" \
                "    lifetime: [1m"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 apply -v
        expect_rc 2 || return
        expect_err_contains "$f:5:15:"
        expect_err_contains "held $d: rule kept may be declared in $f, which could not be read"
        case "$err" in *orphan*) fail "reported as an orphan: $err" ;; esac
        case "$out" in *removed*) fail "swept: $out" ;; esac
        expect_exists "$d/data"
        [ "$(json_field "$d" status)" != untracked ] || fail "no longer tracked"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 apply --dry-run
        expect_rc 2 || return
        case "$out" in *"$d"*) fail "the dry run would remove it: $out" ;; esac
        EPHEMDIR_TEST_CLOCK_OFFSET=600 apply --json
        expect_rc 2 || return
        json_keys | grep -qx held || fail "no held key: $out"
        json_keys | grep -qx orphans && fail "orphans key: $out"
        json_keys | grep -qx swept_other && fail "swept: $out"
        expect_exists "$d/data"
        # Fixed again: the rule applies as before (due, so recreated fresh).
        rule_file "$R" 50-held.yaml "version: 1" "directories:" "  - name: kept" "    parent: $P/held" \
                "    lifetime: 1m"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 apply
        expect_rc 0 || return
        expect_absent "$d/data"
        [ -d "$d" ] || fail "not recreated once the file is fixed"
        rm -f "$f"
        "$EPHEMDIR" rm "$d"
}

test_entries_are_held_while_a_rules_dir_is_refused() {
        local d="$P/held2/kept2"
        rule_file "$R" 50-held2.yaml "version: 1" "directories:" "  - name: kept2" "    parent: $P/held2" \
                "    lifetime: 1m"
        apply
        chmod 770 "$R"
        EPHEMDIR_TEST_CLOCK_OFFSET=600 apply
        chmod 700 "$R"
        expect_rc 2 || return
        expect_err_contains "held $d: rule kept2 may be declared in $R, which could not be read"
        expect_exists "$d"
        rm -f "$R/50-held2.yaml"
        "$EPHEMDIR" rm "$d"
}

# --- masks are said, not silent ----------------------------------------------

test_masked_files_are_reported_with_what_they_hide() {
        rule_file "$R2" 45-masked.yaml "version: 1" "directories:" "  - name: masked" "    parent: $P/m"
        ln -s /dev/null "$R/45-masked.yaml"
        local line="$R/45-masked.yaml: masked (a symlink to /dev/null; not read: $R2/45-masked.yaml)"
        apply --cat-config
        expect_rc 0 || return
        case "$out" in *"# $line"*) ;; *) fail "cat-config does not show the mask: $out" ;; esac
        apply --validate -v
        expect_rc 0 || return
        expect_err_contains "masked $R/45-masked.yaml (a symlink to /dev/null; not read: $R2/45-masked.yaml)"
        apply -v --rules-only
        expect_rc 0 || return
        expect_err_contains "masked $R/45-masked.yaml"
        apply --rules-only --json
        printf '%s' "$out" | python3 -c '
import json, sys
m = json.load(sys.stdin)["masked"]
assert m[0]["file"] == sys.argv[1] and sys.argv[2] in m[0]["detail"], m' "$R/45-masked.yaml" "$R2/45-masked.yaml" ||
                fail "no masked entry in the JSON report: $out"
        # A deliberate mask is not repeated at every timer run.
        apply --rules-only
        case "$err" in *masked*) fail "masks said without -v: $err" ;; esac
        expect_absent "$P/m/masked"
        rm -f "$R/45-masked.yaml" "$R2/45-masked.yaml"
}

# --- rules dirs are trusted like rule files -----------------------------------

test_group_writable_rules_dir_is_refused_and_named() {
        local g="$T/rules-gw"
        mkdir -m 700 "$g"
        rule_file "$g" 50-inject.yaml "version: 1" "directories:" "  - name: injected" "    parent: $P/gw"
        chmod 770 "$g"
        apply_dirs "$g" -- --rules-only
        expect_rc 2 || return
        expect_err_contains "$g: refused as a rules directory: it is writable by group or others"
        expect_absent "$P/gw"
        apply_dirs "$g" -- --validate
        expect_rc 2 || return
        expect_err_contains "$g: refused as a rules directory"
        # ... and so is one below a directory others can write to.
        local up="$T/shared-up"
        mkdir -m 700 "$up"
        mkdir -m 700 "$up/rules.d"
        rule_file "$up/rules.d" 50-inject.yaml "version: 1" "directories:" "  - name: injected" "    parent: $P/gw"
        chmod 777 "$up"
        apply_dirs "$up/rules.d" -- --rules-only
        expect_rc 2 || return
        expect_err_contains "$up/rules.d: refused as a rules directory: $up is writable by group or others"
        expect_absent "$P/gw"
        chmod 700 "$up"
        rm -rf "$g" "$up"
}

test_own_symlinked_rules_dir_is_followed_to_a_trusted_dir() {
        # A config dir kept in a dotfiles checkout, linked into place.
        local real="$T/dotfiles/ephemdir/rules.d" link="$T/linked-config"
        mkdir -p -m 700 "$T/dotfiles/ephemdir" "$real"
        rule_file "$real" 50-l.yaml "version: 1" "directories:" "  - name: linked" "    parent: $P/sl"
        ln -s dotfiles/ephemdir "$link"
        apply_dirs "$link/rules.d" -- --rules-only
        expect_rc 0 || return
        [ "$(count_entries "$P/sl")" = 1 ] || fail "the linked rules dir's rule was not applied"
        "$EPHEMDIR" sweep --force >/dev/null
        rm -rf "$T/dotfiles" "$link" "$P/sl"
}

test_symlink_to_an_untrusted_rules_dir_is_refused_naming_the_target() {
        local real="$T/rules-open" link="$T/rules-link"
        mkdir -m 700 "$real"
        rule_file "$real" 50-l.yaml "version: 1" "directories:" "  - name: linked" "    parent: $P/sl"
        chmod 777 "$real"
        ln -s "$real" "$link"
        apply_dirs "$link" -- --rules-only
        expect_rc 2 || return
        expect_err_contains "$link: refused as a rules directory: $real is writable by group or others"
        expect_absent "$P/sl"
        rm -rf "$real" "$link"
}

test_symlinked_rules_dir_of_another_user_is_refused_and_named() {
        if ! is_root; then
                echo "    (skipped: needs root to give a link away)"
                return 0
        fi
        local real="$T/rules-real" link="$T/rules-link"
        mkdir -m 700 "$real"
        rule_file "$real" 50-l.yaml "version: 1" "directories:" "  - name: linked" "    parent: $P/sl"
        ln -s "$real" "$link"
        chown -h 65534:65534 "$link"
        apply_dirs "$link" -- --rules-only
        expect_rc 2 || return
        expect_err_contains "$link: refused as a rules directory: it is a symbolic link of another user's, or a loop"
        expect_absent "$P/sl"
        rm -rf "$real" "$link"
}

test_foreign_owned_rules_dir_is_refused_and_named() {
        if ! is_root; then
                echo "    (skipped: needs root to give a directory away)"
                return 0
        fi
        local o="$T/rules-other"
        mkdir -m 755 "$o"
        rule_file "$o" 50-o.yaml "version: 1" "directories:" "  - name: foreign" "    parent: $P/fo"
        chown 65534:65534 "$o"
        apply_dirs "$o" -- --rules-only
        expect_rc 2 || return
        expect_err_contains "$o: refused as a rules directory: it is owned by uid 65534, not by root"
        expect_absent "$P/fo"
        rm -rf "$o"
}

require_hooks
run_tests
