#!/usr/bin/env bash
# The packaged systemd units (units/*.in, configured by meson): every one
# passes `systemd-analyze verify` in its scope, runs ephemdir-apply from the
# configured bindir, is hardened only in ways that cannot keep it from a
# tracked directory, and is installed into systemd's unit directories.
. "$(dirname "$0")/lib.sh"

BUILD_ROOT=$(cd "$(dirname "$EPHEMDIR")/../.." && pwd)
SRC_ROOT=${EPHEMDIR_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILT="$BUILD_ROOT/units"
export XDG_RUNTIME_DIR="$T/runtime"
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

# template name -> installed name and scope
USER_UNITS="ephemdir-apply.service ephemdir-apply.timer"
SYSTEM_UNITS="ephemdir-apply-system.service ephemdir-apply-system.timer"
installed_name() { echo "${1/ephemdir-apply-system/ephemdir-apply}"; }

# meson's record of this build: an option's value, or where a file installs.
meson_info() {
        python3 -c '
import json, sys
kind, root, key = sys.argv[1:4]
if kind == "option":
    for o in json.load(open(root + "/meson-info/intro-buildoptions.json")):
        if o["name"] == key:
            print(o["value"])
else:
    for src, dst in json.load(open(root + "/meson-info/intro-installed.json")).items():
        if src.endswith("/units/" + key):
            print(dst)' "$@"
}

# stage SCOPE: copies of the configured units under their installed names,
# with ExecStart's binary replaced by a stub when it is not installed yet
# (ephemdir-apply is built elsewhere; verify checks it is executable).
stage() {
        local scope=$1 dir="$T/$1" f exe
        local names=$USER_UNITS
        [ "$scope" = system ] && names=$SYSTEM_UNITS
        rm -rf "$dir"
        mkdir -p "$dir" "$T/stub"
        for f in $names; do
                cp "$BUILT/$f" "$dir/$(installed_name "$f")"
        done
        exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$dir/ephemdir-apply.service")
        if [ ! -x "$exe" ]; then
                printf '#!/bin/sh\nexit 0\n' >"$T/stub/ephemdir-apply"
                chmod 755 "$T/stub/ephemdir-apply"
                sed -i "s|^ExecStart=$exe|ExecStart=$T/stub/ephemdir-apply|" "$dir/ephemdir-apply.service"
        fi
        echo "$dir"
}

verify() {
        local o
        if ! o=$(systemd-analyze "$@" 2>&1) || [ -n "$o" ]; then
                fail "systemd-analyze $*: $o"
        fi
}

test_every_template_is_configured_with_nothing_left_to_substitute() {
        local t f
        for t in "$SRC_ROOT"/units/*.in; do
                f="$BUILT/$(basename "$t" .in)"
                expect_exists "$f"
                if grep -q '@[a-z_]*@' "$f"; then
                        fail "$f still has a placeholder: $(grep '@[a-z_]*@' "$f")"
                fi
        done
}

test_user_units_pass_systemd_analyze_verify() {
        command -v systemd-analyze >/dev/null || { echo "note: no systemd-analyze; skipped"; return; }
        local dir
        dir=$(stage user)
        verify --user --man=no verify "$dir/ephemdir-apply.service" "$dir/ephemdir-apply.timer"
}

test_system_units_pass_systemd_analyze_verify() {
        command -v systemd-analyze >/dev/null || { echo "note: no systemd-analyze; skipped"; return; }
        local dir
        dir=$(stage system)
        verify --system --man=no verify "$dir/ephemdir-apply.service" "$dir/ephemdir-apply.timer"
}

test_services_run_ephemdir_apply_from_the_configured_bindir() {
        local prefix bindir
        prefix=$(meson_info option "$BUILD_ROOT" prefix)
        bindir=$(meson_info option "$BUILD_ROOT" bindir)
        case "$bindir" in
        /*) ;;
        *) bindir="$prefix/$bindir" ;;
        esac
        grep -qx "ExecStart=$bindir/ephemdir-apply" "$BUILT/ephemdir-apply.service" ||
                fail "user ExecStart: $(grep ExecStart "$BUILT/ephemdir-apply.service"), want $bindir/ephemdir-apply"
        grep -qx "ExecStart=$bindir/ephemdir-apply --system" "$BUILT/ephemdir-apply-system.service" ||
                fail "system ExecStart: $(grep ExecStart "$BUILT/ephemdir-apply-system.service")"
}

# The user service's ExecStart, run as written (its program mapped to the
# build's ephemdir-apply, as `meson install` would place it), does the job:
# declared directories appear and due ad-hoc ones are swept.
test_the_services_execstart_as_written_does_the_work() {
        [ -n "${EPHEMDIR_APPLY:-}" ] || { echo "(no ephemdir-apply binary: skipped)"; return 0; }
        [ "${EPHEMDIR_TEST_HOOKS:-0}" = 1 ] || { echo "(no test hooks: skipped)"; return 0; }
        local line prog args d
        line=$(sed -n 's/^ExecStart=//p' "$BUILT/ephemdir-apply.service")
        read -r prog args <<<"$line"
        [ "$(basename "$prog")" = ephemdir-apply ] || { fail "unexpected ExecStart: $line"; return; }
        mkdir -p "$EPHEMDIR_CONFIG_DIR/rules.d" "$W/declared"
        chmod 700 "$EPHEMDIR_CONFIG_DIR" "$EPHEMDIR_CONFIG_DIR/rules.d"
        printf 'version: 1\ndirectories:\n  - name: from-unit\n    parent: %s\n' "$W/declared" \
                >"$EPHEMDIR_CONFIG_DIR/rules.d/50-unit.yaml"
        chmod 600 "$EPHEMDIR_CONFIG_DIR/rules.d/50-unit.yaml"
        d=$("$EPHEMDIR" new -p "$W" --lifetime 1m)
        # shellcheck disable=SC2086
        (cd / && EPHEMDIR_TEST_CLOCK_OFFSET=600 "$EPHEMDIR_APPLY" $args) >/dev/null ||
                fail "the ExecStart command failed"
        [ -d "$W/declared/from-unit" ] || fail "the declared directory was not created"
        expect_absent "$d"
}

test_hardening_never_hides_a_tracked_directory() {
        local f key
        for f in ephemdir-apply.service ephemdir-apply-system.service; do
                for key in Type=oneshot WorkingDirectory=/ UMask=0077 NoNewPrivileges=yes LockPersonality=yes \
                        RestrictSUIDSGID=yes RestrictRealtime=yes MemoryDenyWriteExecute=yes Nice=19 \
                        IOSchedulingClass=idle; do
                        grep -qx "$key" "$BUILT/$f" || fail "$f lacks $key"
                done
                # Anything that needs a mount namespace, or drops access.
                for key in ProtectSystem ProtectHome PrivateTmp ReadOnlyPaths InaccessiblePaths ReadWritePaths \
                        TemporaryFileSystem BindPaths BindReadOnlyPaths PrivateDevices PrivateMounts \
                        ProtectKernelTunables ProtectKernelModules ProtectKernelLogs ProtectControlGroups \
                        ProtectProc ProcSubset RootDirectory RootImage DynamicUser CapabilityBoundingSet \
                        PrivateUsers; do
                        if grep -q "^$key=" "$BUILT/$f"; then
                                fail "$f must not use $key= (tracked directories may be anywhere)"
                        fi
                done
        done
}

test_timers_run_at_start_and_then_periodically() {
        grep -q '^OnStartupSec=' "$BUILT/ephemdir-apply.timer" || fail "user timer lacks OnStartupSec="
        grep -q '^OnBootSec=' "$BUILT/ephemdir-apply-system.timer" || fail "system timer lacks OnBootSec="
        local f
        for f in ephemdir-apply.timer ephemdir-apply-system.timer; do
                grep -q '^OnUnitActiveSec=' "$BUILT/$f" || fail "$f lacks OnUnitActiveSec="
                grep -qx 'WantedBy=timers.target' "$BUILT/$f" || fail "$f is not wanted by timers.target"
        done
}

test_units_install_into_systemds_unit_directories() {
        if ! pkg-config --exists systemd 2>/dev/null; then
                echo "note: no systemd.pc; units are not installed; skipped"
                return
        fi
        local prefix f dst want
        prefix=$(meson_info option "$BUILD_ROOT" prefix)
        for f in $USER_UNITS $SYSTEM_UNITS; do
                dst=$(meson_info installed "$BUILD_ROOT" "$f")
                want="/systemd/user/$(installed_name "$f")"
                case "$f" in
                *-system.*) want="/systemd/system/$(installed_name "$f")" ;;
                esac
                case "$dst" in
                "$prefix"/*"$want") ;;
                *) fail "$f installs to [$dst], want $prefix/...$want" ;;
                esac
        done
}

# contrib/launchd: not built here, but it must stay a valid plist whose
# placeholders, filled with awkward XML-escaped values, read back exactly.
test_launchd_template_is_a_valid_plist() {
        local plist="$SRC_ROOT/contrib/launchd/org.ephemdir.sweep.plist.in" msg
        expect_exists "$plist"
        cat >"$T/plist.py" <<'EOF'
import plistlib, re, sys
from xml.sax.saxutils import escape
text = open(sys.argv[1]).read()
values = {"EPHEMDIR": "/Users/a b/bin/ephemdir", "DATA_DIR": "/Users/a b/d & <x> -- \"q\"",
          "CONFIG_DIR": "/Users/a b/c%h", "INTERVAL": "600"}
body = re.sub(r"<!--.*?-->", "", text, flags=re.S)
assert set(re.findall(r"@([A-Z_]+)@", body)) == set(values), re.findall(r"@([A-Z_]+)@", body)
for k, v in values.items():
    text = text.replace("@" + k + "@", escape(v))
p = plistlib.loads(text.encode())
assert p["ProgramArguments"] == [values["EPHEMDIR"], "sweep"], p["ProgramArguments"]
assert p["EnvironmentVariables"] == {"EPHEMDIR_DATA_DIR": values["DATA_DIR"],
                                     "EPHEMDIR_CONFIG_DIR": values["CONFIG_DIR"]}, p["EnvironmentVariables"]
assert p["StartInterval"] == 600 and p["RunAtLoad"] and p["WorkingDirectory"] == "/"
EOF
        if ! msg=$(python3 "$T/plist.py" "$plist" 2>&1); then
                fail "launchd template: $msg"
        fi
}

run_tests
