/*
 * Public entry points: handle lifecycle, the loop calls, metadata, cluster
 * events, queries, reconfiguration.  Each entry point that can change
 * state ends in finish(): the outbox is sealed and sent (send.c), then
 * events reach the host (deliver.c), so callbacks see a consistent library
 * and never run inside another callback.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_int.h"
#include "core.h"
#include "deliver.h"
#include "dispatch.h"
#include "log.h"
#include "maintain.h"
#include "merge.h"
#include "message.h"
#include "open.h"
#include "probe.h"
#include "resolve.h"
#include "roles.h"
#include "send.h"
#include "udp.h"

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

/* Datagrams the outbox holds before the transmit step runs early: most
 * calls send a handful; a full-view reply streams through. */
#define OUTBOX_DATAGRAMS 16
/* Batches of UDP_BATCH datagrams read per gossip_on_readable() call. */
#define RX_MAX_BATCHES 8

/*
 * Entry points that change state run one at a time.  While one works
 * (busy) nothing may enter, not even from a log callback; while it
 * delivers, a member, role or event callback may call the calls that
 * gossip_callbacks(3) allows (set_meta, broadcast, leave, restore,
 * reconfigure, the queries), but not the loop calls: a tick, a read or a
 * feed inside a callback is refused with GOSSIP_EBUSY instead of running
 * half-way into the delivery loop.
 */
static int enter(struct gossip *g, bool loop_call)
{
    if (g->busy || (loop_call && g->delivering))
        return GOSSIP_EBUSY;
    g->busy = true;
    g->now = now_ms(g);
    return 0;
}

/* An entry point that changed nothing after all. */
static void leave_unchanged(struct gossip *g)
{
    g->busy = false;
}

/* The end of every entry point that can change state: what the protocol
 * wrote goes out, then the host hears what happened.  A gossip_destroy()
 * from a callback takes effect here, once the outermost delivery is over:
 * no callback runs after it, and the caller's call returns without
 * touching the handle again. */
static void finish(struct gossip *g)
{
    transmit(g);
    g->busy = false;
    g_deliver(g);
    if (g->destroy_requested && !g->delivering) {
        g->destroy_requested = false;
        gossip_destroy(g);
    }
}

/* One datagram from the network or the host: opened, then acted on. */
static void receive(struct gossip *g, const gaddr_t *from, uint8_t *buf, size_t len)
{
    struct inbound in;
    enum open_verdict v = open_datagram(g, from, buf, len, &in);
    if (v != OPEN_DROP)
        dispatch(g, &in, v);
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
    if (rng_init(&g->rng, g->cfg.hooks.random, g->cfg.hooks.ctx) < 0) {
        rc = GOSSIP_ECRYPTO;
        goto fail;
    }
    g->generation = g->cfg.generation;
    if (!g->generation) {
        uint64_t wall = g->cfg.hooks.wall_ms ? g->cfg.hooks.wall_ms(g->cfg.hooks.ctx) : clock_ms(CLOCK_REALTIME);
        /* later starts get larger generations; the low bits keep two starts
         * in the same millisecond apart */
        g->generation = (wall << 16) | (rng_next(&g->rng) & 0xffffu);
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
    g->rxbuf = malloc(g->buf_len);
    g->seen = calloc(g->cfg.max_pending_events, sizeof(*g->seen));
    if (!g->rxbuf || !g->seen || outbox_init(&g->out, g->cfg.max_datagram, OUTBOX_DATAGRAMS) < 0) {
        rc = GOSSIP_ENOMEM;
        goto fail;
    }
    g->out.drain = transmit_drain;
    g->out.drain_ctx = g;
    if (!g->cfg.hooks.send && (rc = udp_open(g)) < 0) {
        int e = errno;
        char ebuf[128];
        g_log(g, GOSSIP_LOG_ERROR, "cannot bind %s port %u: %s", g->cfg.bind_addr, g->cfg.bind_port,
              config_strerror(e, ebuf, sizeof ebuf));
        errno = e;
        goto fail;
    }
    /* the seeds as addresses: numeric ones now, names as they resolve
     * (never a reason to fail: a name that does not resolve yet is retried) */
    if ((rc = resolve_start(g)) < 0)
        goto fail;
    /* without seeds we start the cluster, unless somebody already knows us
     * (a restarted seed node, found by the others' probes within a few
     * heartbeats): alone after five quiet heartbeats */
    g->self_changed_ms = g->now;
    maintain_start(g);
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
    if (g->busy || g->delivering) {
        /* from a callback: the entry point that runs it frees the handle
         * when its delivery is over (finish()), and nothing is delivered
         * after this callback */
        g->destroy_requested = true;
        return;
    }
    resolve_stop(g);
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
    outbox_free(&g->out);
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
    int rc = enter(g, true);
    if (rc < 0)
        return rc;
    struct udp_rx rx = {.more = false};
    for (int round = 0; round < RX_MAX_BATCHES; round++) {
        if ((rc = udp_recv_batch(g, &rx)) < 0)
            break;
        for (unsigned i = 0; i < rx.n; i++)
            receive(g, &rx.from[i], rx.buf[i], rx.len[i]);
        if (!rx.more)
            break;
    }
    finish(g);
    /* 1: the budget ran out before the socket said EAGAIN, so more may be
     * waiting; an edge-triggered loop gets no new wakeup for them and must
     * call again (level-triggered loops are woken anyway). */
    return rc < 0 ? rc : rx.more ? 1 : 0;
}

int gossip_feed(gossip_t *g, const struct sockaddr *from, socklen_t from_len, const void *buf, size_t len)
{
    if (!g || !from || (!buf && len))
        return GOSSIP_EINVAL;
    gaddr_t a;
    if (addr_from_sockaddr(from, from_len, &a) < 0)
        return GOSSIP_EINVAL;
    int rc = enter(g, true);
    if (rc < 0)
        return rc;
    /* opened in place, so the caller's buffer is copied first; anything too
     * large is counted as oversize without reading it */
    size_t n = len < g->buf_len ? len : g->buf_len;
    if (n) /* buf may be NULL when len is 0: memcpy(dst, NULL, 0) is UB */
        memcpy(g->rxbuf, buf, n);
    receive(g, &a, g->rxbuf, n);
    finish(g);
    return 0;
}

int gossip_tick(gossip_t *g)
{
    if (!g)
        return GOSSIP_EINVAL;
    int rc = enter(g, true);
    if (rc < 0)
        return rc;
    g->life.ticked = true; /* roles are reported from the first tick on */
    resolve_tick(g);       /* first: a seed name that just resolved is asked in this tick */
    maintain_run(g);
    finish(g);
    return 0;
}

int gossip_next_timeout_ms(const gossip_t *g)
{
    if (!g)
        return 0;
    uint64_t t = maintain_next_deadline(g);
    uint64_t r = resolve_next_deadline(g); /* the resolver's poll and retransmit times */
    if (r < t)
        t = r;
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
    if (lc_leaving(g))
        return 0;
    int rc = enter(g, false);
    if (rc < 0)
        return rc;
    g->life.end = END_LEAVING;
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
        msg_send(g, &to, &hdr, NULL, true);
        told++;
    }
    g->leave_sends += told;
    msg_gossip_round_now(g);
    roles_recompute(g);
    finish(g);
    return 0;
}

bool gossip_leave_done(const gossip_t *g)
{
    if (!g || !lc_leaving(g))
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
    if (lc_leaving(g))
        return GOSSIP_ESTATE;
    int rc = enter(g, false);
    if (rc < 0)
        return rc;
    if (len)
        memcpy(g->self_meta, data, len);
    g->self_meta_len = (uint8_t)len;
    g->version++;
    g->self_changed_ms = g->now;
    rc = dissem_member(&g->dq, g->self_id);
    msg_gossip_now(g);
    finish(g);
    return rc;
}

int gossip_broadcast(gossip_t *g, const void *data, size_t len)
{
    if (!g || !data || len == 0)
        return GOSSIP_EINVAL;
    if (len > g->cfg.max_event)
        return GOSSIP_ETOOBIG;
    if (lc_leaving(g))
        return GOSSIP_ESTATE;
    if (g->dq.n_events >= g->cfg.max_pending_events)
        return GOSSIP_EFULL;
    int rc = enter(g, false);
    if (rc < 0)
        return rc;
    /* ids start at the generation, so they never repeat across restarts */
    uint64_t id = g->generation + g->event_seq + 1;
    rc = dissem_event(&g->dq, g->self_id, id, data, len);
    if (rc < 0) {
        leave_unchanged(g);
        return rc;
    }
    g->event_seq++;
    (void)event_remember(g, g->self_id, id, data, len);
    msg_gossip_now(g);
    g_emit_user(g, g->self_id, data, len);
    finish(g);
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
    addr_fill_member(&g->self_addr, out);
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
    addr_fill_member(&m->addr, out);
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

int gossip_member_restore(gossip_t *g, const struct gossip_member *m)
{
    if (!g || !m || m->id == g->self_id || m->state != GOSSIP_ALIVE || (m->meta_len && !m->meta))
        return GOSSIP_EINVAL;
    if (m->meta_len > g->cfg.max_meta)
        return GOSSIP_ETOOBIG;
    if (lc_leaving(g))
        return GOSSIP_ESTATE;
    struct wire_member r = {.id = m->id, .generation = m->generation, .version = m->version,
                            .state = GOSSIP_ALIVE, .meta_len = (uint8_t)m->meta_len, .meta = m->meta};
    if (m->addr_len > sizeof(m->addr) ||
        addr_from_sockaddr((const struct sockaddr *)&m->addr, m->addr_len, &r.addr) < 0 ||
        addr_is_unspecified(&r.addr) || r.addr.port == 0)
        return GOSSIP_EADDR;
    int rc = enter(g, false);
    if (rc < 0)
        return rc;
    rc = merge_restore(g, &r);
    finish(g);
    return rc;
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
    if (!g || !role)
        return GOSSIP_EINVAL;
    int i = role_index(g, role);
    if (i < 0)
        return i;
    /* the answer the role callbacks gave, so that both always agree */
    return (int)((g->roles_held >> i) & 1u);
}

int gossip_role_holders(const gossip_t *g, const char *role, uint64_t *ids, size_t max)
{
    if (!g || !role || (!ids && max))
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
    if ((rc = enter(g, false)) < 0)
        return rc;
    if (crypto_set_keys(&g->crypto, (const uint8_t(*)[GOSSIP_KEY_LEN])eff.keys, eff.n_keys) < 0) {
        leave_unchanged(g);
        return GOSSIP_ECRYPTO;
    }
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
    (void)resolve_reconfigure(g); /* out of memory: the old seed list stays */
    if (hb_changed)
        probe_heartbeat_changed(g);
    roles_recompute(g);
    finish(g);
    return 0;
}

int gossip_stats_get(const gossip_t *g, struct gossip_stats *out)
{
    if (!g || !out)
        return GOSSIP_EINVAL;
    *out = g->stats;
    return 0;
}
