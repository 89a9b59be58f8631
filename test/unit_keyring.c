/*
 * Run-time keyring (lib/keyring.c): gossip_key_install(), gossip_key_use(),
 * gossip_key_remove(), gossip_key_list(), gossip_key_id().  Real handles
 * wired together by their hooks (the harness of test/hc.c): the documented
 * rotation procedure on a live 3-node cluster with no suspicion or failure
 * at any point, datagrams sealed with a removed key dropped and logged with
 * the key id, a node that missed a rotation logging the key id it cannot
 * open and seeing the others fail, and every error code.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gossip.h"
#include "hc.h"

/* ---- keyring tests ---------------------------------------------------------- */

/* K1 = KEY_A (every hc_config() node starts with it), K2 = KEY_B. */
#define K1 KEY_A
#define K2 KEY_B

/* Two different keys with the same key id (found by a birthday search over
 * "libgossip-collide-%u", zero padded). */
static const uint8_t COLLIDE_A[GOSSIP_KEY_LEN] = "libgossip-collide-71861";
static const uint8_t COLLIDE_B[GOSSIP_KEY_LEN] = "libgossip-collide-159257";

/* A started, converged cluster of nodes 0..n-1. */
static struct hc *cluster(unsigned n)
{
    struct hc *hc = hc_cluster(n);
    hc_start_all(hc, n);
    return hc;
}

static void hex_id(char out[9], uint32_t id)
{
    snprintf(out, 9, "%08x", id);
}

/* No node of the first n has seen a suspicion or failure, or dropped a
 * datagram for its key or authentication. */
static void assert_no_false_failure(const struct hc *hc, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct hc_node *nd = &hc->node[i];
        assert_int_equal(hc_count_ev(nd, 0, GOSSIP_EVENT_SUSPECT), 0);
        assert_int_equal(hc_count_ev(nd, 0, GOSSIP_EVENT_FAILED), 0);
        assert_int_equal(hc_count_ev(nd, 0, GOSSIP_EVENT_LEFT), 0);
        struct gossip_stats st;
        assert_int_equal(gossip_stats_get(nd->g, &st), 0);
        assert_int_equal(st.drop_key, 0);
        assert_int_equal(st.drop_auth, 0);
        assert_int_equal(st.suspicions, 0);
        assert_int_equal(st.failures, 0);
    }
    assert_true(hc_converged(hc));
}

static void assert_keys(gossip_t *g, const uint32_t *want, int n)
{
    uint32_t ids[GOSSIP_MAX_KEYS + 1];
    memset(ids, 0xee, sizeof ids);
    assert_int_equal(gossip_key_list(g, ids, GOSSIP_MAX_KEYS + 1), n);
    for (int i = 0; i < n; i++)
        assert_int_equal(ids[i], want[i]);
    assert_int_equal(ids[n], 0xeeeeeeeeu);
}

/* The documented procedure, one node at a time with traffic in between:
 * install K2 everywhere, seal with K2 everywhere, remove K1 everywhere.
 * Checked after every single step. */
static void rotate(struct hc *hc, unsigned n, uint64_t settle_ms)
{
    const uint32_t k1 = gossip_key_id(K1), k2 = gossip_key_id(K2);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(gossip_key_install(hc->node[i].g, K2), 0);
        assert_keys(hc->node[i].g, (const uint32_t[]){k1, k2}, 2);
        hc_run(hc, settle_ms);
        assert_no_false_failure(hc, n);
    }
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(gossip_key_use(hc->node[i].g, k2), 0);
        assert_keys(hc->node[i].g, (const uint32_t[]){k2, k1}, 2);
        hc_run(hc, settle_ms);
        assert_no_false_failure(hc, n);
    }
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(gossip_key_remove(hc->node[i].g, k1), 0);
        assert_keys(hc->node[i].g, (const uint32_t[]){k2}, 1);
        hc_run(hc, settle_ms);
        assert_no_false_failure(hc, n);
    }
}

static void test_rotation_live_cluster(void **state)
{
    (void)state;
    struct hc *hc = cluster(3);
    const uint32_t k1 = gossip_key_id(K1), k2 = gossip_key_id(K2);
    assert_true(k1 != k2);
    hc_run(hc, 5000);
    assert_no_false_failure(hc, 3);

    unsigned log0[3];
    for (unsigned i = 0; i < 3; i++)
        log0[i] = hc->node[i].n_log;
    /* settle 3 heartbeats per step: probes, acks and gossip flow under
     * every intermediate keyring */
    rotate(hc, 3, 3000);
    hc_run(hc, 30000); /* and long after: no late failure, no drop */
    assert_no_false_failure(hc, 3);

    /* every change was logged with the key id in hex */
    char h1[9], h2[9];
    hex_id(h1, k1);
    hex_id(h2, k2);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(hc_count_log(&hc->node[i], log0[i], "installed key id"), 1);
        assert_true(hc_count_log(&hc->node[i], log0[i], h2) >= 2);
        assert_int_equal(hc_count_log(&hc->node[i], log0[i], "removed key id"), 1);
        /* named as the sealing key on install, switched away from, removed */
        assert_int_equal(hc_count_log(&hc->node[i], log0[i], h1), 3);
        /* nothing was dropped, so no key-id error either */
        assert_int_equal(hc_count_log(&hc->node[i], log0[i], "not in this node's keyring"), 0);
        /* and the cluster keeps working: a broadcast still reaches all */
    }
    assert_int_equal(gossip_broadcast(hc->node[1].g, "after", 5), 0);
    hc_run(hc, 3000);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(hc->node[i].n_user, 1);
        assert_int_equal(hc->node[i].user_len[0], 5);
    }

    /* A second rotation back to K1 through the same calls works too. */
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(gossip_key_install(hc->node[i].g, K1), 0);
        hc_run(hc, 2000);
    }
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(gossip_key_use(hc->node[i].g, k1), 0);
        hc_run(hc, 2000);
    }
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(gossip_key_remove(hc->node[i].g, k2), 0);
        assert_keys(hc->node[i].g, (const uint32_t[]){k1}, 1);
        hc_run(hc, 2000);
    }
    hc_run(hc, 20000);
    assert_no_false_failure(hc, 3);
    hc_free(hc);
}

/* After the rotation, a node that seals with the removed key again (rolled
 * back by mistake): the others drop its datagrams as drop_key and log the
 * 8-hex-digit id of the key they cannot open. */
static void test_removed_key_dropped(void **state)
{
    (void)state;
    struct hc *hc = cluster(3);
    const uint32_t k1 = gossip_key_id(K1);
    rotate(hc, 3, 2000);
    hc_run(hc, 5000);
    assert_no_false_failure(hc, 3);

    unsigned log0 = hc->node[0].n_log, log2 = hc->node[2].n_log;
    assert_int_equal(gossip_key_install(hc->node[1].g, K1), 0);
    assert_int_equal(gossip_key_use(hc->node[1].g, k1), 0);
    hc_run(hc, 3000);

    char h1[9];
    hex_id(h1, k1);
    struct gossip_stats st0, st2;
    assert_int_equal(gossip_stats_get(hc->node[0].g, &st0), 0);
    assert_int_equal(gossip_stats_get(hc->node[2].g, &st2), 0);
    assert_true(st0.drop_key > 0);
    assert_true(st2.drop_key > 0);
    assert_int_equal(st0.drop_auth, 0); /* the id says why: never a trial decryption */
    for (unsigned k = 0; k < 2; k++) {
        const struct hc_node *nd = &hc->node[k ? 2 : 0];
        unsigned from = k ? log2 : log0, found = 0;
        for (unsigned i = from; i < nd->n_log && i < HC_LOG_MAX; i++)
            if (strstr(nd->log[i], "not in this node's keyring") && strstr(nd->log[i], h1))
                found++;
        assert_int_equal(found, 1); /* rate-limited: one line per 10 s */
    }
    hc_free(hc);
}

/* Node 2 never gets K2.  The others rotate; node 2 cannot open what they
 * seal from then on and says so, naming K2's id; once K1 is gone from the
 * others they drop node 2's datagrams, naming K1's id.  Each side sees the
 * other fail: node 2 is cut off loudly, not silently in its own cluster. */
static void test_missed_rotation(void **state)
{
    (void)state;
    struct hc *hc = cluster(3);
    const uint32_t k1 = gossip_key_id(K1), k2 = gossip_key_id(K2);
    unsigned log2 = hc->node[2].n_log, log0 = hc->node[0].n_log;
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(gossip_key_install(hc->node[i].g, K2), 0);
        hc_run(hc, 2000);
    }
    /* K2 installed on two nodes, sealing still with K1: nobody notices */
    assert_no_false_failure(hc, 3);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(gossip_key_use(hc->node[i].g, k2), 0);
        hc_run(hc, 2000);
    }
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(gossip_key_remove(hc->node[i].g, k1), 0);
        hc_run(hc, 2000);
    }
    hc_run(hc, 60000);

    char h1[9], h2[9];
    hex_id(h1, k1);
    hex_id(h2, k2);
    unsigned n2 = 0, n0 = 0;
    for (unsigned i = log2; i < hc->node[2].n_log && i < HC_LOG_MAX; i++)
        if (strstr(hc->node[2].log[i], "not in this node's keyring") && strstr(hc->node[2].log[i], h2))
            n2++;
    for (unsigned i = log0; i < hc->node[0].n_log && i < HC_LOG_MAX; i++)
        if (strstr(hc->node[0].log[i], "not in this node's keyring") && strstr(hc->node[0].log[i], h1))
            n0++;
    assert_true(n2 >= 1);
    assert_true(n0 >= 1);
    struct gossip_stats st;
    assert_int_equal(gossip_stats_get(hc->node[2].g, &st), 0);
    assert_true(st.drop_key > 0);

    /* node 2 sees both others fail; they see node 2 fail, and each other alive */
    assert_true(hc_sees(hc, 2, ID0, GOSSIP_FAILED));
    assert_true(hc_sees(hc, 2, ID1, GOSSIP_FAILED));
    assert_int_equal(hc_count_ev(&hc->node[2], ID0, GOSSIP_EVENT_FAILED), 1);
    assert_int_equal(hc_count_ev(&hc->node[2], ID1, GOSSIP_EVENT_FAILED), 1);
    for (unsigned i = 0; i < 2; i++) {
        assert_true(hc_sees(hc, i, ID2, GOSSIP_FAILED));
        assert_true(hc_sees(hc, i, IDS[1 - i], GOSSIP_ALIVE));
        /* While the others still open K1, node 2's accusations against
         * them (it hears nothing from them) can reach the other one as a
         * brief suspicion, refuted at once; never a failure. */
        assert_int_equal(hc_count_ev(&hc->node[i], IDS[1 - i], GOSSIP_EVENT_FAILED), 0);
    }
    assert_int_equal(gossip_member_count(hc->node[2].g, 1u << GOSSIP_ALIVE), 1);

    /* Installing the missing key heals it: node 2 hears the others again
     * and is back, seen alive by both (it still seals with K1, which they
     * no longer open, so it must switch too). */
    assert_int_equal(gossip_key_install(hc->node[2].g, K2), 0);
    assert_int_equal(gossip_key_use(hc->node[2].g, k2), 0);
    assert_int_equal(gossip_key_remove(hc->node[2].g, k1), 0);
    hc_converge(hc, 60000);
    hc_free(hc);
}

/* Every argument check and error code, the ordering rules, the log lines,
 * and the relation to the config (gossip_config_format() ids and
 * gossip_reconfigure()). */
static void test_errors_and_order(void **state)
{
    (void)state;
    struct hc *hc = hc_new();
    hc_config(hc, 0, ID0);
    hc_start(hc, 0);
    gossip_t *g = hc->node[0].g;
    struct hc_node *nd = &hc->node[0];
    const uint32_t k1 = gossip_key_id(K1), k2 = gossip_key_id(K2);

    /* gossip_key_id: the id gossip_config_format() shows */
    assert_int_equal(gossip_key_id(NULL), 0);
    assert_int_equal(gossip_key_id(K1), k1);
    {
        char buf[4096], want[32];
        assert_true(gossip_config_format(&nd->cfg, buf, sizeof buf) > 0);
        snprintf(want, sizeof want, "0x%08x", k1);
        assert_non_null(strstr(buf, want));
    }

    /* NULL arguments */
    uint32_t ids[GOSSIP_MAX_KEYS];
    assert_int_equal(gossip_key_install(NULL, K2), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_install(g, NULL), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_use(NULL, k1), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_remove(NULL, k1), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_list(NULL, ids, 8), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_list(g, NULL, 1), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_list(g, NULL, 0), 1); /* count only */
    assert_keys(g, (const uint32_t[]){k1}, 1);

    /* not installed */
    unsigned l = nd->n_log;
    assert_int_equal(gossip_key_use(g, k2), GOSSIP_ENOTFOUND);
    assert_int_equal(gossip_key_remove(g, k2), GOSSIP_ENOTFOUND);
    char h1[9], h2[9];
    hex_id(h1, k1);
    hex_id(h2, k2);
    assert_int_equal(hc_count_log(nd, l, h2), 2);
    /* the only key seals: cannot go */
    assert_int_equal(gossip_key_remove(g, k1), GOSSIP_ESTATE);
    assert_int_equal(hc_count_log(nd, l, "switch to another key first"), 1);
    assert_keys(g, (const uint32_t[]){k1}, 1);
    /* using the primary again, installing an installed key: no-ops, not logged */
    l = nd->n_log;
    assert_int_equal(gossip_key_use(g, k1), 0);
    assert_int_equal(gossip_key_install(g, K1), 0);
    assert_int_equal(nd->n_log, l);
    assert_keys(g, (const uint32_t[]){k1}, 1);

    /* install appends as an opening key; logged at INFO with the id */
    assert_int_equal(gossip_key_install(g, K2), 0);
    assert_int_equal(hc_count_log(nd, l, "installed key id"), 1);
    assert_int_equal(hc_count_log(nd, l, h2), 1);
    assert_keys(g, (const uint32_t[]){k1, k2}, 2);
    assert_int_equal(gossip_key_install(g, K2), 0);
    assert_keys(g, (const uint32_t[]){k1, k2}, 2);

    /* a different key with an id already installed is refused */
    assert_true(gossip_key_id(COLLIDE_A) == gossip_key_id(COLLIDE_B));
    assert_memory_not_equal(COLLIDE_A, COLLIDE_B, GOSSIP_KEY_LEN);
    const uint32_t kc = gossip_key_id(COLLIDE_A);
    assert_int_equal(gossip_key_install(g, COLLIDE_A), 0);
    assert_int_equal(gossip_key_install(g, COLLIDE_B), GOSSIP_EINVAL);
    assert_keys(g, (const uint32_t[]){k1, k2, kc}, 3);

    /* fill up: 8 keys, then GOSSIP_EFULL; an installed key still a no-op */
    uint32_t all[GOSSIP_MAX_KEYS] = {k1, k2, kc};
    for (unsigned i = 3; i < GOSSIP_MAX_KEYS; i++) {
        uint8_t k[GOSSIP_KEY_LEN] = {0};
        snprintf((char *)k, sizeof k, "keyring-test-fill-%u", i);
        assert_int_equal(gossip_key_install(g, k), 0);
        all[i] = gossip_key_id(k);
    }
    assert_keys(g, all, GOSSIP_MAX_KEYS);
    {
        uint8_t k[GOSSIP_KEY_LEN] = "keyring-test-one-too-many";
        l = nd->n_log;
        assert_int_equal(gossip_key_install(g, k), GOSSIP_EFULL);
        assert_int_equal(hc_count_log(nd, l, "full"), 1);
        assert_int_equal(gossip_key_install(g, K2), 0);
        assert_keys(g, all, GOSSIP_MAX_KEYS);
    }
    /* a short list: the count of all, only max written */
    memset(ids, 0xee, sizeof ids);
    assert_int_equal(gossip_key_list(g, ids, 2), GOSSIP_MAX_KEYS);
    assert_int_equal(ids[0], k1);
    assert_int_equal(ids[1], k2);
    assert_int_equal(ids[2], 0xeeeeeeeeu);

    /* use: the chosen key first, the others in their order */
    assert_int_equal(gossip_key_use(g, kc), 0);
    assert_keys(g, (const uint32_t[]){kc, k1, k2, all[3], all[4], all[5], all[6], all[7]}, 8);
    assert_int_equal(gossip_key_use(g, all[7]), 0);
    assert_keys(g, (const uint32_t[]){all[7], kc, k1, k2, all[3], all[4], all[5], all[6]}, 8);
    /* remove: the others keep their order; the primary refused */
    assert_int_equal(gossip_key_remove(g, all[7]), GOSSIP_ESTATE);
    assert_int_equal(gossip_key_remove(g, k1), 0);
    assert_int_equal(gossip_key_remove(g, k1), GOSSIP_ENOTFOUND);
    assert_int_equal(gossip_key_remove(g, all[6]), 0);
    assert_keys(g, (const uint32_t[]){all[7], kc, k2, all[3], all[4], all[5]}, 6);
    /* a removed key can be installed again */
    assert_int_equal(gossip_key_install(g, K1), 0);
    assert_keys(g, (const uint32_t[]){all[7], kc, k2, all[3], all[4], all[5], k1}, 7);

    /* the node still works through all that */
    assert_int_equal(gossip_tick(g), 0);

    /* gossip_reconfigure() replaces the keyring with its config's */
    assert_int_equal(gossip_reconfigure(g, &nd->cfg), 0);
    assert_keys(g, (const uint32_t[]){k1}, 1);
    hc_free(hc);
}

/* A two-node cluster whose keyring is changed by gossip_reconfigure() and by
 * the key calls in turn: the two paths agree (install by call, switch by
 * reconfigure with [K2, K1], remove by call). */
static void test_mixed_with_reconfigure(void **state)
{
    (void)state;
    struct hc *hc = cluster(2);
    const uint32_t k1 = gossip_key_id(K1), k2 = gossip_key_id(K2);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(gossip_key_install(hc->node[i].g, K2), 0);
        hc_run(hc, 2000);
    }
    for (unsigned i = 0; i < 2; i++) {
        struct gossip_config c = hc->node[i].cfg;
        c.n_keys = 0;
        assert_int_equal(gossip_config_add_raw_key(&c, K2), 0);
        assert_int_equal(gossip_config_add_raw_key(&c, K1), 0);
        assert_int_equal(gossip_reconfigure(hc->node[i].g, &c), 0);
        assert_keys(hc->node[i].g, (const uint32_t[]){k2, k1}, 2);
        hc_run(hc, 2000);
    }
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(gossip_key_remove(hc->node[i].g, k1), 0);
        hc_run(hc, 2000);
    }
    hc_run(hc, 20000);
    assert_no_false_failure(hc, 2);
    hc_free(hc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_errors_and_order, hc_teardown),
        cmocka_unit_test_teardown(test_rotation_live_cluster, hc_teardown),
        cmocka_unit_test_teardown(test_removed_key_dropped, hc_teardown),
        cmocka_unit_test_teardown(test_missed_rotation, hc_teardown),
        cmocka_unit_test_teardown(test_mixed_with_reconfigure, hc_teardown),
    };
    return cmocka_run_group_tests_name("unit_keyring", tests, NULL, NULL);
}
