/* SPDX-License-Identifier: MIT */
/*
 * ephemdir shell-init / completion: shell code for the user's shell.
 *
 * shell-init prints the functions enew and ecd, which change the calling
 * shell's directory (a subprocess cannot).  They never evaluate what ephemdir
 * prints: the path is only ever quoted and passed to cd.
 *
 * completion prints a completion script.  Its commands, options and operands
 * are derived at run time from cli_commands (each command's name, usage and
 * --help text), so the script follows the command table; only the values of a
 * few options (option_values[]) and the common options (common_options[],
 * mirroring COMMON_LONG_OPTIONS) are listed here.  tests/cli/test-shell.sh
 * compares the result with every command's --help.
 *
 * Scripts are one C literal per line of shell code.  Every word spliced into
 * a script (commands, options, choices) is checked to be [a-z0-9-], and
 * descriptions are quoted for the target shell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum shell {
        SHELL_BASH,
        SHELL_ZSH,
        SHELL_FISH,
};

static const char *const shell_names[] = {
        [SHELL_BASH] = "bash",
        [SHELL_ZSH] = "zsh",
        [SHELL_FISH] = "fish",
};

static void print_lines(const char *const *lines) {
        for (; *lines; lines++)
                puts(*lines);
}

/* Parse the common options, then [SHELL] (or SHELL when required). */
static int parse_shell(struct cli *cli, int argc, char **argv, bool required, enum shell *ret) {
        static const struct option options[] = { COMMON_LONG_OPTIONS };
        int c, r;

        while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options, NULL)) >= 0)
                if ((r = cli_common_option(cli, cli_find_command(cli->command), c, optarg)) >= 0)
                        return r;
        if (required && optind >= argc)
                return cli_usage(cli, "missing shell name (bash, zsh or fish)");
        r = cli_check_args(cli, argc, argv, 0, 1);
        if (r >= 0)
                return r;
        if (optind >= argc) {
                *ret = SHELL_BASH;
                return -1;
        }
        for (size_t i = 0; i < sizeof shell_names / sizeof *shell_names; i++)
                if (strcmp(argv[optind], shell_names[i]) == 0) {
                        *ret = (enum shell) i;
                        return -1;
                }
        return cli_usage(cli, "unknown shell '%s' (expected bash, zsh or fish)", argv[optind]);
}

/* ---- shell-init ---------------------------------------------------------- */

/* bash and zsh run the same text. */
static const char *const init_posix[] = {
        "# enew [OPTION...]: run 'ephemdir new' with the OPTIONs and cd into the new",
        "# directory.  ecd [TARGET]: cd into a tracked directory, given by path, name",
        "# or unique name prefix; without TARGET, into the most recently created one.",
        "# Both run $EPHEMDIR_BIN when it is set, else the ephemdir command in PATH,",
        "# and never evaluate its output.  On failure they return its exit status",
        "# (ecd without TARGET: 1) and leave the directory unchanged.",
        "",
        "enew() {",
        "        local ephemdir_out",
        "        ephemdir_out=$(command \"${EPHEMDIR_BIN:-ephemdir}\" new \"$@\") || return",
        "        case $ephemdir_out in",
        "        /*) cd -- \"$ephemdir_out\" ;;",
        "        ?*) printf '%s\\n' \"$ephemdir_out\" ;;",
        "        esac",
        "}",
        "",
        "ecd() {",
        "        local ephemdir_out",
        "        if [ \"$#\" -gt 1 ]; then",
        "                echo 'ephemdir: ecd: too many arguments (usage: ecd [TARGET])' >&2",
        "                return 2",
        "        elif [ \"$#\" -eq 1 ]; then",
        "                ephemdir_out=$(command \"${EPHEMDIR_BIN:-ephemdir}\" path -- \"$1\") || return",
        "        else",
        "                ephemdir_out=$(command \"${EPHEMDIR_BIN:-ephemdir}\" last) || return 1",
        "        fi",
        "        case $ephemdir_out in",
        "        /*) cd -- \"$ephemdir_out\" ;;",
        "        *)",
        "                echo 'ephemdir: ecd: ephemdir printed no directory path' >&2",
        "                return 1",
        "                ;;",
        "        esac",
        "}",
        NULL,
};

/* Shared by shell-init fish and completion fish. */
static const char *const fish_run[] = {
        "function __ephemdir_run --description 'Run $EPHEMDIR_BIN, or the ephemdir in PATH'",
        "    if test -n \"$EPHEMDIR_BIN\"",
        "        command $EPHEMDIR_BIN $argv",
        "    else",
        "        command ephemdir $argv",
        "    end",
        "end",
        NULL,
};

static const char *const init_fish[] = {
        "",
        "function enew --description 'Create a directory with ephemdir new and cd into it'",
        "    set -l out (__ephemdir_run new $argv)",
        "    or return",
        "    if test (count $out) -eq 1; and string match -q -- '/*' $out",
        "        cd $out",
        "    else if test (count $out) -gt 0",
        "        printf '%s\\n' $out",
        "    end",
        "end",
        "",
        "function ecd --description 'cd into a directory tracked by ephemdir (default: the newest)'",
        "    set -l out",
        "    if test (count $argv) -gt 1",
        "        echo 'ephemdir: ecd: too many arguments (usage: ecd [TARGET])' >&2",
        "        return 2",
        "    else if test (count $argv) -eq 1",
        "        set out (__ephemdir_run path -- $argv[1])",
        "        or return",
        "    else",
        "        set out (__ephemdir_run last)",
        "        or return 1",
        "    end",
        "    if test (count $out) -eq 1; and string match -q -- '/*' $out",
        "        cd $out",
        "    else",
        "        echo 'ephemdir: ecd: ephemdir printed no directory path' >&2",
        "        return 1",
        "    end",
        "end",
        NULL,
};

int cmd_shell_init(struct cli *cli, int argc, char **argv) {
        enum shell sh;
        int r = parse_shell(cli, argc, argv, false, &sh);
        if (r >= 0)
                return r;

        switch (sh) {
        case SHELL_BASH:
        case SHELL_ZSH:
                printf("# ephemdir shell integration for %s, printed by 'ephemdir shell-init %s'.\n"
                       "# Load it from ~/.%src with:  eval \"$(ephemdir shell-init%s)\"\n",
                       shell_names[sh], shell_names[sh], shell_names[sh],
                       sh == SHELL_BASH ? "" : " zsh");
                print_lines(init_posix);
                break;
        case SHELL_FISH:
                puts("# ephemdir shell integration for fish, printed by 'ephemdir shell-init fish'.\n"
                     "# Load it from ~/.config/fish/config.fish with:  ephemdir shell-init fish | source\n"
                     "# enew [OPTION...] runs 'ephemdir new' and cds into the new directory; ecd [TARGET]\n"
                     "# cds into a tracked directory (default: the newest).  See ephemdir(1).\n");
                print_lines(fish_run);
                print_lines(init_fish);
                break;
        }
        return EXIT_OK;
}

/* ---- completion: what the command table says ----------------------------- */

#define MAX_OPTIONS 48

struct opt_info {
        char short_name;          /* 0: none */
        char long_name[32];       /* without the dashes; "": none */
        bool takes_value;
        bool hidden;              /* accepted, but not offered */
        char desc[160];
};

enum operand_kind {
        OPERAND_NONE,
        OPERAND_COMMAND,          /* the top level: a command name */
        OPERAND_TARGET,           /* the first operand is a target */
        OPERAND_TARGETS,          /* every operand is a target */
        OPERAND_CHOICE,           /* the first operand is one of choices */
};

struct command_info {
        const char *name;         /* "" for the top level */
        const char *summary;
        struct opt_info opts[MAX_OPTIONS];   /* its own options, then the common ones */
        size_t n_opts, n_own;
        enum operand_kind operand;
        char choices[128];        /* OPERAND_CHOICE: words separated by spaces */
};

/* Every command accepts these (COMMON_LONG_OPTIONS); descriptions as in --help. */
static const struct opt_info common_options[] = {
        { 'v', "verbose", false, false, "more output" },
        { 'q', "quiet", false, false, "only errors" },
        { 0, "color", true, false, "auto, always or never (honours NO_COLOR)" },
        { 0, "colour", true, true, "" },
        { 0, "plain", false, false, "ASCII status tags instead of emoji" },
        { 'h', "help", false, false, "show this help" },
};

static const struct opt_info version_option = { 0, "version", false, false, "print the version" };

/* Values offered for an option's argument, by long name.  NULL: directories. */
static const struct {
        const char *long_name;
        const char *values;
} option_values[] = {
        { "color", "auto always never" },
        { "colour", "auto always never" },
        { "cleanup", "auto next-sweep" },
        { "name-style", "auto secure clean" },
        { "parent", NULL },
};

static bool is_word_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static bool is_upper(char c) {
        return c >= 'A' && c <= 'Z';
}

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A word safe to splice into any of the scripts unquoted: [a-z0-9-]+, not
 * starting with '-'. */
static bool is_word(const char *s, size_t n) {
        if (n == 0 || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_word_char(s[i]))
                        return false;
        return true;
}

/* One line of --help text, "  -l, --lifetime D   time to live" or
 * "      --plain   ASCII ...".  Returns 1 for an option, 0 for another line,
 * -1 for a line that starts like an option but cannot be read. */
static int parse_help_line(const char *p, const char *end, struct opt_info *o) {
        *o = (struct opt_info) { 0 };
        while (p < end && *p == ' ')
                p++;
        if (p == end || *p != '-')
                return 0;
        for (;;) {
                if (end - p >= 2 && p[1] == '-') {
                        const char *s = p + 2, *e = s;
                        while (e < end && is_word_char(*e))
                                e++;
                        if (o->long_name[0] || !is_word(s, (size_t) (e - s)) ||
                            (size_t) (e - s) >= sizeof o->long_name)
                                return -1;
                        memcpy(o->long_name, s, (size_t) (e - s));
                        p = e;
                } else if (end - p >= 2 && is_alnum(p[1])) {
                        if (o->short_name)
                                return -1;
                        o->short_name = p[1];
                        p += 2;
                } else
                        return -1;
                /* "-l, --lifetime" */
                if (end - p >= 3 && p[0] == ',' && p[1] == ' ' && p[2] == '-') {
                        p += 2;
                        continue;
                }
                break;
        }
        /* A metavariable in capitals right after the option: it takes a value. */
        if (end - p >= 2 && p[0] == ' ' && is_upper(p[1])) {
                const char *e = p + 1;
                while (e < end && (is_upper(*e) || (*e >= '0' && *e <= '9') || *e == '_'))
                        e++;
                if (e == end || *e == ' ') {
                        o->takes_value = true;
                        p = e;
                }
        }
        if (p < end && *p != ' ')
                return -1;
        while (p < end && *p == ' ')
                p++;
        size_t n = (size_t) (end - p);
        if (n >= sizeof o->desc) {
                n = sizeof o->desc - 1;
                while (n > 0 && ((unsigned char) p[n] & 0xc0) == 0x80)
                        n--;   /* not inside a UTF-8 sequence */
        }
        memcpy(o->desc, p, n);
        o->desc[n] = '\0';
        return 1;
}

static bool add_option(struct command_info *ci, const struct opt_info *o) {
        if (ci->n_opts >= MAX_OPTIONS)
                return false;
        ci->opts[ci->n_opts++] = *o;
        return true;
}

static bool parse_help(const char *help, struct command_info *ci) {
        const char *p = help;

        while (*p) {
                const char *end = strchr(p, '\n');
                if (!end)
                        end = p + strlen(p);
                struct opt_info o;
                int r = parse_help_line(p, end, &o);
                if (r < 0 || (r > 0 && !add_option(ci, &o)))
                        return false;
                p = *end ? end + 1 : end;
        }
        return true;
}

/* The first operand in the usage decides: TARGET or [TARGET] (the first
 * operand is a target), TARGET... or [TARGET...] (every operand is), or
 * a|b|c or [a|b|c] (one of these words). */
static void parse_usage(const char *usage, struct command_info *ci) {
        const char *p = usage;
        size_t n;

        ci->operand = OPERAND_NONE;
        for (;; p += n) {
                while (*p == ' ')
                        p++;
                n = strcspn(p, " ");
                if (n == 0)
                        return;
                if (n != strlen("[options]") || strncmp(p, "[options]", n) != 0)
                        break;
        }

        const char *s = p, *e = p + n;
        if (*s == '[') {
                s++;
                if (e > s && e[-1] == ']')
                        e--;
        }
        size_t len = (size_t) (e - s);
        if (len >= strlen("TARGET") && strncmp(s, "TARGET", strlen("TARGET")) == 0) {
                if (len == strlen("TARGET"))
                        ci->operand = OPERAND_TARGET;
                else if (len == strlen("TARGET...") && strncmp(s + strlen("TARGET"), "...", 3) == 0)
                        ci->operand = OPERAND_TARGETS;
                return;
        }
        if (!memchr(s, '|', len) || len >= sizeof ci->choices)
                return;
        for (const char *w = s; w < e;) {
                const char *bar = memchr(w, '|', (size_t) (e - w));
                if (!bar)
                        bar = e;
                if (!is_word(w, (size_t) (bar - w)))
                        return;
                w = bar < e ? bar + 1 : e;
        }
        memcpy(ci->choices, s, len);
        ci->choices[len] = '\0';
        for (char *c = ci->choices; *c; c++)
                if (*c == '|')
                        *c = ' ';
        ci->operand = OPERAND_CHOICE;
}

static bool add_common_options(struct command_info *ci) {
        for (size_t i = 0; i < sizeof common_options / sizeof *common_options; i++)
                if (!add_option(ci, &common_options[i]))
                        return false;
        return true;
}

/* infos[0] is the top level, then one per command.  NULL after an error. */
static struct command_info *collect(struct cli *cli, size_t *ret_n) {
        size_t n = 1;

        for (const struct command *c = cli_commands; c->name; c++)
                n++;
        struct command_info *infos = calloc(n, sizeof *infos);
        if (!infos) {
                cli_error(cli, "out of memory");
                return NULL;
        }
        infos[0].name = "";
        infos[0].summary = "";
        infos[0].operand = OPERAND_COMMAND;
        add_common_options(&infos[0]);
        add_option(&infos[0], &version_option);
        for (size_t i = 1; i < n; i++) {
                const struct command *c = &cli_commands[i - 1];
                struct command_info *ci = &infos[i];

                ci->name = c->name;
                ci->summary = c->summary;
                if (!is_word(c->name, strlen(c->name))) {
                        cli_error(cli, "cannot complete command name '%s'", c->name);
                        free(infos);
                        return NULL;
                }
                if (!parse_help(c->help, ci)) {
                        cli_error(cli, "cannot read the options of '%s' from its help text", c->name);
                        free(infos);
                        return NULL;
                }
                ci->n_own = ci->n_opts;
                if (!add_common_options(ci)) {
                        cli_error(cli, "'%s' has too many options", c->name);
                        free(infos);
                        return NULL;
                }
                parse_usage(c->usage, ci);
        }
        *ret_n = n;
        return infos;
}

/* ---- completion: printing ------------------------------------------------ */

/* Print s inside '...' for bash and zsh. */
static void print_squoted_posix(const char *s) {
        putchar('\'');
        for (; *s; s++)
                if (*s == '\'')
                        fputs("'\\''", stdout);
                else
                        putchar(*s);
        putchar('\'');
}

/* Print s inside '...' for fish, where \ and ' are escaped. */
static void print_squoted_fish(const char *s) {
        putchar('\'');
        for (; *s; s++) {
                if (*s == '\'' || *s == '\\')
                        putchar('\\');
                putchar(*s);
        }
        putchar('\'');
}

/* Print the offered options ("-l --lifetime ..."), or with values_only the
 * options (hidden ones too) whose value is the next word. */
static void print_option_words(const struct command_info *ci, bool values_only) {
        const char *sep = "";

        for (size_t i = 0; i < ci->n_opts; i++) {
                const struct opt_info *o = &ci->opts[i];
                if (values_only ? !o->takes_value : o->hidden)
                        continue;
                if (o->short_name) {
                        printf("%s-%c", sep, o->short_name);
                        sep = " ";
                }
                if (o->long_name[0]) {
                        printf("%s--%s", sep, o->long_name);
                        sep = " ";
                }
        }
}

/* The case pattern for option_values[i]: "--parent|-p", with every short
 * option that any command pairs with that long name. */
static void print_value_pattern(const struct command_info *infos, size_t n, size_t v) {
        char shorts[64] = "";
        size_t ns = 0;

        printf("--%s", option_values[v].long_name);
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < infos[i].n_opts; j++) {
                        const struct opt_info *o = &infos[i].opts[j];
                        if (o->short_name && strcmp(o->long_name, option_values[v].long_name) == 0 &&
                            !memchr(shorts, o->short_name, ns) && ns < sizeof shorts - 1) {
                                shorts[ns++] = o->short_name;
                                printf("|-%c", o->short_name);
                        }
                }
}

static const char *operand_word(const struct command_info *ci) {
        switch (ci->operand) {
        case OPERAND_COMMAND:
                return "command";
        case OPERAND_TARGET:
                return "target";
        case OPERAND_TARGETS:
                return "targets";
        case OPERAND_CHOICE:
                return "choice:";
        case OPERAND_NONE:
                break;
        }
        return "";
}

/* sed -nE program printing the names in `ephemdir list --json`: lines
 * `    "name": "...",`.  Names with JSON escapes other than \" \\ \/ are
 * skipped; the others are unescaped. */
static const char names_sed[] =
        "/^    \"name\": \"([^\"\\\\]|\\\\[\"\\\\/])*\",$/{s/^    \"name\": \"//;s/\",$//;s/\\\\(.)/\\1/g;p;}";

static const char *const bash_head[] = {
        "# bash completion for ephemdir, printed by 'ephemdir completion bash'.",
        "# Load it with:  source <(ephemdir completion bash)",
        "# or install it as /usr/share/bash-completion/completions/ephemdir.",
        "# Tracked names come from 'ephemdir list --json' ($EPHEMDIR_BIN when set).",
        "",
        "_ephemdir_names() {",
        "        command \"${EPHEMDIR_BIN:-ephemdir}\" list --json 2>/dev/null |",
        NULL,
};

static const char *const bash_helpers[] = {
        "}",
        "",
        "# _ephemdir_add LEAD PREFIX WORD...: offer LEAD+WORD for each WORD starting with PREFIX.",
        "_ephemdir_add() {",
        "        local lead=$1 prefix=$2 w",
        "        shift 2",
        "        for w in \"$@\"; do",
        "                [[ $w == \"$prefix\"* ]] && COMPREPLY+=(\"$lead$w\")",
        "        done",
        "        return 0",
        "}",
        "",
        "# _ephemdir_dirs LEAD PREFIX: offer LEAD+DIR for the directories starting with PREFIX.",
        "_ephemdir_dirs() {",
        "        local d",
        "        compopt -o filenames 2>/dev/null",
        "        while IFS= read -r d; do",
        "                COMPREPLY+=(\"$1$d\")",
        "        done < <(compgen -d -- \"$2\")",
        "        return 0",
        "}",
        "",
        "# _ephemdir_targets PREFIX: offer tracked names, quoted for the shell, or",
        "# directories once PREFIX is a path.",
        "_ephemdir_targets() {",
        "        local name quoted",
        "        if [[ $1 == */* ]]; then",
        "                _ephemdir_dirs '' \"$1\"",
        "                return 0",
        "        fi",
        "        while IFS= read -r name; do",
        "                printf -v quoted '%q' \"$name\"",
        "                [[ $quoted == \"$1\"* ]] && COMPREPLY+=(\"$quoted\")",
        "        done < <(_ephemdir_names)",
        "        return 0",
        "}",
        "",
        "# _ephemdir_takes_value WORD: set want when the option WORD takes the next word",
        "# as its value (an attached value, as in -l2h, does not count).",
        "_ephemdir_takes_value() {",
        "        local j",
        "        if [[ $1 == --* ]]; then",
        "                [[ \" $argopts \" == *\" $1 \"* ]] && want=$1",
        "                return 0",
        "        fi",
        "        for ((j = 1; j < ${#1}; j++)); do",
        "                if [[ \" $argopts \" == *\" -${1:j:1} \"* ]]; then",
        "                        ((j == ${#1} - 1)) && want=-${1:j:1}",
        "                        return 0",
        "                fi",
        "        done",
        "        return 0",
        "}",
        "",
        "# _ephemdir_spec COMMAND (\"\": the top level) sets, in the caller: cmds, the",
        "# commands; opts, the options offered; argopts, the options taking a value;",
        "# pos, what the operands are.  Fails for an unknown command.",
        "_ephemdir_spec() {",
        "        case $1 in",
        NULL,
};

static const char *const bash_main[] = {
        "_ephemdir_complete() {",
        "        local IFS=$' \\t\\n' cur=${COMP_WORDS[COMP_CWORD]} cmd='' want='' ddash='' npos=0 i w",
        "        local cmds opts argopts pos lead='' value",
        "        COMPREPLY=()",
        "        _ephemdir_spec ''",
        "        for ((i = 1; i < COMP_CWORD; i++)); do",
        "                w=${COMP_WORDS[i]}",
        "                if [[ -n $want ]]; then",
        "                        # the option's value, or the '=' bash splits off before it",
        "                        [[ $w == = ]] || want=",
        "                elif [[ -z $ddash && $w == -?* ]]; then",
        "                        if [[ $w == -- ]]; then",
        "                                ddash=1",
        "                        else",
        "                                _ephemdir_takes_value \"$w\"",
        "                        fi",
        "                elif [[ -z $cmd ]]; then",
        "                        cmd=$w ddash=''",
        "                        _ephemdir_spec \"$cmd\" || return 0",
        "                else",
        "                        npos=$((npos + 1))",
        "                fi",
        "        done",
        "        value=$cur",
        "        if [[ -n $want && $cur == = ]]; then",
        "                value=",
        "        elif [[ -z $want && -z $ddash && $cur == --?*=* ]]; then",
        "                want=${cur%%=*} lead=${cur%%=*}= value=${cur#*=}",
        "        fi",
        "        if [[ -n $want ]]; then",
        "                _ephemdir_values \"$want\" \"$lead\" \"$value\"",
        "        elif [[ -z $ddash && $cur == -* ]]; then",
        "                _ephemdir_add '' \"$cur\" $opts",
        "        elif [[ $pos == command ]]; then",
        "                _ephemdir_add '' \"$cur\" $cmds",
        "        elif [[ $pos == targets || ( $pos == target && $npos -eq 0 ) ]]; then",
        "                _ephemdir_targets \"$cur\"",
        "        elif [[ $pos == choice:* && $npos -eq 0 ]]; then",
        "                _ephemdir_add '' \"$cur\" ${pos#choice:}",
        "        fi",
        "        return 0",
        "}",
        "",
        "complete -F _ephemdir_complete ephemdir",
        NULL,
};

static void print_bash(const struct command_info *infos, size_t n) {
        print_lines(bash_head);
        printf("                sed -nE '%s'\n", names_sed);
        print_lines(bash_helpers);
        for (size_t i = 0; i < n; i++) {
                const struct command_info *ci = &infos[i];
                printf("        %s)\n", i == 0 ? "''" : ci->name);
                if (i == 0) {
                        printf("                cmds='");
                        for (size_t j = 1; j < n; j++)
                                printf("%s%s", j > 1 ? " " : "", infos[j].name);
                        printf("'\n");
                }
                printf("                opts='");
                print_option_words(ci, false);
                printf("'\n                argopts='");
                print_option_words(ci, true);
                printf("'\n                pos='%s%s'\n                ;;\n", operand_word(ci),
                       ci->operand == OPERAND_CHOICE ? ci->choices : "");
        }
        puts("        *) return 1 ;;\n"
             "        esac\n"
             "}\n"
             "\n"
             "# _ephemdir_values OPTION LEAD PREFIX: offer values for OPTION.\n"
             "_ephemdir_values() {\n"
             "        case $1 in");
        for (size_t v = 0; v < sizeof option_values / sizeof *option_values; v++) {
                printf("        ");
                print_value_pattern(infos, n, v);
                if (option_values[v].values)
                        printf(") _ephemdir_add \"$2\" \"$3\" %s ;;\n", option_values[v].values);
                else
                        printf(") _ephemdir_dirs \"$2\" \"$3\" ;;\n");
        }
        puts("        esac\n"
             "        return 0\n"
             "}\n");
        print_lines(bash_main);
}

static const char *const zsh_head[] = {
        "#compdef ephemdir",
        "# zsh completion for ephemdir, printed by 'ephemdir completion zsh'.",
        "# Install it as _ephemdir in a directory of $fpath, or load it after compinit",
        "# with:  source <(ephemdir completion zsh)",
        "# Tracked names come from 'ephemdir list --json' ($EPHEMDIR_BIN when set).",
        "",
        "_ephemdir_names() {",
        "        command \"${EPHEMDIR_BIN:-ephemdir}\" list --json 2>/dev/null |",
        NULL,
};

static const char *const zsh_helpers[] = {
        "}",
        "",
        "# Tracked names, or directories once the word is a path.",
        "_ephemdir_targets() {",
        "        local -a names",
        "        if [[ $PREFIX == */* ]]; then",
        "                _files -/",
        "                return",
        "        fi",
        "        names=(\"${(@f)$(_ephemdir_names)}\")",
        "        names=(${names:#})",
        "        _wanted targets expl 'tracked directory' compadd -a names",
        "}",
        "",
        "# _ephemdir_takes_value WORD: set want when the option WORD takes the next word",
        "# as its value (an attached value, as in -l2h, does not count).",
        "_ephemdir_takes_value() {",
        "        local j",
        "        if [[ $1 == --* ]]; then",
        "                (( ${argopts[(Ie)$1]} )) && want=$1",
        "                return 0",
        "        fi",
        "        for (( j = 2; j <= ${#1}; j++ )); do",
        "                if (( ${argopts[(Ie)-${1[j]}]} )); then",
        "                        (( j == ${#1} )) && want=-${1[j]}",
        "                        return 0",
        "                fi",
        "        done",
        "        return 0",
        "}",
        "",
        "# _ephemdir_spec COMMAND (\"\": the top level) sets, in the caller: cmds, the",
        "# commands; opts, the options offered with descriptions; argopts, the options",
        "# taking a value; pos, what the operands are.  Fails for an unknown command.",
        "_ephemdir_spec() {",
        "        case $1 in",
        NULL,
};

static const char *const zsh_main[] = {
        "_ephemdir() {",
        "        local cur=${words[CURRENT]} cmd='' want='' ddash='' npos=0 i w pos expl",
        "        local -a cmds opts argopts",
        "        _ephemdir_spec ''",
        "        for (( i = 2; i < CURRENT; i++ )); do",
        "                w=${words[i]}",
        "                if [[ -n $want ]]; then",
        "                        want=",
        "                elif [[ -z $ddash && $w == -?* ]]; then",
        "                        if [[ $w == -- ]]; then",
        "                                ddash=1",
        "                        else",
        "                                _ephemdir_takes_value $w",
        "                        fi",
        "                elif [[ -z $cmd ]]; then",
        "                        cmd=$w ddash=''",
        "                        _ephemdir_spec $cmd || return 1",
        "                else",
        "                        npos=$(( npos + 1 ))",
        "                fi",
        "        done",
        "        if [[ -z $want && -z $ddash && $cur == --?*=* ]]; then",
        "                want=${cur%%=*}",
        "                compset -P '*='",
        "        fi",
        "        if [[ -n $want ]]; then",
        "                _ephemdir_values $want",
        "        elif [[ -z $ddash && $cur == -* ]]; then",
        "                _describe -t options 'option' opts",
        "        elif [[ $pos == command ]]; then",
        "                _describe -t commands 'ephemdir command' cmds",
        "        elif [[ $pos == targets || ( $pos == target && $npos -eq 0 ) ]]; then",
        "                _ephemdir_targets",
        "        elif [[ $pos == choice:* && $npos -eq 0 ]]; then",
        "                compadd -- ${=pos#choice:}",
        "        else",
        "                return 1",
        "        fi",
        "}",
        "",
        "if [[ $funcstack[1] == _ephemdir ]]; then",
        "        # autoloaded from $fpath: complete now",
        "        _ephemdir \"$@\"",
        "elif (( $+functions[compdef] )); then",
        "        compdef _ephemdir ephemdir",
        "else",
        "        print -u2 'ephemdir completion: load compinit first (autoload -U compinit && compinit)'",
        "fi",
        NULL,
};

/* One _describe item, 'NAME:DESCRIPTION', quoted. */
static void print_zsh_item(const char *dashes, const char *name, char short_name, const char *desc) {
        char item[256];

        if (short_name)
                snprintf(item, sizeof item, "-%c:%s", short_name, desc);
        else
                snprintf(item, sizeof item, "%s%s:%s", dashes, name, desc);
        printf("                        ");
        print_squoted_posix(item);
        putchar('\n');
}

static void print_zsh(const struct command_info *infos, size_t n) {
        print_lines(zsh_head);
        printf("                sed -nE '%s'\n", names_sed);
        print_lines(zsh_helpers);
        for (size_t i = 0; i < n; i++) {
                const struct command_info *ci = &infos[i];
                printf("        %s)\n", i == 0 ? "''" : ci->name);
                if (i == 0) {
                        printf("                cmds=(\n");
                        for (size_t j = 1; j < n; j++)
                                print_zsh_item("", infos[j].name, 0, infos[j].summary);
                        printf("                )\n");
                }
                printf("                opts=(\n");
                for (size_t j = 0; j < ci->n_opts; j++) {
                        const struct opt_info *o = &ci->opts[j];
                        if (o->hidden)
                                continue;
                        if (o->short_name)
                                print_zsh_item("", "", o->short_name, o->desc);
                        if (o->long_name[0])
                                print_zsh_item("--", o->long_name, 0, o->desc);
                }
                printf("                )\n                argopts=(");
                print_option_words(ci, true);
                printf(")\n                pos='%s%s'\n                ;;\n", operand_word(ci),
                       ci->operand == OPERAND_CHOICE ? ci->choices : "");
        }
        puts("        *) return 1 ;;\n"
             "        esac\n"
             "}\n"
             "\n"
             "# _ephemdir_values OPTION: complete the value of OPTION.\n"
             "_ephemdir_values() {\n"
             "        case $1 in");
        for (size_t v = 0; v < sizeof option_values / sizeof *option_values; v++) {
                printf("        ");
                print_value_pattern(infos, n, v);
                if (option_values[v].values)
                        printf(") compadd -- %s ;;\n", option_values[v].values);
                else
                        printf(") _files -/ ;;\n");
        }
        puts("        *) return 1 ;;\n"
             "        esac\n"
             "}\n");
        print_lines(zsh_main);
}

static const char *const fish_head[] = {
        "# fish completion for ephemdir, printed by 'ephemdir completion fish'.",
        "# Load it with:  ephemdir completion fish | source",
        "# or install it as ~/.config/fish/completions/ephemdir.fish.",
        "# Tracked names come from 'ephemdir list --json' ($EPHEMDIR_BIN when set).",
        "",
        NULL,
};

static const char *const fish_helpers[] = {
        "",
        "function __ephemdir_targets --description 'Tracked names, or directories for a path'",
        "    if string match -q -- '*/*' (commandline -ct)",
        "        __fish_complete_directories (commandline -ct)",
        "    else",
        "        __ephemdir_names",
        "    end",
        "end",
        "",
        "# Print the ephemdir command on the command line (\"\" before it), how many",
        "# operands it has before the cursor, and 1 when the cursor is at an option's value.",
        "function __ephemdir_scan",
        "    set -l tokens (commandline -opc)",
        "    set -e tokens[1]",
        "    set -l cmd ''",
        "    set -l npos 0",
        "    set -l want 0",
        "    set -l ddash 0",
        "    set -l argopts (__ephemdir_argopts '')",
        "    for w in $tokens",
        "        if test $want = 1",
        "            set want 0",
        "        else if test $ddash = 0; and string match -q -- '-?*' $w",
        "            if test $w = --",
        "                set ddash 1",
        "            else if string match -q -- '--*' $w",
        "                contains -- $w $argopts; and set want 1",
        "            else",
        "                # -vl takes the next word as the value of -l; -l2h does not",
        "                set -l chars (string split '' -- (string sub -s 2 -- $w))",
        "                set -l i 0",
        "                for c in $chars",
        "                    set i (math $i + 1)",
        "                    if contains -- -$c $argopts",
        "                        test $i = (count $chars); and set want 1",
        "                        break",
        "                    end",
        "                end",
        "            end",
        "        else if test -z \"$cmd\"",
        "            set cmd $w",
        "            set ddash 0",
        "            set argopts (__ephemdir_argopts $cmd)",
        "        else",
        "            set npos (math $npos + 1)",
        "        end",
        "    end",
        "    printf '%s\\n' \"$cmd\" $npos $want",
        "end",
        "",
        "function __ephemdir_needs_command",
        "    set -l s (__ephemdir_scan)",
        "    test -z \"$s[1]\"; and test \"$s[3]\" = 0",
        "end",
        "",
        "# __ephemdir_using COMMAND",
        "function __ephemdir_using",
        "    set -l s (__ephemdir_scan)",
        "    test \"$s[1]\" = \"$argv[1]\"",
        "end",
        "",
        "# __ephemdir_operand COMMAND N|any: at operand N (from 0) of COMMAND",
        "function __ephemdir_operand",
        "    set -l s (__ephemdir_scan)",
        "    test \"$s[1]\" = \"$argv[1]\"; and test \"$s[3]\" = 0",
        "    and begin; test \"$argv[2]\" = any; or test \"$s[2]\" = \"$argv[2]\"; end",
        "end",
        "",
        "# __ephemdir_argopts COMMAND (\"\": the top level): the options taking a value",
        "function __ephemdir_argopts",
        "    switch $argv[1]",
        NULL,
};

/* complete -c ephemdir [-n '__ephemdir_using CMD'] -s X -l NAME [-x [-a VALUES]] -d DESC;
 * cmd "" is the top level (before the command), NULL anywhere. */
static void print_fish_option(const char *cmd, const struct opt_info *o) {
        printf("complete -c ephemdir");
        if (cmd && !*cmd)
                printf(" -n __ephemdir_needs_command");
        else if (cmd)
                printf(" -n '__ephemdir_using %s'", cmd);
        if (o->short_name)
                printf(" -s %c", o->short_name);
        if (o->long_name[0])
                printf(" -l %s", o->long_name);
        if (o->takes_value) {
                printf(" -x");
                for (size_t v = 0; v < sizeof option_values / sizeof *option_values; v++)
                        if (strcmp(o->long_name, option_values[v].long_name) == 0)
                                printf(" -a '%s'", option_values[v].values ? option_values[v].values
                                                                          : "(__fish_complete_directories)");
        }
        printf(" -d ");
        print_squoted_fish(o->desc);
        putchar('\n');
}

static void print_fish(const struct command_info *infos, size_t n) {
        print_lines(fish_head);
        print_lines(fish_run);
        puts("\nfunction __ephemdir_names --description 'Names of the directories ephemdir tracks'");
        printf("    __ephemdir_run list --json 2>/dev/null | sed -nE ");
        print_squoted_fish(names_sed);
        puts("\nend");
        print_lines(fish_helpers);
        for (size_t i = 0; i < n; i++) {
                printf("        case %s\n            printf '%%s\\n' ", i == 0 ? "''" : infos[i].name);
                print_option_words(&infos[i], true);
                putchar('\n');
        }
        puts("    end\n"
             "end\n"
             "\n"
             "complete -c ephemdir -e\n"
             "complete -c ephemdir -f");
        /* The common options, which every command has too; --version before the command. */
        for (size_t j = 0; j < sizeof common_options / sizeof *common_options; j++)
                if (!common_options[j].hidden)
                        print_fish_option(NULL, &common_options[j]);
        print_fish_option("", &version_option);
        for (size_t i = 1; i < n; i++) {
                printf("complete -c ephemdir -n __ephemdir_needs_command -a %s -d ", infos[i].name);
                print_squoted_fish(infos[i].summary);
                putchar('\n');
        }
        for (size_t i = 1; i < n; i++) {
                const struct command_info *ci = &infos[i];
                for (size_t j = 0; j < ci->n_own; j++)
                        print_fish_option(ci->name, &ci->opts[j]);
                switch (ci->operand) {
                case OPERAND_TARGET:
                case OPERAND_TARGETS:
                        printf("complete -c ephemdir -n '__ephemdir_operand %s %s' -a '(__ephemdir_targets)'\n",
                               ci->name, ci->operand == OPERAND_TARGET ? "0" : "any");
                        break;
                case OPERAND_CHOICE:
                        printf("complete -c ephemdir -n '__ephemdir_operand %s 0' -a '%s'\n", ci->name,
                               ci->choices);
                        break;
                case OPERAND_COMMAND:
                case OPERAND_NONE:
                        break;
                }
        }
}

int cmd_completion(struct cli *cli, int argc, char **argv) {
        enum shell sh;
        size_t n;
        int r = parse_shell(cli, argc, argv, true, &sh);
        if (r >= 0)
                return r;

        struct command_info *infos = collect(cli, &n);
        if (!infos)
                return EXIT_FAIL;
        switch (sh) {
        case SHELL_BASH:
                print_bash(infos, n);
                break;
        case SHELL_ZSH:
                print_zsh(infos, n);
                break;
        case SHELL_FISH:
                print_fish(infos, n);
                break;
        }
        free(infos);
        return EXIT_OK;
}
