/*
 * Queries (gossip_query()) in the simulator.  N = 16, 10% loss on every
 * link.  Node 0 asks every node; each answers from its query callback.
 * Checked: every node is asked exactly once (the question spreads like a
 * cluster event, deduplicated) and answers once; the asker takes each
 * answer once, its done callback reports the count at the deadline; an
 * answer that arrives after the deadline (node 7's link to node 0 is slow)
 * is dropped and counted; a role filter and a metadata filter select who
 * is asked.  Several seeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sim.h"

#define N 16
#define HB 1000
#define SLOW 7

struct q {
    sim_t *sim;
    unsigned asked[N];          /* query callbacks per node */
    int respond_rc[N];
    unsigned answers_by[N];     /* answers node 0 got from each node */
    unsigned done_calls;
    size_t done_count;
    uint64_t last_id;
};
static struct q Q;
static unsigned idx[N];

static void on_query(void *ud, uint64_t id, uint64_t asker, const void *data, size_t len)
{
    unsigned i = *(unsigned *)ud;
    (void)data, (void)len;
    Q.asked[i]++;
    char answer[32];
    int n = snprintf(answer, sizeof answer, "node %u here", i);
    Q.respond_rc[i] = gossip_query_respond(sim_handle(Q.sim, i), id, asker, answer, (size_t)n);
    /* a second answer is refused */
    assert_int_equal(gossip_query_respond(sim_handle(Q.sim, i), id, asker, "again", 5), GOSSIP_ESTATE);
}

static void on_answer(void *ud, uint64_t id, uint64_t responder, const void *data, size_t len)
{
    (void)ud, (void)data, (void)len;
    assert_true(id == Q.last_id);
    unsigned r = (unsigned)(responder - sim_node_id(Q.sim, 0));
    assert_true(r < N);
    Q.answers_by[r]++;
}

static void on_done(void *ud, uint64_t id, size_t answers)
{
    (void)ud;
    assert_true(id == Q.last_id);
    Q.done_calls++;
    Q.done_count = answers;
}

static void configure(void *ud, sim_t *sim, unsigned node, struct gossip_config *cfg)
{
    (void)ud, (void)sim, (void)node;
    const uint64_t three[] = {3};
    assert_int_equal(gossip_config_set_role(cfg, "acme.renew", three, 1, 0), 0);
}

static void ask(const char *role, const char *prefix, uint32_t timeout_ms)
{
    memset(Q.asked, 0, sizeof Q.asked);
    memset(Q.answers_by, 0, sizeof Q.answers_by);
    Q.done_calls = 0;
    struct gossip_query_params p = {.size = sizeof p, .role = role, .meta_prefix = prefix,
                                    .meta_prefix_len = prefix ? strlen(prefix) : 0, .timeout_ms = timeout_ms};
    assert_int_equal(gossip_query(sim_handle(Q.sim, 0), "who is there?", 13, &p, &Q.last_id), 0);
}

static void run_seed(uint64_t seed)
{
    memset(&Q, 0, sizeof Q);
    struct sim_options o;
    sim_options_init(&o);
    o.seed = seed;
    o.n_nodes = N;
    o.heartbeat_ms = HB;
    o.configure = configure;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    Q.sim = sim;
    SIM_ASSERT(sim, sim_run_until_cond(sim, sim_pred_converged, NULL, 30000) >= 0);
    for (unsigned i = 0; i < N; i++) {
        idx[i] = i;
        struct gossip_query_handlers h = {.size = sizeof h, .ud = &idx[i], .query = on_query,
                                          .response = i == 0 ? on_answer : NULL, .done = i == 0 ? on_done : NULL};
        assert_int_equal(gossip_set_query_handlers(sim_handle(sim, i), &h), 0);
        char meta[8];
        snprintf(meta, sizeof meta, "dc%u", i % 2 + 1);
        assert_int_equal(gossip_set_meta(sim_handle(sim, i), meta, strlen(meta)), 0);
    }
    sim_run_for(sim, 3000);
    sim_set_loss(sim, 0.10);
    sim_link_set(sim, SLOW, 0, 0.0, 6000, 0); /* answers from node 7 come after the deadline */

    /* everyone */
    ask(NULL, NULL, 4000);
    sim_run_for(sim, 8000);
    unsigned asked = 0, answered_once = 0, got = 0;
    for (unsigned i = 0; i < N; i++) {
        SIM_ASSERT(sim, Q.asked[i] <= 1);
        SIM_ASSERT(sim, Q.answers_by[i] <= 1);
        asked += Q.asked[i];
        answered_once += Q.asked[i] == 1 && Q.respond_rc[i] == 0;
        got += Q.answers_by[i];
    }
    struct gossip_stats st;
    assert_int_equal(gossip_stats_get(sim_handle(sim, 0), &st), 0);
    print_message("seed %llu: asked %u of %d nodes, %u answered once, %u answers taken (done says %zu), "
                  "%llu late, %llu dropped\n", (unsigned long long)seed, asked, N, answered_once, got,
                  Q.done_count, (unsigned long long)st.query_answers_late,
                  (unsigned long long)st.query_answers_dropped);
    SIM_ASSERT(sim, asked == N && answered_once == N);
    SIM_ASSERT(sim, Q.done_calls == 1 && Q.done_count == got);
    SIM_ASSERT(sim, Q.answers_by[SLOW] == 0 && st.query_answers_late >= 1); /* the slow one came late */
    SIM_ASSERT(sim, got >= N - 4);   /* 10% loss of the answers themselves, none retransmitted */

    /* only the holders of a role */
    ask("acme.renew", NULL, 3000);
    sim_run_for(sim, 6000);
    for (unsigned i = 0; i < N; i++)
        SIM_ASSERT(sim, Q.asked[i] == (i == 3));

    /* only the nodes whose metadata starts with "dc2" (odd ids) */
    ask(NULL, "dc2", 3000);
    sim_run_for(sim, 6000);
    for (unsigned i = 0; i < N; i++)
        SIM_ASSERT(sim, Q.asked[i] == (i % 2 == 1));
    assert_int_equal(gossip_query(sim_handle(sim, 0), "x", 1,
                                  &(struct gossip_query_params){.size = sizeof(struct gossip_query_params),
                                                                .role = "no.such.role"}, NULL),
                     GOSSIP_ENOTFOUND);
    sim_destroy(sim);
}

static void test_query(void **state)
{
    (void)state;
    for (uint64_t s = 1; s <= 5; s++)
        run_seed(s);
    run_seed(sim_seed_from_env(SIM_DEFAULT_SEED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
