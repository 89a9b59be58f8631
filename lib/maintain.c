/*
 * The timers behind gossip_tick(), in one table whose guards also give
 * gossip_next_timeout_ms(): joining through the seeds, the wait of a node
 * without seeds, the failure detector (probe.c's own table), merging with
 * returning members, gossip rounds (paced by message.c), the full-view
 * exchange, reconnection of failed members and seeds, reaping, traffic
 * rates and the quorum lease.
 */
#include <stdbool.h>
#include <string.h>

#include "maintain.h"

#include "deliver.h"
#include "log.h"
#include "merge.h"
#include "message.h"
#include "probe.h"
#include "query.h"

static bool address_is_member(const struct gossip *g, const gaddr_t *a)
{
    if (addr_equal(a, &g->self_addr))
        return true;
    for (uint32_t i = 0; i < g->members.n; i++)
        if (g->members.v[i].state <= GOSSIP_SUSPECT && addr_equal(&g->members.v[i].addr, a))
            return true;
    return false;
}

static void send_join(struct gossip *g, const gaddr_t *seed)
{
    msg_send_sync_any(g, seed);
}

/* Until a seed answers, ask every seed each heartbeat. */
static void join_tick(struct gossip *g)
{
    g->next_join = g->now + g->cfg.heartbeat_ms;
    /* silence from every seed: wrong addresses, or a key they do not hold
     * (they cannot answer what they cannot open) -- say which key we use */
    if (++g->life.join_attempts == 5 || g->life.join_attempts % 60 == 0) {
        if (g->n_seed_addr == 0)
            g_log(g, GOSSIP_LOG_ERROR,
                  "no seed to ask after %u attempts: none of the %u seed name(s) has resolved yet "
                  "(the lookups go on; each failure is logged with the resolver's reason)",
                  g->life.join_attempts, g->seeds_unresolved);
        else
            g_log(g, GOSSIP_LOG_ERROR,
                  "no seed has answered after %u attempts: check the seed addresses and that the seeds "
                  "hold key id %08x, which this node seals with",
                  g->life.join_attempts, g->crypto.keys[0].id);
    }
    for (unsigned i = 0; i < g->n_seed_addr; i++)
        if (!addr_equal(&g->seed_addr[i], &g->self_addr))
            send_join(g, &g->seed_addr[i]);
}

/* Healing without help: now and then knock on one failed member and on one
 * seed that is not a live member, so two sides of a healed partition (or a
 * node whose peers all moved) find each other again.  One datagram per
 * interval: a small fraction of the probe traffic. */
static void reconnect_tick(struct gossip *g)
{
    g->next_reconnect = g->now + g->cfg.reconnect_interval_ms;
    uint32_t n = g->members.n;
    if (g->members.n_dead > 0 && n > 0) {
        uint32_t start = rng_below(&g->rng, n);
        for (uint32_t k = 0; k < n; k++) {
            struct member *m = &g->members.v[(start + k) % n];
            if (m->state != GOSSIP_FAILED)
                continue;
            /* carry its failure, so that a live one refutes at once */
            struct wire_msg hdr = {.type = WIRE_PING, .seq = ++g->seq, .target = m->id};
            gaddr_t to = m->addr;
            msg_send(g, &to, m->id, &hdr, m, true);
            break;
        }
    }
    /* one seed per interval, in turn: finding out whether a seed is a live
     * member scans the view, and a scan per seed per interval would cost
     * every node of a large cluster n * seeds comparisons */
    if (g->n_seed_addr > 0) {
        gaddr_t a = g->seed_addr[g->seed_pos++ % g->n_seed_addr];
        if (!address_is_member(g, &a))
            send_join(g, &a);
    }
}

void maintain_seeds_changed(struct gossip *g)
{
    /* a node still asking its seeds asks the new ones at the next tick
     * rather than a heartbeat later */
    if (!lc_joined(g) && g->n_seed_addr > 0)
        g->next_join = g->now;
}

static void reap_tick(struct gossip *g)
{
    g->next_reap = g->now + 10ull * g->cfg.heartbeat_ms;
    events_expire(g);
    if (g->members.n_dead == 0)
        return;
    for (uint32_t i = g->members.n; i-- > 0;) {
        struct member *m = &g->members.v[i];
        if (m->state < GOSSIP_FAILED || g->now - m->state_ms < g->cfg.reap_ms)
            continue;
        /* No tombstone: its old datagrams were sealed for lives of ours
         * it knew, and a life we no longer know must show a fresh token
         * (open.c), which a recording cannot. */
        uint64_t id = m->id;
        g_emit_member(g, GOSSIP_EVENT_REMOVED, m);
        suspicion_stop(g, m);
        g->members.n_dead--;
        dissem_forget_member(&g->dq, id);
        members_remove(&g->members, id);
        roles_recompute(g);
    }
}

/* A slow full-view exchange.  Its interval grows with the number of
 * datagrams the view takes, so that it costs every node about one datagram
 * each way per sync interval at any cluster size (memberlist's log-scaled
 * push-pull would grow as n / log n); the piggybacked anti-entropy samples
 * and the early exchange after joining carry the rest. */
static void sync_tick(struct gossip *g)
{
    uint64_t per_chunk = (g->cfg.max_datagram - ENV_OVERHEAD) / 32u; /* ~ member records per datagram */
    uint64_t chunks = ((uint64_t)g->members.n + per_chunk) / (per_chunk ? per_chunk : 1);
    uint64_t iv = g->cfg.sync_interval_ms * (chunks ? chunks : 1);
    uint32_t spread = (uint32_t)(iv < UINT32_MAX ? iv : UINT32_MAX);
    if (g->life.phase != PHASE_VIEW_NEW && g->now - g->last_sync_ms < iv / 2) {
        /* scheduled when the view was smaller (at start, before the join
         * brought thousands of members): not due yet at its present size */
        g->next_sync = g->last_sync_ms + iv / 2 + rng_below(&g->rng, spread);
        return;
    }
    g->next_sync = g->now + iv / 2 + rng_below(&g->rng, spread);
    /* The early exchange after joining repairs the joins a forming cluster
     * missed: two nodes that joined through different seeds within moments
     * of each other, each seed's view taken before the other's news came.
     * Only what changed since shortly before our view was taken can be
     * missing, so only that is exchanged: a few datagrams, where the full
     * view would cost as much as the join itself in a large cluster. */
    uint32_t recent_ms = 0;
    if (g->life.phase == PHASE_VIEW_NEW) {
        uint64_t since = g->now - g->life.view_ms + 2ull * g->cfg.heartbeat_ms;
        recent_ms = since < UINT32_MAX ? (uint32_t)since : UINT32_MAX;
        g->life.phase = PHASE_MEMBER;
    } else {
        g->last_sync_ms = g->now;
    }
    uint32_t n = g->members.n;
    for (unsigned tries = 0; tries < 8 && n > 0; tries++) {
        const struct member *m = &g->members.v[rng_below(&g->rng, n)];
        if (m->state != GOSSIP_ALIVE)
            continue;
        gaddr_t to = m->addr;
        g->stats.syncs++;
        msg_send_sync(g, &to, m->id, true, recent_ms);
        return;
    }
}

static void recover_tick(struct gossip *g)
{
    for (unsigned i = 0; i < g->n_recover; i++) {
        const struct member *m = members_get(&g->members, g->recover[i]);
        if (m && m->state == GOSSIP_ALIVE) {
            gaddr_t to = m->addr;
            g->stats.syncs++;
            msg_send_sync(g, &to, m->id, true, 0);
        }
    }
    g->n_recover = 0;
}

#define RATE_WINDOW_MS 10000u

/* Close the rate window when it is over (called from the tick, which runs
 * at least once per window since the probe timer is shorter). */
static void rates_tick(struct gossip *g)
{
    uint64_t span = g->now - g->rate_start_ms;
    if (span < RATE_WINDOW_MS)
        return;
    struct gossip_stats *s = &g->stats, *b = &g->rate_base;
#define PER_S(x) (uint32_t)(((s->x - b->x) * 1000u) / span)
    s->sent_bytes_per_s = PER_S(sent_bytes);
    s->recv_bytes_per_s = PER_S(recv_bytes);
    s->sent_datagrams_per_s = PER_S(sent_datagrams);
    s->recv_datagrams_per_s = PER_S(recv_datagrams);
#undef PER_S
    g->rate_base = *s;
    g->rate_start_ms = g->now;
}

void maintain_start(struct gossip *g)
{
    /* without seeds we start the cluster, unless somebody already knows us
     * (a restarted seed node, found by the others' probes within a few
     * heartbeats): alone after five quiet heartbeats */
    g->life.phase = g->cfg.n_seeds == 0 ? PHASE_JOINED : PHASE_JOINING;
    g->life.start_ms = g->now;
    g->life.view_deadline = lc_joined(g) ? g->now + 5ull * g->cfg.heartbeat_ms : UINT64_MAX;
    roles_recompute(g);
    g->rate_start_ms = g->now;
    probe_schedule_first(g);
    msg_gossip_start(g);
    g->next_sync = g->now + g->cfg.sync_interval_ms / 2 + rng_below(&g->rng, g->cfg.sync_interval_ms);
    g->last_sync_ms = g->now;
    g->next_reconnect = g->now + g->cfg.reconnect_interval_ms;
    g->next_join = g->now;
    g->next_reap = g->now + 10ull * g->cfg.heartbeat_ms;
}

/* No seed has answered yet: ask them every heartbeat. */
static uint64_t join_due(const struct gossip *g)
{
    return lc_joined(g) ? UINT64_MAX : g->next_join;
}

/* Started without seeds: five quiet heartbeats, then we are the cluster. */
static uint64_t view_wait_due(const struct gossip *g)
{
    return lc_has_view(g) ? UINT64_MAX : g->life.view_deadline;
}

static void view_wait_end(struct gossip *g)
{
    g->life.phase = PHASE_MEMBER;
    g->life.failover_ms = g->now; /* we are the cluster: nothing to wait for */
    roles_recompute(g);
}

/* The view has settled: roles may now move here by failover. */
static uint64_t failover_due(const struct gossip *g)
{
    return lc_has_view(g) && !g->life.failover_open ? g->life.failover_ms : UINT64_MAX;
}

static void failover_open(struct gossip *g)
{
    g->life.failover_open = true;
    roles_recompute(g);
}

static uint64_t recover_due(const struct gossip *g)
{
    return g->n_recover ? g->now : UINT64_MAX;
}

/* The early exchange after joining, then the regular one; none while leaving. */
static uint64_t sync_due(const struct gossip *g)
{
    if (lc_leaving(g))
        return UINT64_MAX;
    return g->life.phase == PHASE_VIEW_NEW ? g->life.early_sync_ms : g->next_sync;
}

static uint64_t reconnect_due(const struct gossip *g)
{
    return lc_leaving(g) ? UINT64_MAX : g->next_reconnect;
}

static uint64_t reap_due(const struct gossip *g)
{
    return g->next_reap;
}

static uint64_t quorum_due(const struct gossip *g)
{
    return g->quorum_candidate ? g->next_quorum : UINT64_MAX;
}

/* Rides on the ticks that happen anyway (the probe timer alone ticks
 * several times a window): closing a window is no reason to wake. */
static uint64_t rates_due(const struct gossip *g)
{
    (void)g;
    return UINT64_MAX;
}

/* Every timer of gossip_tick(), in the order a tick runs them (see struct
 * timer in core.h). */
static const struct timer timers[] = {
    {rates_due, rates_tick, true},
    {join_due, join_tick, false},
    {view_wait_due, view_wait_end, false},
    {failover_due, failover_open, false},
    {probe_next_deadline, probe_tick, true},
    {recover_due, recover_tick, false},
    {msg_gossip_due, msg_gossip_tick, true},
    {sync_due, sync_tick, false},
    {reconnect_due, reconnect_tick, false},
    {reap_due, reap_tick, false},
    {quorum_due, roles_quorum_tick, false},
    {query_due, query_expire, false},
    {merge_move_past_due, merge_move_past_tick, false},
};

void maintain_run(struct gossip *g)
{
    timers_run(g, timers, sizeof(timers) / sizeof(timers[0]));
}

void maintain_run_due(struct gossip *g)
{
    timers_run_due(g, timers, sizeof(timers) / sizeof(timers[0]));
}

uint64_t maintain_next_deadline(const struct gossip *g)
{
    return timers_next(g, timers, sizeof(timers) / sizeof(timers[0]));
}
