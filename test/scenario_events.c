/*
 * Metadata updates and cluster events on the virtual clock (10 nodes,
 * heartbeat 1000 ms, so a gossip round every 200 ms with fanout 3).
 *
 *  meta_update  gossip_set_meta() on node 3: every other node reports
 *      GOSSIP_EVENT_UPDATE for node 3 exactly once and gossip_member_get()
 *      returns the same bytes, within 3 s (about 15 gossip rounds; an
 *      epidemic over 10 nodes needs ~3).  Then a shorter blob, then an empty
 *      one (meta NULL, length 0).  Nobody changes state meanwhile.
 *  broadcast  20 cluster events from different origins (one every 250 ms,
 *      some back to back): every live node, the origin included, delivers
 *      each exactly once, with the right origin and bytes, within 3 s;
 *      nothing is delivered again in the 60 s after (anti-entropy included).
 *  broadcast_loss  the same with 10% loss on every link; bound 10 s.
 *  broadcast_crashed  one node crashed and declared failed: the survivors
 *      still get every event exactly once.
 *
 * These pass with the default seed, but not with every seed: an event is
 * carried only by piggybacking with a retransmit limit (6 sends per holder
 * at n = 10) and nothing repairs a miss later, so now and then one node
 * never gets one (GOSSIP_SIM_SEED=8: event 17 never reaches node 6, no
 * loss; seeds 1..100: 2 runs without loss, 14 with 10% loss miss one
 * delivery).  gossip.h promises every live node.
 *
 * A note on the harness: the simulator re-arms a node's timer only after it
 * fed or ticked it, not after a direct call such as gossip_set_meta() or
 * gossip_broadcast() (a real host recomputes gossip_next_timeout_ms() after
 * every call).  poke() stands in for that: a zero-length sim_pause() makes
 * the simulator tick the node and re-arm it at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sim.h"

#define N 10
#define META_NODE 3
#define META_BOUND_MS 3000
#define EVENT_BOUND_MS 3000
#define EVENT_LOSS_BOUND_MS 10000
#define N_EVENTS 20
#define MAX_RECS 4096
#define PAYLOAD_MAX 64

struct ev_rec {
    uint64_t t;
    unsigned node;
    uint64_t origin;
    size_t len;
    uint8_t data[PAYLOAD_MAX];
};

struct harness;

struct node_ctx {
    struct harness *h;
    unsigned index;
    void *sim_ud;
    void (*sim_member)(void *ud, enum gossip_event event, const struct gossip_member *m);
    void (*sim_log)(void *ud, enum gossip_log_level level, const char *msg);
};

struct harness {
    sim_t *sim;
    struct node_ctx nodes[N];
    struct ev_rec recs[MAX_RECS];
    size_t n_recs;
    size_t oversize;
};

static struct harness H;

static void wrap_member(void *ud, enum gossip_event event, const struct gossip_member *m)
{
    struct node_ctx *c = ud;
    c->sim_member(c->sim_ud, event, m);
}

static void wrap_log(void *ud, enum gossip_log_level level, const char *msg)
{
    struct node_ctx *c = ud;
    if (c->sim_log)
        c->sim_log(c->sim_ud, level, msg);
}

static void on_user_event(void *ud, uint64_t origin, const void *data, size_t len)
{
    struct node_ctx *c = ud;
    struct harness *h = c->h;
    if (len > PAYLOAD_MAX || h->n_recs == MAX_RECS) {
        h->oversize++;
        return;
    }
    struct ev_rec *r = &h->recs[h->n_recs++];
    r->t = sim_now(h->sim);
    r->node = c->index;
    r->origin = origin;
    r->len = len;
    if (len)
        memcpy(r->data, data, len);
}

static void configure(void *ud, sim_t *sim, unsigned node, struct gossip_config *cfg)
{
    struct harness *h = ud;
    struct node_ctx *c = &h->nodes[node];
    h->sim = sim;
    c->h = h;
    c->index = node;
    c->sim_ud = cfg->cb.ud;
    c->sim_member = cfg->cb.member;
    c->sim_log = cfg->cb.log;
    cfg->cb.ud = c;
    cfg->cb.member = wrap_member;
    cfg->cb.log = wrap_log;
    cfg->cb.user_event = on_user_event;
}

static sim_t *start(double loss)
{
    struct harness *h = &H;
    memset(h, 0, sizeof *h);
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = N;
    o.configure = configure;
    o.ud = h;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    h->sim = sim;
    SIM_ASSERT(sim, sim_run_until_cond(sim, sim_pred_converged, NULL, 30000) >= 0);
    sim_run_for(sim, 5000);
    if (loss > 0)
        sim_set_loss(sim, loss);
    return sim;
}

/* Tick the node now, as a host would after a call that queued something. */
static void poke(sim_t *sim, unsigned node)
{
    sim_pause(sim, node, 0);
}

static bool is_live(sim_t *sim, unsigned i)
{
    return sim_node_state(sim, i) == SIM_NODE_UP && sim_handle(sim, i) != NULL;
}

/* ---------------------------------------------------------------- meta */

struct meta_pred {
    const uint8_t *data;
    size_t len;
};

/* Every live node other than META_NODE has exactly these bytes for it. */
static bool meta_everywhere(sim_t *sim, void *ud)
{
    const struct meta_pred *p = ud;
    uint64_t id = sim_node_id(sim, META_NODE);
    for (unsigned i = 0; i < N; i++) {
        if (i == META_NODE || !is_live(sim, i))
            continue;
        struct gossip_member m;
        if (gossip_member_get(sim_handle(sim, i), id, &m) != 0)
            return false;
        if (m.meta_len != p->len || (p->len && (!m.meta || memcmp(m.meta, p->data, p->len) != 0)))
            return false;
        if (!p->len && m.meta)
            return false;
    }
    return true;
}

static void meta_step(sim_t *sim, const void *data, size_t len)
{
    uint64_t t0 = sim_now(sim);
    int rc = gossip_set_meta(sim_handle(sim, META_NODE), data, len);
    SIM_ASSERT(sim, rc == 0);
    poke(sim, META_NODE);
    /* The node itself has it at once. */
    struct gossip_member self;
    SIM_ASSERT(sim, gossip_member_get(sim_handle(sim, META_NODE), sim_node_id(sim, META_NODE), &self) == 0);
    SIM_ASSERT(sim, self.is_self && self.meta_len == len);
    struct meta_pred p = {data, len};
    int64_t t = sim_run_until_cond(sim, meta_everywhere, &p, META_BOUND_MS + 10000);
    int64_t first = sim_first_event(sim, SIM_ANY, META_NODE, GOSSIP_EVENT_UPDATE, t0);
    int64_t last = sim_last_event(sim, SIM_ANY, META_NODE, GOSSIP_EVENT_UPDATE, t0);
    print_message("meta of node %d (%zu bytes) at t=%llu: first update +%lld, last +%lld, identical "
                  "bytes everywhere +%lld (bound +%d), seed=%llu\n",
                  META_NODE, len, (unsigned long long)t0, (long long)(first - (int64_t)t0),
                  (long long)(last - (int64_t)t0), (long long)(t - (int64_t)t0), META_BOUND_MS,
                  (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, t >= 0 && (uint64_t)t <= t0 + META_BOUND_MS);
    /* Let the update finish spreading, then: one UPDATE per observer. */
    sim_run_for(sim, 10000);
    for (unsigned i = 0; i < N; i++) {
        if (i == META_NODE)
            continue;
        size_t k = sim_count_events_between(sim, (int)i, META_NODE, GOSSIP_EVENT_UPDATE, t0, UINT64_MAX);
        if (k != 1)
            print_message("node %u saw %zu updates of node %d\n", i, k, META_NODE);
        SIM_ASSERT(sim, k == 1);
    }
    SIM_ASSERT(sim, meta_everywhere(sim, &p));
    /* An update is not a state change. */
    SIM_ASSERT(sim, sim_count_events_between(sim, SIM_ANY, SIM_ANY, GOSSIP_EVENT_SUSPECT, t0, UINT64_MAX) == 0);
    SIM_ASSERT(sim, sim_count_events_between(sim, SIM_ANY, SIM_ANY, GOSSIP_EVENT_ALIVE, t0, UINT64_MAX) == 0);
    SIM_ASSERT(sim, sim_converged(sim));
}

static void test_meta_update(void **state)
{
    (void)state;
    sim_t *sim = start(0);
    static const char first[] = "zone=eu-west-1;weight=100;build=2026.01.01-abcdef";
    static const char second[] = "zone=eu";
    meta_step(sim, first, sizeof first - 1);
    meta_step(sim, second, sizeof second - 1);
    meta_step(sim, NULL, 0);
    /* Binary bytes, NULs included, at the configured maximum (128). */
    uint8_t blob[128];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (uint8_t)(i * 37);
    meta_step(sim, blob, sizeof blob);
    SIM_ASSERT(sim, gossip_set_meta(sim_handle(sim, META_NODE), blob, sizeof blob + 1) == GOSSIP_ETOOBIG);
    sim_destroy(sim);
}

/* ------------------------------------------------------------ broadcast */

struct sent {
    uint64_t t;
    unsigned origin;
    size_t len;
    uint8_t data[PAYLOAD_MAX];
};

static size_t deliveries(const struct harness *h, const struct sent *s, int node, uint64_t *last_t)
{
    size_t k = 0;
    for (size_t i = 0; i < h->n_recs; i++) {
        const struct ev_rec *r = &h->recs[i];
        if (node >= 0 && r->node != (unsigned)node)
            continue;
        if (r->len == s->len && memcmp(r->data, s->data, s->len) == 0) {
            if (r->origin != sim_node_id(h->sim, s->origin))
                return SIZE_MAX; /* right bytes, wrong origin */
            k++;
            if (last_t && r->t > *last_t)
                *last_t = r->t;
        }
    }
    return k;
}

struct all_pred {
    struct harness *h;
    const struct sent *s;
    size_t n;
};

/* Every live node has delivered every event (at least once). */
static bool all_delivered(sim_t *sim, void *ud)
{
    const struct all_pred *p = ud;
    for (size_t e = 0; e < p->n; e++)
        for (unsigned i = 0; i < N; i++)
            if (is_live(sim, i) && deliveries(p->h, &p->s[e], (int)i, NULL) == 0)
                return false;
    return true;
}

static void broadcast_run(double loss, int crash, uint64_t bound)
{
    struct harness *h = &H;
    sim_t *sim = start(loss);
    if (crash >= 0) {
        sim_crash(sim, (unsigned)crash);
        sim_run_for(sim, 15000);
        SIM_ASSERT(sim, sim_all_see(sim, (unsigned)crash, SIM_FAILED));
    }
    uint64_t t_start = sim_now(sim);
    size_t recs_before = h->n_recs;
    struct sent s[N_EVENTS];
    uint64_t worst = 0;
    for (unsigned e = 0; e < N_EVENTS; e++) {
        unsigned origin = (e * 7) % N;
        if ((int)origin == crash)
            origin = (origin + 1) % N;
        s[e].origin = origin;
        s[e].len = (size_t)snprintf((char *)s[e].data, PAYLOAD_MAX, "renew cert %u from node %u", e, origin);
        s[e].t = sim_now(sim);
        int rc = gossip_broadcast(sim_handle(sim, origin), s[e].data, s[e].len);
        SIM_ASSERT(sim, rc == 0);
        /* The origin's own callback runs inside gossip_broadcast() or at
         * its next tick. */
        poke(sim, origin);
        /* Two back to back every fourth event, else one every 250 ms. */
        if (e % 4 != 3)
            sim_run_for(sim, 250);
    }
    struct all_pred p = {h, s, N_EVENTS};
    int64_t t = sim_run_until_cond(sim, all_delivered, &p, bound + 20000);
    if (t < 0) {
        for (unsigned e = 0; e < N_EVENTS; e++)
            for (unsigned i = 0; i < N; i++)
                if (is_live(sim, i) && deliveries(h, &s[e], (int)i, NULL) == 0)
                    print_message("event %u (origin %u, sent t=%llu) never delivered at node %u\n", e,
                                  s[e].origin, (unsigned long long)s[e].t, i);
    }
    SIM_ASSERT(sim, t >= 0);
    /* Per event: delivered everywhere within the bound. */
    for (unsigned e = 0; e < N_EVENTS; e++) {
        uint64_t last = 0;
        size_t k = deliveries(h, &s[e], -1, &last);
        SIM_ASSERT(sim, k != SIZE_MAX);
        if (last - s[e].t > worst)
            worst = last - s[e].t;
        SIM_ASSERT(sim, last <= s[e].t + bound);
    }
    /* Nothing again later: sync exchanges and retransmissions included. */
    sim_run_for(sim, 60000);
    size_t live = 0;
    for (unsigned i = 0; i < N; i++) {
        if (!is_live(sim, i))
            continue;
        live++;
        for (unsigned e = 0; e < N_EVENTS; e++) {
            size_t k = deliveries(h, &s[e], (int)i, NULL);
            if (k != 1)
                print_message("node %u delivered event %u %zu times\n", i, e, k);
            SIM_ASSERT(sim, k == 1);
        }
    }
    struct sim_stats st;
    sim_stats_get(sim, &st);
    print_message("broadcast %d events, loss %.0f%%%s: all delivered at +%lld after the first, worst "
                  "per-event delay %llu ms (bound %llu), %zu deliveries at %zu live nodes, %llu lost "
                  "datagrams, seed=%llu\n",
                  N_EVENTS, loss * 100, crash >= 0 ? ", one node crashed" : "",
                  (long long)(t - (int64_t)t_start), (unsigned long long)worst,
                  (unsigned long long)bound, h->n_recs - recs_before, live,
                  (unsigned long long)st.dropped_loss, (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, h->n_recs - recs_before == live * N_EVENTS);
    SIM_ASSERT(sim, h->oversize == 0);
    sim_destroy(sim);
}

static void test_broadcast(void **state)
{
    (void)state;
    broadcast_run(0, -1, EVENT_BOUND_MS);
}

static void test_broadcast_loss(void **state)
{
    (void)state;
    broadcast_run(0.10, -1, EVENT_LOSS_BOUND_MS);
}

static void test_broadcast_crashed(void **state)
{
    (void)state;
    broadcast_run(0, 6, EVENT_BOUND_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta_update),
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_broadcast_loss),
        cmocka_unit_test(test_broadcast_crashed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
