/* SPDX-License-Identifier: MIT */
/*
 * Structured logging to the systemd journal, spoken natively: the journal's
 * native protocol is a documented stable interface (one AF_UNIX datagram of
 * FIELD=value lines to /run/systemd/journal/socket), so the CLI needs no
 * libsystemd, whose load alone would cost every command several ms.
 *
 * Entries go to the journal only when our stderr *is* the journal stream
 * the manager gave us ($JOURNAL_STREAM names its device and inode); a
 * redirected stderr keeps plain text even under systemd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

struct journal_field {
        const char *name;    /* upper case, digits and '_'; not starting with '_' */
        const char *value;   /* any bytes but NUL; NULL: field left out */
};

/* Is stderr connected to the journal stream named by $JOURNAL_STREAM?
 * Decided once per process. */
bool journal_stderr_is_journal(void);

/* Send one entry: MESSAGE, PRIORITY (syslog level), SYSLOG_IDENTIFIER and
 * the given fields.  0 when sent, else a negative errno (callers then print
 * their plain text instead, so nothing is lost). */
int journal_send(int priority, const char *message, const struct journal_field *fields,
                 size_t n_fields);

/* Report one sweep event when stderr is the journal: an entry with
 * EPHEMDIR_PATH, EPHEMDIR_NAME, EPHEMDIR_ACTION (= action), EPHEMDIR_REASON
 * and, when present, EPHEMDIR_DETAIL and ERRNO; its priority follows the
 * event, and cli's verbosity filters it as it filters the plain text.
 * Returns true when the event is taken care of (sent, or filtered out);
 * false when the caller should print its usual plain text. */
bool journal_log_event(const struct cli *cli, const struct ephemdir_event *ev, const char *action);
