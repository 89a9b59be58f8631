/*
 * Public entry points: handle lifecycle, the loop calls, metadata, cluster
 * events, queries, reconfiguration.  Each entry point that can change
 * state ends in finish(): the outbox is sealed and sent (send.c), then
 * events reach the host (deliver.c), so callbacks see a consistent library
 * and never run inside another callback.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"
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
#include "query.h"
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
    if ((long)getpid() != g->pid) {
        /* a copy made by fork(): sealing here would reuse the parent's
         * session key and counters, so nonces would repeat */
        if (!g->fork_logged) {
            g->fork_logged = true;
            g_log(g, GOSSIP_LOG_ERROR, "this handle was created by process %ld and is used in process %ld "
                  "(after fork()): refused; destroy it and create a new one here", g->pid, (long)getpid());
        }
        return GOSSIP_EFORKED;
    }
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
static void mint_held(struct gossip *g);

static void finish(struct gossip *g)
{
    mint_held(g);
    roles_settle(g);
    g_deliver_releases(g);
    if (g->destroy_requested && !g->delivering) {
        /* gossip_destroy() from a release callback: nothing is sent */
        outbox_clear(&g->out);
        g->busy = false;
        g->destroy_requested = false;
        gossip_destroy(g);
        return;
    }
    transmit(g);
    g->busy = false;
    g_deliver(g);
    /* Roles settled before the transmit above; what the callbacks changed
     * (a drain, a metadata change inside a role callback) is settled again
     * in g_deliver() and may queue a hand-back ping or our raised record.
     * It goes now: left in the outbox it would wait for whatever call
     * comes next, while this call asked for an immediate wake-up (the
     * gossip round it schedules), which a host sees as a tick that did no
     * work and returned 0 again (the busy-loop of swarm seed 197). */
    if (g->out.n && !g->delivering && !g->destroy_requested) {
        g->busy = true; /* the send hook may not enter either */
        transmit(g);
        g->busy = false;
    }
    if (g->destroy_requested && !g->delivering) {
        g->destroy_requested = false;
        gossip_destroy(g);
        return;
    }
    g->due_at = maintain_next_deadline(g); /* what the host is told to wake for */
}

/* One datagram from the network or the host: opened, then acted on. */
static void receive(struct gossip *g, const gaddr_t *from, uint8_t *buf, size_t len)
{
    struct inbound in;
    enum open_verdict v = open_datagram(g, from, buf, len, &in);
    if (v == OPEN_DROP) {
        if (in.hello_back)
            send_hello_back(g, &in);
        return;
    }
    if (v == OPEN_HELLO) {
        send_cookie(g, &in);
        if (in.h.sender == g->self_id)
            dispatch(g, &in, OPEN_SELF_ID); /* another process with our id asks */
        return;
    }
    /* anti-amplification (message.c): to a source not validated, at most
     * 3x what it sent while its datagram is acted on */
    g->reply_to = *from;
    g->reply_limit = in.validated ? SIZE_MAX : 3 * len;
    if (v == OPEN_COOKIE)
        send_unpark(g, &in);
    dispatch(g, &in, v);
    g->reply_limit = SIZE_MAX;
}

/* Read the socket until EAGAIN or the budget.  0 when drained, 1 when the
 * budget ran out before the socket said EAGAIN (more may be waiting: an
 * edge-triggered loop gets no new wakeup for them and must call again),
 * or GOSSIP_ESOCKET. */
static int read_socket(struct gossip *g)
{
    struct udp_rx rx = {.more = false};
    for (int round = 0; round < RX_MAX_BATCHES; round++) {
        int rc = udp_recv_batch(g, &rx);
        if (rc < 0)
            return rc;
        for (unsigned i = 0; i < rx.n; i++)
            receive(g, &rx.from[i], rx.buf[i], rx.len[i]);
        if (!rx.more)
            break;
    }
    return rx.more ? 1 : 0;
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
    char err[256];
    /* the fields the caller's build has; a struct too small to be a config
     * is not read at all (not even its log callback: nothing is logged) */
    int rc = config_widen(user, &cfg, err, sizeof(err));
    if (rc == 0)
        rc = gossip_config_validate(&cfg, err, sizeof(err));
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
    g->pid = (long)getpid();
    g->self_id = g->cfg.node_id;
    g->now = now_ms(g);
    if (rng_init(&g->rng, g->cfg.hooks.random, g->cfg.hooks.ctx) < 0) {
        rc = GOSSIP_ECRYPTO;
        goto fail;
    }
    g->wall0_ms = g->cfg.hooks.wall_ms ? g->cfg.hooks.wall_ms(g->cfg.hooks.ctx) : clock_ms(CLOCK_REALTIME);
    g->now0_ms = g->now;
    g->generation = g->cfg.generation;
    if (!g->generation) {
        /* Ordering only: later starts usually get larger generations, and
         * one that does not (a clock behind) moves past the cluster's
         * record of its earlier life (merge.c).  Keys and nonces never
         * depend on it: the session below does. */
        g->generation = (g->wall0_ms << 16) | (rng_next(&g->rng) & 0xffffu);
    }
    g->gen_at_start = g->generation;
    g->reply_limit = SIZE_MAX;
    if ((rc = self_address(g)) < 0)
        goto fail;
    /* 128 random bits name this life (and 256 more key its tokens): never
     * the clock's, so a restart, a fork()ed copy or two creates in one
     * millisecond never share a pair key, hence never a nonce. */
    uint8_t session[ENV_SESSION_LEN], mac_secret[32];
    if (rng_secret(&g->rng, session, sizeof session) < 0 || rng_secret(&g->rng, mac_secret, sizeof mac_secret) < 0 ||
        crypto_init(&g->crypto, (const uint8_t(*)[GOSSIP_KEY_LEN])g->cfg.keys, g->cfg.n_keys,
                    g->cfg.cluster_label, g->self_id, g->generation, session, mac_secret) < 0) {
        OPENSSL_cleanse(mac_secret, sizeof mac_secret);
        rc = GOSSIP_ECRYPTO;
        goto fail;
    }
    OPENSSL_cleanse(mac_secret, sizeof mac_secret);
    for (unsigned i = 0; i < PARK_SLOTS; i++) {
        if (!(g->park.v[i].buf = malloc(g->cfg.max_datagram + ENV_OVERHEAD_MAX))) {
            rc = GOSSIP_ENOMEM;
            goto fail;
        }
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
    for (uint32_t i = 0; i < g->n_held; i++)
        free(g->held[i].data);
    free(g->held);
    free(g->susp);
    free(g->probe_order);
    for (uint32_t i = 0; g->seen && i < g->seen_n; i++)
        free(g->seen[i].data);
    free(g->seen);
    outbox_free(&g->out);
    query_free(g);
    free(g->rxbuf);
    for (unsigned i = 0; i < PARK_SLOTS; i++)
        free(g->park.v[i].buf);
    /* keys, the key cache and session keys: nothing secret stays in freed memory */
    OPENSSL_cleanse(g, sizeof(*g));
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
    rc = read_socket(g);
    finish(g);
    return rc;
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
    /* Called long after the deadline we reported: the host's loop stalled.
     * Read what queued in the socket first (acks and refutations that
     * would otherwise be judged missing), then account for the stall.
     * (Not at the first tick: a host may create a node well before it
     * starts its loop.) */
    if (g->life.ticked && g->now > g->due_at && g->now - g->due_at > probe_stall_threshold(g)) {
        uint64_t late = g->now - g->due_at;
        (void)read_socket(g);
        probe_on_stall(g, late);
    }
    g->life.ticked = true; /* roles are reported from the first tick on */
    resolve_tick(g);       /* first: a seed name that just resolved is asked in this tick */
    maintain_run(g);
    /* A role change may ask for a gossip round now; it runs in this tick,
     * or the deadline reported after it would be one it left behind (the
     * host would call again at once for nothing but that). */
    roles_settle(g);
    maintain_run_due(g);
    finish(g);
    return 0;
}

int gossip_report_lag(gossip_t *g, uint32_t lag_ms)
{
    if (!g)
        return GOSSIP_EINVAL;
    int rc = enter(g, false);
    if (rc < 0)
        return rc;
    if (lag_ms > probe_stall_threshold(g))
        probe_on_stall(g, lag_ms);
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
        msg_send(g, &to, m->id, &hdr, NULL, true);
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

int gossip_set_query_handlers(gossip_t *g, const struct gossip_query_handlers *h)
{
    if (!g || (h && h->size < sizeof(struct gossip_query_handlers)))
        return GOSSIP_EINVAL;
    if (h)
        g->qh = *h;
    else
        memset(&g->qh, 0, sizeof(g->qh));
    return 0;
}

int gossip_query(gossip_t *g, const void *data, size_t len, const struct gossip_query_params *p,
                 uint64_t *query_id)
{
    if (!g || (!data && len) || (p && p->size < sizeof(struct gossip_query_params)) ||
        (p && p->meta_prefix_len && !p->meta_prefix))
        return GOSSIP_EINVAL;
    if (lc_leaving(g))
        return GOSSIP_ESTATE;
    if (p && p->role) {
        bool known = false;
        for (unsigned i = 0; i < g->cfg.n_roles && !known; i++)
            known = strcmp(g->cfg.roles[i].name, p->role) == 0;
        if (!known)
            return GOSSIP_ENOTFOUND;
    }
    if (g->dq.n_events >= g->cfg.max_pending_events)
        return GOSSIP_EFULL;
    uint8_t payload[WIRE_EVENT_LEN_MAX];
    int n = query_encode(g, data, len, p, payload, sizeof(payload));
    if (n < 0)
        return n;
    int rc = enter(g, false);
    if (rc < 0)
        return rc;
    /* the id comes from the same sequence as cluster events: unique per
     * origin across restarts, and deduplicated the same way */
    uint64_t id = g->generation + g->event_seq + 1;
    if ((rc = query_register(g, id, payload, (size_t)n)) < 0 ||
        (rc = dissem_query(&g->dq, g->self_id, id, payload, (size_t)n)) < 0) {
        leave_unchanged(g);
        return rc;
    }
    g->event_seq++;
    (void)event_remember(g, g->self_id, id, NULL, 0);
    g->stats.queries++;
    msg_gossip_now(g);
    query_on_event(g, g->self_id, id, payload, (size_t)n); /* asked too, if it matches */
    if (query_id)
        *query_id = id;
    finish(g);
    return 0;
}

int gossip_query_respond(gossip_t *g, uint64_t query_id, uint64_t asker, const void *data, size_t len)
{
    if (!g || !data || len == 0)
        return GOSSIP_EINVAL;
    int rc = enter(g, false);
    if (rc < 0)
        return rc;
    rc = query_respond(g, query_id, asker, data, len);
    finish(g);
    return rc;
}

int gossip_drain(gossip_t *g, bool on)
{
    if (!g)
        return GOSSIP_EINVAL;
    if (lc_leaving(g))
        return GOSSIP_ESTATE;
    int rc = enter(g, false);
    if (rc < 0)
        return rc;
    if (g->self_draining != on) {
        /* a new incarnation, so the flag overrides what everyone holds and
         * survives the full-view exchange */
        g->self_draining = on;
        g->version++;
        g->self_changed_ms = g->now;
        rc = dissem_member(&g->dq, g->self_id);
        msg_gossip_now(g);
        roles_recompute(g);
    }
    finish(g);
    return rc;
}

bool gossip_draining(const gossip_t *g)
{
    return g && g->self_draining;
}

/*
 * An event's id is our generation plus a sequence, so that ids never
 * repeat across restarts.  But a node restarted with its clock behind
 * starts below its earlier life's generation and moves past it only when
 * the cluster tells it, in its first exchange (merge.c): an id minted
 * before that lies below what every node that knew the earlier life has
 * seen from us, and they drop the event as old (swarm seed 2618).  So a
 * broadcast made before our first view, or while a move past is pending,
 * is held (the host's own callback has it at once), and minted here, at
 * the end of the call that settles the generation.
 */
static bool may_mint(const struct gossip *g)
{
    return lc_has_view(g) && !g->move_past_ms;
}

static void mint_held(struct gossip *g)
{
    if (!g->n_held || !may_mint(g) || lc_leaving(g))
        return;
    for (uint32_t i = 0; i < g->n_held; i++) {
        struct held_broadcast *h = &g->held[i];
        uint64_t id = g->generation + g->event_seq + 1;
        if (dissem_event(&g->dq, g->self_id, id, h->data, h->len) == 0) {
            g->event_seq++;
            (void)event_remember(g, g->self_id, id, h->data, h->len);
        }
        free(h->data);
    }
    g->n_held = 0;
    msg_gossip_now(g);
}

static int hold_broadcast(struct gossip *g, const void *data, size_t len)
{
    if (g->n_held == g->held_cap) {
        uint32_t cap = g->held_cap ? 2 * g->held_cap : 8;
        struct held_broadcast *v = realloc(g->held, cap * sizeof(*v));
        if (!v)
            return GOSSIP_ENOMEM;
        g->held = v;
        g->held_cap = cap;
    }
    uint8_t *copy = malloc(len);
    if (!copy)
        return GOSSIP_ENOMEM;
    memcpy(copy, data, len);
    struct held_broadcast *h = &g->held[g->n_held++];
    h->data = copy;
    h->len = (uint16_t)len;
    return 0;
}

int gossip_broadcast(gossip_t *g, const void *data, size_t len)
{
    if (!g || !data || len == 0)
        return GOSSIP_EINVAL;
    if (len > g->cfg.max_event)
        return GOSSIP_ETOOBIG;
    if (lc_leaving(g))
        return GOSSIP_ESTATE;
    if (g->dq.n_events + g->n_held >= g->cfg.max_pending_events)
        return GOSSIP_EFULL;
    int rc = enter(g, false);
    if (rc < 0)
        return rc;
    if (!may_mint(g)) {
        if ((rc = hold_broadcast(g, data, len)) < 0) {
            leave_unchanged(g);
            return rc;
        }
        g_emit_user(g, g->self_id, data, len);
        finish(g);
        return 0;
    }
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

/* `len` bytes of `src` into the `size` bytes at `dst`: what fits, and zero
 * for the rest (the fields of a caller's larger, newer struct that this
 * library has no value for). */
static void copy_out(void *dst, size_t size, const void *src, size_t len)
{
    memcpy(dst, src, size < len ? size : len);
    if (size > len)
        memset((unsigned char *)dst + len, 0, size - len);
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
    out->draining = g->self_draining;
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
    out->draining = (m->flags & MEMBER_DRAINING) != 0;
}

int gossip_member_get_sized(const gossip_t *g, uint64_t id, struct gossip_member *out, size_t size)
{
    struct gossip_member info;

    if (!g || !out || size < ABI_MEMBER_SIZE_0_1)
        return GOSSIP_EINVAL;
    if (id == g->self_id) {
        self_info(g, &info);
    } else {
        const struct member *m = members_get(&g->members, id);
        if (!m)
            return GOSSIP_ENOTFOUND;
        member_info(m, &info);
    }
    copy_out(out, size, &info, sizeof(info));
    return 0;
}

/* The 0.1.0 entry point, with a 0.1.0 struct. */
int (gossip_member_get)(const gossip_t *g, uint64_t id, struct gossip_member *out)
{
    return gossip_member_get_sized(g, id, out, ABI_MEMBER_SIZE_0_1);
}

int gossip_member_restore_sized(gossip_t *g, const struct gossip_member *user, size_t size)
{
    if (!g || !user || size < ABI_MEMBER_SIZE_0_1)
        return GOSSIP_EINVAL;
    /* the fields the caller's build has; any later one counts as 0 */
    struct gossip_member copy;
    copy_out(&copy, sizeof(copy), user, size < sizeof(copy) ? size : sizeof(copy));
    const struct gossip_member *m = &copy;
    if (m->id == g->self_id || m->state != GOSSIP_ALIVE || (m->meta_len && !m->meta))
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

/* The 0.1.0 entry point, with a 0.1.0 struct. */
int (gossip_member_restore)(gossip_t *g, const struct gossip_member *m)
{
    return gossip_member_restore_sized(g, m, ABI_MEMBER_SIZE_0_1);
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
    size_t n;
    struct roles_member *v = roles_view_build(g, &n); /* the view held roles are decided from */
    if (!v)
        return GOSSIP_ENOMEM;
    size_t count = roles_holders(&g->cfg.roles[i], v, n, ids, max);
    free(v);
    return count > INT_MAX ? INT_MAX : (int)count;
}

/* What gossip_reconfigure() cannot change while the node runs (its page
 * lists the same fields): the first one `cfg` (effective values in `eff`)
 * changes, described in `why`, or false.  The identity and transport are
 * fixed; so is the label (nodes with different labels never accept each
 * other's datagrams, and unlike a key there is no overlap in which both
 * are accepted) and max_datagram (it sizes the buffers, and peers drop
 * datagrams above their own). */
static bool fixed_changed(const struct gossip *g, const struct gossip_config *cfg,
                          const struct gossip_config *eff, char *why, size_t len)
{
    const struct gossip_config *run = &g->cfg;
    const char *field = NULL;
    char now[GOSSIP_ADDR_MAX + 8] = "", asked[GOSSIP_ADDR_MAX + 8] = "";

#define FIXED_STR(f, key)                                                        \
    if (!field && strcmp(eff->f, run->f) != 0) {                                 \
        field = #f " (cluster." key ")";                                         \
        snprintf(now, sizeof now, "\"%.*s\"", GOSSIP_ADDR_MAX, run->f);          \
        snprintf(asked, sizeof asked, "\"%.*s\"", GOSSIP_ADDR_MAX, eff->f);      \
    }
#define FIXED_NUM(f, key)                                                        \
    if (!field && eff->f != run->f) {                                            \
        field = #f " (cluster." key ")";                                         \
        snprintf(now, sizeof now, "%llu", (unsigned long long)run->f);           \
        snprintf(asked, sizeof asked, "%llu", (unsigned long long)eff->f);       \
    }
#define FIXED_HOOK(f)                                                            \
    if (!field && cfg->hooks.f != run->hooks.f)                                  \
        field = "hooks." #f;

    FIXED_NUM(node_id, "node-id")
    FIXED_STR(bind_addr, "bind-addr")
    FIXED_STR(advertise_addr, "advertise-addr")
    FIXED_NUM(bind_port, "bind-port")
    FIXED_NUM(advertise_port, "advertise-port")
    FIXED_STR(cluster_label, "cluster-label")
    FIXED_NUM(max_datagram, "max-datagram")
    FIXED_HOOK(ctx)
    FIXED_HOOK(now_ms)
    FIXED_HOOK(wall_ms)
    FIXED_HOOK(random)
    FIXED_HOOK(send)
#undef FIXED_STR
#undef FIXED_NUM
#undef FIXED_HOOK
    if (!field)
        return false;
    if (now[0])
        snprintf(why, len, "%s cannot change while the node runs (%s, not %s); nothing applied",
                 field, now, asked);
    else
        snprintf(why, len, "%s cannot change while the node runs; nothing applied", field);
    return true;
}

/* The dedup ring of remembered cluster events holds max_pending_events:
 * at a new limit the newest min(held, limit) move to a ring of that size
 * (allocated beforehand, so that nothing can fail half-way). */
static void seen_move(struct gossip *g, struct seen_event *v, uint32_t cap)
{
    uint32_t old_cap = g->cfg.max_pending_events, n = g->seen_n;
    uint32_t first = n < old_cap ? 0 : g->seen_pos; /* the oldest */
    uint32_t keep = n < cap ? n : cap;

    for (uint32_t k = 0; k < n; k++) {
        struct seen_event *s = &g->seen[(first + k) % old_cap];
        if (k < n - keep)
            free(s->data);
        else
            v[k - (n - keep)] = *s;
    }
    free(g->seen);
    g->seen = v;
    g->seen_n = keep;
    g->seen_pos = keep % cap;
}

int gossip_reconfigure_ex(gossip_t *g, const struct gossip_config *user, unsigned flags, char *err,
                          size_t errlen)
{
    char why[256];

    if (err && errlen > 0)
        err[0] = '\0';
    if (!g || !user || flags) {
        if (err && errlen > 0)
            snprintf(err, errlen, "%s", !g ? "no handle" : !user ? "no configuration" : "unknown flags");
        return GOSSIP_EINVAL;
    }
    struct gossip_config cfg;
    int rc = config_widen(user, &cfg, why, sizeof(why)); /* the fields the caller's build has */
    if (rc == 0)
        rc = gossip_config_validate(&cfg, why, sizeof(why));
    struct gossip_config eff;
    config_effective(&cfg, &eff);
    if (rc == 0 && fixed_changed(g, &cfg, &eff, why, sizeof(why)))
        rc = GOSSIP_EINVAL;
    if (rc < 0) {
        g_log(g, GOSSIP_LOG_ERROR, "reconfigure: %s", why);
        if (err && errlen > 0)
            snprintf(err, errlen, "%s", why);
        return rc;
    }
    if ((rc = enter(g, false)) < 0) {
        if (err && errlen > 0)
            snprintf(err, errlen, "called from inside a callback where that is not allowed");
        return rc;
    }
    struct seen_event *seen = NULL;
    if (eff.max_pending_events != g->cfg.max_pending_events &&
        !(seen = calloc(eff.max_pending_events, sizeof(*seen)))) {
        leave_unchanged(g);
        if (err && errlen > 0)
            snprintf(err, errlen, "cluster.max-pending-events: out of memory");
        return GOSSIP_ENOMEM;
    }
    if (crypto_set_keys(&g->crypto, (const uint8_t(*)[GOSSIP_KEY_LEN])eff.keys, eff.n_keys) < 0) {
        free(seen);
        leave_unchanged(g);
        if (err && errlen > 0)
            snprintf(err, errlen, "cluster.key: the keyring could not be installed (libcrypto)");
        return GOSSIP_ECRYPTO;
    }
    if (seen)
        seen_move(g, seen, eff.max_pending_events);
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

int gossip_reconfigure(gossip_t *g, const struct gossip_config *cfg)
{
    return gossip_reconfigure_ex(g, cfg, 0, NULL, 0);
}

int gossip_stats_get_sized(const gossip_t *g, struct gossip_stats *out, size_t size)
{
    if (!g || !out || size < ABI_STATS_SIZE_0_1)
        return GOSSIP_EINVAL;
    copy_out(out, size, &g->stats, sizeof(g->stats));
    return 0;
}

/* The 0.1.0 entry point: its struct ends before events_lost. */
int (gossip_stats_get)(const gossip_t *g, struct gossip_stats *out)
{
    return gossip_stats_get_sized(g, out, ABI_STATS_SIZE_0_1);
}
