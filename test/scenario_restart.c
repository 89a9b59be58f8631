/*
 * Restart and leave.
 *
 * Restart: a node crashes and comes back 500 ms later as a new process
 * (same id, higher generation).  Its new incarnation overrides whatever the
 * cluster remembers, so every node has it alive at the new generation
 * quickly: before the minimum suspicion timeout (1846 ms for 16 nodes) could
 * even have run, and nobody ever reports it failed.
 *
 * Leave: a graceful leave is reported as left at every node, never as
 * failed, also long after the process is gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim.h"

#define N 16
#define VICTIM 9
#define RESTART_AFTER_MS 500
#define RESTART_BOUND_MS 1846 /* the minimum suspicion timeout for n = 16 */
#define LEAVE_GRACE_MS 1000
#define LEAVE_BOUND_MS 3000

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

/* Every live node other than the victim knows the victim alive at the
 * generation of its current life. */
static bool new_life_everywhere(sim_t *sim, void *ud)
{
    uint64_t gen = *(const uint64_t *)ud;
    for (unsigned i = 0; i < N; i++) {
        if (i == VICTIM || sim_node_state(sim, i) != SIM_NODE_UP)
            continue;
        struct gossip_member m;
        if (gossip_member_get(sim_handle(sim, i), sim_node_id(sim, VICTIM), &m) != 0 ||
            m.generation != gen || m.state != GOSSIP_ALIVE)
            return false;
    }
    return true;
}

static void test_restart_new_generation(void **state)
{
    (void)state;
    sim_t *sim = converged_cluster();
    struct gossip_member self;
    SIM_ASSERT(sim, gossip_member_get(sim_handle(sim, VICTIM), sim_node_id(sim, VICTIM), &self) == 0);
    uint64_t old_gen = self.generation;

    uint64_t tcrash = sim_now(sim);
    sim_crash(sim, VICTIM);
    sim_run_for(sim, RESTART_AFTER_MS);
    SIM_ASSERT(sim, sim_restart(sim, VICTIM) == 0);
    uint64_t t0 = sim_now(sim);
    SIM_ASSERT(sim, gossip_member_get(sim_handle(sim, VICTIM), sim_node_id(sim, VICTIM), &self) == 0);
    uint64_t new_gen = self.generation;
    SIM_ASSERT(sim, new_gen > old_gen);

    int64_t t = sim_run_until_cond(sim, new_life_everywhere, &new_gen, 30000);
    print_message("restart: generation %llu -> %llu, new life known alive everywhere at +%lld ms "
                  "after restart (bound %d), seed=%llu\n",
                  (unsigned long long)old_gen, (unsigned long long)new_gen,
                  (long long)(t < 0 ? -1 : t - (int64_t)t0), RESTART_BOUND_MS,
                  (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, t >= 0);
    SIM_ASSERT(sim, (uint64_t)t <= t0 + RESTART_BOUND_MS);
    /* And the restarted node knows everyone again. */
    int64_t tc = sim_run_until_cond(sim, sim_pred_converged, NULL, 10000);
    print_message("restart: cluster converged at +%lld ms after restart\n", (long long)(tc - (int64_t)t0));
    SIM_ASSERT(sim, tc >= 0);
    sim_run_for(sim, 30000);
    SIM_ASSERT(sim, sim_count_events_between(sim, SIM_ANY, VICTIM, GOSSIP_EVENT_FAILED, tcrash, UINT64_MAX) == 0);
    SIM_ASSERT(sim, sim_converged(sim));
    SIM_ASSERT(sim, sim_count_events(sim, SIM_ANY, SIM_ANY, GOSSIP_EVENT_FAILED) == 0);
    sim_destroy(sim);
}

/* A restart long after the crash was detected: the new life brings it back
 * from failed. */
static void test_restart_after_failure(void **state)
{
    (void)state;
    sim_t *sim = converged_cluster();
    sim_crash(sim, VICTIM);
    sim_run_for(sim, 20000);
    SIM_ASSERT(sim, sim_all_see(sim, VICTIM, SIM_FAILED));
    SIM_ASSERT(sim, sim_restart(sim, VICTIM) == 0);
    uint64_t t0 = sim_now(sim);
    int64_t t = sim_run_until_cond(sim, sim_pred_converged, NULL, 30000);
    print_message("restart after failure: converged at +%lld ms, seed=%llu\n",
                  (long long)(t < 0 ? -1 : t - (int64_t)t0), (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, t >= 0);
    SIM_ASSERT(sim, (uint64_t)t <= t0 + 5000);
    SIM_ASSERT(sim, sim_count_events_between(sim, SIM_ANY, VICTIM, GOSSIP_EVENT_ALIVE, t0, UINT64_MAX) +
                        sim_count_events_between(sim, SIM_ANY, VICTIM, GOSSIP_EVENT_JOIN, t0, UINT64_MAX) >=
                    N - 1);
    sim_destroy(sim);
}

static bool victim_left_everywhere(sim_t *sim, void *ud)
{
    (void)ud;
    return sim_all_see(sim, VICTIM, SIM_LEFT);
}

static void test_leave(void **state)
{
    (void)state;
    sim_t *sim = converged_cluster();
    uint64_t t0 = sim_now(sim);
    SIM_ASSERT(sim, sim_leave(sim, VICTIM, LEAVE_GRACE_MS) == 0);
    int64_t t = sim_run_until_cond(sim, victim_left_everywhere, NULL, 30000);
    print_message("leave: left at every node at +%lld ms (bound %d), seed=%llu\n",
                  (long long)(t < 0 ? -1 : t - (int64_t)t0), LEAVE_BOUND_MS,
                  (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, t >= 0);
    SIM_ASSERT(sim, (uint64_t)t <= t0 + LEAVE_BOUND_MS);
    /* Long after the process is gone: still left, never failed or suspect. */
    sim_run_for(sim, 60000);
    SIM_ASSERT(sim, sim_node_state(sim, VICTIM) == SIM_NODE_DOWN);
    SIM_ASSERT(sim, sim_all_see(sim, VICTIM, SIM_LEFT));
    SIM_ASSERT(sim, sim_count_events(sim, SIM_ANY, VICTIM, GOSSIP_EVENT_FAILED) == 0);
    SIM_ASSERT(sim, sim_count_events(sim, SIM_ANY, VICTIM, GOSSIP_EVENT_SUSPECT) == 0);
    size_t lefts = 0;
    for (unsigned i = 0; i < N; i++)
        if (i != VICTIM)
            lefts += sim_count_events(sim, (int)i, VICTIM, GOSSIP_EVENT_LEFT);
    SIM_ASSERT(sim, lefts == N - 1); /* once each */
    SIM_ASSERT(sim, sim_converged(sim));
    sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_new_generation),
        cmocka_unit_test(test_restart_after_failure),
        cmocka_unit_test(test_leave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
