/*
 * Public entry points: handle lifecycle, the loop calls, timers, and the
 * delivery of events to the host.  Every entry point that can change state
 * ends in deliver(): callbacks see a consistent library and never run
 * inside another callback.
 */
#include <errno.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_int.h"
#include "internal.h"
#include "roles.h"

/* ---- time and chance ----------------------------------------------------- */

static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_ms(const struct gossip *g)
{
    return g->cfg.hooks.now_ms ? g->cfg.hooks.now_ms(g->cfg.hooks.ctx) : clock_ms(CLOCK_MONOTONIC);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256**, seeded once from RAND_bytes: protocol choices need speed,
 * not secrecy (nothing secret is derived from it). */
uint64_t g_random(struct gossip *g)
{
    if (g->cfg.hooks.random) {
        uint64_t v;
        g->cfg.hooks.random(g->cfg.hooks.ctx, &v, sizeof(v));
        return v;
    }
    uint64_t *s = g->rng, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

uint32_t g_random_below(struct gossip *g, uint32_t n)
{
    return n ? (uint32_t)(((g_random(g) >> 32) * (uint64_t)n) >> 32) : 0;
}

/* ---- logging --------------------------------------------------------------- */

__attribute__((format(printf, 3, 0)))
static void vlog(const struct gossip_callbacks *cb, enum gossip_log_level lvl, const char *fmt, va_list ap)
{
    if (!cb->log)
        return;
    char msg[256];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    cb->log(cb->ud, lvl, msg);
}

void g_log(struct gossip *g, enum gossip_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(&g->cfg.cb, lvl, fmt, ap);
    va_end(ap);
}

#define WARN_EVERY_MS 10000u

void g_drop(struct gossip *g, uint64_t *counter, unsigned reason, const char *fmt, ...)
{
    ++*counter;
    /* one line per reason per ten seconds, with the count of the silent ones */
    if (reason >= 16 || (g->warn_ms[reason] && g->now < g->warn_ms[reason] + WARN_EVERY_MS)) {
        if (reason < 16)
            g->warn_suppressed[reason]++;
        return;
    }
    if (!g->cfg.cb.log)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* a key we do not hold is a configuration error (a missed rotation),
     * not noise on the port */
    enum gossip_log_level lvl = reason == DR_KEY ? GOSSIP_LOG_ERROR : GOSSIP_LOG_WARN;
    if (g->warn_suppressed[reason])
        g_log(g, lvl, "%s (and %llu more like it)", msg, (unsigned long long)g->warn_suppressed[reason]);
    else
        g_log(g, lvl, "%s", msg);
    g->warn_ms[reason] = g->now ? g->now : 1;
    g->warn_suppressed[reason] = 0;
}

/* ---- events ------------------------------------------------------------------ */

static struct pending_event *pe_push(struct gossip *g)
{
    if (g->pe_n == g->pe_cap) {
        uint32_t cap = g->pe_cap ? g->pe_cap * 2 : 16;
        struct pending_event *v = realloc(g->pe, cap * sizeof(*v));
        if (!v)
            return NULL;
        g->pe = v;
        g->pe_cap = cap;
    }
    struct pending_event *e = &g->pe[g->pe_n++];
    memset(e, 0, sizeof(*e));
    return e;
}

static void fill_member(const gaddr_t *a, struct gossip_member *out)
{
    (void)addr_to_sockaddr(a, a->family == 4 ? AF_INET : AF_INET6, &out->addr, &out->addr_len);
}

void g_emit_member(struct gossip *g, enum gossip_event ev, const struct member *m)
{
    if (!g->cfg.cb.member)
        return;
    struct pending_event *e = pe_push(g);
    if (!e)
        return;
    e->kind = PE_MEMBER;
    e->event = ev;
    e->m.id = m->id;
    e->m.state = m->state;
    e->m.generation = m->generation;
    e->m.version = m->version;
    e->m.state_since_ms = m->state_ms;
    e->m.is_self = m->id == g->self_id;
    fill_member(&m->addr, &e->m);
}

void g_emit_user(struct gossip *g, uint64_t origin, const void *data, size_t len)
{
    g->stats.events_delivered++;
    if (!g->cfg.cb.user_event)
        return;
    uint8_t *copy = malloc(len ? len : 1);
    struct pending_event *e = copy ? pe_push(g) : NULL;
    if (!e) {
        free(copy);
        return;
    }
    memcpy(copy, data, len);
    e->kind = PE_USER;
    e->origin = origin;
    e->data = copy;
    e->len = len;
}

size_t g_alive_count(const struct gossip *g)
{
    return (size_t)(g->members.n - g->members.n_dead) + (g->self_state <= GOSSIP_SUSPECT);
}

/* ---- roles ----------------------------------------------------------------- */

static bool roles_need_view(const struct gossip *g)
{
    for (unsigned i = 0; i < g->cfg.n_roles; i++)
        if (g->cfg.roles[i].n_nodes || (g->cfg.roles[i].flags & GOSSIP_ROLE_QUORUM))
            return true;
    return false;
}

/* The view as roles.c wants it; NULL (and *n = 0) when no role depends on it. */
static struct roles_member *roles_view(const struct gossip *g, size_t *n)
{
    *n = 0;
    if (!roles_need_view(g))
        return NULL;
    struct roles_member *v = malloc(((size_t)g->members.n + 1) * sizeof(*v));
    if (!v)
        return NULL;
    v[(*n)++] = (struct roles_member){g->self_id, g->self_state};
    for (uint32_t i = 0; i < g->members.n; i++)
        v[(*n)++] = (struct roles_member){g->members.v[i].id, g->members.v[i].state};
    return v;
}

static bool listed(const struct gossip_role *r, uint64_t id)
{
    for (unsigned i = 0; i < r->n_nodes; i++)
        if (r->nodes[i] == id)
            return true;
    return false;
}

/*
 * The quorum lease.  A view that still shows the other side of a partition
 * alive is not enough for a QUORUM role: the majority side takes a role
 * over as soon as it declares the old holder failed, while the holder may
 * not have noticed anything yet.  So a holder also needs to have *heard*
 * from a strict majority within the lease (one heartbeat).  The majority
 * cannot declare it failed sooner than probe timeout + indirect timeout +
 * the minimum suspicion (at least one heartbeat) after the cut, which is
 * longer than the lease: the minority holder always lets go first.
 */
static bool quorum_lease(const struct gossip *g)
{
    size_t total = 1, heard = 1; /* ourselves */
    for (uint32_t i = 0; i < g->members.n; i++) {
        const struct member *m = &g->members.v[i];
        if (m->state == GOSSIP_LEFT)
            continue;
        total++;
        heard += g->now - m->heard_ms < g->cfg.heartbeat_ms;
    }
    return 2 * heard > total;
}

/* Keep the lease fresh: ask the members we have not heard from lately. */
static void quorum_tick(struct gossip *g)
{
    uint32_t half = g->cfg.heartbeat_ms / 2;
    g->next_quorum = g->now + (half ? half : 1);
    for (uint32_t i = 0; i < g->members.n; i++) {
        struct member *m = &g->members.v[i];
        if (m->state > GOSSIP_SUSPECT || g->now - m->heard_ms < half)
            continue;
        struct wire_msg hdr = {.type = WIRE_PING, .seq = ++g->seq, .target = m->id};
        gaddr_t to = m->addr;
        proto_send(g, &to, &hdr, NULL, false);
    }
    g->roles_dirty = true;
}

static void roles_update(struct gossip *g)
{
    g->roles_dirty = false;
    size_t n;
    struct roles_member *view = roles_view(g, &n);
    struct roles_member self_only = {g->self_id, g->self_state};
    uint32_t held = 0;
    bool candidate = false;
    for (unsigned i = 0; i < g->cfg.n_roles; i++) {
        const struct gossip_role *r = &g->cfg.roles[i];
        bool h = view ? roles_held(r, view, n, g->self_id) : roles_held(r, &self_only, 1, g->self_id);
        /* alone in our view before joining, failover would pick us: a role
         * with a list waits until we know the cluster, unless we are listed */
        if (h && !g->have_view && r->n_nodes && !listed(r, g->self_id))
            h = false;
        if (h && (r->flags & GOSSIP_ROLE_QUORUM)) {
            candidate = true;
            h = quorum_lease(g);
        }
        if (h)
            held |= 1u << i;
    }
    free(view);
    if (candidate && !g->quorum_candidate)
        g->next_quorum = g->now;
    g->quorum_candidate = candidate;
    uint32_t changed = g->roles_started ? held ^ g->roles_held : held;
    g->roles_started = true;
    g->roles_held = held;
    for (unsigned i = 0; i < g->cfg.n_roles && g->cfg.cb.role; i++) {
        if (!(changed & (1u << i)))
            continue;
        struct pending_event *e = pe_push(g);
        if (!e)
            break;
        e->kind = PE_ROLE;
        e->role = i;
        e->held = (held >> i) & 1u;
    }
}

static void deliver(struct gossip *g)
{
    if (g->delivering)
        return; /* the outer delivery loop picks these up */
    g->delivering = true;
    if (g->roles_dirty)
        roles_update(g);
    for (uint32_t i = 0; i < g->pe_n; i++) {
        struct pending_event e = g->pe[i]; /* callbacks may grow g->pe */
        switch (e.kind) {
        case PE_MEMBER: {
            const struct member *m = members_get(&g->members, e.m.id);
            if (m && m->meta_len && e.event != GOSSIP_EVENT_CONFLICT) {
                e.m.meta = m->meta;
                e.m.meta_len = m->meta_len;
            }
            g->cfg.cb.member(g->cfg.cb.ud, e.event, &e.m);
            break;
        }
        case PE_ROLE:
            g->cfg.cb.role(g->cfg.cb.ud, g->cfg.roles[e.role].name, e.held);
            break;
        case PE_USER:
            g->cfg.cb.user_event(g->cfg.cb.ud, e.origin, e.data, e.len);
            free(e.data);
            break;
        }
        if (g->roles_dirty)
            roles_update(g);
    }
    g->pe_n = 0;
    g->delivering = false;
}

/* ---- lifecycle --------------------------------------------------------------- */

static int self_address(struct gossip *g)
{
    const char *text = g->cfg.advertise_addr[0] ? g->cfg.advertise_addr : g->cfg.bind_addr;
    int rc = addr_parse(text, g->cfg.bind_port, &g->self_addr);
    if (rc < 0)
        return rc;
    g->self_addr.port = g->cfg.advertise_port ? g->cfg.advertise_port : g->cfg.bind_port;
    /* a wildcard advertises "wherever my datagrams come from" (all-zero ip) */
    return 0;
}

static void schedule_start(struct gossip *g)
{
    uint64_t hb = g->cfg.heartbeat_ms;
    g->next_probe = g->now + g_random_below(g, (uint32_t)hb) + 1; /* desynchronise nodes */
    g->next_gossip = UINT64_MAX;
    g->next_sync = g->now + g->cfg.sync_interval_ms / 2 + g_random_below(g, g->cfg.sync_interval_ms);
    g->next_reconnect = g->now + g->cfg.reconnect_interval_ms;
    g->next_join = g->now;
    g->next_reap = g->now + 10 * hb;
}

int gossip_create(gossip_t **out, const struct gossip_config *user)
{
    if (!out || !user)
        return GOSSIP_EINVAL;
    *out = NULL;
    struct gossip_config cfg;
    gossip_config_init(&cfg);
    size_t n = user->size && user->size < sizeof(cfg) ? user->size : sizeof(cfg);
    memcpy(&cfg, user, n);
    cfg.size = sizeof(cfg);
    char err[256];
    int rc = gossip_config_validate(&cfg, err, sizeof(err));
    if (rc < 0) {
        if (cfg.cb.log)
            cfg.cb.log(cfg.cb.ud, GOSSIP_LOG_ERROR, err);
        return rc;
    }
    struct gossip *g = calloc(1, sizeof(*g));
    if (!g)
        return GOSSIP_ENOMEM;
    config_effective(&cfg, &g->cfg);
    g->fd = -1;
    g->self_id = g->cfg.node_id;
    g->now = now_ms(g);
    if (!g->cfg.hooks.random && RAND_bytes((unsigned char *)g->rng, sizeof(g->rng)) != 1) {
        rc = GOSSIP_ECRYPTO;
        goto fail;
    }
    g->generation = g->cfg.generation;
    if (!g->generation) {
        uint64_t wall = g->cfg.hooks.wall_ms ? g->cfg.hooks.wall_ms(g->cfg.hooks.ctx) : clock_ms(CLOCK_REALTIME);
        /* later starts get larger generations; the low bits keep two starts
         * in the same millisecond apart */
        g->generation = (wall << 16) | (g_random(g) & 0xffffu);
    }
    if ((rc = self_address(g)) < 0)
        goto fail;
    if (crypto_init(&g->crypto, (const uint8_t(*)[GOSSIP_KEY_LEN])g->cfg.keys, g->cfg.n_keys,
                    g->cfg.cluster_label, g->self_id, g->generation) < 0) {
        rc = GOSSIP_ECRYPTO;
        goto fail;
    }
    if ((rc = members_init(&g->members)) < 0)
        goto fail;
    g->buf_len = g->cfg.max_datagram + 1;
    g->txbuf = malloc(g->buf_len);
    g->rxbuf = malloc(g->buf_len);
    g->seen = calloc(g->cfg.max_pending_events, sizeof(*g->seen));
    if (!g->txbuf || !g->rxbuf || !g->seen) {
        rc = GOSSIP_ENOMEM;
        goto fail;
    }
    if (!g->cfg.hooks.send && (rc = udp_open(g)) < 0) {
        int e = errno;
        char ebuf[128];
        g_log(g, GOSSIP_LOG_ERROR, "cannot bind %s port %u: %s", g->cfg.bind_addr, g->cfg.bind_port,
              config_strerror(e, ebuf, sizeof ebuf));
        errno = e;
        goto fail;
    }
    /* without seeds we start the cluster, unless somebody already knows us
     * (a restarted seed node, found by the others' probes within a few
     * heartbeats): alone after five quiet heartbeats */
    g->joined = g->cfg.n_seeds == 0;
    g->view_deadline = g->joined ? g->now + 5ull * g->cfg.heartbeat_ms : UINT64_MAX;
    g->roles_dirty = true;
    g->rate_start_ms = g->now;
    schedule_start(g);
    *out = g;
    return 0;
fail:
    gossip_destroy(g);
    return rc;
}

void gossip_destroy(gossip_t *g)
{
    if (!g)
        return;
    udp_close(g);
    crypto_free(&g->crypto);
    members_free(&g->members);
    dissem_free(&g->dq);
    for (uint32_t i = 0; i < g->pe_n; i++)
        free(g->pe[i].data);
    free(g->pe);
    free(g->susp);
    free(g->probe_order);
    for (uint32_t i = 0; g->seen && i < g->seen_n; i++)
        free(g->seen[i].data);
    free(g->seen);
    free(g->txbuf);
    free(g->rxbuf);
    free(g);
}

/* ---- the loop ------------------------------------------------------------------ */

int gossip_fd(const gossip_t *g)
{
    return g ? g->fd : -1;
}

int gossip_on_readable(gossip_t *g)
{
    if (!g)
        return GOSSIP_EINVAL;
    g->now = now_ms(g);
    int rc = udp_drain(g);
    deliver(g);
    return rc;
}

int gossip_feed(gossip_t *g, const struct sockaddr *from, socklen_t from_len, const void *buf, size_t len)
{
    if (!g || !from || (!buf && len))
        return GOSSIP_EINVAL;
    gaddr_t a;
    if (addr_from_sockaddr(from, from_len, &a) < 0)
        return GOSSIP_EINVAL;
    g->now = now_ms(g);
    /* opened in place, so the caller's buffer is copied first; anything too
     * large is counted as oversize without reading it */
    size_t n = len < g->buf_len ? len : g->buf_len;
    if (n) /* buf may be NULL when len is 0: memcpy(dst, NULL, 0) is UB */
        memcpy(g->rxbuf, buf, n);
    proto_receive(g, &a, g->rxbuf, n);
    deliver(g);
    return 0;
}

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
    proto_send_sync(g, seed, true);
}

/* Until a seed answers, ask every seed each heartbeat. */
static void join_tick(struct gossip *g)
{
    g->next_join = g->now + g->cfg.heartbeat_ms;
    /* silence from every seed: wrong addresses, or a key they do not hold
     * (they cannot answer what they cannot open) -- say which key we use */
    if (++g->join_attempts == 5 || g->join_attempts % 60 == 0)
        g_log(g, GOSSIP_LOG_ERROR,
              "no seed has answered after %u attempts: check the seed addresses and that the seeds "
              "hold key id %08x, which this node seals with",
              g->join_attempts, g->crypto.keys[0].id);
    for (unsigned i = 0; i < g->cfg.n_seeds; i++) {
        gaddr_t a;
        if (addr_parse(g->cfg.seeds[i], g->cfg.bind_port, &a) == 0 && !addr_equal(&a, &g->self_addr))
            send_join(g, &a);
    }
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
        uint32_t start = g_random_below(g, n);
        for (uint32_t k = 0; k < n; k++) {
            struct member *m = &g->members.v[(start + k) % n];
            if (m->state != GOSSIP_FAILED)
                continue;
            /* carry its failure, so that a live one refutes at once */
            struct wire_msg hdr = {.type = WIRE_PING, .seq = ++g->seq, .target = m->id};
            gaddr_t to = m->addr;
            proto_send(g, &to, &hdr, m, true);
            break;
        }
    }
    for (unsigned k = 0; k < g->cfg.n_seeds; k++) {
        unsigned i = (g->seed_pos + k) % g->cfg.n_seeds;
        gaddr_t a;
        if (addr_parse(g->cfg.seeds[i], g->cfg.bind_port, &a) < 0 || address_is_member(g, &a))
            continue;
        g->seed_pos = i + 1;
        send_join(g, &a);
        break;
    }
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
        uint64_t id = m->id;
        g->tombs[g->tomb_pos].id = id;
        g->tombs[g->tomb_pos].session = m->rx_session > m->generation ? m->rx_session : m->generation;
        g->tombs[g->tomb_pos].seq = 0;
        g->tombs[g->tomb_pos].next_ms = 0;
        g->tomb_pos = (g->tomb_pos + 1) % MAX_TOMBS;
        g_emit_member(g, GOSSIP_EVENT_REMOVED, m);
        suspicion_stop(g, m);
        g->members.n_dead--;
        dissem_forget_member(&g->dq, id);
        members_remove(&g->members, id);
        g->roles_dirty = true;
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
    g->next_sync = g->now + iv / 2 + g_random_below(g, (uint32_t)(iv < UINT32_MAX ? iv : UINT32_MAX));
    uint32_t n = g->members.n;
    for (unsigned tries = 0; tries < 8 && n > 0; tries++) {
        const struct member *m = &g->members.v[g_random_below(g, n)];
        if (m->state != GOSSIP_ALIVE)
            continue;
        gaddr_t to = m->addr;
        g->stats.syncs++;
        proto_send_sync(g, &to, true);
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
            proto_send_sync(g, &to, true);
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

int gossip_tick(gossip_t *g)
{
    if (!g)
        return GOSSIP_EINVAL;
    g->now = now_ms(g);
    rates_tick(g);
    if (!g->joined && g->now >= g->next_join)
        join_tick(g);
    if (!g->have_view && g->now >= g->view_deadline) {
        g->have_view = true;
        g->roles_dirty = true;
    }
    probe_tick(g);
    if (g->n_recover)
        recover_tick(g);
    if (g->dq.n == 0) {
        g->next_gossip = UINT64_MAX;
    } else if (g->now >= g->next_gossip) {
        proto_gossip_round(g);
        g->last_gossip = g->now;
        /* The first wave of an epidemic (each node relaying to `fanout`
         * peers at once) misses a node or two; while updates are young the
         * next wave follows in a quarter interval instead of a whole one.
         * The transmit limit is unchanged: only the pacing differs. */
        uint32_t gap = g->cfg.gossip_interval_ms;
        for (uint32_t i = 0; i < g->dq.n && gap == g->cfg.gossip_interval_ms; i++)
            if (g->dq.v[i].transmits < 2 * g->cfg.gossip_fanout)
                gap /= 4;
        g->next_gossip = g->dq.n ? g->now + (gap ? gap : 1) : UINT64_MAX;
    } else if (g->next_gossip == UINT64_MAX) {
        g->next_gossip = g->now + g->cfg.gossip_interval_ms;
    }
    if (!g->leaving) {
        if (g->now >= g->next_sync)
            sync_tick(g);
        if (g->now >= g->next_reconnect)
            reconnect_tick(g);
    }
    if (g->now >= g->next_reap)
        reap_tick(g);
    if (g->quorum_candidate && g->now >= g->next_quorum)
        quorum_tick(g);
    deliver(g);
    return 0;
}

int gossip_next_timeout_ms(const gossip_t *g)
{
    if (!g)
        return 0;
    uint64_t t = probe_next_deadline(g);
    if (!g->joined && g->next_join < t)
        t = g->next_join;
    if (g->dq.n > 0 && g->next_gossip < t)
        t = g->next_gossip;
    if (g->dq.n > 0 && g->next_gossip == UINT64_MAX)
        t = g->now;
    if (g->n_recover)
        t = g->now;
    if (!g->leaving) {
        if (g->next_sync < t)
            t = g->next_sync;
        if (g->next_reconnect < t)
            t = g->next_reconnect;
    }
    if (g->next_reap < t)
        t = g->next_reap;
    if (g->quorum_candidate && g->next_quorum < t)
        t = g->next_quorum;
    if (!g->have_view && g->view_deadline < t)
        t = g->view_deadline;
    uint64_t now = now_ms(g);
    if (t <= now)
        return 0;
    return t - now > INT_MAX ? INT_MAX : (int)(t - now);
}

/* ---- leave, metadata, cluster events --------------------------------------- */

int gossip_leave(gossip_t *g)
{
    if (!g)
        return GOSSIP_EINVAL;
    if (g->leaving)
        return 0;
    g->now = now_ms(g);
    g->leaving = true;
    g->self_state = GOSSIP_LEFT;
    g->version++;
    g->probe.phase = PROBE_IDLE;
    (void)dissem_member(&g->dq, g->self_id);
    /* A leave is rare and final: tell up to 64 members directly, so that
     * nobody has to wait for gossip (or, worse, suspect us); in a larger
     * cluster the gossip rounds carry it on from there. */
    struct wire_msg hdr = {.type = WIRE_GOSSIP};
    uint32_t told = 0;
    for (uint32_t i = 0; i < g->members.n && told < 64; i++) {
        const struct member *m = &g->members.v[i];
        if (m->state > GOSSIP_SUSPECT)
            continue;
        gaddr_t to = m->addr;
        proto_send(g, &to, &hdr, NULL, true);
        told++;
    }
    g->leave_sends += told;
    proto_gossip_round(g);
    g->last_gossip = g->now;
    g->next_gossip = g->now + g->cfg.gossip_interval_ms;
    g->roles_dirty = true;
    deliver(g);
    return 0;
}

bool gossip_leave_done(const gossip_t *g)
{
    if (!g || !g->leaving)
        return false;
    return g->leave_sends >= g->cfg.gossip_fanout || dissem_transmits(&g->dq, g->self_id) < 0 ||
           g_alive_count(g) <= 1;
}

int gossip_set_meta(gossip_t *g, const void *data, size_t len)
{
    if (!g || (!data && len))
        return GOSSIP_EINVAL;
    if (len > g->cfg.max_meta)
        return GOSSIP_ETOOBIG;
    if (g->leaving)
        return GOSSIP_ESTATE;
    g->now = now_ms(g);
    if (len)
        memcpy(g->self_meta, data, len);
    g->self_meta_len = (uint8_t)len;
    g->version++;
    int rc = dissem_member(&g->dq, g->self_id);
    g->next_gossip = g->now;
    deliver(g);
    return rc;
}

int gossip_broadcast(gossip_t *g, const void *data, size_t len)
{
    if (!g || !data || len == 0)
        return GOSSIP_EINVAL;
    if (len > g->cfg.max_event)
        return GOSSIP_ETOOBIG;
    if (g->leaving)
        return GOSSIP_ESTATE;
    if (g->dq.n_events >= g->cfg.max_pending_events)
        return GOSSIP_EFULL;
    g->now = now_ms(g);
    /* ids start at the generation, so they never repeat across restarts */
    uint64_t id = g->generation + ++g->event_seq;
    int rc = dissem_event(&g->dq, g->self_id, id, data, len);
    if (rc < 0)
        return rc;
    (void)event_remember(g, g->self_id, id, data, len);
    g->next_gossip = g->now;
    g_emit_user(g, g->self_id, data, len);
    deliver(g);
    return 0;
}

/* ---- queries ------------------------------------------------------------------ */

uint64_t gossip_self_id(const gossip_t *g)
{
    return g ? g->self_id : 0;
}

static void self_info(const struct gossip *g, struct gossip_member *out)
{
    memset(out, 0, sizeof(*out));
    out->id = g->self_id;
    out->state = g->self_state;
    out->generation = g->generation;
    out->version = g->version;
    fill_member(&g->self_addr, out);
    out->meta = g->self_meta_len ? g->self_meta : NULL;
    out->meta_len = g->self_meta_len;
    out->is_self = true;
}

static void member_info(const struct member *m, struct gossip_member *out)
{
    memset(out, 0, sizeof(*out));
    out->id = m->id;
    out->state = m->state;
    out->generation = m->generation;
    out->version = m->version;
    fill_member(&m->addr, out);
    out->meta = m->meta_len ? m->meta : NULL;
    out->meta_len = m->meta_len;
    out->state_since_ms = m->state_ms;
}

int gossip_member_get(const gossip_t *g, uint64_t id, struct gossip_member *out)
{
    if (!g || !out)
        return GOSSIP_EINVAL;
    if (id == g->self_id) {
        self_info(g, out);
        return 0;
    }
    const struct member *m = members_get(&g->members, id);
    if (!m)
        return GOSSIP_ENOTFOUND;
    member_info(m, out);
    return 0;
}

size_t gossip_member_count(const gossip_t *g, unsigned state_mask)
{
    if (!g)
        return 0;
    size_t n = (state_mask >> g->self_state) & 1u;
    for (uint32_t i = 0; i < g->members.n; i++)
        n += (state_mask >> g->members.v[i].state) & 1u;
    return n;
}

int gossip_member_foreach(const gossip_t *g, int (*fn)(void *ud, const struct gossip_member *m), void *ud)
{
    if (!g || !fn)
        return GOSSIP_EINVAL;
    struct gossip_member info;
    self_info(g, &info);
    int rc = fn(ud, &info);
    for (uint32_t i = 0; i < g->members.n && rc == 0; i++) {
        member_info(&g->members.v[i], &info);
        rc = fn(ud, &info);
    }
    return rc;
}

static int role_index(const struct gossip *g, const char *role)
{
    for (unsigned i = 0; role && i < g->cfg.n_roles; i++)
        if (strcmp(g->cfg.roles[i].name, role) == 0)
            return (int)i;
    return GOSSIP_ENOTFOUND;
}

int gossip_role_held(const gossip_t *g, const char *role)
{
    if (!g)
        return GOSSIP_EINVAL;
    int i = role_index(g, role);
    if (i < 0)
        return i;
    /* the answer the role callbacks gave, so that both always agree */
    return (int)((g->roles_held >> i) & 1u);
}

int gossip_role_holders(const gossip_t *g, const char *role, uint64_t *ids, size_t max)
{
    if (!g || (!ids && max))
        return GOSSIP_EINVAL;
    int i = role_index(g, role);
    if (i < 0)
        return i;
    struct roles_member *v = malloc(((size_t)g->members.n + 1) * sizeof(*v));
    if (!v)
        return GOSSIP_ENOMEM;
    size_t n = 0;
    v[n++] = (struct roles_member){g->self_id, g->self_state};
    for (uint32_t k = 0; k < g->members.n; k++)
        v[n++] = (struct roles_member){g->members.v[k].id, g->members.v[k].state};
    size_t count = roles_holders(&g->cfg.roles[i], v, n, ids, max);
    free(v);
    return count > INT_MAX ? INT_MAX : (int)count;
}

int gossip_reconfigure(gossip_t *g, const struct gossip_config *user)
{
    if (!g || !user)
        return GOSSIP_EINVAL;
    struct gossip_config cfg;
    gossip_config_init(&cfg);
    memcpy(&cfg, user, user->size && user->size < sizeof(cfg) ? user->size : sizeof(cfg));
    cfg.size = sizeof(cfg);
    char err[256];
    int rc = gossip_config_validate(&cfg, err, sizeof(err));
    if (rc < 0) {
        g_log(g, GOSSIP_LOG_ERROR, "reconfigure: %s", err);
        return rc;
    }
    struct gossip_config eff;
    config_effective(&cfg, &eff);
    if (eff.node_id != g->self_id || strcmp(eff.bind_addr, g->cfg.bind_addr) != 0 ||
        strcmp(eff.advertise_addr, g->cfg.advertise_addr) != 0 || eff.bind_port != g->cfg.bind_port ||
        eff.advertise_port != g->cfg.advertise_port || eff.max_datagram != g->cfg.max_datagram ||
        cfg.hooks.send != g->cfg.hooks.send || cfg.hooks.now_ms != g->cfg.hooks.now_ms ||
        cfg.hooks.random != g->cfg.hooks.random || strcmp(cfg.cluster_label, g->cfg.cluster_label) != 0) {
        g_log(g, GOSSIP_LOG_ERROR, "reconfigure: node id, addresses, port, label, datagram size and hooks "
                                   "cannot change at run time");
        return GOSSIP_EINVAL;
    }
    eff.max_datagram = g->cfg.max_datagram;
    eff.max_pending_events = g->cfg.max_pending_events; /* sizes the dedup ring */
    g->now = now_ms(g);
    if (crypto_set_keys(&g->crypto, (const uint8_t(*)[GOSSIP_KEY_LEN])eff.keys, eff.n_keys) < 0)
        return GOSSIP_ECRYPTO;
    bool hb_changed = eff.heartbeat_ms != g->cfg.heartbeat_ms;
    /* held-role bits are by position: carry them over by name (a role that
     * is gone is simply no longer reported) */
    uint32_t held = 0;
    for (unsigned j = 0; j < eff.n_roles; j++)
        for (unsigned i = 0; i < g->cfg.n_roles; i++)
            if ((g->roles_held >> i & 1u) && strcmp(g->cfg.roles[i].name, eff.roles[j].name) == 0)
                held |= 1u << j;
    g->roles_held = held;
    g->cfg = eff;
    if (hb_changed && g->next_probe > g->now + eff.heartbeat_ms)
        g->next_probe = g->now + eff.heartbeat_ms;
    g->roles_dirty = true;
    deliver(g);
    return 0;
}

int gossip_stats_get(const gossip_t *g, struct gossip_stats *out)
{
    if (!g || !out)
        return GOSSIP_EINVAL;
    *out = g->stats;
    return 0;
}
