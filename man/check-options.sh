#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Catch drift between the ephemdir CLI and its man page.
#
#   check-options.sh EPHEMDIR_BINARY EPHEMDIR_1_SCD
#
# Runs `ephemdir --help` for the list of commands and `ephemdir CMD --help`
# for each of them, and fails (exit 1, naming what is missing) when
#   - a long option (--foo) printed by any of those helps is not mentioned in
#     the man page, or
#   - a command has no "## CMD" section under "# COMMANDS", or the man page
#     has a section there for a command the binary does not list.
# Exit 2 when the arguments are wrong or the binary cannot produce its help.
set -u

if [ $# -ne 2 ]; then
        echo "usage: $0 EPHEMDIR_BINARY EPHEMDIR_1_SCD" >&2
        exit 2
fi
bin=$1
scd=$2
if [ ! -x "$bin" ]; then
        echo "check-options: $bin is not executable" >&2
        exit 2
fi
if [ ! -r "$scd" ]; then
        echo "check-options: cannot read $scd" >&2
        exit 2
fi

# --help must not need a registry, but never let this touch the user's.
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
EPHEMDIR_DATA_DIR=$tmp/data
EPHEMDIR_CONFIG_DIR=$tmp/config
export EPHEMDIR_DATA_DIR EPHEMDIR_CONFIG_DIR
LC_ALL=C
export LC_ALL

if ! "$bin" --help >"$tmp/main-help" 2>"$tmp/err"; then
        echo "check-options: '$bin --help' failed:" >&2
        cat "$tmp/err" >&2
        exit 2
fi

# The command names: first word of each line between "Commands:" and the
# next blank line.
commands=$(awk '/^Commands:/ { on = 1; next }
                on && /^[[:space:]]*$/ { exit }
                on { print $1 }' "$tmp/main-help")
if [ -z "$commands" ]; then
        echo "check-options: no commands found in '$bin --help'" >&2
        exit 2
fi

cp "$tmp/main-help" "$tmp/all-help"
for cmd in $commands; do
        if ! "$bin" "$cmd" --help >"$tmp/help" 2>"$tmp/err"; then
                echo "check-options: '$bin $cmd --help' failed:" >&2
                cat "$tmp/err" >&2
                exit 2
        fi
        cat "$tmp/help" >>"$tmp/all-help"
done

status=0

# Every long option, each checked once.  A match must end at a character
# that cannot continue an option name, so --keep does not pass because
# --keep-on-restart is documented.
options=$(grep -o -e '--[a-z][a-z0-9-]*' "$tmp/all-help" | sort -u)
for opt in $options; do
        if ! grep -q -E -e "${opt}([^a-z0-9-]|\$)" "$scd"; then
                echo "check-options: $opt (from --help) is not documented in $scd"
                status=1
        fi
done

# Command sections: "## name" lines between "# COMMANDS" and the next "# ".
documented=$(awk '/^# / { on = ($0 == "# COMMANDS"); next }
                  on && /^## / { print $2 }' "$scd")
documented_words=" $(echo "$documented" | tr '\n' ' ') "
command_words=" $(echo "$commands" | tr '\n' ' ') "
for cmd in $commands; do
        case "$documented_words" in
        *" $cmd "*) ;;
        *)
                echo "check-options: command '$cmd' has no '## $cmd' section under COMMANDS in $scd"
                status=1
                ;;
        esac
done
for doc in $documented; do
        case "$command_words" in
        *" $doc "*) ;;
        *)
                echo "check-options: $scd documents command '$doc', which '$bin --help' does not list"
                status=1
                ;;
        esac
done

if [ $status -eq 0 ]; then
        n_opt=$(echo "$options" | wc -l)
        n_cmd=$(echo "$commands" | wc -w)
        echo "check-options: $n_cmd commands and $n_opt long options are documented"
fi
exit $status
