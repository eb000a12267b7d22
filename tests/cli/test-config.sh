#!/usr/bin/env bash
# config.yaml: defaults for `new` (flag > config > built-in), and a config
# that is bad or not trustworthy never creates anything by surprise.
. "$(dirname "$0")/lib.sh"

C="$EPHEMDIR_CONFIG_DIR"

write_config() {
        mkdir -p "$C"
        chmod 700 "$C"
        printf '%s\n' "$@" >"$C/config.yaml"
        chmod 600 "$C/config.yaml"
}

test_config_defaults_apply_and_flags_win() {
        write_config "lifetime: 2h" "words: 3" "prefix: cfg-" "remove_on_restart: false"
        local d
        d=$("$EPHEMDIR" new -p "$W")
        [[ "$(basename "$d")" =~ ^cfg-[a-z]+-[a-z]+-[a-z]+-[0-9a-f]{16}$ ]] || fail "config prefix/words ignored: $d"
        local left
        left=$(json_field "$d" remaining_seconds)
        [ "$left" -gt 7000 ] && [ "$left" -le 7200 ] || fail "config lifetime ignored: $left"
        [ "$(json_field "$d" remove_on_restart)" = false ] || fail "config remove_on_restart ignored"
        d=$("$EPHEMDIR" new -p "$W" --lifetime 5m --words 1 --prefix x-)
        [[ "$(basename "$d")" =~ ^x-[a-z]+-[0-9a-f]{16}$ ]] || fail "flags did not win: $d"
        left=$(json_field "$d" remaining_seconds)
        [ "$left" -le 300 ] || fail "--lifetime did not win over config: $left"
        rm -f "$C/config.yaml"
}

test_config_parent_is_used_when_no_parent_is_given() {
        mkdir -p "$HOME/scratch"
        write_config "parent: ~/scratch"
        local d
        d=$(cd / && "$EPHEMDIR" new)
        [ "$(dirname "$d")" = "$HOME/scratch" ] || fail "config parent ignored: $d"
        rm -f "$C/config.yaml"
}

test_bad_config_exits_2_with_its_location_and_creates_nothing() {
        local before
        before=$(count_entries "$W")
        write_config "lifetime: 1h" "colour: blue"
        run new -p "$W"
        expect_rc 2 || return
        expect_err_contains "config.yaml:2:1:"
        write_config "lifetime: banana"
        run new -p "$W"
        expect_rc 2
        expect_err_contains "config.yaml:1:11:"
        expect_err_contains "banana"
        write_config "words: 9"
        run new -p "$W"
        expect_rc 2
        [ "$(count_entries "$W")" = "$before" ] || fail "a directory was created"
        rm -f "$C/config.yaml"
}

test_group_writable_config_is_ignored_with_a_warning() {
        write_config "prefix: evil-"
        chmod 660 "$C/config.yaml"
        run new -p "$W"
        expect_rc 0 || return
        expect_err_contains "config.yaml"
        case "$(basename "$out")" in evil-*) fail "untrusted config was honoured" ;; esac
        rm -f "$C/config.yaml"
}

test_foreign_owned_config_is_ignored_with_a_warning() {
        is_root || { echo "(not root: cannot chown; skipped)"; return 0; }
        write_config "prefix: evil-"
        chown 65534 "$C/config.yaml"
        run new -p "$W"
        expect_rc 0 || return
        expect_err_contains "config.yaml"
        case "$(basename "$out")" in evil-*) fail "foreign config was honoured" ;; esac
        rm -f "$C/config.yaml"
}

test_config_toml_gets_a_warning_naming_config_yaml() {
        mkdir -p "$C"
        echo 'lifetime = "1h"' >"$C/config.toml"
        run new -p "$W"
        expect_rc 0 || return
        expect_err_contains "config.yaml"
        rm -f "$C/config.toml"
}

run_tests
