/*
 * Failure detection: crash one of 16 converged nodes.
 *
 * Not before: a member is only declared failed after a probe went
 * unanswered (probe timeout, 200 ms) and its suspicion ran out (at least
 * the minimum, 1.0 * log10(17) * 1000 ms = 1230 ms, reached only with two
 * independent confirmations).  So no node may report the failure earlier
 * than crash + 200 + 1230 ms.
 * By: every live node reports it failed within 10 s of the crash.
 * And with no loss nobody else is ever reported failed.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim.h"

#define N 16
#define HEARTBEAT_MS 1000
#define SUSPICION_MULT 1.0 /* the library's default */
#define PROBE_TIMEOUT_MS 200
#define DETECT_BOUND_MS 10000
#define LATENCY_MS 1
#define JITTER_MS 2

struct failed_pred {
    unsigned victim;
};

static bool all_see_failed(sim_t *sim, void *ud)
{
    const struct failed_pred *p = ud;
    return sim_all_see(sim, p->victim, SIM_FAILED);
}

static void detect_run(unsigned victim, uint64_t crash_at)
{
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = N;
    o.latency_ms = LATENCY_MS;
    o.jitter_ms = JITTER_MS;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    int64_t tc = sim_run_until_cond(sim, sim_pred_converged, NULL, 30000);
    SIM_ASSERT(sim, tc >= 0);
    sim_run_until(sim, crash_at);
    sim_crash(sim, victim);
    uint64_t t0 = sim_now(sim);

    /* The minimum suspicion timeout, taking n as the 15 survivors (the
     * smallest n the library could count here, so the smallest bound: 1204
     * ms; with n = 16 it is 1230).  Less the network's one-way delay: a ping
     * that left a prober up to latency + jitter before the crash may find
     * the victim already gone. */
    uint64_t susp_min = (uint64_t)(SUSPICION_MULT * log10((double)(N - 1) + 1.0) * HEARTBEAT_MS);
    if (susp_min < HEARTBEAT_MS)
        susp_min = HEARTBEAT_MS;
    uint64_t earliest = PROBE_TIMEOUT_MS + susp_min - (LATENCY_MS + JITTER_MS);

    struct failed_pred p = {victim};
    int64_t t = sim_run_until_cond(sim, all_see_failed, &p, DETECT_BOUND_MS + 5000);
    int64_t first_suspect = sim_first_event(sim, SIM_ANY, (int)victim, GOSSIP_EVENT_SUSPECT, t0);
    int64_t first_failed = sim_first_event(sim, SIM_ANY, (int)victim, GOSSIP_EVENT_FAILED, t0);
    print_message("detect victim=%u crash t=%llu: first suspect +%lld ms, first failed +%lld ms "
                  "(not before +%llu), all failed +%lld ms (bound +%d), seed=%llu\n",
                  victim, (unsigned long long)t0, (long long)(first_suspect - (int64_t)t0),
                  (long long)(first_failed - (int64_t)t0), (unsigned long long)earliest,
                  (long long)(t - (int64_t)t0), DETECT_BOUND_MS, (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, t >= 0);
    SIM_ASSERT(sim, first_failed >= 0);
    SIM_ASSERT(sim, (uint64_t)first_failed >= t0 + earliest);
    SIM_ASSERT(sim, (uint64_t)t <= t0 + DETECT_BOUND_MS);

    /* Let it settle: nobody else is failed, the victim stays failed. */
    sim_run_for(sim, 30000);
    size_t false_failures = 0;
    for (unsigned j = 0; j < N; j++)
        if (j != victim)
            false_failures += sim_count_events(sim, SIM_ANY, (int)j, GOSSIP_EVENT_FAILED);
    if (false_failures)
        print_message("false failures: %zu\n", false_failures);
    SIM_ASSERT(sim, false_failures == 0);
    SIM_ASSERT(sim, sim_all_see(sim, victim, SIM_FAILED));
    SIM_ASSERT(sim, sim_converged(sim)); /* the 15 live ones */
    sim_destroy(sim);
}

static void test_detect_crash(void **state)
{
    (void)state;
    detect_run(7, 10000);
}

/* The seed node itself: nobody needs it once joined. */
static void test_detect_seed_crash(void **state)
{
    (void)state;
    detect_run(0, 12345);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_crash),
        cmocka_unit_test(test_detect_seed_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
