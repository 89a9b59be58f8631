/*
 * Restored records stay local until the network confirms them
 * (gossip_member_restore(3)).  A saved view may be stale: a record of a
 * node that is gone, restored on one node, must not be passed on (else
 * every node learns, probes, suspects and fails a dead node, and keeps a
 * record of it for the reap time).  A restored record of a live node is
 * confirmed by that node's own answer and then spreads like any other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "sim.h"

#define GHOST_ID 1000u

/* Events node `obs` reported about ids outside the cluster (the simulator
 * records them with subject UINT32_MAX) since t0, of kind ev (-1: any). */
static size_t outside_events(const sim_t *sim, unsigned obs, int ev, uint64_t t0)
{
    size_t n, c = 0;
    const struct sim_event *e = sim_events(sim, &n);
    for (size_t i = 0; i < n; i++)
        if (e[i].t >= t0 && e[i].observer == obs && e[i].subject == UINT32_MAX && (ev < 0 || e[i].event == ev))
            c++;
    return c;
}

static void restore(sim_t *sim, unsigned on, uint64_t id, uint32_t addr_index)
{
    struct gossip_member m;
    memset(&m, 0, sizeof m);
    m.id = id;
    m.state = GOSSIP_ALIVE;
    m.generation = 5;
    struct sockaddr_in *sa = (struct sockaddr_in *)&m.addr;
    sa->sin_family = AF_INET;
    sa->sin_port = htons(GOSSIP_DEFAULT_PORT);
    sa->sin_addr.s_addr = htonl(0x0a000000u | (addr_index + 1));
    m.addr_len = sizeof *sa;
    assert_int_equal(gossip_member_restore(sim_handle(sim, on), &m), 0);
}

static void test_stale_record_stays_local(void **state)
{
    (void)state;
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = 4;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    SIM_ASSERT(sim, sim_run_until_cond(sim, sim_pred_converged, NULL, 30000) >= 0);
    uint64_t t0 = sim_now(sim);
    /* an id nobody runs, at an address nobody listens on */
    restore(sim, 0, GHOST_ID, GHOST_ID - 1);
    sim_run_for(sim, 120000);
    size_t mine = outside_events(sim, 0, -1, t0);
    size_t failed = outside_events(sim, 0, GOSSIP_EVENT_FAILED, t0);
    size_t others = 0;
    for (unsigned i = 1; i < 4; i++)
        others += outside_events(sim, i, -1, t0);
    print_message("restored ghost on node 0: %zu events there (%zu failed), %zu on the other nodes "
                  "(must be 0), seed=%llu\n", mine, failed, others, (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, outside_events(sim, 0, GOSSIP_EVENT_JOIN, t0) == 1);
    SIM_ASSERT(sim, failed == 1);  /* probed like any member: a stale record ends in FAILED */
    SIM_ASSERT(sim, others == 0);  /* and nobody else ever heard of it */
    sim_destroy(sim);
}

/* Node 2 starts alone (no seeds); node 0 restores node 2's record. */
static void configure_alone(void *ud, sim_t *sim, unsigned node, struct gossip_config *cfg)
{
    (void)ud, (void)sim;
    if (node == 2)
        cfg->n_seeds = 0;
}

static void test_live_record_confirmed_and_spread(void **state)
{
    (void)state;
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = 3;
    o.configure = configure_alone;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    sim_run_for(sim, 10000); /* 0 and 1 form a cluster; 2 is alone */
    SIM_ASSERT(sim, sim_view(sim, 1, 2) == SIM_UNKNOWN);
    uint64_t t0 = sim_now(sim);
    restore(sim, 0, sim_node_id(sim, 2), 2);
    int64_t t = sim_run_until_cond(sim, sim_pred_converged, NULL, 60000);
    print_message("restored live node 2 on node 0: all three see each other after %lld ms\n",
                  (long long)(t < 0 ? -1 : t - (int64_t)t0));
    SIM_ASSERT(sim, t >= 0);
    sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_record_stays_local),
        cmocka_unit_test(test_live_record_confirmed_and_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
