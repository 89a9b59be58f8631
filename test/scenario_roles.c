/*
 * Roles (duties) on the virtual clock: heartbeat 1000 ms, 9-10 nodes, the
 * same role table on every node (set through the simulator's configure hook
 * with gossip_config_set_role()).  What is checked, per test:
 *
 *  failover_and_return  acme.renew = [5], 10 nodes.  Converged: node 5 alone
 *      holds it (its role callback says held, gossip_role_held() agrees,
 *      gossip_role_holders() is {5} at every node).  Crash 5: exactly one
 *      other node takes it (one held=true callback in the whole cluster, at
 *      the rendezvous winner), never before that node declared 5 failed and
 *      never while 5 is merely suspect (so not before crash + probe timeout
 *      200 ms + minimum suspicion 1500 ms - one-way delay 3 ms), and within
 *      10 s of the crash; every live node then names the same holder.
 *      Restart 5: the role is back on 5 (5 gets held=true, the stand-in
 *      held=false, nobody else hears anything) within 5 s.
 *  restart_bystander  a node that is not listed restarts while 5 is alive:
 *      it must not take the role (a rolling restart must not run a
 *      singleton duty twice).
 *  suspicion_keeps_role  ten pauses of node 5 of 1500 ms (below the
 *      minimum suspicion timeout of 1562 ms plus a probe round): node 5 is
 *      suspected at least once, never declared failed, and no role
 *      callback fires anywhere.
 *  no_failover  acme.renew = [5] with GOSSIP_ROLE_NO_FAILOVER: crash 5, and
 *      nobody holds it (no held=true callback, holders empty everywhere)
 *      until 5 restarts.
 *  quorum_partition  acme.renew = [1] with GOSSIP_ROLE_QUORUM on 9 nodes,
 *      partition {0..3} / {4..8} for 60 s: node 1 gives the role up, no
 *      other minority node ever takes it, exactly one majority node takes
 *      it, and at the end of the partition the sides do not both hold it.
 *      Heal: back on node 1 only within 20 s.
 *  reconfigure_moves_role  gossip_reconfigure() on every node moves
 *      acme.renew from [5] to [2]: 5 gets held=false, 2 held=true, nobody
 *      else hears anything, every view is {2}.
 *  reconfigure_reordered  the same move, while a role is added in front of
 *      acme.renew in the table (so its index changes).
 *
 *  reconfigure_same_config  gossip_reconfigure() with the very config the
 *      node was created with is accepted.
 *
 * Every measured time is printed with the seed (GOSSIP_SIM_SEED replays).
 * Three of these fail against the library as it is, on every seed tried
 * (1..200): restart_bystander (a restarted node holds every failover role
 * at its first tick, alone in its view, until it hears from the cluster),
 * reconfigure_same_config (advertise_port and max_datagram are compared raw
 * against their derived values, so a config with the 0 defaults is
 * refused) and reconfigure_reordered (role changes are detected by a bit
 * mask over role indices, so a role that moves in the table is not
 * reported).  Also measured, not asserted: with GOSSIP_ROLE_QUORUM the
 * majority side takes the role seconds before the minority side gives it
 * up (572 ms to 18.4 s over seeds 1..200).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "roles.h"
#include "sim.h"

#define MAX_N 10
#define HEARTBEAT_MS 1000
#define PROBE_TIMEOUT_MS 200
#define LATENCY_MS 1
#define JITTER_MS 2
#define FAILOVER_BOUND_MS 10000
#define RETURN_BOUND_MS 5000
#define HEAL_BOUND_MS 20000
#define ROLE "acme.renew"
#define OTHER_ROLE "metrics.push"
#define MAX_RECS 8192

/* ------------------------------------------------------------- harness */

struct role_rec {
    uint64_t t;
    unsigned node;
    bool held;
    char role[GOSSIP_ROLE_NAME_MAX];
};

struct role_spec {
    const char *name;
    unsigned nodes[GOSSIP_ROLE_MAX_NODES]; /* node indices */
    unsigned n;
    unsigned flags;
};

struct harness;

struct node_ctx {
    struct harness *h;
    unsigned index;
    /* The simulator's own member callback, which we forward to. */
    void *sim_ud;
    void (*sim_member)(void *ud, enum gossip_event event, const struct gossip_member *m);
    void (*sim_log)(void *ud, enum gossip_log_level level, const char *msg);
    struct gossip_config cfg; /* as created: the base for gossip_reconfigure() */
    bool held;                /* ROLE, as this life's role callbacks said */
};

struct harness {
    sim_t *sim;
    unsigned n;
    struct role_spec roles[4];
    unsigned n_roles;
    struct node_ctx nodes[MAX_N];
    struct role_rec recs[MAX_RECS];
    size_t n_recs;
    size_t redundant; /* callbacks that repeat the state already reported */
};

static struct harness H;

static void wrap_member(void *ud, enum gossip_event event, const struct gossip_member *m)
{
    struct node_ctx *c = ud;
    c->sim_member(c->sim_ud, event, m);
}

static void wrap_log(void *ud, enum gossip_log_level level, const char *msg)
{
    struct node_ctx *c = ud;
    if (c->sim_log)
        c->sim_log(c->sim_ud, level, msg);
}

static void on_role(void *ud, const char *role, bool held)
{
    struct node_ctx *c = ud;
    struct harness *h = c->h;
    if (h->n_recs < MAX_RECS) {
        struct role_rec *r = &h->recs[h->n_recs++];
        r->t = sim_now(h->sim);
        r->node = c->index;
        r->held = held;
        snprintf(r->role, sizeof r->role, "%s", role);
    }
    if (strcmp(role, ROLE) == 0) {
        if (c->held == held)
            h->redundant++;
        c->held = held;
    }
    sim_note(h->sim, "role node=%u %s held=%d", c->index, role, (int)held);
}

static void set_roles(struct harness *h, sim_t *sim, struct gossip_config *cfg)
{
    cfg->n_roles = 0; /* drop the five defaults: only what the test declares */
    for (unsigned r = 0; r < h->n_roles; r++) {
        uint64_t ids[GOSSIP_ROLE_MAX_NODES];
        for (unsigned k = 0; k < h->roles[r].n; k++)
            ids[k] = sim_node_id(sim, h->roles[r].nodes[k]);
        int rc = gossip_config_set_role(cfg, h->roles[r].name, ids, h->roles[r].n, h->roles[r].flags);
        assert_int_equal(rc, 0);
    }
}

static void configure(void *ud, sim_t *sim, unsigned node, struct gossip_config *cfg)
{
    struct harness *h = ud;
    struct node_ctx *c = &h->nodes[node];
    h->sim = sim;
    c->h = h;
    c->index = node;
    c->sim_ud = cfg->cb.ud;
    c->sim_member = cfg->cb.member;
    c->sim_log = cfg->cb.log;
    c->held = false; /* a new life starts holding nothing */
    set_roles(h, sim, cfg);
    cfg->cb.ud = c;
    cfg->cb.member = wrap_member;
    cfg->cb.log = wrap_log;
    cfg->cb.role = on_role;
    c->cfg = *cfg;
}

/* A role table with one role. */
static void one_role(struct harness *h, const char *name, const unsigned *nodes, unsigned n,
                     unsigned flags)
{
    h->n_roles = 1;
    h->roles[0].name = name;
    memcpy(h->roles[0].nodes, nodes, n * sizeof *nodes);
    h->roles[0].n = n;
    h->roles[0].flags = flags;
}

static sim_t *harness_start(struct harness *h, unsigned n)
{
    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = n;
    o.heartbeat_ms = HEARTBEAT_MS;
    o.latency_ms = LATENCY_MS;
    o.jitter_ms = JITTER_MS;
    o.configure = configure;
    o.ud = h;
    h->n = n;
    h->n_recs = 0;
    h->redundant = 0;
    memset(h->nodes, 0, sizeof h->nodes);
    sim_t *sim = sim_create(&o);
    assert_non_null(sim);
    h->sim = sim;
    return sim;
}

static bool is_up(sim_t *sim, unsigned i)
{
    return sim_node_state(sim, i) == SIM_NODE_UP && sim_handle(sim, i) != NULL;
}

/* ROLE callbacks matching (node, held), -1 = any, with from <= t < to. */
static size_t rc_count(const struct harness *h, int node, int held, uint64_t from, uint64_t to)
{
    size_t k = 0;
    for (size_t i = 0; i < h->n_recs; i++) {
        const struct role_rec *r = &h->recs[i];
        if (strcmp(r->role, ROLE) != 0 || r->t < from || r->t >= to)
            continue;
        if ((node < 0 || r->node == (unsigned)node) && (held < 0 || (int)r->held == held))
            k++;
    }
    return k;
}

static size_t rc_count_any_role(const struct harness *h, uint64_t from, uint64_t to)
{
    size_t k = 0;
    for (size_t i = 0; i < h->n_recs; i++)
        if (h->recs[i].t >= from && h->recs[i].t < to)
            k++;
    return k;
}

static int64_t rc_first(const struct harness *h, int node, int held, uint64_t from)
{
    for (size_t i = 0; i < h->n_recs; i++) {
        const struct role_rec *r = &h->recs[i];
        if (strcmp(r->role, ROLE) != 0 || r->t < from)
            continue;
        if ((node < 0 || r->node == (unsigned)node) && (held < 0 || (int)r->held == held))
            return (int64_t)r->t;
    }
    return -1;
}

static void rc_dump(const struct harness *h, uint64_t from)
{
    for (size_t i = 0; i < h->n_recs; i++)
        if (h->recs[i].t >= from)
            print_message("  t=%llu node=%u %s held=%d\n", (unsigned long long)h->recs[i].t,
                          h->recs[i].node, h->recs[i].role, (int)h->recs[i].held);
}

/* Up nodes that hold ROLE by gossip_role_held(); -1 if that disagrees with
 * what the node's role callbacks said. */
static int local_holders(struct harness *h, unsigned *out)
{
    int k = 0;
    for (unsigned i = 0; i < h->n; i++) {
        if (!is_up(h->sim, i))
            continue;
        int r = gossip_role_held(sim_handle(h->sim, i), ROLE);
        if (r < 0 || (r == 1) != h->nodes[i].held)
            return -1;
        if (r == 1)
            out[k++] = i;
    }
    return k;
}

/* Does every up node (optionally only those in `mask`) name exactly
 * `exp` (node indices, ascending) as the holders of ROLE? */
static bool views_are(struct harness *h, const unsigned *exp, size_t n_exp, const bool *mask)
{
    for (unsigned i = 0; i < h->n; i++) {
        if (!is_up(h->sim, i) || (mask && !mask[i]))
            continue;
        uint64_t ids[MAX_N];
        int r = gossip_role_holders(sim_handle(h->sim, i), ROLE, ids, MAX_N);
        if (r < 0 || (size_t)r != n_exp)
            return false;
        for (size_t k = 0; k < n_exp; k++)
            if (ids[k] != sim_node_id(h->sim, exp[k]))
                return false;
    }
    return true;
}

static void print_views(struct harness *h)
{
    for (unsigned i = 0; i < h->n; i++) {
        if (!is_up(h->sim, i))
            continue;
        uint64_t ids[MAX_N];
        int r = gossip_role_holders(sim_handle(h->sim, i), ROLE, ids, MAX_N);
        char buf[128];
        size_t off = 0;
        for (int k = 0; k < r && k < MAX_N; k++)
            off += (size_t)snprintf(buf + off, sizeof buf - off, " %llu",
                                    (unsigned long long)(ids[k] - sim_node_id(h->sim, 0)));
        buf[off] = '\0';
        print_message("  node %u: held=%d holders={%s }\n", i,
                      gossip_role_held(sim_handle(h->sim, i), ROLE), buf);
    }
}

/* Exactly `node` holds ROLE, by itself and in every up node's view. */
static bool held_only_by(struct harness *h, unsigned node)
{
    unsigned loc[MAX_N];
    int k = local_holders(h, loc);
    return k == 1 && loc[0] == node && views_are(h, &node, 1, NULL);
}

struct only_pred {
    struct harness *h;
    unsigned node;
};

static bool pred_held_only_by(sim_t *sim, void *ud)
{
    (void)sim;
    struct only_pred *p = ud;
    return held_only_by(p->h, p->node);
}

/* Exactly one up node other than `not` holds ROLE and every view agrees. */
struct new_holder_pred {
    struct harness *h;
    unsigned not_node;
    unsigned holder;
};

static bool pred_new_holder(sim_t *sim, void *ud)
{
    (void)sim;
    struct new_holder_pred *p = ud;
    unsigned loc[MAX_N];
    int k = local_holders(p->h, loc);
    if (k != 1 || loc[0] == p->not_node)
        return false;
    if (!views_are(p->h, loc, 1, NULL))
        return false;
    p->holder = loc[0];
    return true;
}

/* The failover node the rendezvous rule picks when every node but `gone`
 * is alive (computed with the library's own pure function). */
static unsigned rendezvous_pick(struct harness *h, const struct gossip_role *role, unsigned gone)
{
    struct roles_member v[MAX_N];
    for (unsigned i = 0; i < h->n; i++) {
        v[i].id = sim_node_id(h->sim, i);
        v[i].state = i == gone ? GOSSIP_FAILED : GOSSIP_ALIVE;
        v[i].draining = false;
    }
    uint64_t out[MAX_N];
    size_t k = roles_holders(role, v, h->n, out, MAX_N);
    assert_int_equal(k, 1);
    return (unsigned)(out[0] - sim_node_id(h->sim, 0));
}

/* Converge, then check the steady state: exactly `holder` holds ROLE. */
static void converge_with_holder(struct harness *h, unsigned holder)
{
    sim_t *sim = h->sim;
    int64_t tc = sim_run_until_cond(sim, sim_pred_converged, NULL, 30000);
    SIM_ASSERT(sim, tc >= 0);
    struct only_pred p = {h, holder};
    int64_t th = sim_run_until_cond(sim, pred_held_only_by, &p, 10000);
    size_t startup_claims = rc_count(h, -1, 1, 0, UINT64_MAX) - rc_count(h, (int)holder, 1, 0, UINT64_MAX);
    print_message("converged at t=%lld ms, role settled on node %u at t=%lld ms; start-up claims by "
                  "other nodes (each alone in its own view at its first tick): %zu, seed=%llu\n",
                  (long long)tc, holder, (long long)th, startup_claims,
                  (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, th >= 0);
    /* Stays there. */
    sim_run_for(sim, 5000);
    uint64_t t = sim_now(sim);
    SIM_ASSERT(sim, held_only_by(h, holder));
    SIM_ASSERT(sim, h->nodes[holder].held);
    for (unsigned i = 0; i < h->n; i++)
        if (i != holder)
            SIM_ASSERT(sim, !h->nodes[i].held);
    (void)t;
}

/* ------------------------------------------------------------ tests */

#define N1 10
#define HOLDER 5

static void test_failover_and_return(void **state)
{
    (void)state;
    struct harness *h = &H;
    one_role(h, ROLE, (const unsigned[]){HOLDER}, 1, 0);
    sim_t *sim = harness_start(h, N1);
    converge_with_holder(h, HOLDER);
    sim_run_until(sim, 20000);

    /* The node the rule picks once 5 is failed. */
    struct gossip_config tmp;
    gossip_config_init(&tmp);
    set_roles(h, sim, &tmp);
    unsigned expect = rendezvous_pick(h, &tmp.roles[0], HOLDER);

    sim_crash(sim, HOLDER);
    uint64_t t0 = sim_now(sim);
    /* Smallest suspicion the library could use here: n taken as the 9
     * survivors, 1.0 * log10(10) * 1000 = 1000 ms (the library's default
     * multiplier; never below one heartbeat). */
    uint64_t susp_min = (uint64_t)(1.0 * log10((double)(N1 - 1) + 1.0) * HEARTBEAT_MS);
    if (susp_min < HEARTBEAT_MS)
        susp_min = HEARTBEAT_MS;
    uint64_t earliest = PROBE_TIMEOUT_MS + susp_min - (LATENCY_MS + JITTER_MS);

    struct new_holder_pred np = {h, HOLDER, 0};
    int64_t t = sim_run_until_cond(sim, pred_new_holder, &np, FAILOVER_BOUND_MS + 10000);
    int64_t first_suspect = sim_first_event(sim, SIM_ANY, HOLDER, GOSSIP_EVENT_SUSPECT, t0);
    int64_t first_failed = sim_first_event(sim, SIM_ANY, HOLDER, GOSSIP_EVENT_FAILED, t0);
    int64_t take = rc_first(h, -1, 1, t0);
    int64_t taker_failed = t >= 0 ? sim_first_event(sim, (int)np.holder, HOLDER, GOSSIP_EVENT_FAILED, t0) : -1;
    print_message("crash node %d at t=%llu: first suspect +%lld, first failed +%lld, node %u took the "
                  "role at +%lld (it saw 5 failed at +%lld; not before +%llu), all agree at +%lld "
                  "(bound +%d), rendezvous pick %u, seed=%llu\n",
                  HOLDER, (unsigned long long)t0, (long long)(first_suspect - (int64_t)t0),
                  (long long)(first_failed - (int64_t)t0), np.holder, (long long)(take - (int64_t)t0),
                  (long long)(taker_failed - (int64_t)t0), (unsigned long long)earliest,
                  (long long)(t - (int64_t)t0), FAILOVER_BOUND_MS, expect,
                  (unsigned long long)sim_seed(sim));
    if (t < 0)
        rc_dump(h, t0);
    SIM_ASSERT(sim, t >= 0);
    SIM_ASSERT(sim, (uint64_t)t <= t0 + FAILOVER_BOUND_MS);
    SIM_ASSERT(sim, np.holder == expect);
    /* Exactly one takeover, by the holder, and nobody lost anything. */
    SIM_ASSERT(sim, rc_count(h, -1, 1, t0, UINT64_MAX) == 1);
    SIM_ASSERT(sim, rc_count(h, (int)np.holder, 1, t0, UINT64_MAX) == 1);
    SIM_ASSERT(sim, rc_count(h, -1, 0, t0, UINT64_MAX) == 0);
    /* Not while 5 was merely suspect: only once the taker declared it
     * failed, and not before the detection could possibly complete. */
    SIM_ASSERT(sim, first_suspect >= 0 && first_failed >= 0);
    SIM_ASSERT(sim, rc_count(h, -1, -1, t0, (uint64_t)first_failed) == 0);
    SIM_ASSERT(sim, taker_failed >= 0 && take >= taker_failed);
    SIM_ASSERT(sim, (uint64_t)take >= t0 + earliest);

    /* Stable afterwards. */
    sim_run_for(sim, 20000);
    SIM_ASSERT(sim, rc_count(h, -1, -1, t0, UINT64_MAX) == 1);
    SIM_ASSERT(sim, views_are(h, &np.holder, 1, NULL));

    /* Node 5 comes back: the role returns to it. */
    unsigned standin = np.holder;
    assert_int_equal(sim_restart(sim, HOLDER), 0);
    uint64_t t1 = sim_now(sim);
    struct only_pred op = {h, HOLDER};
    int64_t back = sim_run_until_cond(sim, pred_held_only_by, &op, RETURN_BOUND_MS + 20000);
    int64_t t5 = rc_first(h, HOLDER, 1, t1);
    int64_t tgive = rc_first(h, (int)standin, 0, t1);
    print_message("restart node %d at t=%llu: node %d held=true at +%lld, stand-in %u held=false at "
                  "+%lld (both held for %lld ms), every view {5} at +%lld (bound +%d)\n",
                  HOLDER, (unsigned long long)t1, HOLDER, (long long)(t5 - (int64_t)t1), standin,
                  (long long)(tgive - (int64_t)t1), (long long)(tgive - t5), (long long)(back - (int64_t)t1),
                  RETURN_BOUND_MS);
    if (back < 0)
        print_views(h);
    SIM_ASSERT(sim, back >= 0);
    SIM_ASSERT(sim, (uint64_t)back <= t1 + RETURN_BOUND_MS);
    SIM_ASSERT(sim, t5 >= 0 && tgive >= 0);
    sim_run_for(sim, 20000);
    SIM_ASSERT(sim, rc_count(h, HOLDER, -1, t1, UINT64_MAX) == 1);
    SIM_ASSERT(sim, rc_count(h, (int)standin, -1, t1, UINT64_MAX) == 1);
    SIM_ASSERT(sim, rc_count(h, -1, -1, t1, UINT64_MAX) == 2);
    SIM_ASSERT(sim, held_only_by(h, HOLDER));
    SIM_ASSERT(sim, h->redundant == 0);
    sim_destroy(sim);
}

/* A node that is not listed restarts while the listed holder is alive. */
static void test_restart_bystander(void **state)
{
    (void)state;
    struct harness *h = &H;
    one_role(h, ROLE, (const unsigned[]){HOLDER}, 1, 0);
    sim_t *sim = harness_start(h, N1);
    converge_with_holder(h, HOLDER);
    sim_run_until(sim, 20000);
    /* The node that would win a failover is the one most likely to grab
     * it; restart that one, and a seed (node 0), and one more. */
    struct gossip_config tmp;
    gossip_config_init(&tmp);
    set_roles(h, sim, &tmp);
    unsigned victims[3] = {rendezvous_pick(h, &tmp.roles[0], HOLDER), 0, 3};
    for (unsigned v = 0; v < 3; v++) {
        if (v > 0 && victims[v] == victims[0])
            continue;
        uint64_t t1 = sim_now(sim);
        assert_int_equal(sim_restart(sim, victims[v]), 0);
        sim_run_for(sim, 15000);
        size_t claims = rc_count(h, (int)victims[v], 1, t1, UINT64_MAX);
        int64_t first = rc_first(h, (int)victims[v], 1, t1);
        int64_t drop = rc_first(h, (int)victims[v], 0, t1);
        print_message("restart bystander node %u at t=%llu: %zu held=true callbacks on it (first at "
                      "+%lld, dropped at +%lld) while node %d is alive, seed=%llu\n",
                      victims[v], (unsigned long long)t1, claims,
                      (long long)(first < 0 ? -1 : first - (int64_t)t1),
                      (long long)(drop < 0 ? -1 : drop - (int64_t)t1), HOLDER,
                      (unsigned long long)sim_seed(sim));
        SIM_ASSERT(sim, rc_count(h, -1, -1, t1, UINT64_MAX) == 0);
        SIM_ASSERT(sim, held_only_by(h, HOLDER));
    }
    sim_destroy(sim);
}

/* Short stalls of the holder: suspected, refuted, role never moves. */
#define PAUSE_MS 1500
#define PAUSES 10
static void test_suspicion_keeps_role(void **state)
{
    (void)state;
    struct harness *h = &H;
    one_role(h, ROLE, (const unsigned[]){HOLDER}, 1, 0);
    sim_t *sim = harness_start(h, N1);
    converge_with_holder(h, HOLDER);
    sim_run_until(sim, 20000);
    uint64_t start = sim_now(sim);
    size_t total_susp = 0;
    for (int k = 0; k < PAUSES; k++) {
        uint64_t t0 = sim_now(sim);
        sim_pause(sim, HOLDER, PAUSE_MS);
        /* Varying phase against the 1 s probe period. */
        sim_run_for(sim, PAUSE_MS + 10000 + 337 * (uint64_t)k);
        size_t susp = sim_count_events_between(sim, SIM_ANY, HOLDER, GOSSIP_EVENT_SUSPECT, t0, UINT64_MAX);
        size_t failed = sim_count_events_between(sim, SIM_ANY, HOLDER, GOSSIP_EVENT_FAILED, t0, UINT64_MAX);
        size_t cbs = rc_count_any_role(h, t0, UINT64_MAX);
        int64_t fs = sim_first_event(sim, SIM_ANY, HOLDER, GOSSIP_EVENT_SUSPECT, t0);
        print_message("pause %d of node %d for %d ms at t=%llu: %zu suspect events (first +%lld), "
                      "%zu failed, %zu role callbacks, seed=%llu\n",
                      k, HOLDER, PAUSE_MS, (unsigned long long)t0, susp,
                      (long long)(fs < 0 ? -1 : fs - (int64_t)t0), failed, cbs,
                      (unsigned long long)sim_seed(sim));
        total_susp += susp;
        SIM_ASSERT(sim, failed == 0);
        SIM_ASSERT(sim, cbs == 0);
        SIM_ASSERT(sim, held_only_by(h, HOLDER));
    }
    /* The stalls did make it suspect: the role stayed through real suspicion. */
    SIM_ASSERT(sim, total_susp > 0);
    SIM_ASSERT(sim, rc_count_any_role(h, start, UINT64_MAX) == 0);
    SIM_ASSERT(sim, sim_converged(sim));
    sim_destroy(sim);
}

struct failed_pred {
    unsigned victim;
};

static bool pred_all_see_failed(sim_t *sim, void *ud)
{
    const struct failed_pred *p = ud;
    return sim_all_see(sim, p->victim, SIM_FAILED);
}

static void test_no_failover(void **state)
{
    (void)state;
    struct harness *h = &H;
    one_role(h, ROLE, (const unsigned[]){HOLDER}, 1, GOSSIP_ROLE_NO_FAILOVER);
    sim_t *sim = harness_start(h, N1);
    int64_t tc = sim_run_until_cond(sim, sim_pred_converged, NULL, 30000);
    SIM_ASSERT(sim, tc >= 0);
    sim_run_for(sim, 5000);
    /* Not even a start-up claim: only listed nodes ever hold it. */
    SIM_ASSERT(sim, rc_count(h, -1, -1, 0, UINT64_MAX) == 1);
    SIM_ASSERT(sim, held_only_by(h, HOLDER));
    sim_run_until(sim, 20000);

    sim_crash(sim, HOLDER);
    uint64_t t0 = sim_now(sim);
    struct failed_pred fp = {HOLDER};
    int64_t tf = sim_run_until_cond(sim, pred_all_see_failed, &fp, FAILOVER_BOUND_MS + 10000);
    sim_run_for(sim, 20000);
    unsigned loc[MAX_N];
    int k = local_holders(h, loc);
    print_message("no-failover: crash node %d at t=%llu, all see it failed at +%lld; 20 s later %d "
                  "holders, %zu role callbacks, seed=%llu\n",
                  HOLDER, (unsigned long long)t0, (long long)(tf - (int64_t)t0), k,
                  rc_count(h, -1, -1, t0, UINT64_MAX), (unsigned long long)sim_seed(sim));
    SIM_ASSERT(sim, tf >= 0);
    SIM_ASSERT(sim, k == 0);
    SIM_ASSERT(sim, views_are(h, NULL, 0, NULL));
    SIM_ASSERT(sim, rc_count(h, -1, -1, t0, UINT64_MAX) == 0);

    /* It comes back: it holds the role again, nobody else ever did. */
    assert_int_equal(sim_restart(sim, HOLDER), 0);
    uint64_t t1 = sim_now(sim);
    struct only_pred op = {h, HOLDER};
    int64_t back = sim_run_until_cond(sim, pred_held_only_by, &op, RETURN_BOUND_MS + 20000);
    print_message("no-failover: restart at t=%llu, every view {5} at +%lld\n", (unsigned long long)t1,
                  (long long)(back - (int64_t)t1));
    SIM_ASSERT(sim, back >= 0 && (uint64_t)back <= t1 + RETURN_BOUND_MS);
    SIM_ASSERT(sim, rc_count(h, -1, 1, t0, UINT64_MAX) == 1);
    SIM_ASSERT(sim, rc_count(h, HOLDER, 1, t0, UINT64_MAX) == 1);
    sim_destroy(sim);
}

/* ------------------------------------------------------------ quorum */

#define NQ 9
#define QHOLDER 1
#define PARTITION_MS 60000

static void test_quorum_partition(void **state)
{
    (void)state;
    struct harness *h = &H;
    one_role(h, ROLE, (const unsigned[]){QHOLDER}, 1, GOSSIP_ROLE_QUORUM);
    sim_t *sim = harness_start(h, NQ);
    converge_with_holder(h, QHOLDER);
    sim_run_until(sim, 20000);

    const unsigned group[NQ] = {0, 0, 0, 0, 1, 1, 1, 1, 1};
    bool minority[NQ], majority[NQ];
    for (unsigned i = 0; i < NQ; i++) {
        minority[i] = group[i] == 0;
        majority[i] = group[i] == 1;
    }
    sim_partition(sim, group);
    uint64_t tp = sim_now(sim);
    sim_run_for(sim, PARTITION_MS);
    uint64_t te = sim_now(sim);

    int64_t giveup = rc_first(h, QHOLDER, 0, tp);
    int64_t take = rc_first(h, -1, 1, tp);
    int taker = -1;
    for (size_t i = 0; i < h->n_recs; i++)
        if (h->recs[i].t >= tp && h->recs[i].held && strcmp(h->recs[i].role, ROLE) == 0) {
            taker = (int)h->recs[i].node;
            break;
        }
    /* When did node 1 see the last of the majority fail (its quorum gone)? */
    int64_t last_seen_failed = -1;
    for (unsigned j = 4; j < NQ; j++) {
        int64_t f = sim_first_event(sim, QHOLDER, (int)j, GOSSIP_EVENT_FAILED, tp);
        if (f < 0) {
            last_seen_failed = -1;
            break;
        }
        if (f > last_seen_failed)
            last_seen_failed = f;
    }
    int64_t overlap = (giveup >= 0 && take >= 0) ? giveup - take : -1;
    print_message("partition {0..3}/{4..8} at t=%llu: node 1 sees the majority failed at +%lld, "
                  "gives the role up at +%lld; node %d takes it at +%lld; both sides held it for "
                  "%lld ms; seed=%llu\n",
                  (unsigned long long)tp, (long long)(last_seen_failed - (int64_t)tp),
                  (long long)(giveup - (int64_t)tp), taker, (long long)(take - (int64_t)tp),
                  (long long)(overlap > 0 ? overlap : 0), (unsigned long long)sim_seed(sim));
    rc_dump(h, tp);
    SIM_ASSERT(sim, giveup >= 0);
    /* The quorum lease: the minority holder lets go within about a lease
     * (one heartbeat) plus a quorum round of the cut, before the majority
     * can take over: never two holders at once. */
    SIM_ASSERT(sim, giveup <= (int64_t)tp + 2 * 1000);
    SIM_ASSERT(sim, take >= 0 && taker >= 0 && majority[taker]);
    SIM_ASSERT(sim, giveup < take);
    /* No minority node other than 1 ever took it; one majority node did,
     * once. */
    for (unsigned i = 0; i < NQ; i++)
        if (minority[i])
            SIM_ASSERT(sim, rc_count(h, (int)i, 1, tp, te) == 0);
    SIM_ASSERT(sim, rc_count(h, -1, 1, tp, te) == 1);
    SIM_ASSERT(sim, rc_count(h, -1, 0, tp, te) == 1);
    /* At the end of the partition: minority holds nothing and names
     * nobody; the majority side agrees on `taker` alone. */
    unsigned loc[MAX_N];
    int k = local_holders(h, loc);
    if (k != 1)
        print_views(h);
    SIM_ASSERT(sim, k == 1 && loc[0] == (unsigned)taker);
    SIM_ASSERT(sim, views_are(h, NULL, 0, minority));
    unsigned t_u = (unsigned)taker;
    SIM_ASSERT(sim, views_are(h, &t_u, 1, majority));

    /* Heal: back to node 1 alone. */
    sim_heal(sim);
    uint64_t th = sim_now(sim);
    struct only_pred op = {h, QHOLDER};
    int64_t back = sim_run_until_cond(sim, pred_held_only_by, &op, HEAL_BOUND_MS + 30000);
    int64_t t1 = rc_first(h, QHOLDER, 1, th);
    int64_t tg = rc_first(h, taker, 0, th);
    int64_t conv = sim_run_until_cond(sim, sim_pred_converged, NULL, 30000);
    print_message("heal at t=%llu: node 1 held=true at +%lld, node %d held=false at +%lld, every view "
                  "{1} at +%lld (bound +%d), converged at +%lld\n",
                  (unsigned long long)th, (long long)(t1 - (int64_t)th), taker,
                  (long long)(tg - (int64_t)th), (long long)(back - (int64_t)th), HEAL_BOUND_MS,
                  (long long)(conv - (int64_t)th));
    if (back < 0)
        print_views(h);
    SIM_ASSERT(sim, back >= 0 && (uint64_t)back <= th + HEAL_BOUND_MS);
    sim_run_for(sim, 20000);
    SIM_ASSERT(sim, held_only_by(h, QHOLDER));
    SIM_ASSERT(sim, rc_count(h, QHOLDER, -1, th, UINT64_MAX) == 1);
    SIM_ASSERT(sim, rc_count(h, taker, -1, th, UINT64_MAX) == 1);
    SIM_ASSERT(sim, rc_count(h, -1, -1, th, UINT64_MAX) == 2);
    SIM_ASSERT(sim, h->redundant == 0);
    sim_destroy(sim);
}

/* ------------------------------------------------------ reconfigure */

#define NEW_HOLDER 2

static void reconfigure_all(struct harness *h, bool reorder)
{
    sim_t *sim = h->sim;
    if (reorder) {
        /* A role in front: acme.renew moves from index 0 to index 1. */
        h->n_roles = 2;
        h->roles[1] = h->roles[0];
        h->roles[0].name = OTHER_ROLE;
        h->roles[0].n = 0;
        h->roles[0].flags = 0;
        h->roles[1].nodes[0] = NEW_HOLDER;
    } else {
        h->roles[0].nodes[0] = NEW_HOLDER;
    }
    for (unsigned i = 0; i < h->n; i++) {
        if (!is_up(sim, i))
            continue;
        struct gossip_config cfg = h->nodes[i].cfg;
        set_roles(h, sim, &cfg);
        /* Work around the bug test_reconfigure_same_config shows: spell out
         * the two fields whose 0 default gossip_reconfigure() compares
         * against the derived value (advertise_port = bind_port,
         * max_datagram = 1232), so that the role logic gets tested. */
        if (!cfg.advertise_port)
            cfg.advertise_port = cfg.bind_port;
        if (!cfg.max_datagram)
            cfg.max_datagram = 1232;
        int rc = gossip_reconfigure(sim_handle(sim, i), &cfg);
        SIM_ASSERT(sim, rc == 0);
        h->nodes[i].cfg = cfg;
    }
}

static void reconfigure_run(bool reorder)
{
    struct harness *h = &H;
    one_role(h, ROLE, (const unsigned[]){HOLDER}, 1, 0);
    sim_t *sim = harness_start(h, N1);
    converge_with_holder(h, HOLDER);
    sim_run_until(sim, 20000);
    uint64_t t0 = sim_now(sim);
    reconfigure_all(h, reorder);
    print_message("reconfigure%s at t=%llu, callbacks:\n", reorder ? " (acme.renew moved to index 1)" : "",
                  (unsigned long long)t0);
    rc_dump(h, t0);
    /* Reported at once, inside gossip_reconfigure(). */
    SIM_ASSERT(sim, rc_count(h, HOLDER, 0, t0, t0 + 1) == 1);
    SIM_ASSERT(sim, rc_count(h, NEW_HOLDER, 1, t0, t0 + 1) == 1);
    SIM_ASSERT(sim, rc_count(h, -1, -1, t0, t0 + 1) == 2);
    SIM_ASSERT(sim, held_only_by(h, NEW_HOLDER));
    if (reorder) {
        /* Every node gained the new everyone-role. */
        for (unsigned i = 0; i < h->n; i++) {
            SIM_ASSERT(sim, gossip_role_held(sim_handle(sim, i), OTHER_ROLE) == 1);
            size_t got = 0;
            for (size_t r = 0; r < h->n_recs; r++)
                if (h->recs[r].t >= t0 && h->recs[r].node == i && h->recs[r].held &&
                    strcmp(h->recs[r].role, OTHER_ROLE) == 0)
                    got++;
            SIM_ASSERT(sim, got == 1);
        }
    }
    sim_run_for(sim, 20000);
    SIM_ASSERT(sim, rc_count(h, -1, -1, t0 + 1, UINT64_MAX) == 0);
    SIM_ASSERT(sim, held_only_by(h, NEW_HOLDER));
    SIM_ASSERT(sim, h->redundant == 0);
    sim_destroy(sim);
}

/* The config a node was created with, unchanged, must be accepted by
 * gossip_reconfigure() (a SIGHUP reload of an unchanged file does this),
 * and changes nothing. */
static void test_reconfigure_same_config(void **state)
{
    (void)state;
    struct harness *h = &H;
    one_role(h, ROLE, (const unsigned[]){HOLDER}, 1, 0);
    sim_t *sim = harness_start(h, 4);
    SIM_ASSERT(sim, sim_run_until_cond(sim, sim_pred_converged, NULL, 30000) >= 0);
    sim_run_for(sim, 1000); /* start-up role claims settle with the views */
    uint64_t t0 = sim_now(sim);
    struct gossip_config cfg = h->nodes[0].cfg;
    int rc = gossip_reconfigure(sim_handle(sim, 0), &cfg);
    print_message("gossip_reconfigure(create-time config): %d (%s); advertise_port=%u "
                  "max_datagram=%u in that config\n",
                  rc, gossip_strerror(rc), cfg.advertise_port, cfg.max_datagram);
    SIM_ASSERT(sim, rc == 0);
    SIM_ASSERT(sim, rc_count_any_role(h, t0, UINT64_MAX) == 0);
    sim_destroy(sim);
}

static void test_reconfigure_moves_role(void **state)
{
    (void)state;
    reconfigure_run(false);
}

static void test_reconfigure_reordered(void **state)
{
    (void)state;
    reconfigure_run(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failover_and_return),
        cmocka_unit_test(test_restart_bystander),
        cmocka_unit_test(test_suspicion_keeps_role),
        cmocka_unit_test(test_no_failover),
        cmocka_unit_test(test_quorum_partition),
        cmocka_unit_test(test_reconfigure_same_config),
        cmocka_unit_test(test_reconfigure_moves_role),
        cmocka_unit_test(test_reconfigure_reordered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
