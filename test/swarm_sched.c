/*
 * Swarm schedules: a cluster and a fault schedule drawn from one seed, the
 * bounds the invariants derive from the cluster's configuration, and the
 * text form kept for regression cases (test/swarm-regress/).
 */
#include "swarm.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gossip.h"
#include "sim.h"

static const char *const kind_names[SW_N_KINDS] = {
    "crash", "start", "restart", "pause", "partition", "cut", "linkloss", "loss", "delay",
    "dup", "leave", "meta", "event", "key", "restore", "replay", "quiet",
};

const char *sw_kind_name(unsigned kind)
{
    return kind < SW_N_KINDS ? kind_names[kind] : "?";
}

/* ------------------------------------------------------------------ bounds */

static uint64_t ceil_u(double v)
{
    return v <= 0 ? 0 : (uint64_t)ceil(v);
}

/* Longest suspicion floor the library can pick: min = smult * log10(n + 1)
 * * hb with n the alive count (at most the cluster size), floored at one
 * heartbeat (probe.c, suspicion_start()). */
static uint64_t susp_min_of(const struct sw_config *c, unsigned n)
{
    double min = c->smult * log10((double)n + 1) * c->hb;
    if (min < c->hb)
        min = c->hb;
    return (uint64_t)min;
}

/*
 * The derivation.  Notation: hb heartbeat, pt probe timeout, it indirect
 * timeout, A awareness-max, s = 1 + A (Lifeguard stretches every probe
 * period and timeout by up to s), N the cluster size, d the one-way delay
 * of a healthy link (2d < pt by construction of the healthy network).
 *
 *  P, a probe cycle: the next probe starts within s*hb of the last; its
 *    direct phase waits s*pt, the indirect phase s*it, and the second
 *    indirect round (when a helper stayed silent) s*it more before the
 *    accusation:  P = s * (hb + pt + 2*it).
 *
 *  S, a suspicion's life: its deadline starts at max = smax * min(N) and
 *    only shrinks with confirmations; at expiry an unverified suspicion
 *    sends one verification ping and waits 2*s*pt:  S = smax*min(N) + 2*s*pt.
 *
 *  D, an update through the cluster: a holder packs it into at most
 *    L = ceil(rmult * log10(max(N + 1, 10) + 1)) + 1 datagrams and runs a
 *    gossip round at least every gi while its queue is not empty, so its
 *    copy is spent within L*gi; every relay does the same, and the epidemic
 *    reaches the last node within the lifetime of the copies of the nodes
 *    that received it first.  Two lifetimes plus the ping/ack cycle that
 *    also carries it:  D = 2*(L + 1)*gi + hb + 2d.
 *
 *  F, the full-view exchange: the interval is sync * chunks with
 *    chunks = floor((N + F_max + per) / per), per = (max-datagram - 46) / 32
 *    records per datagram, and the next exchange is drawn in [iv/2, 3iv/2):
 *    F = 3/2 * sync * chunks.
 *
 *  R, reconnection after a heal: every node sends one reconnection ping to
 *    a failed member and one join to the next seed that is not a live
 *    member every ri, so each side has asked every seed within
 *    R = (seeds + 1) * ri.
 *
 * The bounds:
 *  W (false failure): a failure at t is false when the subject (or the
 *    pair) was healthy through [t - W, t].  Whatever was under way before
 *    the window is over by then: an own probe that failed before it led to
 *    its accusation within P, the suspicion that followed (or any older
 *    one) expired within S, and a stale verdict still queued anywhere was
 *    spent within D and its refutation spread within another D:
 *    W = P + S + 2*D.
 *  B_conv (convergence): from the start of a quiet period (no fault, no
 *    pause, every seed up) the sides have found each other within R; the
 *    suspicions that the merge starts (a failure from a full view is
 *    softened into a suspicion) resolve within P + S, and the refutations
 *    and the news of the merge spread within 2*D; two heartbeats for a node
 *    that (re)started at the quiet start to be answered by a seed:
 *    B_conv = R + P + S + 2*D + 2*hb.
 *  B_det (detection of a crash): every running node probes every member
 *    once per round of at most N probes, each within s*hb, so the first
 *    probe of a crashed node comes within N*s*hb, and the accusation, the
 *    suspicion and its spread follow within P + S + D:
 *    B_det = N*s*hb + P + S + D.
 *  B_ev (cluster events): an event is sent 2L times per holder (twice a
 *    member update's budget) within 2*L*gi, and a node the epidemic missed
 *    gets it with a full-view exchange (events ride along for 2*sync): two
 *    exchanges, B_ev = 2*(L + 1)*gi + 2*F + 2*hb.
 */
void sw_bounds(const struct sw_config *c, struct sw_bounds *b)
{
    memset(b, 0, sizeof *b);
    unsigned n = c->n + SW_MAX_FAKES; /* members the table can hold: restored fakes too */
    b->stretch = 1 + c->aw;
    uint64_t s = b->stretch, d = c->lat + c->jit;
    b->probe = s * ((uint64_t)c->hb + c->pt + 2ull * c->it);
    b->susp_min = susp_min_of(c, c->n);
    b->susp_max = (uint64_t)(c->smax * (double)b->susp_min);
    b->susp = b->susp_max + 2 * s * c->pt;
    double nn = (double)n + 1;
    if (nn < 10)
        nn = 10;
    b->limit = (unsigned)ceil_u(c->rmult * log10(nn + 1)) + 1;
    b->spread = 2ull * (b->limit + 1) * c->gi + c->hb + 2 * d;
    uint64_t per = (c->max_dgram - 46u) / 32u;
    uint64_t chunks = per ? ((uint64_t)n + per) / per : 1;
    b->sync_iv = 3 * (uint64_t)c->sync_ms * (chunks ? chunks : 1) / 2;
    b->reconnect = ((uint64_t)c->n_seeds + 1) * c->ri;
    b->window = b->probe + b->susp + 2 * b->spread;
    b->converge = b->reconnect + b->probe + b->susp + 2 * b->spread + 2ull * c->hb;
    b->detect = (uint64_t)c->n * s * c->hb + b->probe + b->susp + b->spread;
    b->event = 2ull * (b->limit + 1) * c->gi + 2 * b->sync_iv + 2ull * c->hb;
    b->healthy_rtt = c->pt;
}

/* ------------------------------------------------------------------ drawing */

struct gen {
    struct sim_rng r;
    struct sw_schedule *s;
    struct sw_bounds b;
    /* coarse node state as the schedule goes */
    uint64_t busy_until[SW_MAX_NODES]; /* paused, leaving or restarting until then */
    bool down[SW_MAX_NODES];
    bool is_seed[SW_MAX_NODES];
    unsigned key_step;
    unsigned n_events, n_restores;
};

static uint64_t below(struct gen *g, uint64_t n)
{
    return n ? sim_rng_below(&g->r, n) : 0;
}

static uint64_t range(struct gen *g, uint64_t lo, uint64_t hi) /* [lo, hi] */
{
    return hi <= lo ? lo : lo + below(g, hi - lo + 1);
}

static bool chance(struct gen *g, double p)
{
    return sim_rng_double(&g->r) < p;
}

static struct sw_action *add(struct gen *g, uint64_t t, unsigned kind)
{
    struct sw_schedule *s = g->s;
    if (s->n_act >= SW_MAX_ACTIONS)
        return NULL;
    struct sw_action *a = &s->act[s->n_act++];
    memset(a, 0, sizeof *a);
    a->t = t;
    a->kind = (uint8_t)kind;
    return a;
}

static void draw_config(struct gen *g, uint64_t seed)
{
    struct sw_config *c = &g->s->cfg;
    memset(c, 0, sizeof *c);
    c->seed = seed;
    /* sizes: mostly small (the budget is per seed), some large */
    double u = sim_rng_double(&g->r);
    c->n = u < 0.45 ? (unsigned)range(g, 3, 8)
         : u < 0.75 ? (unsigned)range(g, 9, 16)
         : u < 0.92 ? (unsigned)range(g, 17, 32)
                    : (unsigned)range(g, 33, SW_MAX_NODES);
    static const uint32_t hbs[] = {10, 20, 50, 100, 100, 200, 250, 500, 1000, 1000, 2000};
    c->hb = hbs[below(g, sizeof hbs / sizeof hbs[0])];
    uint32_t hb = c->hb;
    /* tuning inside the documented ranges, around the defaults */
    c->pt = chance(g, 0.5) ? (hb / 5 < 10 ? 10 : hb / 5) : (uint32_t)range(g, hb / 10 > 10 ? hb / 10 : 10, hb / 2 > 10 ? hb / 2 : 10);
    if (c->pt > hb)
        c->pt = hb;
    c->it = chance(g, 0.5) ? 2 * c->pt : (uint32_t)range(g, c->pt, 3 * c->pt);
    c->ichecks = chance(g, 0.5) ? 3 : (unsigned)range(g, 1, 5);
    c->smult = chance(g, 0.5) ? 1.0 : 0.5 + 0.25 * (double)below(g, 11); /* 0.5 .. 3 */
    c->smax = chance(g, 0.5) ? 4.0 : (double)range(g, 1, 6);
    c->sconf = chance(g, 0.5) ? 2 : (unsigned)range(g, 1, 5);
    c->rmult = chance(g, 0.5) ? 4.0 : 2.0 + 0.5 * (double)below(g, 9); /* 2 .. 6 */
    uint32_t gi_def = hb / 5 ? hb / 5 : 1;
    c->gi = chance(g, 0.5) ? gi_def : (uint32_t)range(g, hb / 10 ? hb / 10 : 1, hb / 2 ? hb / 2 : 1);
    c->fanout = chance(g, 0.5) ? 3 : (unsigned)range(g, chance(g, 0.2) ? 1 : 2, 5);
    c->sync_ms = chance(g, 0.25) ? 60 * hb : (uint32_t)range(g, 5, 30) * hb;
    c->ri = chance(g, 0.5) ? 5 * hb : (uint32_t)range(g, 2, 10) * hb;
    c->reap_ms = chance(g, 0.7) ? 3600 * hb : (uint32_t)range(g, 30, 120) * hb;
    c->ae = chance(g, 0.5) ? 2 : (unsigned)range(g, 1, 4);
    c->aw = chance(g, 0.4) ? 8 : (unsigned)range(g, 1, 6);
    c->max_dgram = chance(g, 0.6) ? 1232 : (unsigned)range(g, 512, 1400);
    c->max_meta = chance(g, 0.6) ? 128 : (unsigned)range(g, 16, 255);
    unsigned ev_cap = c->max_dgram - 128;
    c->max_event = chance(g, 0.6) ? (512 < ev_cap ? 512 : ev_cap) : (unsigned)range(g, 32, ev_cap);
    c->max_pending = chance(g, 0.6) ? 256 : (unsigned)range(g, 16, 128);
    /* the healthy network: a round trip well inside the probe timeout */
    uint32_t dmax = (c->pt - 1) / 2; /* 2 * (lat + jit) <= pt - 1 */
    c->lat = (uint32_t)range(g, 0, dmax / 2 < 3 ? dmax / 2 : 3);
    c->jit = (uint32_t)range(g, 0, dmax - c->lat < 4 ? dmax - c->lat : 4);
    /* seeds: one to three nodes, given to every other node */
    c->n_seeds = (unsigned)range(g, 1, c->n < 3 ? c->n : 3);
    for (unsigned k = 0; k < c->n_seeds; k++) {
        unsigned cand;
        bool dup;
        unsigned tries = 0;
        do {
            cand = k == 0 ? 0 : (unsigned)below(g, c->n);
            dup = false;
            for (unsigned j = 0; j < k; j++)
                dup |= c->seeds[j] == cand;
        } while (dup && ++tries < 64);
        if (dup)
            break;
        c->seeds[k] = cand;
        g->is_seed[cand] = true;
    }
    c->stagger = chance(g, 0.5) ? 0 : (uint32_t)range(g, 1, 2 * hb / (c->n ? c->n : 1) + 1);
    double w = sim_rng_double(&g->r);
    c->wall_gen = w < 0.5 ? ~0ull : w < 0.75 ? 0 : sim_rng_next(&g->r);
    if (c->n < 64)
        c->wall_gen &= (1ull << c->n) - 1;
    /* roles */
    if (chance(g, 0.3)) {
        c->default_roles = true;
    } else {
        c->n_roles = (unsigned)range(g, 1, 5);
        for (unsigned r = 0; r < c->n_roles; r++) {
            struct sw_role *ro = &c->roles[r];
            snprintf(ro->name, sizeof ro->name, "r%u.duty", r);
            ro->n = (unsigned)range(g, 0, 3);
            if (ro->n > c->n)
                ro->n = c->n;
            for (unsigned k = 0; k < ro->n; k++) {
                unsigned cand, tries = 0;
                bool dup;
                do {
                    cand = (unsigned)below(g, c->n);
                    dup = false;
                    for (unsigned j = 0; j < k; j++)
                        dup |= ro->nodes[j] == cand;
                } while (dup && ++tries < 64);
                if (dup) {
                    ro->n = k;
                    break;
                }
                ro->nodes[k] = cand;
            }
            ro->flags = 0;
            if (chance(g, 0.45))
                ro->flags |= GOSSIP_ROLE_QUORUM;
            if (ro->n && chance(g, 0.15))
                ro->flags |= GOSSIP_ROLE_NO_FAILOVER;
        }
    }
}

/* A node free for a process fault at t: running, not busy, and (when
 * `keep`) not one whose loss would leave too few nodes. */
static int pick_node(struct gen *g, uint64_t t, bool want_down)
{
    unsigned n = g->s->cfg.n;
    unsigned start = (unsigned)below(g, n);
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (start + k) % n;
        if (g->busy_until[i] > t || g->down[i] != want_down)
            continue;
        return (int)i;
    }
    return -1;
}

static unsigned n_down(const struct gen *g)
{
    unsigned c = 0;
    for (unsigned i = 0; i < g->s->cfg.n; i++)
        c += g->down[i];
    return c;
}

static int64_t draw_wall(struct gen *g)
{
    double u = sim_rng_double(&g->r);
    if (u < 0.65)
        return 0;
    if (u < 0.85)
        return -3600000; /* an hour behind: a board that starts before NTP */
    if (u < 0.95)
        return -(int64_t)range(g, 1, 500);
    return 3600000;
}

/* One process fault at t, ending by `end`. */
static void process_fault(struct gen *g, uint64_t t, uint64_t end)
{
    const struct sw_config *c = &g->s->cfg;
    uint64_t hb = c->hb;
    unsigned max_down = c->n / 3 ? c->n / 3 : 1;
    bool can_down = n_down(g) < max_down;
    double u = sim_rng_double(&g->r);
    struct sw_action *a;
    if (n_down(g) > 0 && u < 0.25) { /* bring one back */
        int i = pick_node(g, t, true);
        if (i < 0 || !(a = add(g, t, SW_START)))
            return;
        a->a = (uint16_t)i;
        a->wall = draw_wall(g);
        g->down[i] = false;
        g->busy_until[i] = t + hb;
        return;
    }
    int i = pick_node(g, t, false);
    if (i < 0)
        return;
    u = sim_rng_double(&g->r);
    if (u < 0.25 && can_down) { /* crash, maybe back later in the window */
        if (!(a = add(g, t, SW_CRASH)))
            return;
        a->a = (uint16_t)i;
        g->down[i] = true;
        g->busy_until[i] = t + hb;
        if ((g->is_seed[i] || chance(g, 0.5)) && end > t + hb) {
            uint64_t back = range(g, t + 1, end - 1);
            if ((a = add(g, back, SW_START))) {
                a->a = (uint16_t)i;
                a->wall = draw_wall(g);
                g->down[i] = false;
                g->busy_until[i] = back + hb;
            }
        }
    } else if (u < 0.5) { /* restart in place */
        if (!(a = add(g, t, SW_RESTART)))
            return;
        a->a = (uint16_t)i;
        a->wall = draw_wall(g);
        a->x = chance(g, 0.15) ? 1 : 0; /* twice within one millisecond */
        g->busy_until[i] = t + hb;
    } else if (u < 0.8) { /* a stall */
        if (!(a = add(g, t, SW_PAUSE)))
            return;
        a->a = (uint16_t)i;
        uint64_t longest = end > t + hb / 2 ? end - t : hb / 2;
        a->dur = (uint32_t)(chance(g, 0.5) ? range(g, hb / 4 + 1, 2 * hb) : range(g, hb / 2, longest));
        g->busy_until[i] = t + a->dur + 1;
    } else if (can_down) { /* graceful leave, maybe back */
        if (!(a = add(g, t, SW_LEAVE)))
            return;
        a->a = (uint16_t)i;
        a->dur = (uint32_t)range(g, hb, 3 * hb);
        g->down[i] = true;
        g->busy_until[i] = t + a->dur + 1;
        if ((g->is_seed[i] || chance(g, 0.5)) && end > t + a->dur + hb) {
            uint64_t back = range(g, t + a->dur + 1, end - 1);
            if ((a = add(g, back, SW_START))) {
                a->a = (uint16_t)i;
                a->wall = draw_wall(g);
                g->down[i] = false;
                g->busy_until[i] = back + hb;
            }
        }
    }
}

static void network_fault(struct gen *g, uint64_t t, uint64_t end)
{
    const struct sw_config *c = &g->s->cfg;
    uint64_t hb = c->hb;
    uint64_t dur = range(g, hb, end > t + hb ? end - t : hb);
    double u = sim_rng_double(&g->r);
    struct sw_action *a;
    unsigned n = c->n;
    if (u < 0.3) {
        if (!(a = add(g, t, SW_PARTITION)))
            return;
        unsigned k = chance(g, 0.7) ? 2 : 3;
        /* every group gets a node, the rest fall where they may */
        unsigned start = (unsigned)below(g, n);
        for (unsigned i = 0; i < n; i++)
            a->groups[(start + i) % n] = (uint8_t)(i < k ? i : below(g, k));
    } else if (u < 0.45) {
        if (!(a = add(g, t, SW_CUT)))
            return;
        a->a = (uint16_t)below(g, n);
        a->b = (uint16_t)((a->a + 1 + below(g, n - 1)) % n);
    } else if (u < 0.6) {
        if (!(a = add(g, t, SW_LINKLOSS)))
            return;
        a->a = (uint16_t)below(g, n);
        a->b = (uint16_t)((a->a + 1 + below(g, n - 1)) % n);
        a->p = 0.1 + 0.1 * (double)below(g, 9);
    } else if (u < 0.75) {
        if (!(a = add(g, t, SW_LOSS)))
            return;
        a->p = chance(g, 0.5) ? 0.02 + 0.02 * (double)below(g, 5) : 0.1 + 0.05 * (double)below(g, 7);
    } else if (u < 0.9) {
        if (!(a = add(g, t, SW_DELAY)))
            return;
        /* half of them only reorder (the round trip stays healthy), half
         * are slow enough to miss probe timeouts */
        if (chance(g, 0.5) && c->pt > 3) {
            uint32_t dmax = (c->pt - 1) / 2;
            a->x = (uint32_t)range(g, 0, dmax / 2);
            a->y = (uint32_t)range(g, 0, dmax - a->x);
        } else {
            a->x = (uint32_t)range(g, 0, c->pt);
            a->y = (uint32_t)range(g, c->pt / 2 + 1, 2 * c->pt + 1);
        }
    } else {
        if (!(a = add(g, t, SW_DUP)))
            return;
        a->p = 0.1 + 0.1 * (double)below(g, 10);
    }
    a->dur = (uint32_t)dur;
}

/* Things that are not faults: metadata, events, replays, a restore, key
 * rotation steps. */
static void benign(struct gen *g, uint64_t t, bool quiet)
{
    const struct sw_config *c = &g->s->cfg;
    unsigned n = c->n;
    double u = sim_rng_double(&g->r);
    struct sw_action *a;
    if (u < 0.2 && !quiet) {
        if ((a = add(g, t, SW_META))) {
            a->a = (uint16_t)below(g, n);
            a->x = (uint32_t)range(g, 0, c->max_meta);
        }
    } else if (u < 0.45) {
        if (g->n_events < 48 && (a = add(g, t, SW_EVENT))) {
            a->a = (uint16_t)below(g, n);
            a->x = (uint32_t)range(g, 8, c->max_event < 200 ? c->max_event : 200);
            g->n_events++;
        }
    } else if (u < 0.85) {
        if ((a = add(g, t, SW_REPLAY))) {
            a->a = (uint16_t)below(g, n);
            a->b = (uint16_t)below(g, n);
            a->x = (uint32_t)sim_rng_next(&g->r);
            a->y = (chance(g, 0.5) ? 1u : 0u) | (chance(g, 0.15) ? 2u : 0u);
        }
    } else if (u < 0.93 && !quiet) {
        if (g->n_restores < 3 && (a = add(g, t, SW_RESTORE))) {
            a->a = (uint16_t)below(g, n);
            a->x = chance(g, 0.5) ? (uint32_t)below(g, SW_MAX_FAKES) : 100u + (uint32_t)below(g, n);
            g->n_restores++;
        }
    } else if (!quiet) {
        if (g->key_step < 9 && (a = add(g, t, SW_KEY)))
            a->x = g->key_step++;
    }
}

static int cmp_action(const void *x, const void *y)
{
    const struct sw_action *a = x, *b = y;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return 0;
}

void sw_sort_actions(struct sw_schedule *s)
{
    /* stable: equal times keep their order (insertion sort, small lists) */
    for (unsigned i = 1; i < s->n_act; i++) {
        struct sw_action x = s->act[i];
        unsigned j = i;
        while (j > 0 && cmp_action(&x, &s->act[j - 1]) < 0) {
            s->act[j] = s->act[j - 1];
            j--;
        }
        s->act[j] = x;
    }
}

void sw_generate(uint64_t seed, struct sw_schedule *s)
{
    struct gen g;
    memset(&g, 0, sizeof g);
    memset(s, 0, sizeof *s);
    g.s = s;
    sim_rng_seed(&g.r, seed, 0x5377617276ull /* "Swarm" */, 0);
    draw_config(&g, seed);
    struct sw_config *c = &s->cfg;
    sw_bounds(c, &g.b);
    uint64_t hb = c->hb;
    /* Virtual time per seed, in heartbeats, falls with the cluster size so
     * that every seed costs about the same to run. */
    uint64_t budget_hb = c->n <= 8 ? 900 : c->n <= 16 ? 650 : c->n <= 32 ? 420 : 280;
    uint64_t quiet = g.b.converge + 3 * hb;
    /* formation: every node started, then a quiet period */
    uint64_t t = (uint64_t)c->stagger * c->n + 1;
    struct sw_action *a = add(&g, t, SW_QUIET);
    a->dur = (uint32_t)quiet;
    t += quiet + 1;
    unsigned windows = 0;
    while (windows == 0 || t + 8 * hb + quiet <= budget_hb * hb) {
        windows++;
        uint64_t F = range(&g, 4 * hb, 25 * hb);
        uint64_t end = t + F;
        unsigned m = (unsigned)range(&g, 1, 5);
        uint64_t starts[8];
        for (unsigned k = 0; k < m; k++)
            starts[k] = t + below(&g, F - hb);
        for (unsigned k = 1; k < m; k++) /* sorted, so process state is tracked in time order */
            for (unsigned j = k; j > 0 && starts[j] < starts[j - 1]; j--) {
                uint64_t x = starts[j];
                starts[j] = starts[j - 1];
                starts[j - 1] = x;
            }
        for (unsigned k = 0; k < m; k++) {
            if (chance(&g, 0.5))
                process_fault(&g, starts[k], end);
            else
                network_fault(&g, starts[k], end);
        }
        unsigned nb = (unsigned)range(&g, 0, 5);
        for (unsigned k = 0; k < nb; k++)
            benign(&g, t + below(&g, F), false);
        /* every seed node runs again before the quiet period (after the
         * grace period of a leave) */
        for (unsigned k = 0; k < c->n_seeds; k++) {
            unsigned i = c->seeds[k];
            uint64_t at = g.busy_until[i] > end ? g.busy_until[i] : end;
            if (g.down[i] && (a = add(&g, at, SW_START))) {
                a->a = (uint16_t)i;
                g.down[i] = false;
                g.busy_until[i] = at + hb;
            }
        }
        t = end + 1;
        for (unsigned i = 0; i < c->n; i++)
            if (g.busy_until[i] > t)
                t = g.busy_until[i];
        if ((a = add(&g, t, SW_QUIET)))
            a->dur = (uint32_t)quiet;
        /* in the quiet period: events (their delivery is checked on a
         * healthy network) and replays */
        nb = (unsigned)range(&g, 0, 3);
        for (unsigned k = 0; k < nb; k++) {
            uint64_t at = t + below(&g, quiet / 3);
            struct sw_action *e;
            if (chance(&g, 0.5) && g.n_events < 48 && (e = add(&g, at, SW_EVENT))) {
                e->a = (uint16_t)below(&g, c->n);
                e->x = (uint32_t)range(&g, 8, c->max_event < 200 ? c->max_event : 200);
                g.n_events++;
            } else {
                benign(&g, at, true);
            }
        }
        t += quiet + 1;
        if (windows >= 24 || s->n_act + 32 >= SW_MAX_ACTIONS)
            break;
    }
    c->end_ms = t + 1;
    sw_sort_actions(s);
    snprintf(s->name, sizeof s->name, "seed %" PRIu64, seed);
}

/* ------------------------------------------------------------------ text form */

void sw_write(const struct sw_schedule *s, FILE *f)
{
    const struct sw_config *c = &s->cfg;
    fprintf(f, "# libgossip swarm schedule (test/swarm.c); replay: build/test/swarm --file FILE -v\n");
    if (s->name[0])
        fprintf(f, "name %s\n", s->name);
    if (s->expect[0])
        fprintf(f, "expect %s\n", s->expect);
    if (s->strict[0])
        fprintf(f, "strict %s\n", s->strict);
    fprintf(f, "seed %" PRIu64 "\nnodes %u\nheartbeat %u\n", c->seed, c->n, c->hb);
    fprintf(f, "tuning pt=%u it=%u ichecks=%u smult=%.4f smax=%.4f sconf=%u rmult=%.4f gi=%u fanout=%u\n",
            c->pt, c->it, c->ichecks, c->smult, c->smax, c->sconf, c->rmult, c->gi, c->fanout);
    fprintf(f, "tuning sync=%u ri=%u reap=%u ae=%u aw=%u dgram=%u meta=%u event=%u pending=%u\n", c->sync_ms,
            c->ri, c->reap_ms, c->ae, c->aw, c->max_dgram, c->max_meta, c->max_event, c->max_pending);
    fprintf(f, "network lat=%u jit=%u stagger=%u wallgen=%" PRIx64 "\n", c->lat, c->jit, c->stagger, c->wall_gen);
    fprintf(f, "seeds");
    for (unsigned k = 0; k < c->n_seeds; k++)
        fprintf(f, " %u", c->seeds[k]);
    fprintf(f, "\n");
    if (c->default_roles)
        fprintf(f, "roles default\n");
    for (unsigned r = 0; r < c->n_roles; r++) {
        const struct sw_role *ro = &c->roles[r];
        fprintf(f, "role %s flags=%u nodes=", ro->name, ro->flags);
        for (unsigned k = 0; k < ro->n; k++)
            fprintf(f, "%s%u", k ? "," : "", ro->nodes[k]);
        fprintf(f, "%s\n", ro->n ? "" : "-");
    }
    fprintf(f, "end %" PRIu64 "\n", c->end_ms);
    for (unsigned i = 0; i < s->n_act; i++) {
        const struct sw_action *a = &s->act[i];
        fprintf(f, "at %" PRIu64 " %s a=%u b=%u dur=%u x=%u y=%u wall=%" PRId64 " p=%.4f", a->t,
                sw_kind_name(a->kind), a->a, a->b, a->dur, a->x, a->y, a->wall, a->p);
        if (a->kind == SW_PARTITION) {
            fprintf(f, " groups=");
            for (unsigned k = 0; k < c->n; k++)
                fprintf(f, "%u", a->groups[k]);
        }
        fprintf(f, "\n");
    }
}

static bool kv_u64(const char *tok, const char *key, uint64_t *out)
{
    size_t k = strlen(key);
    if (strncmp(tok, key, k) != 0 || tok[k] != '=')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(tok + k + 1, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool kv_hex(const char *tok, const char *key, uint64_t *out)
{
    size_t k = strlen(key);
    if (strncmp(tok, key, k) != 0 || tok[k] != '=')
        return false;
    char *end;
    unsigned long long v = strtoull(tok + k + 1, &end, 16);
    if (*end)
        return false;
    *out = v;
    return true;
}

static bool kv_dbl(const char *tok, const char *key, double *out)
{
    size_t k = strlen(key);
    if (strncmp(tok, key, k) != 0 || tok[k] != '=')
        return false;
    char *end;
    double v = strtod(tok + k + 1, &end);
    if (*end)
        return false;
    *out = v;
    return true;
}

static bool kv_i64(const char *tok, const char *key, int64_t *out)
{
    size_t k = strlen(key);
    if (strncmp(tok, key, k) != 0 || tok[k] != '=')
        return false;
    char *end;
    long long v = strtoll(tok + k + 1, &end, 10);
    if (*end)
        return false;
    *out = v;
    return true;
}

int sw_read(const char *path, struct sw_schedule *s, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    memset(s, 0, sizeof *s);
    struct sw_config *c = &s->cfg;
    char line[1024];
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *save = NULL;
        char *word = strtok_r(line, " ", &save);
        if (!word)
            continue;
        if (strcmp(word, "name") == 0) {
            snprintf(s->name, sizeof s->name, "%s", save ? save : "");
        } else if (strcmp(word, "expect") == 0) {
            char *v = strtok_r(NULL, " ", &save);
            snprintf(s->expect, sizeof s->expect, "%s", v ? v : "");
        } else if (strcmp(word, "strict") == 0) {
            char *v = strtok_r(NULL, " ", &save);
            snprintf(s->strict, sizeof s->strict, "%s", v ? v : "");
        } else if (strcmp(word, "seed") == 0 || strcmp(word, "nodes") == 0 || strcmp(word, "heartbeat") == 0 ||
                   strcmp(word, "end") == 0) {
            char *v = strtok_r(NULL, " ", &save);
            unsigned long long x = v ? strtoull(v, NULL, 0) : 0;
            if (word[0] == 's')
                c->seed = x;
            else if (word[0] == 'n')
                c->n = (unsigned)x;
            else if (word[0] == 'h')
                c->hb = (uint32_t)x;
            else
                c->end_ms = x;
        } else if (strcmp(word, "tuning") == 0 || strcmp(word, "network") == 0) {
            struct { const char *key; uint32_t *v; } u32s[] = {
                {"pt", &c->pt}, {"it", &c->it}, {"ichecks", &c->ichecks}, {"sconf", &c->sconf},
                {"gi", &c->gi}, {"fanout", &c->fanout}, {"sync", &c->sync_ms}, {"ri", &c->ri},
                {"reap", &c->reap_ms}, {"ae", &c->ae}, {"aw", &c->aw}, {"dgram", &c->max_dgram},
                {"meta", &c->max_meta}, {"event", &c->max_event}, {"pending", &c->max_pending},
                {"lat", &c->lat}, {"jit", &c->jit}, {"stagger", &c->stagger},
            };
            char *tok;
            while ((tok = strtok_r(NULL, " ", &save))) {
                bool hit = false;
                uint64_t v;
                for (size_t k = 0; k < sizeof u32s / sizeof u32s[0] && !hit; k++)
                    if (kv_u64(tok, u32s[k].key, &v)) {
                        *u32s[k].v = (uint32_t)v;
                        hit = true;
                    }
                if (hit || kv_dbl(tok, "smult", &c->smult) || kv_dbl(tok, "smax", &c->smax) ||
                    kv_dbl(tok, "rmult", &c->rmult) || kv_hex(tok, "wallgen", &c->wall_gen))
                    continue;
                snprintf(err, errlen, "%s:%u: unknown setting %s", path, lineno, tok);
                rc = -1;
                break;
            }
            if (rc)
                break;
        } else if (strcmp(word, "seeds") == 0) {
            char *tok;
            while ((tok = strtok_r(NULL, " ", &save)) && c->n_seeds < SW_MAX_SEEDS)
                c->seeds[c->n_seeds++] = (unsigned)strtoul(tok, NULL, 10);
        } else if (strcmp(word, "roles") == 0) {
            c->default_roles = true;
        } else if (strcmp(word, "role") == 0) {
            if (c->n_roles >= SW_MAX_ROLES) {
                snprintf(err, errlen, "%s:%u: too many roles", path, lineno);
                rc = -1;
                break;
            }
            struct sw_role *ro = &c->roles[c->n_roles++];
            char *tok = strtok_r(NULL, " ", &save);
            snprintf(ro->name, sizeof ro->name, "%s", tok ? tok : "r");
            while ((tok = strtok_r(NULL, " ", &save))) {
                uint64_t v;
                if (kv_u64(tok, "flags", &v)) {
                    ro->flags = (unsigned)v;
                } else if (strncmp(tok, "nodes=", 6) == 0) {
                    char *p = tok + 6;
                    while (*p && *p != '-' && ro->n < SW_MAX_ROLE_NODES) {
                        ro->nodes[ro->n++] = (unsigned)strtoul(p, &p, 10);
                        if (*p == ',')
                            p++;
                        else
                            break;
                    }
                }
            }
        } else if (strcmp(word, "at") == 0) {
            if (s->n_act >= SW_MAX_ACTIONS) {
                snprintf(err, errlen, "%s:%u: too many actions", path, lineno);
                rc = -1;
                break;
            }
            struct sw_action *a = &s->act[s->n_act];
            memset(a, 0, sizeof *a);
            char *tok = strtok_r(NULL, " ", &save);
            a->t = tok ? strtoull(tok, NULL, 10) : 0;
            tok = strtok_r(NULL, " ", &save);
            unsigned k;
            for (k = 0; k < SW_N_KINDS && tok; k++)
                if (strcmp(tok, kind_names[k]) == 0)
                    break;
            if (!tok || k == SW_N_KINDS) {
                snprintf(err, errlen, "%s:%u: unknown action %s", path, lineno, tok ? tok : "");
                rc = -1;
                break;
            }
            a->kind = (uint8_t)k;
            while ((tok = strtok_r(NULL, " ", &save))) {
                uint64_t v;
                if (kv_u64(tok, "a", &v))
                    a->a = (uint16_t)v;
                else if (kv_u64(tok, "b", &v))
                    a->b = (uint16_t)v;
                else if (kv_u64(tok, "dur", &v))
                    a->dur = (uint32_t)v;
                else if (kv_u64(tok, "x", &v))
                    a->x = (uint32_t)v;
                else if (kv_u64(tok, "y", &v))
                    a->y = (uint32_t)v;
                else if (kv_i64(tok, "wall", &a->wall) || kv_dbl(tok, "p", &a->p))
                    ;
                else if (strncmp(tok, "groups=", 7) == 0) {
                    for (unsigned i = 0; tok[7 + i] && i < SW_MAX_NODES; i++)
                        a->groups[i] = (uint8_t)(tok[7 + i] - '0');
                } else {
                    snprintf(err, errlen, "%s:%u: bad field %s", path, lineno, tok);
                    rc = -1;
                    break;
                }
            }
            if (rc)
                break;
            s->n_act++;
        } else {
            snprintf(err, errlen, "%s:%u: unknown line \"%s\"", path, lineno, word);
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc == 0 && (c->n < 2 || c->n > SW_MAX_NODES || c->hb == 0 || c->pt == 0 || c->n_seeds == 0)) {
        snprintf(err, errlen, "%s: incomplete schedule (nodes, heartbeat, tuning, seeds)", path);
        rc = -1;
    }
    if (rc == 0)
        sw_sort_actions(s);
    return rc;
}
