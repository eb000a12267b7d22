/* SPDX-License-Identifier: MIT */
/*
 * Policy guarantees, as a table: an entry is due by lifetime at exactly its
 * expiry (not a second before), by restart only when the boot id differs and
 * remove_on_restart is set (never by the clock), as next-sweep only in an
 * explicit sweep, and by force whenever active; legacy and non-active
 * entries are never due.  Reason words name the most significant reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "testutil.h"
#include "util.h"

#define NOW INT64_C(1700000000)
#define MARKER "0123456789abcdef0123456789abcdef"
#define BOOT "boot-1"
#define OTHER_BOOT "boot-2"

struct row {
        const char *what;
        /* entry */
        int64_t expires_at;
        bool remove_on_restart;
        const char *entry_boot;
        enum ephemdir_cleanup cleanup;
        enum entry_state state;
        bool legacy;          /* marker_id NULL */
        /* environment */
        int64_t now;
        const char *boot;
        enum policy_mode mode;
        /* expected */
        unsigned due;
        const char *word;
};

#define A EPHEMDIR_CLEANUP_AUTO
#define NS EPHEMDIR_CLEANUP_NEXT_SWEEP
#define ACT ENTRY_ACTIVE
#define DEL ENTRY_DELETING
#define REC ENTRY_RECOVERY
#define LAZY POLICY_LAZY
#define EXPL POLICY_EXPLICIT
#define FORCE POLICY_FORCE

/* lifetime: due at exactly expires_at (<= now) */
static const struct row lifetime_rows[] = {
        { "expires exactly now", NOW, false, BOOT, A, ACT, false, NOW, BOOT, EXPL, DUE_EXPIRED, "expired" },
        { "a second before expiry", NOW, false, BOOT, A, ACT, false, NOW - 1, BOOT, EXPL, 0, NULL },
        { "a second after expiry", NOW, false, BOOT, A, ACT, false, NOW + 1, BOOT, EXPL, DUE_EXPIRED, "expired" },
        { "long expired", NOW - 86400, false, BOOT, A, ACT, false, NOW, BOOT, EXPL, DUE_EXPIRED, "expired" },
        { "expired, lazy sweep too", NOW, false, BOOT, A, ACT, false, NOW, BOOT, LAZY, DUE_EXPIRED, "expired" },
        { "no lifetime, far future", 0, false, BOOT, A, ACT, false, INT64_MAX / 2, BOOT, EXPL, 0, NULL },
        { "no lifetime, clock before epoch", 0, false, BOOT, A, ACT, false, -1, BOOT, EXPL, 0, NULL },
};

/* restart: boot id differs and remove_on_restart; never the clock */
static const struct row restart_rows[] = {
        { "restarted", 0, true, BOOT, A, ACT, false, NOW, OTHER_BOOT, EXPL, DUE_RESTARTED, "restarted" },
        { "restarted, lazy", 0, true, BOOT, A, ACT, false, NOW, OTHER_BOOT, LAZY, DUE_RESTARTED, "restarted" },
        { "restarted, not remove_on_restart", 0, false, BOOT, A, ACT, false, NOW, OTHER_BOOT, EXPL, 0, NULL },
        { "restarted, boot id unknown", 0, true, BOOT, A, ACT, false, NOW, NULL, EXPL, 0, NULL },
        { "boot ids differ only in case", 0, true, "abc", A, ACT, false, NOW, "ABC", EXPL, DUE_RESTARTED, "restarted" },
        /* same boot id: the clock never means a restart */
        { "same boot, clock far ahead", 0, true, BOOT, A, ACT, false, INT64_MAX / 2, BOOT, EXPL, 0, NULL },
        { "same boot, clock far back", 0, true, BOOT, A, ACT, false, -INT64_C(1000000000), BOOT, EXPL, 0, NULL },
        { "same boot, clock at zero", 0, true, BOOT, A, ACT, false, 0, BOOT, EXPL, 0, NULL },
        { "same boot, lifetime ahead", NOW + 60, true, BOOT, A, ACT, false, NOW, BOOT, EXPL, 0, NULL },
        { "expired and restarted", NOW - 1, true, BOOT, A, ACT, false, NOW, OTHER_BOOT, EXPL,
          DUE_EXPIRED | DUE_RESTARTED, "expired" },
};

/* next-sweep: explicit (and forced) sweeps only */
static const struct row next_sweep_rows[] = {
        { "next-sweep, explicit", 0, false, BOOT, NS, ACT, false, NOW, BOOT, EXPL, DUE_NEXT_SWEEP, "next-sweep" },
        { "next-sweep, lazy", 0, false, BOOT, NS, ACT, false, NOW, BOOT, LAZY, 0, NULL },
        { "next-sweep, lazy, far future", 0, false, BOOT, NS, ACT, false, INT64_MAX / 2, OTHER_BOOT, LAZY, 0, NULL },
        { "next-sweep, forced", 0, false, BOOT, NS, ACT, false, NOW, BOOT, FORCE, DUE_NEXT_SWEEP | DUE_FORCED,
          "next-sweep" },
};

/* force: every active entry */
static const struct row force_rows[] = {
        { "forced, otherwise not due", NOW + 3600, true, BOOT, A, ACT, false, NOW, BOOT, FORCE, DUE_FORCED, "forced" },
        { "forced, no policy at all", 0, false, BOOT, A, ACT, false, NOW, BOOT, FORCE, DUE_FORCED, "forced" },
        { "forced and expired", NOW, false, BOOT, A, ACT, false, NOW, BOOT, FORCE, DUE_FORCED | DUE_EXPIRED,
          "expired" },
        { "forced and restarted", 0, true, BOOT, A, ACT, false, NOW, OTHER_BOOT, FORCE,
          DUE_FORCED | DUE_RESTARTED, "restarted" },
};

/* legacy (no marker): never, not even forced */
static const struct row legacy_rows[] = {
        { "legacy, expired", NOW - 1, false, BOOT, A, ACT, true, NOW, BOOT, EXPL, 0, NULL },
        { "legacy, restarted", 0, true, BOOT, A, ACT, true, NOW, OTHER_BOOT, EXPL, 0, NULL },
        { "legacy, next-sweep", 0, false, BOOT, NS, ACT, true, NOW, BOOT, EXPL, 0, NULL },
        { "legacy, forced", NOW - 1, true, BOOT, NS, ACT, true, NOW, OTHER_BOOT, FORCE, 0, NULL },
        { "legacy, forced, nothing else", 0, false, BOOT, A, ACT, true, NOW, BOOT, FORCE, 0, NULL },
};

/* not ACTIVE: never, whatever else holds */
static const struct row inactive_rows[] = {
        { "deleting, expired", NOW - 1, false, BOOT, A, DEL, false, NOW, BOOT, EXPL, 0, NULL },
        { "deleting, forced", NOW - 1, true, BOOT, NS, DEL, false, NOW, OTHER_BOOT, FORCE, 0, NULL },
        { "recovery, expired", NOW - 1, false, BOOT, A, REC, false, NOW, BOOT, EXPL, 0, NULL },
        { "recovery, forced", NOW - 1, true, BOOT, NS, REC, false, NOW, OTHER_BOOT, FORCE, 0, NULL },
};

static void make_entry(const struct row *r, struct entry *e) {
        *e = (struct entry) {
                .id = 1,
                .path = (char *) "/srv/scratch/x",
                .name = (char *) "x",
                .parent = (char *) "/srv/scratch",
                .marker_id = r->legacy ? NULL : (char *) MARKER,
                .created_at = NOW - 100,
                .expires_at = r->expires_at,
                .boot_id = (char *) r->entry_boot,
                .remove_on_restart = r->remove_on_restart,
                .cleanup = r->cleanup,
                .max_size = EPHEMDIR_NO_SIZE_LIMIT,
                .name_style = EPHEMDIR_NAME_SECURE,
                .origin = (char *) "api",
                .state = r->state,
                .claim_id = r->state == ACT ? NULL : (char *) "claim",
                .staging_path = r->state == ACT ? NULL : (char *) "/srv/scratch/.x.ephemdir-deleting-claim",
                .version = 1,
        };
}

static const char *mode_word(enum policy_mode m) {
        return m == LAZY ? "lazy" : m == EXPL ? "explicit" : "force";
}

static void check_rows(const struct row *rows, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const struct row *r = &rows[i];
                struct entry e;
                struct policy_env env = { .now = r->now, .boot_id = r->boot, .mode = r->mode };

                make_entry(r, &e);
                unsigned got = policy_due(&e, &env);
                if (got != r->due)
                        fail_msg("%s (%s): due mask 0x%x, expected 0x%x", r->what, mode_word(r->mode), got,
                                 r->due);
                const char *w = policy_reason_word(got);
                if (!streq_ptr(w, r->word))
                        fail_msg("%s: reason word \"%s\", expected \"%s\"", r->what, w ? w : "(null)",
                                 r->word ? r->word : "(null)");
        }
}

#define CHECK(rows) check_rows(rows, ELEMENTSOF(rows))

static void test_lifetime_is_due_at_exactly_expires_at_not_a_second_before(void **state) {
        (void) state;
        CHECK(lifetime_rows);
}

static void test_restart_is_due_only_with_another_boot_id_and_remove_on_restart(void **state) {
        (void) state;
        CHECK(restart_rows);
}

static void test_next_sweep_is_due_in_explicit_sweeps_never_in_lazy(void **state) {
        (void) state;
        CHECK(next_sweep_rows);
}

static void test_force_makes_every_active_entry_due(void **state) {
        (void) state;
        CHECK(force_rows);
}

static void test_legacy_entries_are_never_due_even_forced(void **state) {
        (void) state;
        CHECK(legacy_rows);
}

static void test_non_active_entries_are_never_due(void **state) {
        (void) state;
        CHECK(inactive_rows);
}

static void test_expiry_boundary_is_inclusive(void **state) {
        (void) state;
        /* Walk the clock across expires_at: due from exactly that second on. */
        struct row r = { "walk", NOW, false, BOOT, A, ACT, false, 0, BOOT, EXPL, 0, NULL };
        struct entry e;

        make_entry(&r, &e);
        for (int64_t t = NOW - 3; t <= NOW + 3; t++) {
                struct policy_env env = { .now = t, .boot_id = BOOT, .mode = EXPL };
                unsigned due = policy_due(&e, &env);
                if ((t >= NOW) != (due == DUE_EXPIRED))
                        fail_msg("at expires_at%+lld: due mask 0x%x", (long long) (t - NOW), due);
                /* remaining <= 0 exactly when due */
                assert_int_equal(policy_remaining(&e, t), NOW - t);
        }
}

static void test_same_boot_is_never_a_restart_whatever_the_clock(void **state) {
        static const int64_t clocks[] = { INT64_MIN / 2, -1, 0, 1, NOW - 31536000, NOW, NOW + 31536000,
                                          INT64_MAX / 2 };
        (void) state;

        for (size_t m = 0; m < 3; m++)
                for (size_t i = 0; i < ELEMENTSOF(clocks); i++) {
                        struct row r = { "clock", 0, true, BOOT, A, ACT, false, 0, BOOT,
                                         (enum policy_mode) m, 0, NULL };
                        struct entry e;
                        struct policy_env env = { .now = clocks[i], .boot_id = BOOT, .mode = (enum policy_mode) m };

                        make_entry(&r, &e);
                        unsigned due = policy_due(&e, &env);
                        if (due & DUE_RESTARTED)
                                fail_msg("clock %lld (%s) counted as a restart", (long long) clocks[i],
                                         mode_word(env.mode));
                        /* A boot id string that merely shares a prefix is another boot. */
                        env.boot_id = BOOT "0";
                        assert_true(policy_due(&e, &env) & DUE_RESTARTED);
                }
}

static void test_reason_word_names_the_most_significant_reason(void **state) {
        (void) state;
        assert_null(policy_reason_word(0));
        assert_string_equal(policy_reason_word(DUE_EXPIRED), "expired");
        assert_string_equal(policy_reason_word(DUE_RESTARTED), "restarted");
        assert_string_equal(policy_reason_word(DUE_NEXT_SWEEP), "next-sweep");
        assert_string_equal(policy_reason_word(DUE_FORCED), "forced");
        /* Most significant first: expired > restarted > next-sweep > forced. */
        assert_string_equal(policy_reason_word(DUE_EXPIRED | DUE_RESTARTED | DUE_NEXT_SWEEP | DUE_FORCED),
                            "expired");
        assert_string_equal(policy_reason_word(DUE_RESTARTED | DUE_NEXT_SWEEP | DUE_FORCED), "restarted");
        assert_string_equal(policy_reason_word(DUE_NEXT_SWEEP | DUE_FORCED), "next-sweep");
        /* Words are kebab-case ids. */
        unsigned all[] = { DUE_EXPIRED, DUE_RESTARTED, DUE_NEXT_SWEEP, DUE_FORCED };
        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                assert_int_equal(strspn(policy_reason_word(all[i]), "abcdefghijklmnopqrstuvwxyz-"),
                                 strlen(policy_reason_word(all[i])));
}

static void test_remaining_is_zero_without_lifetime_and_signed_with_one(void **state) {
        struct row r = { "none", 0, true, BOOT, A, ACT, false, 0, BOOT, EXPL, 0, NULL };
        struct entry e;

        (void) state;
        make_entry(&r, &e);
        assert_int_equal(policy_remaining(&e, NOW), 0);
        assert_int_equal(policy_remaining(&e, INT64_MAX / 2), 0);
        e.expires_at = NOW + 900;
        assert_int_equal(policy_remaining(&e, NOW), 900);
        assert_int_equal(policy_remaining(&e, NOW + 1000), -100);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lifetime_is_due_at_exactly_expires_at_not_a_second_before),
                cmocka_unit_test(test_restart_is_due_only_with_another_boot_id_and_remove_on_restart),
                cmocka_unit_test(test_next_sweep_is_due_in_explicit_sweeps_never_in_lazy),
                cmocka_unit_test(test_force_makes_every_active_entry_due),
                cmocka_unit_test(test_legacy_entries_are_never_due_even_forced),
                cmocka_unit_test(test_non_active_entries_are_never_due),
                cmocka_unit_test(test_expiry_boundary_is_inclusive),
                cmocka_unit_test(test_same_boot_is_never_a_restart_whatever_the_clock),
                cmocka_unit_test(test_reason_word_names_the_most_significant_reason),
                cmocka_unit_test(test_remaining_is_zero_without_lifetime_and_signed_with_one),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
