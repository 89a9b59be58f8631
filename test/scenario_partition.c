/*
 * A 10-node cluster split 5/5 for 60 s.  Each side keeps working: it sees
 * its own side alive and the other side failed.  After the heal, with no
 * help from outside (no restarts, no new seeds), the reconnect probes of
 * failed members and seeds bring the sides together: every node sees every
 * other alive within 15 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim.h"

#define N 10
#define HOLD_MS 60000
#define HEAL_BOUND_MS 15000

static void partition_run(const unsigned groups[N], const char *name)
{
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = N;
    o.jitter_ms = 5;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    SIM_ASSERT(sim, sim_run_until_cond(sim, sim_pred_converged, NULL, 30000) >= 0);
    sim_run_for(sim, 5000);

    sim_partition(sim, groups);
    uint64_t t0 = sim_now(sim);
    sim_run_for(sim, HOLD_MS);
    int64_t last_fail = sim_last_event(sim, SIM_ANY, SIM_ANY, GOSSIP_EVENT_FAILED, t0);
    print_message("%s: partition %d s; last failure event at +%lld ms\n", name, HOLD_MS / 1000,
                  (long long)(last_fail - (int64_t)t0));
    for (unsigned i = 0; i < N; i++)
        for (unsigned j = 0; j < N; j++) {
            if (i == j)
                continue;
            enum sim_view_state want = groups[i] == groups[j] ? SIM_ALIVE : SIM_FAILED;
            if (sim_view(sim, i, j) != want)
                print_message("node %u sees %u %s, want %s\n", i, j, sim_view_name(sim_view(sim, i, j)),
                              sim_view_name(want));
            SIM_ASSERT(sim, sim_view(sim, i, j) == want);
        }
    /* Inside one side nobody was failed. */
    for (unsigned i = 0; i < N; i++)
        for (unsigned j = 0; j < N; j++)
            if (i != j && groups[i] == groups[j])
                SIM_ASSERT(sim, sim_count_events(sim, (int)i, (int)j, GOSSIP_EVENT_FAILED) == 0);

    sim_heal(sim);
    uint64_t th = sim_now(sim);
    int64_t t = sim_run_until_cond(sim, sim_pred_converged, NULL, HEAL_BOUND_MS + 60000);
    print_message("%s: after heal all see all alive at +%lld ms (bound %d), seed=%llu\n", name,
                  (long long)(t < 0 ? -1 : t - (int64_t)th), HEAL_BOUND_MS,
                  (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, t >= 0);
    SIM_ASSERT(sim, (uint64_t)t <= th + HEAL_BOUND_MS);
    sim_run_for(sim, 30000);
    SIM_ASSERT(sim, sim_converged(sim));
    sim_destroy(sim);
}

static void test_partition_halves(void **state)
{
    (void)state;
    /* The seed (node 0) is on one side only. */
    static const unsigned groups[N] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
    partition_run(groups, "halves");
}

static void test_partition_interleaved(void **state)
{
    (void)state;
    static const unsigned groups[N] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    partition_run(groups, "interleaved");
}

/* One-way cut 3 -> 4: node 4 never hears node 3.  3's pings of 4 are lost
 * and so are 3's acks of 4's pings, so both direct probes fail; the indirect
 * probes through the other nodes succeed, so over a minute nobody is
 * declared failed (Lifeguard nacks keep the prober from blaming the target). */
static void test_one_way_cut(void **state)
{
    (void)state;
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = N;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    SIM_ASSERT(sim, sim_run_until_cond(sim, sim_pred_converged, NULL, 30000) >= 0);
    sim_cut(sim, 3, 4);
    uint64_t t0 = sim_now(sim);
    sim_run_for(sim, HOLD_MS);
    size_t susp = sim_count_events_between(sim, SIM_ANY, SIM_ANY, GOSSIP_EVENT_SUSPECT, t0, UINT64_MAX);
    size_t failed = sim_count_events_between(sim, SIM_ANY, SIM_ANY, GOSSIP_EVENT_FAILED, t0, UINT64_MAX);
    print_message("one-way cut 3->4 for %d s: %zu suspect, %zu failed events, seed=%llu\n", HOLD_MS / 1000,
                  susp, failed, (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, failed == 0);
    SIM_ASSERT(sim, sim_converged(sim));
    sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition_halves),
        cmocka_unit_test(test_partition_interleaved),
        cmocka_unit_test(test_one_way_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
