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
        set +e
        "$EPHEMDIR_APPLY" --rules-dir "$EPHEMDIR_SRC_DIR/rules.d" --validate >/dev/null 2>"$T/err"
        local r=$?
        set -e
        # The samples may be group-readable in a checkout but must parse.
        grep -q "rules.d/.*:[0-9]*:[0-9]*:" "$T/err" && fail "sample rules do not parse: $(cat "$T/err")"
        [ $r -ne 2 ] || fail "sample rules invalid: $(cat "$T/err")"
}

require_hooks
run_tests
