/*
 * gossip_reconfigure() refuses exactly what gossip_reconfigure(3) lists,
 * and says which field (issue 12): the fixed fields one by one, each
 * refused with GOSSIP_EINVAL, named in the log line and in the err of
 * gossip_reconfigure_ex(), nothing applied; everything else the page calls
 * changeable, changed at once, applied (max_pending_events too, which used
 * to be kept silently); the dedup memory across a change of that limit.
 */
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

static uint64_t other_clock(void *ctx)
{
    (void)ctx;
    return 0;
}

static void other_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 7, len);
}

static int other_send(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf,
                      size_t len)
{
    (void)ctx, (void)to, (void)to_len, (void)buf, (void)len;
    return 0;
}

/* One fixed field changed in a copy of the running config. */
struct fixed {
    const char *name; /* what the message must name */
    void (*change)(struct gossip_config *c);
};

static void ch_node_id(struct gossip_config *c) { c->node_id++; }
static void ch_bind_addr(struct gossip_config *c) { snprintf(c->bind_addr, sizeof c->bind_addr, "10.0.0.9"); }
static void ch_advertise_addr(struct gossip_config *c)
{
    snprintf(c->advertise_addr, sizeof c->advertise_addr, "10.0.0.9");
}
static void ch_bind_port(struct gossip_config *c) { c->bind_port = 1180; }
static void ch_advertise_port(struct gossip_config *c) { c->advertise_port = 1180; }
static void ch_label(struct gossip_config *c)
{
    snprintf(c->cluster_label, sizeof c->cluster_label, "mail-eu");
}
static void ch_max_datagram(struct gossip_config *c) { c->max_datagram = 1400; }
static void ch_ctx(struct gossip_config *c) { c->hooks.ctx = c; }
static void ch_now(struct gossip_config *c) { c->hooks.now_ms = other_clock; }
static void ch_wall(struct gossip_config *c) { c->hooks.wall_ms = other_clock; }
static void ch_random(struct gossip_config *c) { c->hooks.random = other_random; }
static void ch_send(struct gossip_config *c) { c->hooks.send = other_send; }

static const struct fixed FIXED[] = {
    {"node_id (cluster.node-id)", ch_node_id},
    {"bind_addr (cluster.bind-addr)", ch_bind_addr},
    {"advertise_addr (cluster.advertise-addr)", ch_advertise_addr},
    {"bind_port (cluster.bind-port)", ch_bind_port},
    {"advertise_port (cluster.advertise-port)", ch_advertise_port},
    {"cluster_label (cluster.cluster-label)", ch_label},
    {"max_datagram (cluster.max-datagram)", ch_max_datagram},
    {"hooks.ctx", ch_ctx},
    {"hooks.now_ms", ch_now},
    {"hooks.wall_ms", ch_wall},
    {"hooks.random", ch_random},
    {"hooks.send", ch_send},
};

static void test_fixed_fields_named(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(2);
    hc_start_all(hc, 2);
    struct hc_node *n = &hc->node[1];
    char err[256];

    for (size_t i = 0; i < sizeof FIXED / sizeof FIXED[0]; i++) {
        struct gossip_config c = n->cfg;
        const uint64_t who[] = {ID0};
        /* a change the node would accept, to see that nothing is applied */
        assert_int_equal(gossip_config_set_role(&c, "acme.renew", who, 1, 0), 0);
        FIXED[i].change(&c);
        unsigned logs = n->n_log;
        assert_int_equal(gossip_reconfigure_ex(n->g, &c, 0, err, sizeof err), GOSSIP_EINVAL);
        print_message("%s\n", err);
        if (!strstr(err, FIXED[i].name))
            fail_msg("err \"%s\" does not name %s", err, FIXED[i].name);
        assert_int_equal(hc_count_log(n, logs, FIXED[i].name), 1);
        assert_int_equal(hc_count_log(n, logs, "nothing applied"), 1);
        /* the plain call refuses the same and logs the same */
        logs = n->n_log;
        assert_int_equal(gossip_reconfigure(n->g, &c), GOSSIP_EINVAL);
        assert_int_equal(hc_count_log(n, logs, FIXED[i].name), 1);
        /* not applied: node 1 does not hold acme.renew, listed for node 0 */
        assert_int_equal(gossip_role_held(n->g, "acme.renew"), 1);
    }
    /* the values in the message: what runs, then what was asked */
    struct gossip_config c = n->cfg;
    ch_label(&c);
    assert_int_equal(gossip_reconfigure_ex(n->g, &c, 0, err, sizeof err), GOSSIP_EINVAL);
    assert_non_null(strstr(err, "(\"\", not \"mail-eu\")"));
    hc_free(hc);
}

/* What the page calls changeable, all changed at once: accepted, and the
 * limits act at once. */
static void test_changeable_applied(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(2);
    hc_start_all(hc, 2);
    struct hc_node *n = &hc->node[1];
    struct gossip_config c = n->cfg;
    char err[256] = "x";
    const uint64_t who[] = {ID0};
    uint8_t blob[300] = {0};

    assert_int_equal(gossip_config_set_role(&c, "acme.renew", who, 1, GOSSIP_ROLE_NO_FAILOVER), 0);
    assert_int_equal(gossip_config_set_role(&c, "mail.backup", NULL, 0, 0), 0);
    assert_int_equal(gossip_config_add_seed(&c, "10.0.0.3"), 0);
    assert_int_equal(gossip_config_add_raw_key(&c, KEY_B), 0);
    c.heartbeat_ms = 500;
    c.probe_timeout_ms = 90;
    c.indirect_timeout_ms = 180;
    c.indirect_checks = 2;
    c.suspicion_mult = 2;
    c.suspicion_max_mult = 3;
    c.suspicion_confirmations = 3;
    c.retransmit_mult = 3;
    c.gossip_interval_ms = 90;
    c.gossip_fanout = 2;
    c.sync_interval_ms = 20000;
    c.ae_records = 1;
    c.reconnect_interval_ms = 3000;
    c.reap_ms = 60000;
    c.awareness_max = 4;
    c.max_members = 100;
    c.max_meta = 16;
    c.max_event = 100;
    c.max_pending_events = 2;
    c.generation = 42; /* read by gossip_create() only: ignored */
    c.cb.user_event = NULL;

    assert_int_equal(gossip_reconfigure_ex(n->g, &c, 0, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(gossip_role_held(n->g, "acme.renew"), 0);
    assert_int_equal(gossip_role_held(n->g, "mail.backup"), 1);
    assert_int_equal(gossip_set_meta(n->g, blob, 17), GOSSIP_ETOOBIG);
    assert_int_equal(gossip_set_meta(n->g, blob, 16), 0);
    assert_int_equal(gossip_broadcast(n->g, blob, 101), GOSSIP_ETOOBIG);
    /* two queued events at most: max_pending_events applies */
    assert_int_equal(gossip_broadcast(n->g, blob, 10), 0);
    assert_int_equal(gossip_broadcast(n->g, blob, 10), 0);
    assert_int_equal(gossip_broadcast(n->g, blob, 10), GOSSIP_EFULL);
    struct gossip_member self;
    assert_int_equal(gossip_member_get(n->g, ID1, &self), 0);
    assert_int_equal(self.generation, n->cfg.generation); /* unchanged */
    hc_free(hc);
}

/* The dedup memory (max_pending_events remembered events) shrinks and
 * grows with the limit: every event is still delivered exactly once. */
static void test_pending_events_resized(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(2);
    hc_start_all(hc, 2);
    struct hc_node *n0 = &hc->node[0], *n1 = &hc->node[1];
    char ev[8];

    for (unsigned k = 0; k < 5; k++) {
        snprintf(ev, sizeof ev, "ev%u", k);
        assert_int_equal(gossip_broadcast(n0->g, ev, strlen(ev)), 0);
        hc_run(hc, 300);
    }
    hc_run(hc, 5000);
    assert_int_equal(n1->n_user, 5);
    unsigned sizes[] = {2, 3, 300, 1, 256};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct gossip_config c = n1->cfg;
        c.max_pending_events = sizes[i];
        assert_int_equal(gossip_reconfigure(n1->g, &c), 0);
        snprintf(ev, sizeof ev, "r%zu", i);
        assert_int_equal(gossip_broadcast(n0->g, ev, strlen(ev)), 0);
        hc_run(hc, 3000);
    }
    hc_run(hc, 20000);
    assert_int_equal(n1->n_user, 5 + 5);
    assert_int_equal(n0->n_user, 5 + 5); /* its own, once each */
    hc_free(hc);
}

static void test_arguments(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(1);
    hc_start_all(hc, 1);
    struct hc_node *n = &hc->node[0];
    struct gossip_config c = n->cfg;
    char err[256];

    assert_int_equal(gossip_reconfigure_ex(n->g, &c, 1, err, sizeof err), GOSSIP_EINVAL);
    assert_string_equal(err, "unknown flags");
    assert_int_equal(gossip_reconfigure_ex(NULL, &c, 0, err, sizeof err), GOSSIP_EINVAL);
    assert_int_equal(gossip_reconfigure_ex(n->g, NULL, 0, err, sizeof err), GOSSIP_EINVAL);
    assert_int_equal(gossip_reconfigure_ex(n->g, &c, 0, NULL, 0), 0);
    /* a config that does not validate: the reason as validate gives it */
    c.heartbeat_ms = 5;
    assert_int_equal(gossip_reconfigure_ex(n->g, &c, 0, err, sizeof err), GOSSIP_ERANGE);
    assert_non_null(strstr(err, "cluster.heartbeat"));
    /* not from gossip_config_init() */
    c = n->cfg;
    c.size = 0;
    assert_int_equal(gossip_reconfigure_ex(n->g, &c, 0, err, sizeof err), GOSSIP_EINVAL);
    assert_non_null(strstr(err, "gossip_config_init"));
    hc_free(hc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_fixed_fields_named, hc_teardown),
        cmocka_unit_test_teardown(test_changeable_applied, hc_teardown),
        cmocka_unit_test_teardown(test_pending_events_resized, hc_teardown),
        cmocka_unit_test_teardown(test_arguments, hc_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
