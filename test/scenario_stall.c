/*
 * A node whose own loop stalls (a spam burst, a TLS storm, a slow disk)
 * must blame itself, not its peers: it notices a tick later than the
 * deadline it gave (stats.loop_stalls, awareness raised).  N = 16; node
 * 3's loop stalls 1.5 s every 10 s for 10 virtual minutes (datagrams queue meanwhile), once with
 * a loop that reads its socket first on wake and once with one that runs
 * its timers first.  Counted: the
 * suspicions node 3 raises about peers that were healthy the whole time
 * (must be 0).  Others may suspect node 3 while it stalls (it really was
 * unresponsive); nobody may declare anyone failed.  Then a real crash of
 * another node is still detected by node 3 within the bound of
 * scenario_detect (10 s).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim.h"

#define N 16
#define STALLER 3
#define VICTIM 9
#define STALL_MS 1500
#define EVERY_MS 10000
#define RUN_MS 600000
#define DETECT_BOUND_MS 10000

struct stall_ctx {
    uint64_t end;
};

static void stall(sim_t *sim, void *ud)
{
    struct stall_ctx *c = ud;
    sim_pause(sim, STALLER, STALL_MS);
    if (sim_now(sim) + EVERY_MS < c->end)
        sim_at(sim, sim_now(sim) + EVERY_MS, stall, c);
}

static void run(bool ticks_first)
{
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = N;
    o.keep_trace = false;
    o.wake_ticks_first = ticks_first;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    SIM_ASSERT(sim, sim_run_until_cond(sim, sim_pred_converged, NULL, 30000) >= 0);
    uint64_t t0 = sim_now(sim);
    struct stall_ctx c = {.end = t0 + RUN_MS};
    sim_at(sim, t0 + 1234, stall, &c);
    sim_run_for(sim, RUN_MS);

    size_t blamed = 0;
    for (unsigned j = 0; j < N; j++)
        if (j != STALLER)
            blamed += sim_count_events_between(sim, STALLER, (int)j, GOSSIP_EVENT_SUSPECT, t0, UINT64_MAX);
    size_t of_staller = sim_count_events_between(sim, SIM_ANY, STALLER, GOSSIP_EVENT_SUSPECT, t0, UINT64_MAX);
    size_t of_healthy = 0;
    for (unsigned j = 0; j < N; j++)
        if (j != STALLER)
            of_healthy += sim_count_events_between(sim, SIM_ANY, (int)j, GOSSIP_EVENT_SUSPECT, t0, UINT64_MAX);
    size_t failed = sim_count_events_between(sim, SIM_ANY, SIM_ANY, GOSSIP_EVENT_FAILED, t0, UINT64_MAX);
    struct gossip_stats st;
    assert_int_equal(gossip_stats_get(sim_handle(sim, STALLER), &st), 0);
    print_message("%s: %d stalls of %d ms: node %d suspected healthy peers %zu times (must be 0); "
                  "it was suspected %zu times, healthy nodes by anyone %zu times; %zu failed events; %llu stalls noticed by the node itself, seed=%llu\n",
                  ticks_first ? "timers first on wake" : "socket first on wake", RUN_MS / EVERY_MS, STALL_MS,
                  STALLER, blamed, of_staller, of_healthy, failed, (unsigned long long)st.loop_stalls,
                  (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, failed == 0);
    SIM_ASSERT(sim, blamed == 0);
    SIM_ASSERT(sim, of_healthy == 0);
    SIM_ASSERT(sim, st.loop_stalls >= RUN_MS / EVERY_MS - 1); /* every stall seen as its own */

    /* still a detector: a real crash is seen by the staller in time */
    sim_run_for(sim, 5000);
    uint64_t tc = sim_now(sim);
    sim_crash(sim, VICTIM);
    int64_t t = sim_first_event(sim, STALLER, VICTIM, GOSSIP_EVENT_FAILED, tc);
    for (int k = 0; k < 100 && t < 0; k++) {
        sim_run_for(sim, 200);
        t = sim_first_event(sim, STALLER, VICTIM, GOSSIP_EVENT_FAILED, tc);
    }
    print_message("crash of node %d: node %d declared it failed after %lld ms (bound %d)\n", VICTIM, STALLER,
                  (long long)(t < 0 ? -1 : t - (int64_t)tc), DETECT_BOUND_MS);
    SIM_ASSERT(sim, t >= 0 && t - (int64_t)tc <= DETECT_BOUND_MS);
    sim_destroy(sim);
}

/* Both orders a host loop may wake in: reading the socket first (the
 * acks and refutations that queued are seen before any timer), or
 * running the timers first (the library must notice it is late). */
static void test_stalled_node_blames_itself(void **state)
{
    (void)state;
    run(false);
    run(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stalled_node_blames_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
