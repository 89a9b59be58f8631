/*
 * Message handling: the receive path (envelope, replay window, open,
 * decode, apply) and the send path (header, piggybacked updates,
 * anti-entropy samples, seal).
 *
 * A datagram is applied only after all of it has been authenticated,
 * decoded and checked against the configured bounds, so a malformed or
 * oversized record drops the whole datagram and never half-applies.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"


unsigned retransmit_limit(const struct gossip *g)
{
    /* floor the size: while a cluster forms, every node believes it is
     * small, and the first updates would get too few transmissions */
    double n = (double)g->members.n + 1;
    if (n < 10)
        n = 10;
    return (unsigned)ceil(g->cfg.retransmit_mult * log10(n + 1)) + 1;
}

/* How long an event's payload is kept for the full-view exchange: long
 * enough that one exchange with a peer that has it is sure to happen. */
static uint64_t event_keep_ms(const struct gossip *g)
{
    return 2ull * g->cfg.sync_interval_ms;
}

void member_to_wire(const struct gossip *g, const struct member *m, struct wire_member *w)
{
    (void)g;
    memset(w, 0, sizeof(*w));
    w->id = m->id;
    w->generation = m->generation;
    w->version = m->version;
    w->state = m->state;
    w->from = m->from;
    w->addr = m->addr;
    w->meta_len = m->meta_len;
    w->meta = m->meta;
}

void self_to_wire(const struct gossip *g, struct wire_member *w)
{
    memset(w, 0, sizeof(*w));
    w->id = g->self_id;
    w->generation = g->generation;
    w->version = g->version;
    w->state = g->self_state;
    w->from = g->self_id;
    w->addr = g->self_addr;
    w->meta_len = g->self_meta_len;
    w->meta = g->self_meta_len ? g->self_meta : NULL;
}

/* ---- sending ------------------------------------------------------------ */

static void send_sealed(struct gossip *g, const gaddr_t *to, size_t pt_len)
{
    int n = crypto_seal(&g->crypto, g->txbuf, pt_len, g->buf_len);
    if (n < 0) {
        g->stats.send_errors++;
        g_log(g, GOSSIP_LOG_ERROR, "cannot seal a datagram (%d)", n);
        return;
    }
    if (udp_send(g, to, g->txbuf, (size_t)n) < 0) {
        g->stats.send_errors++;
        return;
    }
    g->stats.sent_datagrams++;
    g->stats.sent_bytes += (uint64_t)n;
}

static size_t payload_cap(const struct gossip *g)
{
    return g->cfg.max_datagram - ENV_OVERHEAD;
}

/* A few random members: anti-entropy that costs a few bytes per ping and
 * repairs views that missed an update (Tarantool's anti-entropy section).
 * Failed records stay out: after a partition they are the stale ones, and
 * only the full-view exchange knows to soften them into suspicions. */
static void add_ae_sample(struct gossip *g, struct wire_writer *w, uint64_t skip)
{
    uint32_t n = g->members.n;
    for (unsigned k = 0, tries = 0; k < g->cfg.ae_records && n > 0 && tries < 2 * g->cfg.ae_records; tries++) {
        const struct member *m = &g->members.v[rng_below(&g->rng, n)];
        if (m->state == GOSSIP_FAILED || m->id == skip)
            continue;
        struct wire_member wm;
        member_to_wire(g, m, &wm);
        if (wire_member_size(&wm) > wire_room(w) || wire_add_member(w, &wm) < 0)
            break;
        k++;
    }
}

void proto_send(struct gossip *g, const gaddr_t *to, const struct wire_msg *hdr,
                const struct member *first, bool self_record)
{
    struct wire_writer w;
    if (wire_begin(&w, g->txbuf + ENV_HDR_LEN, payload_cap(g), hdr) < 0)
        return;
    struct wire_member wm;
    if (first) {
        member_to_wire(g, first, &wm);
        (void)wire_add_member(&w, &wm);
    }
    if (self_record) {
        self_to_wire(g, &wm);
        (void)wire_add_member(&w, &wm);
    }
    dissem_pack(g, &w, retransmit_limit(g), first ? first->id : (self_record ? g->self_id : UINT64_MAX));
    if (hdr->type == WIRE_PING)
        add_ae_sample(g, &w, first ? first->id : hdr->target);
    send_sealed(g, to, wire_finish(&w));
}

/* The full view in datagram-sized chunks (join reply and anti-entropy),
 * preceded by what we are gossiping right now: news travels as gossip,
 * so the receiver passes it on, while the view itself is history.  A
 * recent-only exchange costs a scan of the view here and a few datagrams
 * on the wire, however large the view. */
void proto_send_sync(struct gossip *g, const gaddr_t *to, bool reply_wanted, uint32_t recent_ms)
{
    if (!reply_wanted && g->dq.n > 0) {
        /* only when answering: the asker is a joiner or a peer that may have
         * missed it; our own pushes go to members that already hear it */
        struct wire_msg news = {.type = WIRE_GOSSIP};
        proto_send(g, to, &news, NULL, false);
    }
    struct wire_msg hdr = {.type = WIRE_SYNC};
    if (reply_wanted)
        hdr.flags = WIRE_F_REPLY | (recent_ms ? WIRE_F_RECENT : 0);
    if (reply_wanted && recent_ms)
        hdr.seq = recent_ms;
    struct wire_writer w;
    struct wire_member wm;
    uint32_t i = 0, n = g->members.n, e = 0;
    unsigned chunks = 0;
    do {
        if (wire_begin(&w, g->txbuf + ENV_HDR_LEN, payload_cap(g), &hdr) < 0)
            return;
        if (chunks == 0) {
            self_to_wire(g, &wm);
            (void)wire_add_member(&w, &wm);
        }
        for (; i < n; i++) {
            const struct member *m = &g->members.v[i];
            if (recent_ms && g->now - m->state_ms > recent_ms)
                continue;
            member_to_wire(g, m, &wm);
            if (wire_add_member(&w, &wm) < 0)
                break;
        }
        /* young cluster events ride along: a node that missed one gets it
         * here, and the dedup memory keeps delivery exactly once */
        for (; i >= n && e < g->seen_n; e++) {
            const struct seen_event *s = &g->seen[e];
            if (!s->data || g->now - s->at_ms >= event_keep_ms(g))
                continue;
            struct wire_event we = {.origin = s->origin, .event_id = s->event_id, .len = s->len, .data = s->data};
            if (wire_add_event(&w, &we) < 0)
                break;
        }
        send_sealed(g, to, wire_finish(&w));
        hdr.flags = 0; /* one reply is enough */
        chunks++;
    } while ((i < n || e < g->seen_n) && chunks <= n + g->seen_n);
}

/* Targets come from the shuffled probe order with a cursor of their own:
 * consecutive rounds reach distinct peers, so an update leaves far fewer
 * members uninformed than random picks with replacement would. */
void proto_gossip_round(struct gossip *g)
{
    uint32_t n = g->probe_n;
    unsigned sent = 0;
    unsigned fanout = g->cfg.gossip_fanout;
    if (g->leaving)
        fanout *= 2;
    for (uint32_t tries = 0; sent < fanout && tries < n && g->dq.n > 0; tries++) {
        if (g->gossip_pos >= n)
            g->gossip_pos = 0;
        const struct member *m = members_get(&g->members, g->probe_order[g->gossip_pos++]);
        if (!m || m->state > GOSSIP_SUSPECT)
            continue;
        sent++;
        struct wire_msg hdr = {.type = WIRE_GOSSIP};
        gaddr_t to = m->addr;
        proto_send(g, &to, &hdr, NULL, false);
        if (g->leaving)
            g->leave_sends++;
    }
}

/* ---- applying records --------------------------------------------------- */

static void copy_meta(struct member *m, const struct wire_member *r, bool *changed)
{
    if (m->meta_len == r->meta_len && (r->meta_len == 0 || memcmp(m->meta, r->meta, r->meta_len) == 0))
        return;
    uint8_t *copy = NULL;
    if (r->meta_len) {
        copy = malloc(r->meta_len);
        if (!copy)
            return; /* keep the old blob; the next update brings it again */
        memcpy(copy, r->meta, r->meta_len);
    }
    free(m->meta);
    m->meta = copy;
    m->meta_len = r->meta_len;
    *changed = true;
}

/* Ask whoever speaks from `to` with our id to prove it is alive: a replayed
 * datagram cannot answer, a second live process does. */
static void conflict_challenge(struct gossip *g, const gaddr_t *to)
{
    if (g->now < g->conflict_next_ms)
        return;
    g->conflict_next_ms = g->now + g->cfg.heartbeat_ms;
    g->conflict_seq = ++g->seq;
    struct wire_msg hdr = {.type = WIRE_PING, .flags = WIRE_F_ANY, .seq = g->conflict_seq};
    proto_send(g, to, &hdr, NULL, false);
}

static void apply_self_record(struct gossip *g, const struct wire_member *r, const gaddr_t *from, uint64_t sender)
{
    if (r->generation > g->generation) {
        /* someone newer claims our id */
        if (!addr_is_unspecified(&r->addr) && !addr_equal(&r->addr, &g->self_addr))
            conflict_challenge(g, &r->addr);
        else if (sender == g->self_id)
            conflict_challenge(g, from);
        return;
    }
    if (r->generation < g->generation || g->leaving || r->state == GOSSIP_ALIVE)
        return; /* our previous life, or nothing to refute */
    if (r->version >= g->version) {
        /* Lifeguard: refute at once with a higher incarnation; being
         * suspected hints that we are the slow one */
        g->version = r->version + 1;
        g->self_changed_ms = g->now;
        dissem_member(&g->dq, g->self_id);
        g->next_gossip = g->now;
        g->stats.refutations++;
        awareness_apply(g, 1);
    }
}

static void queue_fresh(struct gossip *g, uint64_t id)
{
    if (dissem_member(&g->dq, id) == 0) {
        /* spread news at once, but no faster than a tenth of the interval */
        uint64_t soonest = g->last_gossip + g->cfg.gossip_interval_ms / 10;
        uint64_t at = soonest > g->now ? soonest : g->now;
        if (at < g->next_gossip)
            g->next_gossip = at;
    }
}

/* A member that speaks to us without our knowing it: its join passed us by
 * (gossip misses a pair now and then, about e^-limit of them, and in a big
 * cluster nothing else would tell us soon: its probes reach us once in n
 * periods, the full-view exchange once in hours).  Ask it for its record;
 * the ack brings it.  At most one question per tenth of a heartbeat, and
 * none while the table is full. */
static void ask_who(struct gossip *g, const gaddr_t *from, uint64_t sender)
{
    if (g->now < g->who_next_ms || g->members.n >= g->cfg.max_members)
        return;
    g->who_next_ms = g->now + g->cfg.heartbeat_ms / 10;
    struct wire_msg ping = {.type = WIRE_PING, .flags = WIRE_F_WHO, .seq = ++g->seq, .target = sender};
    proto_send(g, from, &ping, NULL, false);
}

/* Where a record comes from decides how far it is trusted and whether it
 * is passed on. */
enum record_source {
    FROM_GOSSIP, /* news: applied and relayed */
    FROM_VIEW,   /* a full-view exchange: failures softened, history not relayed */
    FROM_HOST,   /* gossip_member_restore(): like a view, and never relayed */
};

static void apply_record(struct gossip *g, const struct wire_member *rec, const gaddr_t *from,
                         uint64_t sender, enum record_source source)
{
    bool anti_entropy = source != FROM_GOSSIP;
    /* max_meta is what we store, not what the wire allows: a peer with a
     * larger limit is a configuration mismatch, and its membership news
     * must still count (else its acks would be lost and it would be
     * declared failed).  The record is kept without the blob. */
    struct wire_member trimmed;
    const struct wire_member *r = rec;
    if (rec->meta_len > g->cfg.max_meta) {
        trimmed = *rec;
        trimmed.meta_len = 0;
        trimmed.meta = NULL;
        r = &trimmed;
        g->stats.over_limit++;
        if (g_drop(g, &g->over_limit_warned, DR_LIMIT))
            g_drop_log(g, DR_LIMIT,
                       "metadata of node %llu is %u bytes, above max-meta %u: kept without it "
                       "(set the same max-meta on every node)",
                       (unsigned long long)rec->id, rec->meta_len, g->cfg.max_meta);
    }
    if (r->id == g->self_id) {
        apply_self_record(g, r, from, sender);
        return;
    }
    struct member *m = members_get(&g->members, r->id);
    gaddr_t addr = r->addr;
    if (addr_is_unspecified(&addr)) {
        /* "wherever I speak from": only the member itself can say that */
        if (r->id == sender) {
            uint16_t port = addr.port;
            addr = *from;
            addr.port = port;
        } else if (m) {
            addr = m->addr;
        } else {
            return;
        }
    }
    uint8_t state = r->state;
    uint64_t accuser = r->from;
    /* A failure learned from somebody's full view may be stale (the other
     * side of a healed partition): suspect instead, so the member can
     * refute (memberlist's mergeRemoteState does the same). */
    if (anti_entropy && state == GOSSIP_FAILED) {
        state = GOSSIP_SUSPECT;
        accuser = sender;
    }

    if (!m) {
        if (r->state >= GOSSIP_FAILED)
            return; /* do not learn the dead (nor a softened failure of one we reaped) */
        if (g->members.n >= g->cfg.max_members) {
            if (g_drop(g, &g->stats.drop_full, DR_FULL))
                g_drop_log(g, DR_FULL, "member table full (%u): refusing node %llu", g->cfg.max_members,
                           (unsigned long long)r->id);
            return;
        }
        m = members_add(&g->members, r->id);
        if (!m)
            return;
        m->generation = r->generation;
        m->version = r->version;
        m->addr = addr;
        m->state = GOSSIP_ALIVE;
        m->state_ms = g->now;
        bool ignored = false;
        copy_meta(m, r, &ignored);
        probe_add_member(g, m->id);
        g->stats.joins++;
        g->roles_dirty = true;
        g_emit_member(g, GOSSIP_EVENT_JOIN, m);
        if (state == GOSSIP_SUSPECT) {
            member_set_state(g, m, GOSSIP_SUSPECT, accuser);
            suspicion_start(g, members_get(&g->members, r->id), accuser);
        }
        /* The full view a joiner receives is history: relaying it would
         * make every joiner re-gossip the whole table (quadratic at scale).
         * What is still news in it came first as gossip (proto_send_sync
         * sends the sender's queue ahead of the view) and is relayed as
         * such; the sender's own record is news too. */
        if (source == FROM_GOSSIP || (source == FROM_VIEW && (r->id == sender || g->now >= g->absorb_until)))
            queue_fresh(g, r->id);
        return;
    }

    if (!update_overrides(state, r->generation, r->version, m->state, m->generation, m->version)) {
        if (state == GOSSIP_SUSPECT && m->state == GOSSIP_SUSPECT &&
            incarnation_cmp(r->generation, r->version, m->generation, m->version) == 0)
            suspicion_confirm(g, m, accuser);
        return;
    }
    bool restarted = r->generation > m->generation;
    bool changed = false;
    uint8_t old = m->state;
    gaddr_t old_addr = m->addr;
    m->generation = r->generation;
    m->version = r->version;
    if (!addr_equal(&m->addr, &addr)) {
        m->addr = addr;
        changed = true;
    }
    copy_meta(m, r, &changed);
    if (state != GOSSIP_SUSPECT)
        suspicion_stop(g, m);
    if (state != old) {
        member_set_state(g, m, state, accuser);
        if (state == GOSSIP_SUSPECT) {
            suspicion_start(g, m, accuser);
            probe_on_suspicion(g, m->id);
        }
        if (state == GOSSIP_ALIVE && old >= GOSSIP_FAILED && g->n_recover < MAX_RECOVER)
            g->recover[g->n_recover++] = m->id; /* merge views with a returning member */
    } else if (state == GOSSIP_ALIVE && restarted) {
        m->state_ms = g->now;
        g_emit_member(g, GOSSIP_EVENT_ALIVE, m);
        /* a new life may start with an empty view (a seed node has no seeds
         * to ask): a few members, about three in the whole cluster, fill it */
        uint32_t n = (uint32_t)g_alive_count(g);
        if (g->n_recover < MAX_RECOVER && (n <= 3 || rng_below(&g->rng, n) < 3))
            g->recover[g->n_recover++] = m->id;
    } else if (changed) {
        g_emit_member(g, GOSSIP_EVENT_UPDATE, m);
    }
    if (restarted && old <= GOSSIP_SUSPECT && !addr_equal(&old_addr, &m->addr)) {
        /* A new life somewhere else: a restart that moved, or a second
         * process with the same id.  Tell the old address; if the old
         * process still runs, it challenges the new one and both report
         * the conflict. */
        struct wire_msg hdr = {.type = WIRE_GOSSIP};
        proto_send(g, &old_addr, &hdr, m, false);
    }
    if (source != FROM_HOST)
        queue_fresh(g, r->id);
}

int proto_restore_record(struct gossip *g, const struct wire_member *r)
{
    if (!members_get(&g->members, r->id) && g->members.n >= g->cfg.max_members)
        return GOSSIP_EFULL;
    apply_record(g, r, NULL, 0, FROM_HOST);
    return members_get(&g->members, r->id) ? 0 : GOSSIP_ENOMEM;
}

bool event_remember(struct gossip *g, uint64_t origin, uint64_t event_id, const void *data, size_t len)
{
    /* An origin's event ids only grow (generation + sequence), so a window
     * per origin, like the datagram replay window, decides "seen" with
     * bounded memory however many events are in flight; the ring below only
     * backs origins we do not know and keeps payloads for the repair. */
    struct event_origin *o = NULL, *lru = &g->origins[0];
    for (unsigned i = 0; i < MAX_EVENT_ORIGINS && !o; i++) {
        if (g->origins[i].used_ms && g->origins[i].origin == origin)
            o = &g->origins[i];
        else if (g->origins[i].used_ms < lru->used_ms)
            lru = &g->origins[i];
    }
    if (o && !replay_check(&o->w, event_id))
        return false;
    for (uint32_t i = 0; i < g->seen_n; i++)
        if (g->seen[i].origin == origin && g->seen[i].event_id == event_id)
            return false;
    if (!o) {
        o = lru; /* an evicted origin falls back to the ring above */
        *o = (struct event_origin){.origin = origin};
    }
    o->used_ms = g->now ? g->now : 1;
    replay_commit(&o->w, event_id);
    struct seen_event *s = &g->seen[g->seen_pos];
    free(s->data);
    *s = (struct seen_event){.origin = origin, .event_id = event_id, .at_ms = g->now};
    if (len && (s->data = malloc(len)) != NULL) {
        memcpy(s->data, data, len);
        s->len = (uint16_t)len;
    }
    g->seen_pos = (g->seen_pos + 1) % g->cfg.max_pending_events;
    if (g->seen_n < g->cfg.max_pending_events)
        g->seen_n++;
    return true;
}

void events_expire(struct gossip *g)
{
    for (uint32_t i = 0; i < g->seen_n; i++) {
        struct seen_event *s = &g->seen[i];
        if (s->data && g->now - s->at_ms >= event_keep_ms(g)) {
            free(s->data);
            s->data = NULL;
            s->len = 0;
        }
    }
}

static void apply_event(struct gossip *g, const struct wire_event *e)
{
    if (e->len > g->cfg.max_event) {
        g->stats.over_limit++;
        if (g_drop(g, &g->over_limit_warned, DR_LIMIT))
            g_drop_log(g, DR_LIMIT,
                       "cluster event from node %llu is %u bytes, above max-event %u: not delivered "
                       "(set the same max-event on every node)",
                       (unsigned long long)e->origin, e->len, g->cfg.max_event);
        return;
    }
    if (e->origin == g->self_id && e->event_id > g->generation && e->event_id <= g->generation + g->event_seq)
        return; /* our own, delivered when we broadcast it */
    if (!event_remember(g, e->origin, e->event_id, e->data, e->len))
        return;
    if (g->dq.n_events < g->cfg.max_pending_events)
        (void)dissem_event(&g->dq, e->origin, e->event_id, e->data, e->len);
    g->next_gossip = g->now;
    g_emit_user(g, e->origin, e->data, e->len);
}

/* ---- receiving ---------------------------------------------------------- */

/* A session of a member we reaped speaks: a replay of its old datagrams, or
 * the live process back after a long partition.  Only the live one can
 * answer a fresh challenge; until it has, nothing it sends is applied. */
static bool tomb_passes(struct gossip *g, unsigned i, const gaddr_t *from, const struct wire_msg *msg)
{
    if (msg->type == WIRE_ACK && g->tombs[i].seq && msg->seq == g->tombs[i].seq) {
        g->tombs[i].session = 0; /* alive after all: welcome back */
        return true;
    }
    if (g_drop(g, &g->stats.drop_replay, DR_REPLAY))
        g_drop_log(g, DR_REPLAY, "datagram from a reaped life of node %llu: challenged",
                   (unsigned long long)g->tombs[i].id);
    if (g->now >= g->tombs[i].next_ms) {
        g->tombs[i].next_ms = g->now + g->cfg.heartbeat_ms;
        g->tombs[i].seq = ++g->seq;
        struct wire_msg ping = {.type = WIRE_PING, .seq = g->tombs[i].seq, .target = g->tombs[i].id};
        proto_send(g, from, &ping, NULL, false);
    }
    return false;
}

static void handle_from_self_id(struct gossip *g, const gaddr_t *from, const struct env_header *h,
                                const struct wire_msg *msg)
{
    if (msg->type == WIRE_PING && (msg->flags & WIRE_F_ANY)) {
        struct wire_msg ack = {.type = WIRE_ACK, .seq = msg->seq};
        proto_send(g, from, &ack, NULL, false);
    }
    if (msg->type == WIRE_ACK && g->conflict_seq && msg->seq == g->conflict_seq) {
        g->conflict_seq = 0;
        if (h->session != g->conflict_reported) {
            g->conflict_reported = h->session;
            g->stats.conflicts++;
            g_log(g, GOSSIP_LOG_ERROR, "node id %llu is also used by another live process",
                  (unsigned long long)g->self_id);
            struct member other = {.id = g->self_id, .generation = h->session, .addr = *from,
                                   .state = GOSSIP_ALIVE, .state_ms = g->now};
            g_emit_member(g, GOSSIP_EVENT_CONFLICT, &other);
            if (h->session > g->generation) {
                /* the cluster follows the newer life; accusing everybody
                 * from here would only add noise */
                g->superseded = true;
                g_log(g, GOSSIP_LOG_ERROR, "node id %llu: a newer process took over; this one stops probing",
                      (unsigned long long)g->self_id);
            }
        }
        return;
    }
    conflict_challenge(g, from);
}

/* The peer's address for a warning: formatted only when one is written. */
static const char *who(const gaddr_t *from, char buf[64])
{
    addr_format(from, buf, 64);
    return buf;
}

void proto_receive(struct gossip *g, const gaddr_t *from, uint8_t *buf, size_t len)
{
    char w[64];
    g->stats.recv_datagrams++;
    g->stats.recv_bytes += len;
    if (len > g->cfg.max_datagram) {
        if (g_drop(g, &g->stats.drop_oversize, DR_OVERSIZE))
            g_drop_log(g, DR_OVERSIZE, "datagram from %s larger than %u bytes dropped", who(from, w),
                       g->cfg.max_datagram);
        return;
    }
    struct env_header h;
    int rc = env_parse(buf, len, &h);
    if (rc == CRYPTO_ESHORT) {
        if (g_drop(g, &g->stats.drop_short, DR_SHORT))
            g_drop_log(g, DR_SHORT, "truncated datagram from %s dropped", who(from, w));
        return;
    }
    if (rc == CRYPTO_EVERSION) {
        if (g_drop(g, &g->stats.drop_version, DR_VERSION))
            g_drop_log(g, DR_VERSION, "datagram of format version %u from %s dropped: this node speaks version %u",
                       buf[0], who(from, w), ENV_VERSION);
        return;
    }
    if (rc < 0) {
        if (g_drop(g, &g->stats.drop_malformed, DR_MALFORMED))
            g_drop_log(g, DR_MALFORMED, "datagram with bad header from %s dropped", who(from, w));
        return;
    }
    bool from_self_id = h.sender == g->self_id;
    if (from_self_id && h.session == g->generation) {
        g->stats.drop_self++; /* our own datagram (a seed list that names us) */
        return;
    }
    struct member *m = from_self_id ? NULL : members_get(&g->members, h.sender);
    int tomb = -1;
    for (unsigned i = 0; !m && !from_self_id && i < MAX_TOMBS; i++)
        if (g->tombs[i].id == h.sender && g->tombs[i].session && h.session <= g->tombs[i].session)
            tomb = (int)i;
    if (m && (h.session < m->rx_session || h.session < m->generation ||
              (h.session == m->rx_session && !replay_check(&m->rx, h.counter)))) {
        if (h.session < m->generation && !addr_equal(from, &m->addr) && g->now >= g->conflict_next_ms &&
            crypto_open(&g->crypto, &h, buf, len) >= 0) {
            /* an older life speaking from elsewhere: a replay, or a second
             * process that the cluster never heard of.  Show it the record
             * we hold (one datagram, rate-limited: no amplification); a
             * live process then challenges the newer one. */
            g->conflict_next_ms = g->now + g->cfg.heartbeat_ms;
            struct wire_msg hdr = {.type = WIRE_GOSSIP};
            proto_send(g, from, &hdr, m, false);
        }
        if (g_drop(g, &g->stats.drop_replay, DR_REPLAY))
            g_drop_log(g, DR_REPLAY, "replayed or stale datagram from %s (node %llu) dropped", who(from, w),
                       (unsigned long long)h.sender);
        return;
    }
    rc = crypto_open(&g->crypto, &h, buf, len);
    if (rc == CRYPTO_EKEY) {
        if (g_drop(g, &g->stats.drop_key, DR_KEY))
            g_drop_log(g, DR_KEY, "datagram from %s sealed with key id %08x, which is not in this node's keyring",
                       who(from, w), h.key_id);
        return;
    }
    if (rc < 0) {
        if (g_drop(g, &g->stats.drop_auth, DR_AUTH))
            g_drop_log(g, DR_AUTH,
                       "datagram from %s failed authentication (wrong key or cluster label, or corrupted)",
                       who(from, w));
        return;
    }
    struct wire_msg *msg = &g->rxmsg;
    if (wire_decode(buf + ENV_HDR_LEN, (size_t)rc, msg) < 0) {
        if (g_drop(g, &g->stats.drop_malformed, DR_MALFORMED))
            g_drop_log(g, DR_MALFORMED, "malformed datagram from %s (node %llu) dropped", who(from, w),
                       (unsigned long long)h.sender);
        return;
    }
    if (from_self_id) {
        handle_from_self_id(g, from, &h, msg);
        return;
    }
    if (tomb >= 0 && !tomb_passes(g, (unsigned)tomb, from, msg))
        return;
    /* authentic and well-formed: the counter is used up */
    if (m) {
        m->heard_ms = g->now;
        if (h.session > m->rx_session) {
            m->rx_session = h.session;
            m->rx = (struct replay_window){0};
        }
        replay_commit(&m->rx, h.counter);
    }
    g->joined = true;
    if (!g->have_view && msg->type == WIRE_SYNC) {
        g->have_view = true;
        g->absorb_until = g->now + g->cfg.heartbeat_ms;
        /* one early exchange with a random member: whatever joined while we
         * did (a cluster forming at once) and missed us both is repaired in
         * seconds instead of at the first regular exchange */
        g->next_sync = g->now + 2ull * g->cfg.heartbeat_ms + rng_below(&g->rng, g->cfg.heartbeat_ms);
        g->early_sync = true;
        g->view_ms = g->now;
        g->roles_dirty = true; /* roles with a list may now fail over */
    }

    enum record_source source = msg->type == WIRE_SYNC ? FROM_VIEW : FROM_GOSSIP;
    for (unsigned i = 0; i < msg->n_members; i++)
        apply_record(g, &msg->members[i], from, h.sender, source);
    if (!m && (m = members_get(&g->members, h.sender)) != NULL) {
        m->heard_ms = g->now;
        m->rx_session = h.session;
        replay_commit(&m->rx, h.counter);
    }
    for (unsigned i = 0; i < msg->n_events; i++)
        apply_event(g, &msg->events[i]);

    switch (msg->type) {
    case WIRE_PING:
        if (!m && !g->have_view && g->n_recover < MAX_RECOVER)
            g->recover[g->n_recover++] = h.sender; /* it knows a cluster we do not: pull its view */
        if ((msg->flags & WIRE_F_ANY) || msg->target == g->self_id) {
            /* our own record rides along while it can matter: a prober that
             * suspects us, or missed our last change (a refutation, a
             * restart, new metadata) is repaired by the answer; in a quiet
             * cluster the ack stays small */
            bool recent = g->now - g->self_changed_ms < SELF_NEWS_HEARTBEATS * (uint64_t)g->cfg.heartbeat_ms;
            struct wire_msg ack = {.type = WIRE_ACK, .seq = msg->seq};
            proto_send(g, from, &ack, NULL, recent || (msg->flags & (WIRE_F_SUSPECT | WIRE_F_WHO)));
        }
        break;
    case WIRE_ACK:
        if (!relay_on_ack(g, msg->seq))
            probe_on_ack(g, msg->seq);
        break;
    case WIRE_PING_REQ:
        probe_on_ping_req(g, from, msg);
        break;
    case WIRE_NACK:
        probe_on_nack(g, msg->seq);
        break;
    case WIRE_SYNC:
        if (msg->flags & WIRE_F_REPLY)
            proto_send_sync(g, from, false, (msg->flags & WIRE_F_RECENT) ? msg->seq : 0);
        break;
    default:
        break;
    }
    if (!m && g->have_view)
        ask_who(g, from, h.sender);
}
