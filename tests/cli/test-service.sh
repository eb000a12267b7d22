#!/usr/bin/env bash
# install-service / uninstall-service, and what ephemdir does when systemd
# runs it: the unit files written (exact set, modes, pinned environment,
# escaping), the trust checks made before writing anything, removal of
# exactly what was written; watch's sd_notify messages and the journal
# entries of sweep events, each received on a socket this test listens on.
# Never touches a real service manager: XDG_RUNTIME_DIR points at an empty
# private directory and there is no session bus.
. "$(dirname "$0")/lib.sh"

unset DBUS_SESSION_BUS_ADDRESS NOTIFY_SOCKET JOURNAL_STREAM EPHEMDIR_TEST_JOURNAL_SOCKET
export XDG_RUNTIME_DIR="$T/runtime"
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$HOME" "$XDG_RUNTIME_DIR"
UNITS="$HOME/.config/systemd/user"
SERVICE="$UNITS/ephemdir-sweep.service"
TIMER="$UNITS/ephemdir-sweep.timer"
ENABLE_CMD="systemctl --user daemon-reload && systemctl --user enable --now ephemdir-sweep.timer"
BIN=$(readlink -f "$EPHEMDIR")
LIBDIR=$(readlink -f "$(dirname "$EPHEMDIR")/../lib")

# Root-only fixtures live outside /tmp (whose sticky, world-writable mode
# alone would be refused first); removed with the rest.
R=""
cleanup_service() {
        local rc=$?
        if [ -n "$R" ]; then
                chmod -R u+rwx "$R" 2>/dev/null
                rm -rf "$R"
        fi
        (exit "$rc")   # hand the script's status on to cleanup
        cleanup
}
trap cleanup_service EXIT

fresh_units() {
        chmod -R u+rwx "$HOME" 2>/dev/null || true
        rm -rf "$HOME/.config"
}

# Helpers in Python: the sockets we listen on, and systemd's reading of an
# ExecStart= line (unquote, C-unescape, then %-specifiers, then $-variables).
cat >"$T/sd.py" <<'EOF'
import json, os, socket, sys, time

def bind(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + path[1:] if path.startswith("@") else path)
    return s

def journal_fields(d):
    fields, i = {}, 0
    while i < len(d):
        nl, eq = d.index(b"\n", i), d.find(b"=", i)
        if eq != -1 and eq < nl:
            name, value, i = d[i:eq], d[eq + 1:nl], nl + 1
        else:
            name = d[i:nl]
            n = int.from_bytes(d[nl + 1:nl + 9], "little")
            value = d[nl + 9:nl + 9 + n]
            assert d[nl + 9 + n:nl + 10 + n] == b"\n", "binary field not newline-terminated"
            i = nl + 10 + n
        fields[name.decode()] = value.decode("utf-8", "surrogateescape")
    return fields

def listen(kind, path, out, max_entries, seconds):
    s = bind(path)
    open(out + ".ready", "w").close()
    deadline = time.time() + seconds
    n = 0
    with open(out, "w") as f:
        while n < max_entries and time.time() < deadline:
            s.settimeout(max(0.1, deadline - time.time()))
            try:
                d = s.recv(1 << 20)
            except socket.timeout:
                break
            entry = journal_fields(d) if kind == "journal" else d.decode()
            f.write(json.dumps(entry) + "\n")
            f.flush()
            n += 1
            if kind == "notify" and "STOPPING=1" in entry:
                break

def unescape_word(line, i):
    w, quote = bytearray(), None
    simple = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", " ": " ", "s": " "}
    while i < len(line):
        c = line[i]
        if quote is None and c in " \t":
            break
        if c == "\\":
            e = line[i + 1]
            if e == "x":
                w.append(int(line[i + 2:i + 4], 16))
                i += 4
                continue
            w += simple[e].encode()
            i += 2
            continue
        if quote is None and c in "\"'":
            quote, i = c, i + 1
            continue
        if c == quote:
            quote, i = None, i + 1
            continue
        w += c.encode()
        i += 1
    assert quote is None, "unterminated quote"
    return bytes(w), i

def resolve(word):
    out, i = bytearray(), 0
    while i < len(word):
        c = word[i:i + 1]
        if c == b"%":
            assert word[i + 1:i + 2] == b"%", "unescaped specifier %" + word[i + 1:i + 2].decode()
            out += b"%"
            i += 2
        elif c == b"$":
            nxt = word[i + 1:i + 2]
            if nxt == b"$":
                out += b"$"
                i += 2
            else:
                assert nxt == b"{", "unbraced variable"
                end = word.index(b"}", i)
                out += b"<var " + word[i + 2:end] + b">"
                i = end + 1
        else:
            out += c
            i += 1
    return bytes(out)

def execstart(unit, expected):
    lines = [l for l in open(unit, encoding="ascii").read().split("\n") if l.startswith("ExecStart=")]
    assert len(lines) == 1, "want one ExecStart= line, got %d" % len(lines)
    line, i, words = lines[0][len("ExecStart="):], 0, []
    while True:
        while i < len(line) and line[i] in " \t":
            i += 1
        if i >= len(line):
            break
        w, i = unescape_word(line, i)
        words.append(resolve(w))
    want = [os.fsencode(a) for a in expected]
    if words != want:
        print("ExecStart argv:", words, "\nexpected:      ", want)
        sys.exit(1)

if __name__ == "__main__":
    if sys.argv[1] == "listen":
        listen(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]))
    elif sys.argv[1] == "execstart":
        execstart(sys.argv[2], sys.argv[3:])
EOF

# listen KIND SOCKET OUT MAX SECONDS: start a listener in the background
# ($listener is its pid) and wait until it is bound.
listen() {
        rm -f "$3" "$3.ready"
        python3 "$T/sd.py" listen "$@" &
        listener=$!
        local i
        for i in $(seq 100); do
                [ -e "$3.ready" ] && return 0
                sleep 0.1
        done
        fail "listener on $2 did not start"
        return 1
}

# wait_lines FILE N [SECONDS]: up to SECONDS (30) for FILE to have N lines.
wait_lines() {
        local i
        for i in $(seq $((${3:-30} * 10))); do
                if [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; then
                        return 0
                fi
                sleep 0.1
        done
        return 1
}

# json_get FILE LINE FIELD: a field of the LINE-th JSON entry ("" if absent).
json_get() {
        python3 -c '
import json, os, sys
e = json.loads(open(sys.argv[1]).read().split("\n")[int(sys.argv[2]) - 1])
v = e.get(sys.argv[3], "") if isinstance(e, dict) else e
sys.stdout.buffer.write(os.fsencode(v))' "$@"
}

expect_execstart() {
        local msg
        if ! msg=$(python3 "$T/sd.py" execstart "$@" 2>&1); then
                fail "ExecStart of $1 is not what systemd should run: $msg"
        fi
}

# verify_units FILE...: systemd-analyze verify, which warns (exit 0) on
# unknown keys, so any output at all is a failure.
verify_units() {
        local o
        if ! command -v systemd-analyze >/dev/null; then
                echo "note: systemd-analyze not installed; verify skipped"
                return 0
        fi
        if ! o=$(systemd-analyze --user --man=no verify "$@" 2>&1) || [ -n "$o" ]; then
                fail "systemd-analyze verify: $o"
        fi
}

# copy_runtime DIR: the binary in DIR/bin and libephemdir in DIR/lib (where
# its RUNPATH, $ORIGIN/../lib, finds it).
copy_runtime() {
        mkdir -p "$1/bin" "$1/lib"
        cp "$EPHEMDIR" "$1/bin/ephemdir"
        cp -L "$LIBDIR/libephemdir.so.0" "$1/lib/"
        chmod -R go-w "$1"
}

have_runtime_copy() { [ -e "$LIBDIR/libephemdir.so.0" ]; }

make_root_fixture() {
        if [ -z "$R" ]; then
                R=$(mktemp -d /run/ephemdir-svc-test-XXXXXX)
                chmod 755 "$R"
        fi
}

# expect_tree DIR WANT: everything in DIR, as "path mode owner" lines.
expect_tree() {
        local listing
        listing=$(cd "$1" && find . -printf '%p %m %u\n' | sort)
        [ "$listing" = "$2" ] || fail "tree of $1: [$listing], want [$2]"
}

# ---------------------------------------------------------------------------

test_install_writes_exactly_two_units_0644_in_a_private_tree() {
        fresh_units
        run install-service --no-enable
        expect_rc 0 || return
        [ "$out" = "$SERVICE"$'\n'"$TIMER" ] || fail "stdout should list the two files: [$out]"
        expect_err_contains "$ENABLE_CMD"
        local me
        me=$(id -un)
        expect_tree "$HOME/.config" ". 700 $me
./systemd 700 $me
./systemd/user 700 $me
./systemd/user/ephemdir-sweep.service 644 $me
./systemd/user/ephemdir-sweep.timer 644 $me"
}

test_service_runs_sweep_from_root_with_a_scrubbed_pinned_environment() {
        fresh_units
        run install-service --no-enable
        expect_rc 0 || return
        expect_execstart "$SERVICE" /usr/bin/env -i 'JOURNAL_STREAM=<var JOURNAL_STREAM>' \
                "EPHEMDIR_DATA_DIR=$EPHEMDIR_DATA_DIR" "EPHEMDIR_CONFIG_DIR=$EPHEMDIR_CONFIG_DIR" "$BIN" sweep
        grep -q '^ExecStart=/usr/bin/env -i "JOURNAL_STREAM=${JOURNAL_STREAM}" ' "$SERVICE" ||
                fail "journal stream not passed through: $(grep ExecStart "$SERVICE")"
        local key
        for key in Type=oneshot WorkingDirectory=/ UMask=0077 NoNewPrivileges=yes LockPersonality=yes \
                RestrictSUIDSGID=yes RestrictRealtime=yes MemoryDenyWriteExecute=yes Nice=19 \
                IOSchedulingClass=idle; do
                grep -qx "$key" "$SERVICE" || fail "service lacks $key"
        done
        for key in ProtectSystem ProtectHome PrivateTmp ReadOnlyPaths InaccessiblePaths TemporaryFileSystem; do
                ! grep -q "^$key=" "$SERVICE" || fail "service must not restrict file access: $key"
        done
}

test_relative_data_dir_is_pinned_absolute() {
        fresh_units
        mkdir -p "$T/rel"
        (cd "$T" && EPHEMDIR_DATA_DIR=rel/data "$EPHEMDIR" install-service --no-enable -q >/dev/null) ||
                fail "install with a relative data dir failed"
        expect_execstart "$SERVICE" /usr/bin/env -i 'JOURNAL_STREAM=<var JOURNAL_STREAM>' \
                "EPHEMDIR_DATA_DIR=$T/rel/data" "EPHEMDIR_CONFIG_DIR=$EPHEMDIR_CONFIG_DIR" "$BIN" sweep
}

test_awkward_paths_are_escaped_for_systemd() {
        fresh_units
        local data="$T/da ta %n \"dq\" 'sq' \$HOME \${X} back\\slash é"$'\t'"tab"
        local config="$T/conf %h %% ;"
        EPHEMDIR_DATA_DIR=$data EPHEMDIR_CONFIG_DIR=$config run install-service --no-enable
        expect_rc 0 || return
        expect_execstart "$SERVICE" /usr/bin/env -i 'JOURNAL_STREAM=<var JOURNAL_STREAM>' \
                "EPHEMDIR_DATA_DIR=$data" "EPHEMDIR_CONFIG_DIR=$config" "$BIN" sweep
        if LC_ALL=C grep -q $'[^\t -~]' "$SERVICE" "$TIMER"; then
                fail "unit files should be plain ASCII"
        fi
        verify_units "$SERVICE" "$TIMER"
}

test_generated_units_pass_systemd_analyze_verify() {
        fresh_units
        run install-service --no-enable --interval 90
        expect_rc 0 || return
        verify_units "$SERVICE" "$TIMER"
}

test_interval_sets_the_timer_and_bad_values_exit_2() {
        fresh_units
        run install-service --no-enable
        grep -qx 'OnUnitActiveSec=600s' "$TIMER" || fail "default interval is not 600s: $(cat "$TIMER")"
        grep -qx 'OnStartupSec=1min' "$TIMER" || fail "timer lacks OnStartupSec"
        grep -qx 'WantedBy=timers.target' "$TIMER" || fail "timer is not wanted by timers.target"
        run install-service --no-enable --interval 1h30m
        expect_rc 0
        grep -qx 'OnUnitActiveSec=5400s' "$TIMER" || fail "--interval 1h30m not applied: $(cat "$TIMER")"
        local bad
        for bad in 0 -5 soon 10x; do
                run install-service --no-enable --interval "$bad"
                expect_rc 2 "--interval $bad"
                expect_err_contains "'$bad'"
        done
        grep -qx 'OnUnitActiveSec=5400s' "$TIMER" || fail "a refused --interval changed the timer"
}

# The most seconds systemd's OnUnitActiveSec= holds: below UINT64_MAX
# microseconds.  A larger value systemd drops, and the timer stops sweeping.
SYSTEMD_MAX_INTERVAL=18446744073708

test_interval_beyond_what_systemd_holds_exits_2_and_writes_nothing() {
        fresh_units
        local bad
        # One past the limit, the same in weeks, and the largest our parser takes.
        for bad in $((SYSTEMD_MAX_INTERVAL + 1)) 30500569w 9223372036854775807; do
                run install-service --no-enable --interval "$bad"
                expect_rc 2 "--interval $bad"
                expect_err_contains "invalid interval '$bad'"
                expect_err_contains "at most $SYSTEMD_MAX_INTERVAL seconds"
                [ -z "$out" ] || fail "--interval $bad printed files: [$out]"
                expect_absent "$HOME/.config"
        done
        run install-service --no-enable --interval 1h
        expect_rc 0 || return
        run install-service --no-enable --interval $((SYSTEMD_MAX_INTERVAL + 1))
        expect_rc 2
        grep -qx 'OnUnitActiveSec=3600s' "$TIMER" || fail "a refused --interval changed the timer"
}

test_largest_interval_systemd_holds_is_accepted() {
        fresh_units
        run install-service --no-enable --interval "$SYSTEMD_MAX_INTERVAL"
        expect_rc 0 || return
        grep -qx "OnUnitActiveSec=${SYSTEMD_MAX_INTERVAL}s" "$TIMER" ||
                fail "--interval $SYSTEMD_MAX_INTERVAL not applied: $(grep OnUnitActiveSec "$TIMER")"
        verify_units "$SERVICE" "$TIMER"   # systemd reads it back, without a warning
}

test_unreachable_manager_prints_the_systemctl_command_and_exits_0() {
        fresh_units
        run install-service
        expect_rc 0 || return
        expect_exists "$SERVICE"
        expect_exists "$TIMER"
        expect_err_contains "no systemd user manager reachable"
        expect_err_contains "run: $ENABLE_CMD"
}

test_reinstall_replaces_its_own_files_in_place() {
        fresh_units
        run install-service --no-enable --interval 60
        run install-service --no-enable --interval 120
        expect_rc 0
        grep -qx 'OnUnitActiveSec=120s' "$TIMER" || fail "reinstall did not update the timer"
        [ "$(find "$UNITS" -mindepth 1 | wc -l)" -eq 2 ] || fail "leftovers: $(ls -A "$UNITS")"
}

test_install_refuses_to_replace_a_unit_it_did_not_write() {
        fresh_units
        mkdir -p "$UNITS"
        printf '[Service]\nExecStart=/bin/true\n' >"$SERVICE"
        run install-service --no-enable
        expect_rc 1
        expect_err_contains "refusing to replace $SERVICE"
        [ "$(cat "$SERVICE")" = $'[Service]\nExecStart=/bin/true' ] || fail "foreign unit was changed"
        expect_absent "$TIMER"
}

test_runtime_in_a_world_writable_sticky_dir_is_refused() {
        have_runtime_copy || { echo "note: no build-tree libephemdir; skipped"; return; }
        fresh_units
        copy_runtime "$T/rt"
        local tmp_root
        tmp_root="/$(echo "$T" | cut -d/ -f2)"   # /tmp: sticky, 1777
        out=$("$T/rt/bin/ephemdir" install-service --no-enable 2>"$T/stderr") && rc=0 || rc=$?
        err=$(cat "$T/stderr")
        expect_rc 1
        expect_err_contains "$tmp_root is writable by every user"
        expect_absent "$HOME/.config"
}

test_group_writable_runtime_components_are_refused() {
        is_root || { echo "note: needs root (a trusted dir outside /tmp); skipped"; return; }
        have_runtime_copy || { echo "note: no build-tree libephemdir; skipped"; return; }
        make_root_fixture
        fresh_units
        copy_runtime "$R/gw"
        chmod 775 "$R/gw"
        out=$(env -u LD_LIBRARY_PATH "$R/gw/bin/ephemdir" install-service --no-enable 2>"$T/stderr") && rc=0 || rc=$?
        err=$(cat "$T/stderr")
        expect_rc 1
        expect_err_contains "$R/gw is group-writable"
        expect_absent "$HOME/.config"

        # The binary's directory is fine, its library's is not.
        chmod 755 "$R/gw"
        chmod 775 "$R/gw/lib"
        out=$(env -u LD_LIBRARY_PATH "$R/gw/bin/ephemdir" install-service --no-enable 2>"$T/stderr") && rc=0 || rc=$?
        err=$(cat "$T/stderr")
        expect_rc 1
        expect_err_contains "$R/gw/lib is group-writable"

        # A library file another user owns.
        chmod 755 "$R/gw/lib"
        chown 65534 "$R/gw/lib/libephemdir.so.0"
        out=$(env -u LD_LIBRARY_PATH "$R/gw/bin/ephemdir" install-service --no-enable 2>"$T/stderr") && rc=0 || rc=$?
        err=$(cat "$T/stderr")
        expect_rc 1
        expect_err_contains "$R/gw/lib/libephemdir.so.0 is owned by another user"
        expect_absent "$HOME/.config"
}

test_binary_path_is_canonical_and_escaped() {
        is_root || { echo "note: needs root (a trusted dir outside /tmp); skipped"; return; }
        have_runtime_copy || { echo "note: no build-tree libephemdir; skipped"; return; }
        make_root_fixture
        fresh_units
        local dir="$R/my \"bin\" %h \$x"
        copy_runtime "$dir"
        ln -s "$dir/bin" "$R/link"
        out=$("$R/link/ephemdir" install-service --no-enable 2>"$T/stderr") && rc=0 || rc=$?
        err=$(cat "$T/stderr")
        expect_rc 0 || return
        expect_execstart "$SERVICE" /usr/bin/env -i 'JOURNAL_STREAM=<var JOURNAL_STREAM>' \
                "EPHEMDIR_DATA_DIR=$EPHEMDIR_DATA_DIR" "EPHEMDIR_CONFIG_DIR=$EPHEMDIR_CONFIG_DIR" \
                "$dir/bin/ephemdir" sweep
        verify_units "$SERVICE" "$TIMER"
}

test_group_writable_unit_dir_chain_is_refused() {
        fresh_units
        mkdir -p "$HOME/.config"
        chmod 770 "$HOME/.config"
        run install-service --no-enable
        expect_rc 1
        expect_err_contains "$HOME/.config is group-writable"
        expect_absent "$HOME/.config/systemd"
}

# expect_symlink_refused LINK RUNNER ARGS...: with LINK a symbolic link to
# an empty directory, RUNNER ARGS refuses, naming LINK, and writes nothing
# through it.
expect_symlink_refused() {
        local link=$1 target="$HOME/elsewhere"
        shift
        mkdir -p "$target"
        ln -s "$target" "$link"
        "$@"
        expect_rc 1
        expect_err_contains "$link is a symbolic link"
        [ -z "$(ls -A "$target")" ] || fail "wrote through the symlink"
        rm "$link"
        rmdir "$target"
}

test_symlinked_unit_dir_chain_is_refused() {
        fresh_units
        expect_symlink_refused "$HOME/.config" run install-service --no-enable
}

test_foreign_owned_unit_dir_chain_is_refused() {
        is_root || { echo "note: needs root to chown; skipped"; return; }
        fresh_units
        mkdir -p "$HOME/.config/systemd"
        chown 65534 "$HOME/.config/systemd"
        run install-service --no-enable
        expect_rc 1
        expect_err_contains "$HOME/.config/systemd is owned by another user"
        expect_absent "$UNITS"
        run uninstall-service
        expect_rc 1
        expect_err_contains "is owned by another user"
        chown 0 "$HOME/.config/systemd"
}

test_xdg_config_home_chooses_the_unit_dir() {
        fresh_units
        XDG_CONFIG_HOME="$T/xdg" run install-service --no-enable
        expect_rc 0
        expect_exists "$T/xdg/systemd/user/ephemdir-sweep.timer"
        expect_absent "$HOME/.config"
        XDG_CONFIG_HOME="$T/xdg" run uninstall-service
        expect_rc 0
        expect_absent "$T/xdg/systemd/user/ephemdir-sweep.timer"
}

test_uninstall_removes_only_its_own_files() {
        fresh_units
        run install-service --no-enable
        printf '[Service]\nExecStart=/bin/true\n' >"$UNITS/other.service"
        mkdir -p "$UNITS/timers.target.wants" "$UNITS/default.target.wants"
        ln -s "$TIMER" "$UNITS/timers.target.wants/ephemdir-sweep.timer"   # as systemctl enable does
        ln -s "$UNITS/other.service" "$UNITS/default.target.wants/other.service"
        run uninstall-service
        expect_rc 0
        expect_absent "$SERVICE"
        expect_absent "$TIMER"
        expect_absent "$UNITS/timers.target.wants/ephemdir-sweep.timer"
        expect_exists "$UNITS/other.service"
        expect_exists "$UNITS/default.target.wants/other.service"
        expect_exists "$UNITS/timers.target.wants"
        expect_err_contains "systemctl --user stop ephemdir-sweep.timer"

        run uninstall-service
        expect_rc 0
        expect_err_contains "no service installed"
}

test_uninstall_leaves_an_edited_unit_and_exits_1() {
        fresh_units
        run install-service --no-enable
        sed -i 's/OnUnitActiveSec=600s/OnUnitActiveSec=5s/' "$TIMER"
        run uninstall-service
        expect_rc 1
        expect_err_contains "left $TIMER in place"
        expect_exists "$TIMER"
        expect_absent "$SERVICE"
}

test_uninstall_keeps_an_enable_link_to_another_file() {
        fresh_units
        run install-service --no-enable
        mkdir -p "$UNITS/timers.target.wants"
        ln -s /etc/systemd/user/ephemdir-sweep.timer "$UNITS/timers.target.wants/ephemdir-sweep.timer"
        run uninstall-service
        expect_rc 0
        [ -L "$UNITS/timers.target.wants/ephemdir-sweep.timer" ] || fail "removed a link that was not to our file"
}

# --- launchd: the LaunchAgent written on macOS --------------------------------
# A test build forces that backend with EPHEMDIR_TEST_SERVICE_BACKEND=launchd
# and stands in for /bin/launchctl with EPHEMDIR_TEST_LAUNCHCTL.

AGENTS="$HOME/Library/LaunchAgents"
PLIST="$AGENTS/org.ephemdir.sweep.plist"
FAKE="$T/fake-launchctl"
TEMPLATE="${EPHEMDIR_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/contrib/launchd/org.ephemdir.sweep.plist.in"
unset EPHEMDIR_TEST_SERVICE_BACKEND EPHEMDIR_TEST_LAUNCHCTL

launchd_testable() {
        have_hooks && return 0
        echo "note: needs -Dtest_hooks=true (EPHEMDIR_TEST_SERVICE_BACKEND); skipped"
        return 1
}

lrun() { EPHEMDIR_TEST_SERVICE_BACKEND=launchd run "$@"; }

fresh_agents() {
        chmod -R u+rwx "$HOME" 2>/dev/null || true
        rm -rf "$HOME/Library" "$HOME/.config" "$HOME/elsewhere"
}

# The property list read back: with python3's plistlib (expat, strict XML)
# when there is one, else well-formedness with xmllint, else nothing.
cat >"$T/plist.py" <<'EOF'
import plistlib, re, sys
from xml.sax.saxutils import escape

def typed(v):
    """Values with their types: True must not pass for 1."""
    if isinstance(v, dict):
        return {k: typed(x) for k, x in v.items()}
    if isinstance(v, list):
        return [typed(x) for x in v]
    return (type(v).__name__, v)

def load(path):
    with open(path, "rb") as f:
        return plistlib.load(f)

def check(path, exe, data, config, interval):
    log = data + "/sweep.log"
    want = {"Label": "org.ephemdir.sweep", "ProgramArguments": [exe, "sweep"],
            "EnvironmentVariables": {"EPHEMDIR_DATA_DIR": data, "EPHEMDIR_CONFIG_DIR": config},
            "WorkingDirectory": "/", "StartInterval": int(interval), "RunAtLoad": True,
            "StandardOutPath": log, "StandardErrorPath": log, "ProcessType": "Background",
            "LowPriorityIO": True, "Nice": 19, "Umask": 0o077}
    got = load(path)
    if typed(got) != typed(want):
        sys.exit("got  %r\nwant %r" % (got, want))

def template(tpl, path):
    """The contrib template, filled with the values of a generated agent,
    says what the agent says."""
    got = load(path)
    env = got["EnvironmentVariables"]
    values = {"EPHEMDIR": got["ProgramArguments"][0], "DATA_DIR": env["EPHEMDIR_DATA_DIR"],
              "CONFIG_DIR": env["EPHEMDIR_CONFIG_DIR"], "INTERVAL": str(got["StartInterval"])}
    text = open(tpl).read()
    for k, v in values.items():
        text = text.replace("@" + k + "@", escape(v, {'"': "&quot;", "'": "&apos;"}))
    left = re.findall(r"@[A-Z_]+@", re.sub(r"<!--.*?-->", "", text, flags=re.S))
    if left:
        sys.exit("placeholders left: %r" % left)
    filled = plistlib.loads(text.encode())
    if typed(filled) != typed(got):
        sys.exit("template %r\nagent    %r" % (filled, got))

{"check": check, "template": template}[sys.argv[1]](*sys.argv[2:])
EOF

# expect_plist FILE EXE DATA CONFIG INTERVAL: exactly the agent for these.
expect_plist() {
        local msg
        if command -v python3 >/dev/null; then
                msg=$(python3 "$T/plist.py" check "$@" 2>&1) || fail "LaunchAgent $1: $msg"
        elif command -v xmllint >/dev/null; then
                msg=$(xmllint --noout "$1" 2>&1) || fail "LaunchAgent $1 is not well-formed: $msg"
                echo "note: no python3: checked that $1 is well-formed XML only"
        else
                echo "note: neither python3 nor xmllint: property list content not checked"
        fi
}

# A launchctl stand-in: logs each call (one line of arguments) to $FAKE.calls
# and the environment it got to $FAKE.env; answers `print` (is the job
# loaded?) with the status in $FAKE.print, 113 ("no such service") unless
# set, anything else with $FAKE.status (0); at `bootout`, records in
# $FAKE.at-bootout whether the file named in $FAKE.watch still exists.
# Writes to stdout, which must not reach ephemdir's.
make_fake_launchctl() {
        rm -f "$FAKE" "$FAKE".*
        cat >"$FAKE" <<'EOF'
#!/bin/sh
f=$0
echo "$*" >>"$f.calls"
tr '\0' '\n' <"/proc/$$/environ" >"$f.env"
if [ "$1" = bootout ] && [ -f "$f.watch" ]; then
        if [ -e "$(cat "$f.watch")" ]; then echo present; else echo absent; fi >>"$f.at-bootout"
fi
echo "fake launchctl $1"
case $1 in
print) exit "$(cat "$f.print" 2>/dev/null || echo 113)" ;;
*) exit "$(cat "$f.status" 2>/dev/null || echo 0)" ;;
esac
EOF
        chmod 755 "$FAKE"
}

test_launchd_agent_is_written_0644_in_a_private_library_tree() {
        launchd_testable || return 0
        fresh_agents
        lrun install-service --no-enable
        expect_rc 0 || return
        [ "$out" = "$PLIST" ] || fail "stdout should be the plist path alone: [$out]"
        expect_err_contains "to load the agent, run: launchctl bootstrap gui/$(id -u) $PLIST"
        local me
        me=$(id -un)
        expect_tree "$HOME/Library" ". 700 $me
./LaunchAgents 700 $me
./LaunchAgents/org.ephemdir.sweep.plist 644 $me"
        expect_absent "$HOME/.config"   # no systemd units next to it
}

test_launchd_agent_holds_exactly_the_sweep_job_with_pinned_dirs() {
        launchd_testable || return 0
        fresh_agents
        lrun install-service --no-enable
        expect_rc 0 || return
        expect_plist "$PLIST" "$BIN" "$EPHEMDIR_DATA_DIR" "$EPHEMDIR_CONFIG_DIR" 600
        [ "$(head -n1 "$PLIST")" = '<?xml version="1.0" encoding="UTF-8"?>' ] || fail "no XML declaration first"
        tail -n1 "$PLIST" | grep -Eqx '<!-- ephemdir-fingerprint: [0-9a-f]{16} -->' ||
                fail "no fingerprint comment last: $(tail -n1 "$PLIST")"
        if command -v xmllint >/dev/null && ! xmllint --noout "$PLIST"; then
                fail "xmllint rejects the agent"
        fi
}

test_launchd_awkward_paths_survive_xml_escaping() {
        launchd_testable || return 0
        fresh_agents
        local data="$T/da ta & <x> \"dq\" 'sq' %n \$HOME ]]> é"$'\t'"tab"$'\n'"nl"$'\r'"cr"
        local config="$T/conf <!-- -- --> &amp; %%"
        EPHEMDIR_DATA_DIR=$data EPHEMDIR_CONFIG_DIR=$config lrun install-service --no-enable
        expect_rc 0 || return
        expect_plist "$PLIST" "$BIN" "$data" "$config" 600
        if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$PLIST"; then
                fail "raw control characters in the agent"
        fi
}

test_launchd_unfit_characters_are_refused_with_exit_2_and_nothing_written() {
        launchd_testable || return 0
        fresh_agents
        EPHEMDIR_DATA_DIR="$T/ctl"$'\x01'"dir" lrun install-service --no-enable
        expect_rc 2
        expect_err_contains "the data directory '$T/ctl\\x01dir'"
        expect_err_contains "control character"
        expect_absent "$HOME/Library"

        lrun install-service --no-enable
        cp "$PLIST" "$T/before.plist"
        EPHEMDIR_CONFIG_DIR="$T/bad"$'\xff'"utf8" lrun install-service --no-enable
        expect_rc 2
        expect_err_contains "the config directory '$T/bad\\xffutf8'"
        cmp -s "$PLIST" "$T/before.plist" || fail "a refused install changed the agent"
}

test_launchd_symlinked_agents_dir_chain_is_refused() {
        launchd_testable || return 0
        fresh_agents
        expect_symlink_refused "$HOME/Library" lrun install-service --no-enable
        mkdir -p "$HOME/Library"
        expect_symlink_refused "$AGENTS" lrun install-service --no-enable
        expect_symlink_refused "$AGENTS" lrun uninstall-service
}

test_launchd_group_or_world_writable_agents_dir_chain_is_refused() {
        launchd_testable || return 0
        fresh_agents
        mkdir -p "$HOME/Library"
        chmod 770 "$HOME/Library"
        lrun install-service --no-enable
        expect_rc 1
        expect_err_contains "$HOME/Library is group-writable"
        expect_absent "$AGENTS"

        chmod 700 "$HOME/Library"
        mkdir "$AGENTS"
        chmod 777 "$AGENTS"
        lrun install-service --no-enable
        expect_rc 1
        expect_err_contains "$AGENTS is writable by every user"
        expect_absent "$PLIST"
}

test_launchd_foreign_owned_agents_dir_chain_is_refused() {
        launchd_testable || return 0
        is_root || { echo "note: needs root to chown; skipped"; return 0; }
        fresh_agents
        mkdir -p "$AGENTS"
        chown 65534 "$HOME/Library"
        lrun install-service --no-enable
        expect_rc 1
        expect_err_contains "$HOME/Library is owned by another user"
        expect_absent "$PLIST"
        lrun uninstall-service
        expect_rc 1
        expect_err_contains "is owned by another user"
        chown 0 "$HOME/Library"
}

test_launchd_install_checks_the_runtime_like_systemd() {
        launchd_testable || return 0
        have_runtime_copy || { echo "note: no build-tree libephemdir; skipped"; return 0; }
        fresh_agents
        rm -rf "$T/rt"
        copy_runtime "$T/rt"
        out=$(EPHEMDIR_TEST_SERVICE_BACKEND=launchd "$T/rt/bin/ephemdir" install-service --no-enable \
                2>"$T/stderr") && rc=0 || rc=$?
        err=$(cat "$T/stderr")
        expect_rc 1
        expect_err_contains "/$(echo "$T" | cut -d/ -f2) is writable by every user"
        expect_absent "$HOME/Library"
}

test_launchd_interval_sets_start_interval_and_bad_values_exit_2() {
        launchd_testable || return 0
        fresh_agents
        lrun install-service --no-enable --interval 1h30m
        expect_rc 0 || return
        expect_plist "$PLIST" "$BIN" "$EPHEMDIR_DATA_DIR" "$EPHEMDIR_CONFIG_DIR" 5400
        local bad
        for bad in 0 -5 soon 10x 4294967296; do
                lrun install-service --no-enable --interval "$bad"
                expect_rc 2 "--interval $bad"
                expect_err_contains "'$bad'"
        done
        expect_plist "$PLIST" "$BIN" "$EPHEMDIR_DATA_DIR" "$EPHEMDIR_CONFIG_DIR" 5400
        lrun install-service --no-enable --interval 4294967295
        expect_rc 0
        expect_plist "$PLIST" "$BIN" "$EPHEMDIR_DATA_DIR" "$EPHEMDIR_CONFIG_DIR" 4294967295
}

test_launchd_reinstall_replaces_its_own_agent_in_place() {
        launchd_testable || return 0
        fresh_agents
        lrun install-service --no-enable --interval 60
        lrun install-service --no-enable --interval 120
        expect_rc 0
        expect_plist "$PLIST" "$BIN" "$EPHEMDIR_DATA_DIR" "$EPHEMDIR_CONFIG_DIR" 120
        # It may be loaded with the old interval: boot that out first.
        expect_err_contains "run: launchctl bootout gui/$(id -u)/org.ephemdir.sweep; launchctl bootstrap"
        [ "$(ls -A "$AGENTS")" = org.ephemdir.sweep.plist ] || fail "leftovers: $(ls -A "$AGENTS")"
}

test_launchd_install_refuses_to_replace_an_agent_it_did_not_write() {
        launchd_testable || return 0
        fresh_agents
        mkdir -p "$AGENTS"
        cp "$TEMPLATE" "$PLIST"
        lrun install-service --no-enable
        expect_rc 1
        expect_err_contains "refusing to replace $PLIST"
        cmp -s "$PLIST" "$TEMPLATE" || fail "foreign agent changed"
        lrun uninstall-service
        expect_rc 1
        expect_err_contains "left $PLIST in place"
        expect_exists "$PLIST"

        # Nor a symlink in its place, whatever it points at.
        rm "$PLIST"
        echo keep >"$T/target.plist"
        ln -s "$T/target.plist" "$PLIST"
        lrun install-service --no-enable
        expect_rc 1
        if [ ! -L "$PLIST" ] || [ "$(cat "$T/target.plist")" != keep ]; then
                fail "replaced or wrote through a symlink"
        fi
}

test_launchd_uninstall_removes_only_its_own_agent() {
        launchd_testable || return 0
        fresh_agents
        lrun install-service --no-enable
        printf '<plist version="1.0"><dict/></plist>\n' >"$AGENTS/com.example.other.plist"
        # The systemd backend leaves a LaunchAgent alone.
        run uninstall-service
        expect_rc 0
        expect_exists "$PLIST"
        lrun uninstall-service
        expect_rc 0
        [ "$out" = "$PLIST" ] || fail "stdout should list the removed plist: [$out]"
        expect_absent "$PLIST"
        expect_exists "$AGENTS/com.example.other.plist"
        expect_err_contains "if the agent is loaded, finish with: launchctl bootout gui/$(id -u)/org.ephemdir.sweep"
        lrun uninstall-service
        expect_rc 0
        expect_err_contains "no service installed"
}

test_launchd_uninstall_leaves_an_edited_agent_and_exits_1() {
        launchd_testable || return 0
        fresh_agents
        lrun install-service --no-enable
        sed -i 's|<integer>600</integer>|<integer>5</integer>|' "$PLIST"
        make_fake_launchctl
        echo 0 >"$FAKE.print"
        EPHEMDIR_TEST_LAUNCHCTL=$FAKE lrun uninstall-service
        expect_rc 1
        expect_err_contains "left $PLIST in place"
        expect_exists "$PLIST"
        [ ! -e "$FAKE.calls" ] || fail "launchctl was told about a job that is not ours: $(cat "$FAKE.calls")"
}

test_launchd_enabling_bootstraps_through_launchctl_with_a_clean_environment() {
        launchd_testable || return 0
        fresh_agents
        make_fake_launchctl
        local uid
        uid=$(id -u)
        EPHEMDIR_TEST_LAUNCHCTL=$FAKE DYLD_INSERT_LIBRARIES=/x.dylib lrun install-service
        expect_rc 0 || return
        [ "$out" = "$PLIST" ] || fail "launchctl output reached stdout: [$out]"
        expect_err_contains "fake launchctl bootstrap"   # its output goes to stderr
        expect_err_contains "loaded org.ephemdir.sweep"
        [ "$(cat "$FAKE.calls")" = "print gui/$uid/org.ephemdir.sweep
bootstrap gui/$uid $PLIST" ] || fail "launchctl calls: [$(cat "$FAKE.calls")]"
        [ "$(cat "$FAKE.env")" = "PATH=/usr/bin:/bin:/usr/sbin:/sbin" ] ||
                fail "launchctl environment: [$(cat "$FAKE.env")]"

        # Already loaded (an older interval): boot it out, then bootstrap.
        : >"$FAKE.calls"
        echo 0 >"$FAKE.print"
        EPHEMDIR_TEST_LAUNCHCTL=$FAKE lrun install-service --interval 2h
        expect_rc 0
        [ "$(cat "$FAKE.calls")" = "print gui/$uid/org.ephemdir.sweep
bootout gui/$uid/org.ephemdir.sweep
bootstrap gui/$uid $PLIST" ] || fail "launchctl calls: [$(cat "$FAKE.calls")]"

        # --no-enable: launchctl is not run.
        : >"$FAKE.calls"
        EPHEMDIR_TEST_LAUNCHCTL=$FAKE lrun install-service --no-enable
        expect_rc 0
        [ ! -s "$FAKE.calls" ] || fail "--no-enable ran launchctl: $(cat "$FAKE.calls")"
}

test_launchd_refused_bootstrap_exits_1_with_the_command() {
        launchd_testable || return 0
        fresh_agents
        make_fake_launchctl
        echo 5 >"$FAKE.status"
        EPHEMDIR_TEST_LAUNCHCTL=$FAKE lrun install-service
        expect_rc 1
        expect_err_contains "launchctl exited 5; the agent is written, to load it run: launchctl bootstrap gui/$(id -u) $PLIST"
        expect_plist "$PLIST" "$BIN" "$EPHEMDIR_DATA_DIR" "$EPHEMDIR_CONFIG_DIR" 600
}

test_launchd_without_launchctl_prints_an_exact_command_and_exits_0() {
        launchd_testable || return 0
        fresh_agents
        lrun install-service
        expect_rc 0
        expect_err_contains "launchd is not available here; to load the agent, run: launchctl bootstrap gui/$(id -u) $PLIST"
        EPHEMDIR_TEST_LAUNCHCTL="$T/no-such-launchctl" lrun install-service
        expect_rc 0
        expect_err_contains "launchctl could not be run: No such file or directory"

        # The command is one the shell reads back to the very path.
        local home="$T/it's a \"home\" \$x" cmd
        mkdir -p "$home"
        chmod 700 "$home"
        HOME=$home lrun install-service --no-enable
        expect_rc 0 || return
        cmd=${err#*run: }
        local got
        # shellcheck disable=SC2317  # called by the eval
        got=$(launchctl() { printf '%s\n' "$3"; }; eval "$cmd")
        [ "$got" = "$home/Library/LaunchAgents/org.ephemdir.sweep.plist" ] ||
                fail "printed command [$cmd] names [$got]"
}

test_launchd_uninstall_boots_out_a_loaded_agent_before_removing_it() {
        launchd_testable || return 0
        fresh_agents
        lrun install-service --no-enable
        make_fake_launchctl
        echo "$PLIST" >"$FAKE.watch"
        echo 0 >"$FAKE.print"
        EPHEMDIR_TEST_LAUNCHCTL=$FAKE lrun uninstall-service
        expect_rc 0
        expect_absent "$PLIST"
        [ "$(cat "$FAKE.calls")" = "print gui/$(id -u)/org.ephemdir.sweep
bootout gui/$(id -u)/org.ephemdir.sweep" ] || fail "launchctl calls: [$(cat "$FAKE.calls")]"
        [ "$(cat "$FAKE.at-bootout")" = present ] || fail "the plist was removed before bootout"

        # Not loaded: nothing to boot out.
        lrun install-service --no-enable
        make_fake_launchctl
        EPHEMDIR_TEST_LAUNCHCTL=$FAKE lrun uninstall-service
        expect_rc 0
        expect_absent "$PLIST"
        [ "$(cat "$FAKE.calls")" = "print gui/$(id -u)/org.ephemdir.sweep" ] ||
                fail "launchctl calls: [$(cat "$FAKE.calls")]"
}

test_launchd_template_says_what_install_service_writes() {
        launchd_testable || return 0
        command -v python3 >/dev/null || { echo "note: needs python3; skipped"; return 0; }
        fresh_agents
        EPHEMDIR_DATA_DIR="$T/d & <t> \"q\"" lrun install-service --no-enable --interval 45
        expect_rc 0 || return
        local msg
        msg=$(python3 "$T/plist.py" template "$TEMPLATE" "$PLIST" 2>&1) ||
                fail "contrib/launchd template and generated agent differ: $msg"
}

# --- doctor on the launchd backend --------------------------------------------

# expect_doctor_agent FILE LOADED [ENV...]: `doctor --json` (launchd backend,
# with ENV) reports the agent at $PLIST with this file state and loaded
# (true, false or null); its text line is then in $out.
expect_doctor_agent() {
        local want="$PLIST $1 $2" got
        shift 2
        out=$(env EPHEMDIR_TEST_SERVICE_BACKEND=launchd "$@" "$EPHEMDIR" doctor --json 2>"$T/stderr") || true
        got=$(printf '%s' "$out" | python3 -c '
import json, sys
a = json.load(sys.stdin)["launch_agent"]
print(a["path"], a["file"], json.dumps(a["loaded"]))') || got="(no launch_agent: $out)"
        [ "$got" = "$want" ] || fail "doctor --json launch_agent: [$got], want [$want]"
        out=$(env EPHEMDIR_TEST_SERVICE_BACKEND=launchd "$@" "$EPHEMDIR" doctor 2>"$T/stderr") || true
        out=$(printf '%s\n' "$out" | grep '^launch agent ' || true)
}

test_doctor_reports_a_missing_launch_agent_as_not_installed() {
        launchd_testable || return 0
        fresh_agents
        expect_doctor_agent absent null
        [ "$out" = "launch agent    $PLIST: not installed; launchd not available here" ] ||
                fail "doctor: [$out]"
        make_fake_launchctl
        expect_doctor_agent absent false EPHEMDIR_TEST_LAUNCHCTL="$FAKE"
        [ "$out" = "launch agent    $PLIST: not installed; not loaded" ] || fail "doctor: [$out]"
        expect_absent "$HOME/Library"   # looking creates nothing
        # Where install-service writes systemd units, there is no agent to report.
        run doctor --json
        printf '%s' "$out" | python3 -c '
import json, sys
assert json.load(sys.stdin)["launch_agent"] is None' || fail "systemd backend reports an agent: $out"
        run doctor
        case $out in *"launch agent"*) fail "systemd backend prints an agent line: $out" ;; esac
}

test_doctor_reports_the_agent_install_service_wrote_and_whether_launchd_loaded_it() {
        launchd_testable || return 0
        fresh_agents
        lrun install-service --no-enable
        expect_rc 0 || return
        cp "$PLIST" "$T/before.plist"
        make_fake_launchctl
        echo 0 >"$FAKE.print"
        expect_doctor_agent ours true EPHEMDIR_TEST_LAUNCHCTL="$FAKE"
        [ "$out" = "launch agent    $PLIST: installed by ephemdir install-service; loaded (gui/$(id -u)/org.ephemdir.sweep)" ] ||
                fail "doctor: [$out]"
        rm "$FAKE.print"   # launchctl print: 113, no such service
        expect_doctor_agent ours false EPHEMDIR_TEST_LAUNCHCTL="$FAKE"
        [ "$out" = "launch agent    $PLIST: installed by ephemdir install-service; not loaded" ] ||
                fail "doctor: [$out]"
        expect_doctor_agent ours null
        # doctor only asks: launchd and the agent are left as they were.
        [ "$(sort -u "$FAKE.calls")" = "print gui/$(id -u)/org.ephemdir.sweep" ] ||
                fail "doctor ran more than launchctl print: $(cat "$FAKE.calls")"
        cmp -s "$PLIST" "$T/before.plist" || fail "doctor changed the agent"
}

test_doctor_reports_a_hand_edited_agent_as_not_written_by_ephemdir() {
        launchd_testable || return 0
        fresh_agents
        lrun install-service --no-enable
        expect_rc 0 || return
        sed -i 's|<integer>600</integer>|<integer>5</integer>|' "$PLIST"
        expect_doctor_agent foreign null
        [ "$out" = "launch agent    $PLIST: not written by ephemdir install-service, or edited since; launchd not available here" ] ||
                fail "doctor: [$out]"
        # Nor is one that was never ours, even with our name.
        cp "$TEMPLATE" "$PLIST"
        expect_doctor_agent foreign null
}

test_doctor_names_an_untrusted_agents_dir_instead_of_reading_it() {
        launchd_testable || return 0
        fresh_agents
        lrun install-service --no-enable
        expect_rc 0 || return
        chmod 777 "$HOME/Library"
        expect_doctor_agent unchecked null
        [ "$out" = "launch agent    $PLIST: cannot check: $HOME/Library is writable by every user; launchd not available here" ] ||
                fail "doctor: [$out]"
        chmod 700 "$HOME/Library"
}

# --- when systemd runs it -----------------------------------------------------

# run_watch OUTPREFIX ENV...: start `ephemdir watch --interval 1` in the
# background with the extra environment; $watcher is its pid.
run_watch() {
        local prefix=$1
        shift
        env "$@" "$EPHEMDIR" watch --interval 1 >"$prefix.out" 2>"$prefix.err" &
        watcher=$!
}

stop_watch() {
        local st=0
        kill -TERM "$watcher" 2>/dev/null || true
        wait "$watcher" || st=$?
        [ "$st" -eq 0 ] || fail "watch exited $st on SIGTERM: $(cat "$1.err")"
}

test_watch_sends_ready_then_status_and_stops_cleanly_on_sigterm() {
        listen notify "$T/notify.sock" "$T/notify.log" 10 30 || return
        run_watch "$T/watch" NOTIFY_SOCKET="$T/notify.sock"
        wait_lines "$T/notify.log" 2 || fail "fewer than two notifications: $(cat "$T/notify.log")"
        stop_watch "$T/watch"
        wait "$listener" || true
        local first second last
        first=$(json_get "$T/notify.log" 1 x)
        second=$(json_get "$T/notify.log" 2 x)
        last=$(tail -n1 "$T/notify.log" | python3 -c 'import json,sys; print(json.load(sys.stdin))')
        case "$first" in
        READY=1$'\n'STATUS=Swept:*) ;;
        *) fail "first message should be READY=1 then STATUS=: [$first]" ;;
        esac
        case "$second" in
        STATUS=Swept:*"next sweep in 1s") ;;
        *) fail "second message should be a STATUS= line only: [$second]" ;;
        esac
        case "$last" in
        *STOPPING=1*) ;;
        *) fail "no STOPPING=1 on SIGTERM: [$last]" ;;
        esac
}

test_watch_notifies_an_abstract_socket() {
        local name="@ephemdir-test-$$-$RANDOM"
        listen notify "$name" "$T/abstract.log" 1 30 || return
        run_watch "$T/watch" NOTIFY_SOCKET="$name"
        wait_lines "$T/abstract.log" 1 || fail "nothing received on $name"
        stop_watch "$T/watch"
        wait "$listener" || true
        case "$(json_get "$T/abstract.log" 1 x)" in
        READY=1$'\n'STATUS=*) ;;
        *) fail "unexpected first message: $(cat "$T/abstract.log")" ;;
        esac
}

# A tracked directory due at the next explicit sweep, under a parent whose
# name holds a newline (so its path needs the journal's binary field form).
make_due_dir() {
        local parent="$W/journal"$'\n'"parent"
        mkdir -p "$parent"
        "$EPHEMDIR" new -p "$parent" --until-sweep
}

test_watch_events_reach_the_journal_with_structured_fields() {
        have_hooks || { echo "note: needs -Dtest_hooks=true (journal socket override); skipped"; return; }
        local d name
        d=$(make_due_dir)
        name=$(basename "$d")
        listen journal "$T/journal.sock" "$T/journal.log" 1 30 || return
        : >"$T/stream"
        env JOURNAL_STREAM="$(stat -c %d:%i "$T/stream")" EPHEMDIR_TEST_JOURNAL_SOCKET="$T/journal.sock" \
                "$EPHEMDIR" watch --interval 1 >"$T/jw.out" 2>>"$T/stream" &
        watcher=$!
        wait_lines "$T/journal.log" 1 || fail "no journal entry arrived"
        stop_watch "$T/jw"
        wait "$listener" || true
        [ "$(json_get "$T/journal.log" 1 EPHEMDIR_PATH)" = "$d" ] ||
                fail "EPHEMDIR_PATH: [$(json_get "$T/journal.log" 1 EPHEMDIR_PATH)] want [$d]"
        [ "$(json_get "$T/journal.log" 1 EPHEMDIR_NAME)" = "$name" ] || fail "EPHEMDIR_NAME wrong"
        [ "$(json_get "$T/journal.log" 1 EPHEMDIR_ACTION)" = removed ] || fail "EPHEMDIR_ACTION wrong"
        [ "$(json_get "$T/journal.log" 1 EPHEMDIR_REASON)" = next-sweep ] ||
                fail "EPHEMDIR_REASON: [$(json_get "$T/journal.log" 1 EPHEMDIR_REASON)]"
        [ "$(json_get "$T/journal.log" 1 PRIORITY)" = 5 ] || fail "PRIORITY should be 5 (notice)"
        [ "$(json_get "$T/journal.log" 1 SYSLOG_IDENTIFIER)" = ephemdir ] || fail "SYSLOG_IDENTIFIER wrong"
        case "$(json_get "$T/journal.log" 1 MESSAGE)" in
        "removed "*"journal\\x0aparent/$name (next-sweep)") ;;
        *) fail "MESSAGE: [$(json_get "$T/journal.log" 1 MESSAGE)]" ;;
        esac
        [ ! -s "$T/jw.out" ] || fail "events went to stdout as well: $(cat "$T/jw.out")"
        expect_absent "$d"
}

test_redirected_stderr_keeps_plain_text() {
        have_hooks || { echo "note: needs -Dtest_hooks=true; skipped"; return; }
        local d
        d=$(make_due_dir)
        listen journal "$T/journal2.sock" "$T/journal2.log" 1 4 || return
        : >"$T/stream2"
        # $JOURNAL_STREAM names stream2, but stderr is another file.
        run_watch "$T/plain" JOURNAL_STREAM="$(stat -c %d:%i "$T/stream2")" \
                EPHEMDIR_TEST_JOURNAL_SOCKET="$T/journal2.sock"
        wait_lines "$T/plain.out" 1 || fail "no plain text on stdout"
        stop_watch "$T/plain"
        wait "$listener" || true
        grep -q "^removed " "$T/plain.out" || fail "stdout: $(cat "$T/plain.out")"
        [ ! -s "$T/journal2.log" ] || fail "sent to the journal although stderr is not it"
}

test_sweep_events_reach_the_journal() {
        have_hooks || { echo "note: needs -Dtest_hooks=true; skipped"; return; }
        local d
        d=$(make_due_dir)
        listen journal "$T/journal3.sock" "$T/journal3.log" 1 10 || return
        : >"$T/stream3"
        env JOURNAL_STREAM="$(stat -c %d:%i "$T/stream3")" EPHEMDIR_TEST_JOURNAL_SOCKET="$T/journal3.sock" \
                "$EPHEMDIR" sweep >"$T/sweep.out" 2>>"$T/stream3" || fail "sweep failed: $(cat "$T/stream3")"
        wait_lines "$T/journal3.log" 1 5 || true
        kill "$listener" 2>/dev/null || true
        wait "$listener" 2>/dev/null || true
        if [ ! -s "$T/journal3.log" ] && grep -q "^removed " "$T/sweep.out"; then
                echo "note: cmd-sweep.c does not report to the journal yet; skipped"
                return
        fi
        [ "$(json_get "$T/journal3.log" 1 EPHEMDIR_PATH)" = "$d" ] || fail "EPHEMDIR_PATH wrong"
        [ "$(json_get "$T/journal3.log" 1 EPHEMDIR_ACTION)" = removed ] || fail "EPHEMDIR_ACTION wrong"
        [ "$(json_get "$T/journal3.log" 1 EPHEMDIR_REASON)" = next-sweep ] || fail "EPHEMDIR_REASON wrong"
        [ ! -s "$T/sweep.out" ] || fail "events went to stdout as well: $(cat "$T/sweep.out")"
}

# install-service refuses a runtime under a directory others can write (like
# /tmp).  When the build tree sits in one, run from a trusted copy (root: in
# /run), or skip when there is nowhere trusted to put it.
runtime_is_trusted() {
        local d
        d=$(dirname "$(readlink -f "$EPHEMDIR")")
        while [ "$d" != / ]; do
                [ -z "$(find "$d" -maxdepth 0 -perm /022)" ] || return 1
                d=$(dirname "$d")
        done
}

if ! runtime_is_trusted; then
        if ! is_root || ! have_runtime_copy; then
                echo "the build tree is under a group/world-writable directory and no trusted copy can be made: skipping"
                exit 77
        fi
        make_root_fixture
        copy_runtime "$R/runtime"
        EPHEMDIR="$R/runtime/bin/ephemdir"
        BIN=$(readlink -f "$EPHEMDIR")
        LIBDIR="$R/runtime/lib"
        unset LD_LIBRARY_PATH
        echo "note: running from a trusted copy in $R/runtime"
fi

run_tests
