#!/usr/bin/env bash
# shell-init and completion: enew/ecd run in real shells (bash, fish, and zsh
# when installed) and change their directory only on success; completion
# scripts complete commands, options, values and tracked names, and offer
# exactly the options each command's --help lists.
. "$(dirname "$0")/lib.sh"

# The functions run $EPHEMDIR_BIN, or `command ephemdir` from PATH.
BIN_DIR=$(cd "$(dirname "$EPHEMDIR")" && pwd)
EPHEMDIR_BIN="$BIN_DIR/$(basename "$EPHEMDIR")"
PATH="$BIN_DIR:$PATH"
export EPHEMDIR_BIN PATH

have() { command -v "$1" >/dev/null 2>&1; }

# bash always; zsh only where installed.
posix_shells() {
        echo bash
        if have zsh; then echo zsh; fi
}

# in_shell SHELL DIR FUNCTION ARGS...: in a fresh SHELL (bash, zsh or fish)
# that loaded `$EPHEMDIR shell-init SHELL`, cd to DIR and call FUNCTION ARGS.
# Sets $out (its stdout), $err, $rc (its status) and $pwd (the directory after).
in_shell() {
        local sh=$1
        shift
        rm -f "$T/result"
        set +e
        case $sh in
        bash | zsh)
                # shellcheck disable=SC2016
                out=$(RESULT="$T/result" "$sh" -c 'set -u
                        eval "$("$EPHEMDIR" shell-init '"$sh"')" || exit 99
                        cd "$1" || exit 98
                        shift
                        "$@"
                        st=$?
                        printf "%s\n" "$st" "$PWD" >"$RESULT"' "$sh" "$@" 2>"$T/stderr")
                ;;
        fish)
                # shellcheck disable=SC2016
                out=$(RESULT="$T/result" fish --no-config -c '"$EPHEMDIR" shell-init fish | source; or exit 99
                        cd $argv[1]; or exit 98
                        set -l fn $argv[2]
                        set -e argv[1..2]
                        $fn $argv
                        set -l st $status
                        printf "%s\n" $st $PWD >$RESULT' "$@" 2>"$T/stderr")
                ;;
        esac
        local shell_rc=$?
        set -e
        err=$(cat "$T/stderr")
        if [ ! -s "$T/result" ]; then
                fail "$sh exited $shell_rc before reporting: stdout=[$out] stderr=[$err]"
                rc=-1 pwd=
                return 1
        fi
        rc=$(sed -n 1p "$T/result")
        pwd=$(sed -n 2p "$T/result")
}

# A private parent directory (trusted by ephemdir) under $W.
make_parent() {
        mkdir -m 700 "$W/$1"
        printf '%s\n' "$W/$1"
}

# bash_complete WORD...: what the bash completion offers for the last WORD of
# `ephemdir WORD...`, one per line.
bash_complete() {
        # shellcheck disable=SC2016
        bash --norc --noprofile -c '
                source <("$EPHEMDIR_BIN" completion bash) || exit 99
                fn=$(complete -p ephemdir | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
                [ -n "$fn" ] || exit 98
                COMP_WORDS=(ephemdir "$@")
                COMP_CWORD=$#
                COMPREPLY=()
                "$fn" ephemdir "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
                if [ "${#COMPREPLY[@]}" -gt 0 ]; then printf "%s\n" "${COMPREPLY[@]}"; fi' bash "$@"
}

# fish_complete LINE: what fish completes for LINE, one per line, descriptions cut.
fish_complete() {
        # shellcheck disable=SC2016
        fish --no-config -c 'source ("$EPHEMDIR_BIN" completion fish | psub); or exit 99
                complete -C $argv[1]' "$1" | cut -f1
}

sorted_lines() { printf '%s\n' "$@" | sort; }
oneline() { tr '\n' ' ' <<<"$1"; }

# help_options [COMMAND]: the options listed by `ephemdir [COMMAND] --help`.
help_options() {
        "$EPHEMDIR" ${1:+"$1"} --help |
                awk '/^ +-/ { for (i = 1; i <= NF; i++) { w = $i; sub(/,$/, "", w); if (w !~ /^-/) break; print w } }' |
                sort -u
}

# help_commands: the commands listed by `ephemdir --help`.
help_commands() {
        "$EPHEMDIR" --help | awk '/^Commands:/ { on = 1; next } on && /^[[:space:]]*$/ { exit } on { print $1 }'
}

# ---- shell-init ------------------------------------------------------------

test_unknown_or_missing_shell_names_exit_2_naming_them() {
        for cmd in shell-init completion; do
                run "$cmd" tcsh
                expect_rc 2 "$cmd tcsh" || continue
                expect_err_contains "ephemdir: $cmd: unknown shell 'tcsh'"
                [ -z "$out" ] || fail "$cmd tcsh printed to stdout: [$out]"
                run "$cmd" bash zsh
                expect_rc 2 "$cmd bash zsh"
        done
        run completion
        expect_rc 2 "completion without a shell" && expect_err_contains "ephemdir: completion: missing shell"
        run shell-init
        expect_rc 0 "shell-init without a shell" || return
        [ "$out" = "$("$EPHEMDIR" shell-init bash)" ] || fail "shell-init does not default to bash"
}

test_zsh_init_is_the_bash_text_and_parses() {
        local b z
        b=$("$EPHEMDIR" shell-init bash | grep -v '^#')
        z=$("$EPHEMDIR" shell-init zsh | grep -v '^#')
        if [ "$b" = "$z" ]; then
                bash -n <<<"$z" || fail "shell-init zsh does not parse with bash -n"
        else
                echo "note: shell-init zsh differs from bash; bash -n check skipped"
        fi
        if have zsh; then
                zsh -n <<<"$("$EPHEMDIR" shell-init zsh)" || fail "shell-init zsh does not parse with zsh -n"
        else
                echo "note: zsh not installed; zsh runtime checks skipped"
        fi
        fish --no-config -n <<<"$("$EPHEMDIR" shell-init fish)" || fail "shell-init fish does not parse"
}

test_enew_creates_and_cds_into_the_new_directory() {
        local sh parent
        parent=$(make_parent "enew-ok")
        for sh in $(posix_shells) fish; do
                in_shell "$sh" / enew -p "$parent" --prefix "$sh-" || continue
                [ "$rc" = 0 ] || { fail "$sh: enew returned $rc: [$err]"; continue; }
                [ -z "$out" ] || fail "$sh: enew printed [$out]"
                case "$pwd" in
                "$parent/$sh-"*) ;;
                *) fail "$sh: enew left PWD at [$pwd]" ; continue ;;
                esac
                [ -d "$pwd" ] || fail "$sh: $pwd is not a directory"
                [ "$(json_field "$pwd" status)" = until-restart ] || fail "$sh: $pwd is not tracked"
        done
}

test_enew_failure_returns_ephemdirs_status_and_does_not_cd() {
        local sh parent before
        parent=$(make_parent "enew-bad")
        before=$(count_tracked)
        for sh in $(posix_shells) fish; do
                in_shell "$sh" "$parent" enew -p "$parent" --bogus || continue
                [ "$rc" = 2 ] || fail "$sh: enew --bogus returned $rc, not 2"
                [ "$pwd" = "$parent" ] || fail "$sh: enew --bogus moved to [$pwd]"
                case "$err" in *"ephemdir: new: unknown option '--bogus'"*) ;;
                *) fail "$sh: ephemdir's error not shown: [$err]" ;; esac
                in_shell "$sh" "$parent" enew -p "$parent" --lifetime banana || continue
                [ "$rc" = 2 ] && [ "$pwd" = "$parent" ] || fail "$sh: enew --lifetime banana: rc=$rc pwd=$pwd"
        done
        [ "$(count_tracked)" = "$before" ] || fail "a failed enew created something"
        [ "$(count_entries "$parent")" = 0 ] || fail "a failed enew left something in $parent"
}

test_enew_help_is_printed_not_cd_into() {
        local sh
        for sh in $(posix_shells) fish; do
                in_shell "$sh" "$W" enew --help || continue
                [ "$rc" = 0 ] && [ "$pwd" = "$W" ] || fail "$sh: enew --help: rc=$rc pwd=$pwd"
                case "$out" in "Usage: ephemdir new"*) ;; *) fail "$sh: enew --help printed [$out]" ;; esac
        done
}

test_ecd_goes_to_a_directory_by_name_and_by_prefix() {
        local sh parent d name
        parent=$(make_parent "ecd-name")
        d=$("$EPHEMDIR" new -p "$parent" --prefix ecdname-)
        name=$(basename "$d")
        for sh in $(posix_shells) fish; do
                for target in "$name" "ecdname" "${name:0:12}" "$d"; do
                        in_shell "$sh" / ecd "$target" || continue
                        [ "$rc" = 0 ] && [ "$pwd" = "$d" ] || fail "$sh: ecd $target: rc=$rc pwd=$pwd err=[$err]"
                        [ -z "$out" ] || fail "$sh: ecd printed [$out]"
                done
        done
}

test_ecd_handles_spaces_quotes_and_unicode_in_paths() {
        local sh parent d
        parent=$(make_parent "sp ace 'q\" ünï \$(touch pwned) \`touch pwned\`")
        d=$("$EPHEMDIR" new -p "$parent" --prefix "ecd sp ü-")
        for sh in $(posix_shells) fish; do
                in_shell "$sh" "$W" ecd "ecd sp ü" || continue
                [ "$rc" = 0 ] && [ "$pwd" = "$d" ] || fail "$sh: ecd with spaces: rc=$rc pwd=[$pwd] err=[$err]"
                in_shell "$sh" "$W" enew -p "$parent" --prefix "new sp ü-" || continue
                case "$pwd" in
                "$parent/new sp ü-"*) ;;
                *) fail "$sh: enew with spaces: rc=$rc pwd=[$pwd] err=[$err]" ;;
                esac
        done
        [ ! -e "$W/pwned" ] || fail "output was evaluated"
}

test_ecd_target_starting_with_a_dash_is_a_target_not_an_option() {
        local sh parent d
        parent=$(make_parent "dash")
        d=$("$EPHEMDIR" new -p "$parent" --prefix "-dash-")
        for sh in $(posix_shells) fish; do
                in_shell "$sh" / ecd -dash || continue
                [ "$rc" = 0 ] && [ "$pwd" = "$d" ] || fail "$sh: ecd -dash: rc=$rc pwd=$pwd err=[$err]"
        done
}

test_ecd_unknown_target_returns_1_and_stays() {
        local sh
        for sh in $(posix_shells) fish; do
                in_shell "$sh" "$W" ecd no-such-directory || continue
                [ "$rc" = 1 ] && [ "$pwd" = "$W" ] || fail "$sh: ecd unknown: rc=$rc pwd=$pwd"
                expect_err_contains "no-such-directory"
                in_shell "$sh" "$W" ecd a b || continue
                [ "$rc" = 2 ] && [ "$pwd" = "$W" ] || fail "$sh: ecd with two targets: rc=$rc pwd=$pwd"
        done
}

test_ecd_without_target_goes_to_the_newest_directory() {
        local sh parent d
        if ! "$EPHEMDIR" last --help >/dev/null 2>&1; then
                echo "note: 'ephemdir last' is not available yet; no-target ecd not checked"
                return 0
        fi
        parent=$(make_parent "newest")
        for sh in $(posix_shells) fish; do
                "$EPHEMDIR" new -p "$parent" >/dev/null
                d=$("$EPHEMDIR" new -p "$parent" --prefix "newest-$sh-")
                in_shell "$sh" / ecd || continue
                [ "$rc" = 0 ] && [ "$pwd" = "$d" ] || fail "$sh: ecd: rc=$rc pwd=$pwd (want $d) err=[$err]"
        done
        # Nothing tracked: ephemdir last fails; ecd reports it, returns 1 and stays.
        for sh in $(posix_shells) fish; do
                EPHEMDIR_DATA_DIR="$T/empty-data" in_shell "$sh" "$W" ecd || continue
                [ "$rc" = 1 ] && [ "$pwd" = "$W" ] || fail "$sh: ecd with nothing tracked: rc=$rc pwd=$pwd"
                [ -n "$err" ] || fail "$sh: ecd with nothing tracked printed no error"
        done
}

test_functions_find_ephemdir_in_path_past_a_function_named_ephemdir() {
        local parent d
        parent=$(make_parent "path-lookup")
        d=$("$EPHEMDIR" new -p "$parent" --prefix lookup-)
        set +e
        # shellcheck disable=SC2016
        out=$(cd / && env -u EPHEMDIR_BIN bash -c '
                eval "$(ephemdir shell-init)"
                ephemdir() { echo "shell function called" >&2; return 42; }
                ecd lookup && printf "%s\n" "$PWD"' 2>"$T/stderr")
        rc=$?
        set -e
        err=$(cat "$T/stderr")
        [ "$rc" = 0 ] && [ "$out" = "$d" ] || fail "bash: rc=$rc out=[$out] err=[$err]"
        set +e
        # shellcheck disable=SC2016
        out=$(cd / && env -u EPHEMDIR_BIN fish --no-config -c '
                ephemdir shell-init fish | source
                function ephemdir; echo "shell function called" >&2; return 42; end
                ecd lookup; and printf "%s\n" $PWD' 2>"$T/stderr")
        rc=$?
        set -e
        err=$(cat "$T/stderr")
        [ "$rc" = 0 ] && [ "$out" = "$d" ] || fail "fish: rc=$rc out=[$out] err=[$err]"
}

test_ephemdir_bin_overrides_the_binary() {
        local sh
        for sh in $(posix_shells) fish; do
                EPHEMDIR_BIN=/nonexistent/ephemdir in_shell "$sh" "$W" ecd anything || continue
                [ "$rc" != 0 ] && [ "$pwd" = "$W" ] || fail "$sh: EPHEMDIR_BIN ignored: rc=$rc pwd=$pwd"
        done
}

# ---- completion ------------------------------------------------------------

test_bash_completion_completes_commands_options_values_and_names() {
        local parent a b s got
        [ "$(bash_complete ne)" = new ] || fail "ephemdir ne<TAB>: [$(bash_complete ne)]"
        [ "$(bash_complete new --life)" = --lifetime ] || fail "new --life<TAB>: [$(bash_complete new --life)]"
        [ "$(bash_complete -v new --life)" = --lifetime ] || fail "-v new --life<TAB>"
        [ "$(bash_complete --color never ne)" = new ] || fail "--color never ne<TAB>"
        got=$(bash_complete new --cleanup "")
        [ "$got" = "$(sorted_lines auto next-sweep)" ] || fail "new --cleanup <TAB>: [$got]"
        got=$(bash_complete new --name-style = s)
        [ "$got" = secure ] || fail "new --name-style=s<TAB> (split at =): [$got]"
        got=$(bash_complete shell-init "")
        [ "$got" = "$(printf '%s\n' bash zsh fish)" ] || fail "shell-init <TAB>: [$got]"
        [ -z "$(bash_complete new --lifetime "")" ] || fail "new --lifetime <TAB> offers something"
        [ -z "$(bash_complete sweep "")" ] || fail "sweep <TAB> offers something"

        parent=$(make_parent "complete")
        a=$(basename "$("$EPHEMDIR" new -p "$parent" --prefix cmpl-)")
        b=$(basename "$("$EPHEMDIR" new -p "$parent" --prefix cmpl- --words 3)")
        s=$(basename "$("$EPHEMDIR" new -p "$parent" --prefix "cmpl sp\"q-")")
        got=$(bash_complete rm cmpl- | sort)
        [ "$got" = "$(sorted_lines "$a" "$b")" ] || fail "rm cmpl-<TAB>: [$got], want $a $b"
        got=$(bash_complete rm "$a" cmpl- | sort)
        [ "$got" = "$(sorted_lines "$a" "$b")" ] || fail "rm takes several targets: [$got]"
        got=$(bash_complete path cmpl- | sort)
        [ "$got" = "$(sorted_lines "$a" "$b")" ] || fail "path cmpl-<TAB>: [$got]"
        [ -z "$(bash_complete path "$a" "")" ] || fail "path takes one target"
        got=$(bash_complete rm 'cmpl\ ')
        [ "$got" = "$(printf '%q' "$s")" ] || fail "rm 'cmpl\\ '<TAB>: [$got], want $(printf '%q' "$s")"
        got=$(bash_complete -- extend "${b:0:5}")
        [ -n "$got" ] || fail "extend <prefix><TAB> after a global --: nothing"
}

test_fish_completion_completes_commands_options_values_and_names() {
        local parent a got
        [ "$(fish_complete "ephemdir ne")" = new ] || fail "fish: ephemdir ne<TAB>: [$(fish_complete "ephemdir ne")]"
        got=$(fish_complete "ephemdir new --life")
        [ "$got" = --lifetime ] || fail "fish: new --life<TAB>: [$got]"
        got=$(fish_complete "ephemdir new --cleanup " | sort)
        [ "$got" = "$(sorted_lines auto next-sweep)" ] || fail "fish: new --cleanup <TAB>: [$got]"
        got=$(fish_complete "ephemdir shell-init " | sort)
        [ "$got" = "$(sorted_lines bash fish zsh)" ] || fail "fish: shell-init <TAB>: [$got]"
        parent=$(make_parent "fcomplete")
        a=$(basename "$("$EPHEMDIR" new -p "$parent" --prefix fcmpl-)")
        got=$(fish_complete "ephemdir rm fcm")
        [ "$got" = "$a" ] || fail "fish: rm fcm<TAB>: [$got], want $a"
        got=$(fish_complete "ephemdir --color never keep fcm")
        [ "$got" = "$a" ] || fail "fish: --color never keep fcm<TAB>: [$got]"
}

test_zsh_completion_parses() {
        if have zsh; then
                zsh -n <<<"$("$EPHEMDIR" completion zsh)" || fail "completion zsh does not parse"
        else
                echo "note: zsh not installed; completion zsh not checked"
        fi
        bash -n <<<"$("$EPHEMDIR" completion bash)" || fail "completion bash does not parse"
        fish --no-config -n <<<"$("$EPHEMDIR" completion fish)" || fail "completion fish does not parse"
}

# bash_all_options CMD...: "CMD OPTION" lines for what bash offers after
# `ephemdir CMD -` ("-" for the top level), all from one bash.
bash_all_options() {
        # shellcheck disable=SC2016
        bash --norc --noprofile -c '
                source <("$EPHEMDIR_BIN" completion bash) || exit 99
                fn=$(complete -p ephemdir | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
                for cmd in - "$@"; do
                        if [ "$cmd" = - ]; then COMP_WORDS=(ephemdir -); else COMP_WORDS=(ephemdir "$cmd" -); fi
                        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                        COMPREPLY=()
                        "$fn" ephemdir - "${COMP_WORDS[COMP_CWORD-1]}"
                        for o in "${COMPREPLY[@]}"; do printf "%s %s\n" "$cmd" "$o"; done
                done' bash "$@"
}

# fish_all_options CMD...: the same from fish.
fish_all_options() {
        # shellcheck disable=SC2016
        fish --no-config -c 'source ("$EPHEMDIR_BIN" completion fish | psub); or exit 99
                for o in (complete -C "ephemdir -")
                        printf "%s %s\n" - $o
                end
                for cmd in $argv
                        for o in (complete -C "ephemdir $cmd -")
                                printf "%s %s\n" $cmd $o
                        end
                end' "$@" | cut -f1
}

test_completion_offers_exactly_the_commands_and_options_of_help() {
        local cmd want got commands bash_opts fish_opts
        commands=$(help_commands)
        want=$(sort <<<"$commands")
        got=$(bash_complete "" | sort)
        [ "$want" = "$got" ] || fail "commands: --help [$(oneline "$want")], bash completion [$(oneline "$got")]"
        got=$(fish_complete "ephemdir " | sort)
        [ "$want" = "$got" ] || fail "commands: --help [$(oneline "$want")], fish completion [$(oneline "$got")]"

        # shellcheck disable=SC2086
        bash_opts=$(bash_all_options $commands)
        # shellcheck disable=SC2086
        fish_opts=$(fish_all_options $commands)
        for cmd in - $commands; do
                if [ "$cmd" = - ]; then set -- ; else set -- "$cmd"; fi
                if ! want=$(help_options "$@"); then
                        fail "'ephemdir $* --help' failed, so its options cannot be compared"
                        continue
                fi
                [ -n "$want" ] || fail "no options found in 'ephemdir $* --help'"
                got=$(awk -v c="$cmd" '$1 == c { print $2 }' <<<"$bash_opts" | sort -u)
                [ "$want" = "$got" ] ||
                        fail "$cmd: --help [$(oneline "$want")], bash completion [$(oneline "$got")] (see src/cli/cmd-shell.c)"
                got=$(awk -v c="$cmd" '$1 == c { print $2 }' <<<"$fish_opts" | sort -u)
                [ "$want" = "$got" ] ||
                        fail "$cmd: --help [$(oneline "$want")], fish completion [$(oneline "$got")] (see src/cli/cmd-shell.c)"
        done
}

test_offered_option_values_are_accepted() {
        local opt vals v
        for opt in --cleanup --name-style --color --colour; do
                vals=$(bash_complete new "$opt" "")
                [ -n "$vals" ] || { fail "no values offered for new $opt"; continue; }
                for v in $vals; do
                        run new "$opt" "$v" --help
                        expect_rc 0 "new $opt $v --help"
                done
        done
}

run_tests
