/*
 * The loop contract under raised local health: 10 nodes, 30% loss on
 * every link for 120 virtual seconds, so probes time out, awareness rises,
 * probes stretch past their period and suspicions are refuted.  A host
 * that follows the contract calls gossip_tick() whenever
 * gossip_next_timeout_ms() says 0; a 0 that the tick leaves at 0 would be
 * a busy loop.  The simulator counts every timeout still 0 right after a
 * tick (struct sim_stats.zero_timeouts): it must stay 0, while the run
 * really did go through raised awareness and refutations (checked, and
 * printed with the counts).  Several fixed seeds, since a stretched probe
 * overrunning its period depends on when awareness rises.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim.h"

#define N 10
#define LOSS 0.30
#define WINDOW_MS 120000
#define SAMPLE_MS 100

struct watch {
    unsigned max_awareness;
    uint64_t samples_raised; /* node-samples with awareness > 0 */
};

static void sample(sim_t *sim, void *ud)
{
    struct watch *w = ud;
    for (unsigned i = 0; i < sim_n_nodes(sim); i++) {
        gossip_t *g = sim_handle(sim, i);
        struct gossip_stats st;
        if (!g || gossip_stats_get(g, &st) != 0)
            continue;
        if (st.awareness > w->max_awareness)
            w->max_awareness = st.awareness;
        w->samples_raised += st.awareness > 0;
    }
}

/* Seeds 2, 3 and 4 each had 400-813 zero timeouts after a tick when the
 * probe start was reported due while a stretched probe still ran. */
static const uint64_t seeds[] = {1, 2, 3, 4, 5, 6};

static void run_one(uint64_t seed)
{
    struct sim_options o;
    sim_options_init(&o);
    o.seed = seed;
    o.n_nodes = N;
    o.jitter_ms = 5;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    SIM_ASSERT(sim, sim_run_until_cond(sim, sim_pred_converged, NULL, 30000) >= 0);

    struct watch w = {0};
    sim_set_loss(sim, LOSS);
    uint64_t t0 = sim_now(sim);
    for (uint64_t t = t0 + SAMPLE_MS; t <= t0 + WINDOW_MS; t += SAMPLE_MS)
        sim_at(sim, t, sample, &w);
    sim_run_for(sim, WINDOW_MS);

    uint64_t refutations = 0;
    for (unsigned i = 0; i < N; i++) {
        struct gossip_stats st;
        if (sim_handle(sim, i) && gossip_stats_get(sim_handle(sim, i), &st) == 0)
            refutations += st.refutations;
    }
    struct sim_stats st;
    sim_stats_get(sim, &st);
    print_message("loss %.0f%% for %d s, n=%d: awareness up to %u (raised in %llu of %llu node-samples), "
                  "%llu refutations, %llu timer events, %llu zero timeouts after a tick (must be 0), seed=%llu\n",
                  LOSS * 100, WINDOW_MS / 1000, N, w.max_awareness, (unsigned long long)w.samples_raised,
                  (unsigned long long)(N * (WINDOW_MS / SAMPLE_MS)), (unsigned long long)refutations,
                  (unsigned long long)st.events, (unsigned long long)st.zero_timeouts,
                  (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, w.max_awareness >= 3);
    SIM_ASSERT(sim, refutations > 0);
    SIM_ASSERT(sim, st.zero_timeouts == 0);
    sim_destroy(sim);
}

static void test_no_zero_timeout_after_tick(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        run_one(seeds[i]);
    run_one(sim_seed_from_env(SIM_DEFAULT_SEED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_zero_timeout_after_tick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
