/*
 * Join: 16 nodes started at the same virtual instant, all seeded with node
 * 0, and 16 nodes started 100 ms apart (as the bench starts real
 * processes).  Every node must see every other alive within a few seconds,
 * with no suspicion or failure on the way.
 *
 * Bound: measured convergence is ~1-3 s (see the printed times); we assert
 * 8 s, which leaves room for a slower but still correct dissemination while
 * still catching a join that only completes through the 30 s full sync.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim.h"

#define N 16
#define JOIN_BOUND_MS 8000

static void join_run(uint32_t stagger_ms)
{
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = N;
    o.stagger_ms = stagger_ms;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);

    uint64_t last_start = (uint64_t)(N - 1) * stagger_ms;
    int64_t t = sim_run_until_cond(sim, sim_pred_converged, NULL, last_start + 30000);
    print_message("join n=%d stagger=%u ms: converged at t=%lld ms (%lld ms after the last start), seed=%llu\n",
                  N, stagger_ms, (long long)t, (long long)(t - (int64_t)last_start),
                  (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, t >= 0);
    SIM_ASSERT(sim, (uint64_t)t <= last_start + JOIN_BOUND_MS);

    /* Every pair saw a join; nobody was suspected or failed while joining. */
    SIM_ASSERT(sim, sim_count_events(sim, SIM_ANY, SIM_ANY, GOSSIP_EVENT_SUSPECT) == 0);
    SIM_ASSERT(sim, sim_count_events(sim, SIM_ANY, SIM_ANY, GOSSIP_EVENT_FAILED) == 0);

    /* It stays converged. */
    sim_run_for(sim, 30000);
    SIM_ASSERT(sim, sim_converged(sim));
    SIM_ASSERT(sim, sim_count_events(sim, SIM_ANY, SIM_ANY, GOSSIP_EVENT_FAILED) == 0);
    for (unsigned i = 0; i < N; i++)
        SIM_ASSERT(sim, gossip_member_count(sim_handle(sim, i), 1u << GOSSIP_ALIVE) == N);
    sim_destroy(sim);
}

static void test_join_together(void **state)
{
    (void)state;
    join_run(0);
}

static void test_join_staggered(void **state)
{
    (void)state;
    join_run(100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_together),
        cmocka_unit_test(test_join_staggered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
