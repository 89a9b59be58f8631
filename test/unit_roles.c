/*
 * Role holders (lib/roles.c): pure functions over a membership view.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "roles.h"

#define A GOSSIP_ALIVE
#define S GOSSIP_SUSPECT
#define F GOSSIP_FAILED
#define L GOSSIP_LEFT

static struct gossip_role mkrole(const char *name, const uint64_t *ids, unsigned n, unsigned flags)
{
    struct gossip_role r;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "%s", name);
    for (unsigned i = 0; i < n; i++)
        r.nodes[i] = ids[i];
    r.n_nodes = n;
    r.flags = flags;
    return r;
}

/* Holders as a string "1,2,3" for readable assertions. */
static const char *holders(const struct gossip_role *r, const struct roles_member *m, size_t n)
{
    static char out[256];
    uint64_t ids[64];
    size_t k = roles_holders(r, m, n, ids, 64);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < k && i < 64; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%llu", i ? "," : "",
                                (unsigned long long)ids[i]);
    /* roles_held must agree with roles_holders for every member */
    for (size_t i = 0; i < n; i++) {
        bool in = false;
        for (size_t j = 0; j < k; j++)
            in |= ids[j] == m[i].id;
        assert_int_equal(roles_held(r, m, n, m[i].id), in);
    }
    return out;
}

static void test_name_valid(void **state)
{
    (void)state;
    assert_true(roles_name_valid("purge.stores"));
    assert_true(roles_name_valid("a"));
    assert_true(roles_name_valid("x-1_y.z9"));
    char longest[GOSSIP_ROLE_NAME_MAX];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    assert_true(roles_name_valid(longest));
    char too_long[GOSSIP_ROLE_NAME_MAX + 1];
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    assert_false(roles_name_valid(too_long));
    assert_false(roles_name_valid(""));
    assert_false(roles_name_valid(NULL));
    assert_false(roles_name_valid("1abc"));
    assert_false(roles_name_valid(".abc"));
    assert_false(roles_name_valid("Abc"));
    assert_false(roles_name_valid("a b"));
    assert_false(roles_name_valid("a/b"));
}

static void test_no_list(void **state)
{
    (void)state;
    struct gossip_role r = mkrole("purge.stores", NULL, 0, 0);
    struct roles_member m[] = {{5, A, false}, {1, S, false}, {3, F, false}, {2, L, false}, {4, A, false}};
    assert_string_equal(holders(&r, m, 5), "1,4,5");
    assert_string_equal(holders(&r, NULL, 0), "");
    assert_false(roles_held(&r, m, 5, 99)); /* not in the view */
}

static void test_list(void **state)
{
    (void)state;
    struct gossip_role r = mkrole("purge.stores", (const uint64_t[]){2, 4, 9}, 3, 0);
    struct roles_member m[] = {{1, A, false}, {2, A, false}, {3, A, false}, {4, A, false}};
    assert_string_equal(holders(&r, m, 4), "2,4");
    /* a suspected holder keeps the role */
    m[1].state = S;
    assert_string_equal(holders(&r, m, 4), "2,4");
    /* a failed or left one loses it, the other listed node keeps it */
    m[1].state = F;
    assert_string_equal(holders(&r, m, 4), "4");
    m[1].state = L;
    assert_string_equal(holders(&r, m, 4), "4");
}

static void test_failover(void **state)
{
    (void)state;
    struct gossip_role r = mkrole("acme.renew", (const uint64_t[]){5}, 1, 0);
    struct roles_member m[] = {{1, A, false}, {2, A, false}, {3, S, false}, {4, A, false}, {5, F, false}, {6, L, false}, {7, F, false}};
    const size_t n = sizeof m / sizeof m[0];
    uint64_t ids[8];
    assert_int_equal(roles_holders(&r, m, n, ids, 8), 1);
    uint64_t winner = ids[0];
    assert_true(winner >= 1 && winner <= 4); /* alive or suspect only */

    /* the same winner whatever the order of the view */
    struct roles_member p[sizeof m / sizeof m[0]];
    for (size_t rot = 0; rot < n; rot++) {
        for (size_t i = 0; i < n; i++)
            p[i] = m[(i + rot) % n];
        if (rot & 1)
            for (size_t i = 0; i < n / 2; i++) {
                struct roles_member t = p[i];
                p[i] = p[n - 1 - i];
                p[n - 1 - i] = t;
            }
        assert_int_equal(roles_holders(&r, p, n, ids, 8), 1);
        assert_true(ids[0] == winner);
        assert_true(roles_held(&r, p, n, winner));
    }

    /* the winner depends on the role name, so duties spread out */
    bool differs = false;
    for (int i = 0; i < 16 && !differs; i++) {
        char name[32];
        snprintf(name, sizeof name, "job%d", i);
        struct gossip_role o = mkrole(name, (const uint64_t[]){5}, 1, 0);
        assert_int_equal(roles_holders(&o, m, n, ids, 8), 1);
        differs = ids[0] != winner;
    }
    assert_true(differs);

    /* the failover holder losing liveness moves it to another live node */
    for (size_t i = 0; i < n; i++)
        if (m[i].id == winner)
            m[i].state = F;
    assert_int_equal(roles_holders(&r, m, n, ids, 8), 1);
    assert_true(ids[0] != winner);

    /* the listed node back alive takes the role back */
    m[4].state = A;
    assert_string_equal(holders(&r, m, n), "5");

    /* nobody live at all: nobody holds it */
    struct roles_member dead[] = {{1, F, false}, {5, L, false}};
    assert_string_equal(holders(&r, dead, 2), "");
}

static void test_no_failover(void **state)
{
    (void)state;
    struct gossip_role r = mkrole("metrics.push", (const uint64_t[]){4}, 1, GOSSIP_ROLE_NO_FAILOVER);
    struct roles_member m[] = {{1, A, false}, {2, A, false}, {4, F, false}};
    assert_string_equal(holders(&r, m, 3), "");
    m[2].state = S;
    assert_string_equal(holders(&r, m, 3), "4");
}

static void test_quorum(void **state)
{
    (void)state;
    struct gossip_role r = mkrole("purge.accounts", NULL, 0, GOSSIP_ROLE_QUORUM);
    /* minority side of a partition: 2 of 5 reachable -> gives up */
    struct roles_member m[] = {{1, A, false}, {2, A, false}, {3, F, false}, {4, F, false}, {5, F, false}};
    assert_string_equal(holders(&r, m, 5), "");
    /* majority side: 3 of 5 -> keeps */
    m[2].state = S;
    assert_string_equal(holders(&r, m, 5), "1,2,3");
    /* exactly half is not a majority */
    struct roles_member h[] = {{1, A, false}, {2, A, false}, {3, F, false}, {4, F, false}};
    assert_string_equal(holders(&r, h, 4), "");
    /* members that left are not counted: 2 alive + 3 left is a quorum */
    struct roles_member l[] = {{1, A, false}, {2, A, false}, {3, L, false}, {4, L, false}, {5, L, false}};
    assert_string_equal(holders(&r, l, 5), "1,2");

    /* with a list and failover */
    struct gossip_role q = mkrole("acme.renew", (const uint64_t[]){5}, 1, GOSSIP_ROLE_QUORUM);
    struct roles_member f[] = {{1, A, false}, {2, A, false}, {3, A, false}, {5, F, false}};
    uint64_t ids[4];
    assert_int_equal(roles_holders(&q, f, 4, ids, 4), 1);
    f[2].state = F; /* 2 of 4: minority */
    assert_int_equal(roles_holders(&q, f, 4, ids, 4), 0);
    assert_string_equal(holders(&q, NULL, 0), "");
}

/* A draining member holds nothing, listed or by failover, and its roles go
 * where they would go without it; it still counts for the quorum. */
static void test_draining(void **state)
{
    (void)state;
    const uint64_t list[] = {1};
    struct gossip_role r = mkrole("acme.renew", list, 1, 0);
    struct roles_member m[] = {{1, A, true}, {2, A, false}, {3, A, false}, {4, A, false}};
    struct roles_member without[] = {{2, A, false}, {3, A, false}, {4, A, false}};
    uint64_t ids[4], want[4];
    assert_int_equal(roles_holders(&r, m, 4, ids, 4), 1);
    assert_int_equal(roles_holders(&r, without, 3, want, 4), 1);
    assert_true(ids[0] == want[0]); /* the failover pick of a view without node 1 */
    assert_false(roles_held(&r, m, 4, 1));
    struct gossip_role all = mkrole("metrics.calculate", NULL, 0, 0);
    assert_int_equal(roles_holders(&all, m, 4, ids, 4), 3); /* everyone but the drainer */
    const uint64_t two[] = {1, 2};
    struct gossip_role q = mkrole("db.primary", two, 2, GOSSIP_ROLE_QUORUM);
    struct roles_member half[] = {{1, A, true}, {2, A, false}, {3, F, false}, {4, F, false}};
    /* two live of four, one of them draining: no majority, nobody */
    assert_int_equal(roles_holders(&q, half, 4, ids, 4), 0);
    half[2].state = A; /* three live of four, the drainer among them: node 2 holds */
    assert_int_equal(roles_holders(&q, half, 4, ids, 4), 1);
    assert_true(ids[0] == 2);
}

static void test_truncation(void **state)
{
    (void)state;
    struct gossip_role r = mkrole("all", NULL, 0, 0);
    struct roles_member m[40];
    for (unsigned i = 0; i < 40; i++) {
        m[i].id = (uint64_t)(i * 7919 % 40) + 100; /* scrambled order */
        m[i].state = A;
        m[i].draining = false;
    }
    uint64_t ids[5];
    assert_int_equal(roles_holders(&r, m, 40, ids, 5), 40);
    for (unsigned i = 0; i < 5; i++)
        assert_true(ids[i] == 100 + i); /* the smallest ids, ascending */
    assert_int_equal(roles_holders(&r, m, 40, NULL, 0), 40);
    uint64_t all[64];
    assert_int_equal(roles_holders(&r, m, 40, all, 64), 40);
    for (unsigned i = 0; i < 40; i++)
        assert_true(all[i] == 100 + i);
    assert_int_equal(roles_holders(NULL, m, 40, all, 64), 0);
    assert_false(roles_held(NULL, m, 40, 100));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_valid),  cmocka_unit_test(test_no_list),
        cmocka_unit_test(test_list),        cmocka_unit_test(test_failover),
        cmocka_unit_test(test_no_failover), cmocka_unit_test(test_quorum),
        cmocka_unit_test(test_draining),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
