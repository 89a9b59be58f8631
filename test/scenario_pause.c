/*
 * A stalled process (GC pause, SIGSTOP, swapped out): no ticks, datagrams
 * queue in its socket buffer, and on wake it processes the backlog.
 *
 * Short pause (1 s, below the minimum suspicion timeout of 1846 ms for 16
 * nodes, let alone the 7.4 s it starts from): the node may be suspected,
 * but it refutes on wake and nobody declares it failed.
 * Long pause (30 s): it is declared failed by everyone; after waking it is
 * alive again at every node within 10 s, and the whole cluster agrees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim.h"

#define N 16
#define VICTIM 5
#define SHORT_PAUSE_MS 1000
#define LONG_PAUSE_MS 30000
#define BACK_BOUND_MS 10000

static sim_t *converged_cluster(void)
{
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = N;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    SIM_ASSERT(sim, sim_run_until_cond(sim, sim_pred_converged, NULL, 30000) >= 0);
    sim_run_for(sim, 5000);
    return sim;
}

static bool victim_alive_everywhere(sim_t *sim, void *ud)
{
    (void)ud;
    return sim_all_see(sim, VICTIM, SIM_ALIVE);
}

static void test_short_pause_refutes(void **state)
{
    (void)state;
    sim_t *sim = converged_cluster();
    /* Several short pauses in a row, at different phases of the probe cycle. */
    for (int k = 0; k < 5; k++) {
        uint64_t t0 = sim_now(sim);
        sim_pause(sim, VICTIM, SHORT_PAUSE_MS);
        sim_run_for(sim, SHORT_PAUSE_MS + 15000 + 137 * (uint64_t)k);
        size_t susp = sim_count_events_between(sim, SIM_ANY, VICTIM, GOSSIP_EVENT_SUSPECT, t0, UINT64_MAX);
        size_t failed = sim_count_events_between(sim, SIM_ANY, VICTIM, GOSSIP_EVENT_FAILED, t0, UINT64_MAX);
        print_message("short pause %d of %d ms: %zu suspect events, %zu failed events, seed=%llu\n", k,
                      SHORT_PAUSE_MS, susp, failed, (unsigned long long)sim_seed(sim));
        SIM_ASSERT(sim, failed == 0);
        SIM_ASSERT(sim, sim_all_see(sim, VICTIM, SIM_ALIVE));
    }
    SIM_ASSERT(sim, sim_count_events(sim, SIM_ANY, SIM_ANY, GOSSIP_EVENT_FAILED) == 0);
    SIM_ASSERT(sim, sim_converged(sim));
    sim_destroy(sim);
}

static void test_long_pause_fails_then_returns(void **state)
{
    (void)state;
    sim_t *sim = converged_cluster();
    uint64_t t0 = sim_now(sim);
    sim_pause(sim, VICTIM, LONG_PAUSE_MS);
    sim_run_for(sim, LONG_PAUSE_MS - 1);
    int64_t all_failed = sim_last_event(sim, SIM_ANY, VICTIM, GOSSIP_EVENT_FAILED, t0);
    print_message("long pause %d ms: all report failed by +%lld ms\n", LONG_PAUSE_MS,
                  (long long)(all_failed - (int64_t)t0));
    SIM_ASSERT(sim, sim_all_see(sim, VICTIM, SIM_FAILED));
    sim_run_for(sim, 1);
    SIM_ASSERT(sim, !sim_is_paused(sim, VICTIM));
    uint64_t woke = sim_now(sim);

    int64_t t = sim_run_until_cond(sim, victim_alive_everywhere, NULL, BACK_BOUND_MS + 20000);
    print_message("after wake: alive at every node at +%lld ms (bound %d), seed=%llu\n",
                  (long long)(t - (int64_t)woke), BACK_BOUND_MS, (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, t >= 0);
    SIM_ASSERT(sim, (uint64_t)t <= woke + BACK_BOUND_MS);
    /* The woken node may briefly doubt others (its probes timed out while it
     * slept); the whole cluster agrees again soon. */
    int64_t tc = sim_run_until_cond(sim, sim_pred_converged, NULL, 30000);
    print_message("converged again at +%lld ms after wake\n", (long long)(tc - (int64_t)woke));
    SIM_ASSERT(sim, tc >= 0);
    size_t others_failed = 0;
    for (unsigned j = 0; j < N; j++)
        if (j != VICTIM)
            others_failed += sim_count_events_between(sim, SIM_ANY, (int)j, GOSSIP_EVENT_FAILED, t0, UINT64_MAX);
    print_message("failures of other nodes reported (by the woken node, if any): %zu\n", others_failed);
    /* Only the woken node itself could wrongly fail someone; no live node
     * failed by the others. */
    for (unsigned j = 0; j < N; j++)
        if (j != VICTIM)
            for (unsigned i = 0; i < N; i++)
                if (i != VICTIM && i != j)
                    SIM_ASSERT(sim, sim_count_events(sim, (int)i, (int)j, GOSSIP_EVENT_FAILED) == 0);
    sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_pause_refutes),
        cmocka_unit_test(test_long_pause_fails_then_returns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
