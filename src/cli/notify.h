/* SPDX-License-Identifier: MIT */
/*
 * Service readiness and status for a supervising service manager, spoken
 * natively: the sd_notify datagram protocol is a documented stable
 * interface (one AF_UNIX datagram of newline-separated KEY=VALUE lines to
 * the socket named by $NOTIFY_SOCKET), so the CLI needs no libsystemd.
 */
#pragma once

/* Send state (e.g. "READY=1\nSTATUS=swept") to $NOTIFY_SOCKET.  Returns 1
 * when sent, 0 when no manager listens ($NOTIFY_SOCKET unset or empty),
 * -EAFNOSUPPORT for an address kind we do not speak (only "/path" and
 * "@abstract" are), or another negative errno when sending failed. */
int notify_send(const char *state);
