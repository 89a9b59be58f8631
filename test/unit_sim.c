/*
 * Tests of the simulator itself: event ordering, the PRNG, the network
 * model, and (with the real protocol) that a run is a pure function of its
 * seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim.h"

static struct sim_options quiet_options(unsigned n)
{
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = n;
    o.autostart = false;
    return o;
}

/* --- event order --------------------------------------------------------- */

struct order_rec {
    uint64_t t[64];
    int tag[64];
    unsigned n;
};

struct order_call {
    struct order_rec *rec;
    int tag;
};

static void record_call(sim_t *sim, void *ud)
{
    struct order_call *c = ud;
    c->rec->t[c->rec->n] = sim_now(sim);
    c->rec->tag[c->rec->n] = c->tag;
    c->rec->n++;
}

static void test_event_order(void **state)
{
    (void)state;
    struct sim_options o = quiet_options(1);
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    struct order_rec rec = {0};
    /* Scrambled times with ties: ties must run in scheduling order. */
    static const uint64_t times[] = {50, 10, 30, 10, 0, 50, 20, 10, 40, 30, 5, 50};
    struct order_call calls[sizeof times / sizeof times[0]];
    for (unsigned i = 0; i < sizeof times / sizeof times[0]; i++) {
        calls[i].rec = &rec;
        calls[i].tag = (int)i;
        sim_at(sim, times[i], record_call, &calls[i]);
    }
    assert_int_equal(sim_run_until(sim, 35), 0);
    assert_int_equal(sim_now(sim), 35);
    assert_int_equal(rec.n, 8); /* 0, 5, 10 x3, 20, 30 x2 */
    assert_int_equal(sim_run_until(sim, 100), 0);
    assert_int_equal(rec.n, sizeof times / sizeof times[0]);
    for (unsigned i = 1; i < rec.n; i++) {
        assert_true(rec.t[i - 1] <= rec.t[i]);
        if (rec.t[i - 1] == rec.t[i])
            assert_true(rec.tag[i - 1] < rec.tag[i]);
        assert_int_equal(rec.t[i], times[rec.tag[i]]);
    }
    sim_destroy(sim);
}

/* Many events through the heap come out sorted (a heap property check). */
static uint64_t big_last, big_count;
static bool big_sorted = true;

static void big_call(sim_t *sim, void *ud)
{
    (void)ud;
    if (sim_now(sim) < big_last)
        big_sorted = false;
    big_last = sim_now(sim);
    big_count++;
}

static void test_heap_many(void **state)
{
    (void)state;
    struct sim_options o = quiet_options(1);
    sim_t *sim = sim_create(&o);
    struct sim_rng r;
    sim_rng_seed(&r, 42, 0, 0);
    for (int i = 0; i < 20000; i++)
        sim_at(sim, sim_rng_below(&r, 100000), big_call, NULL);
    assert_int_equal(sim_run_until(sim, 100000), 0);
    assert_true(big_sorted);
    assert_int_equal(big_count, 20000);
    sim_destroy(sim);
}

/* An event scheduled from inside an event at the same time runs after the
 * ones already queued for that time, and a past time is clamped to now. */
static int chain_log[8];
static unsigned chain_n;

static void chain_b(sim_t *sim, void *ud)
{
    (void)sim;
    chain_log[chain_n++] = (int)(intptr_t)ud;
}

static void chain_a(sim_t *sim, void *ud)
{
    (void)ud;
    chain_log[chain_n++] = 1;
    sim_at(sim, sim_now(sim), chain_b, (void *)(intptr_t)3);
    sim_at(sim, 0, chain_b, (void *)(intptr_t)4); /* in the past: runs now, after 3 */
}

static void test_event_chain(void **state)
{
    (void)state;
    struct sim_options o = quiet_options(1);
    sim_t *sim = sim_create(&o);
    sim_at(sim, 7, chain_a, NULL);
    sim_at(sim, 7, chain_b, (void *)(intptr_t)2);
    assert_int_equal(sim_run_for(sim, 10), 0);
    assert_int_equal(chain_n, 4);
    assert_int_equal(chain_log[0], 1);
    assert_int_equal(chain_log[1], 2);
    assert_int_equal(chain_log[2], 3);
    assert_int_equal(chain_log[3], 4);
    sim_destroy(sim);
}

/* --- PRNG ---------------------------------------------------------------- */

static void test_rng_determinism(void **state)
{
    (void)state;
    struct sim_rng a, b, c, d;
    sim_rng_seed(&a, 1234, 5, 0);
    sim_rng_seed(&b, 1234, 5, 0);
    sim_rng_seed(&c, 1234, 6, 0);
    sim_rng_seed(&d, 1234, 5, 1);
    int same_c = 0, same_d = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t va = sim_rng_next(&a), vb = sim_rng_next(&b);
        assert_true(va == vb);
        same_c += sim_rng_next(&c) == va;
        same_d += sim_rng_next(&d) == va;
    }
    assert_int_equal(same_c, 0);
    assert_int_equal(same_d, 0);
    /* A pinned output: changing the generator silently changes what every
     * recorded failing seed replays, so it must be a deliberate edit. */
    struct sim_rng z;
    sim_rng_seed(&z, 0, 0, 0);
    assert_true(sim_rng_next(&z) == 0xa8f535a970746e36ULL);
}

static void test_rng_ranges(void **state)
{
    (void)state;
    struct sim_rng r;
    sim_rng_seed(&r, 99, 0, 0);
    unsigned hist[10] = {0};
    for (int i = 0; i < 100000; i++) {
        double x = sim_rng_double(&r);
        assert_true(x >= 0.0 && x < 1.0);
        uint64_t k = sim_rng_below(&r, 10);
        assert_true(k < 10);
        hist[k]++;
    }
    for (int k = 0; k < 10; k++)
        assert_true(hist[k] > 9500 && hist[k] < 10500);
}

static void test_seed_from_env(void **state)
{
    (void)state;
    unsetenv("GOSSIP_SIM_SEED");
    assert_true(sim_seed_from_env(17) == 17);
    setenv("GOSSIP_SIM_SEED", "12345", 1);
    assert_true(sim_seed_from_env(17) == 12345);
    setenv("GOSSIP_SIM_SEED", "0x10", 1);
    assert_true(sim_seed_from_env(17) == 16);
    setenv("GOSSIP_SIM_SEED", "junk", 1);
    assert_true(sim_seed_from_env(17) == 17);
    unsetenv("GOSSIP_SIM_SEED");
}

/* --- network model ------------------------------------------------------- */

static void test_loss_model(void **state)
{
    (void)state;
    struct sim_options o = quiet_options(4);
    o.seed = 7;
    o.loss = 0.1;
    o.latency_ms = 5;
    o.jitter_ms = 10;
    sim_t *sim = sim_create(&o);
    unsigned delivered = 0, total = 200000;
    uint64_t dmin = UINT64_MAX, dmax = 0;
    for (unsigned i = 0; i < total; i++) {
        uint64_t d;
        if (sim_route(sim, i % 4, (i + 1) % 4, &d)) {
            delivered++;
            dmin = d < dmin ? d : dmin;
            dmax = d > dmax ? d : dmax;
        }
    }
    double ratio = 1.0 - (double)delivered / total;
    assert_true(ratio > 0.095 && ratio < 0.105);
    assert_int_equal(dmin, 5);
    assert_int_equal(dmax, 15);

    /* One-way cut: 0 -> 1 gone, 1 -> 0 still (lossy) fine. */
    sim_set_loss(sim, 0.0);
    sim_cut(sim, 0, 1);
    uint64_t d;
    for (int i = 0; i < 100; i++) {
        assert_false(sim_route(sim, 0, 1, &d));
        assert_true(sim_route(sim, 1, 0, &d));
        assert_true(sim_route(sim, 0, 2, &d));
    }
    sim_uncut(sim, 0, 1);
    assert_true(sim_route(sim, 0, 1, &d));

    /* A per-link override of loss and latency. */
    sim_link_set(sim, 2, 3, 0.5, 100, 0);
    unsigned ok = 0;
    for (int i = 0; i < 10000; i++)
        if (sim_route(sim, 2, 3, &d)) {
            ok++;
            assert_int_equal(d, 100);
        }
    assert_true(ok > 4700 && ok < 5300);
    sim_links_clear(sim);

    /* Partition: only within a group. */
    unsigned groups[4] = {0, 0, 1, 1};
    sim_partition(sim, groups);
    assert_true(sim_route(sim, 0, 1, &d));
    assert_true(sim_route(sim, 3, 2, &d));
    assert_false(sim_route(sim, 1, 2, &d));
    assert_false(sim_route(sim, 2, 0, &d));
    sim_heal(sim);
    assert_true(sim_route(sim, 1, 2, &d));
    sim_destroy(sim);
}

static void test_loss_model_deterministic(void **state)
{
    (void)state;
    uint64_t pattern[2] = {0, 0};
    for (int run = 0; run < 2; run++) {
        struct sim_options o = quiet_options(2);
        o.seed = 31337;
        o.loss = 0.3;
        sim_t *sim = sim_create(&o);
        for (int i = 0; i < 64; i++) {
            uint64_t d;
            if (sim_route(sim, 0, 1, &d))
                pattern[run] |= 1ULL << i;
        }
        sim_destroy(sim);
    }
    assert_true(pattern[0] == pattern[1]);
}

/* --- whole runs with the real protocol ----------------------------------- */

/* A busy scenario touching every feature: join, jitter and loss, a crash, a
 * restart, a pause, a partition, a leave. */
static uint64_t busy_run(uint64_t seed, size_t *lines)
{
    struct sim_options o;
    sim_options_init(&o);
    o.seed = seed;
    o.n_nodes = 12;
    o.jitter_ms = 20;
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    sim_run_until(sim, 5000);
    sim_set_loss(sim, 0.05);
    sim_crash(sim, 3);
    sim_pause(sim, 4, 3000);
    sim_run_for(sim, 10000);
    sim_restart(sim, 3);
    unsigned groups[12] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    sim_partition(sim, groups);
    sim_run_for(sim, 15000);
    sim_heal(sim);
    sim_leave(sim, 11, 1000);
    sim_run_for(sim, 20000);
    uint64_t h = sim_trace_hash(sim);
    size_t len;
    const char *t = sim_trace(sim, &len);
    *lines = 0;
    for (size_t i = 0; i < len; i++)
        *lines += t[i] == '\n';
    sim_destroy(sim);
    return h;
}

static void test_same_seed_same_trace(void **state)
{
    (void)state;
    size_t l1, l2, l3;
    uint64_t a = busy_run(1001, &l1);
    uint64_t b = busy_run(1001, &l2);
    uint64_t c = busy_run(1002, &l3);
    print_message("seed 1001: %zu trace lines, hash %016llx; seed 1002: %zu lines, hash %016llx\n",
                  l1, (unsigned long long)a, l3, (unsigned long long)c);
    assert_true(l1 > 50); /* it did something */
    assert_int_equal(l1, l2);
    assert_true(a == b);
    assert_true(a != c);
}

/* Two simulators interleaved in one process do not disturb each other: the
 * library keeps no global state and neither does the simulator. */
static void test_interleaved_sims(void **state)
{
    (void)state;
    struct sim_options o;
    sim_options_init(&o);
    o.seed = 77;
    o.n_nodes = 8;
    sim_t *alone = sim_create(&o);
    sim_run_until(alone, 20000);
    uint64_t h = sim_trace_hash(alone);
    sim_destroy(alone);

    sim_t *a = sim_create(&o);
    o.seed = 78;
    sim_t *b = sim_create(&o);
    for (uint64_t t = 0; t <= 20000; t += 250) {
        sim_run_until(a, t);
        sim_run_until(b, t);
    }
    assert_true(sim_trace_hash(a) == h);
    sim_destroy(a);
    sim_destroy(b);
}

/* A paused node receives nothing until it wakes, then everything. */
static void test_pause_backlog(void **state)
{
    (void)state;
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = 4;
    sim_t *sim = sim_create(&o);
    int64_t t = sim_run_until_cond(sim, sim_pred_converged, NULL, 20000);
    SIM_ASSERT(sim, t >= 0);
    struct sim_stats s0, s1;
    sim_stats_get(sim, &s0);
    sim_pause(sim, 2, 5000);
    SIM_ASSERT(sim, sim_is_paused(sim, 2));
    sim_run_for(sim, 4999);
    SIM_ASSERT(sim, sim_is_paused(sim, 2));
    sim_stats_get(sim, &s1);
    SIM_ASSERT(sim, s1.backlogged > s0.backlogged);
    sim_run_for(sim, 2);
    SIM_ASSERT(sim, !sim_is_paused(sim, 2));
    sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_order),
        cmocka_unit_test(test_heap_many),
        cmocka_unit_test(test_event_chain),
        cmocka_unit_test(test_rng_determinism),
        cmocka_unit_test(test_rng_ranges),
        cmocka_unit_test(test_seed_from_env),
        cmocka_unit_test(test_loss_model),
        cmocka_unit_test(test_loss_model_deterministic),
        cmocka_unit_test(test_same_seed_same_trace),
        cmocka_unit_test(test_interleaved_sims),
        cmocka_unit_test(test_pause_backlog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
