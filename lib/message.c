/*
 * Outgoing messages (see message.h): the header, then piggybacked records
 * and events, written as plaintext into the outbox.  Sealing and sending
 * happen later, in send.c.
 */
#include "message.h"

#include <math.h>

unsigned retransmit_limit(const struct gossip *g)
{
    /* floor the size: while a cluster forms, every node believes it is
     * small, and the first updates would get too few transmissions */
    double n = (double)g->members.n + 1;
    if (n < 10)
        n = 10;
    return (unsigned)ceil(g->cfg.retransmit_mult * log10(n + 1)) + 1;
}

/* Long enough that one exchange with a peer that has the event is sure to
 * happen. */
uint64_t event_keep_ms(const struct gossip *g)
{
    return 2ull * g->cfg.sync_interval_ms;
}

/* Start a payload in the outbox: -1 when the header does not fit. */
static int begin(struct gossip *g, struct wire_writer *w, const struct wire_msg *hdr)
{
    size_t cap;
    uint8_t *at = outbox_reserve(&g->out, &cap);
    return wire_begin(w, at, cap, hdr);
}

/* Anti-amplification: while a datagram from an address that has not
 * proved it receives there is acted on, what goes back to that address is
 * at most 3x what came from it (QUIC's rule); the rest is withheld and
 * counted.  Sealed size is counted with the largest envelope. */
static void commit(struct gossip *g, const gaddr_t *to, uint64_t to_id, bool any, uint32_t seq,
                   struct wire_writer *w)
{
    size_t len = wire_finish(w);
    if (g->reply_limit != SIZE_MAX && addr_equal(to, &g->reply_to)) {
        size_t sealed = len + ENV_OVERHEAD_MAX;
        if (sealed > g->reply_limit) {
            g->stats.replies_limited++;
            return;
        }
        g->reply_limit -= sealed;
    }
    outbox_commit(&g->out, to, to_id, any, seq, len);
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
        if (m->state == GOSSIP_FAILED || m->id == skip || (m->flags & MEMBER_UNCONFIRMED))
            continue;
        struct wire_member wm;
        member_to_wire(m, &wm);
        if (wire_member_size(&wm) > wire_room(w) || wire_add_member(w, &wm) < 0)
            break;
        k++;
    }
}

static void send_one(struct gossip *g, const gaddr_t *to, uint64_t to_id, bool any, const struct wire_msg *hdr,
                     const struct member *first, bool self_record)
{
    struct wire_writer w;
    if (begin(g, &w, hdr) < 0)
        return;
    struct wire_member wm, self;
    if (first) {
        member_to_wire(first, &wm);
        (void)wire_add_member(&w, &wm);
    }
    self_to_wire(g, &self);
    if (self_record)
        (void)wire_add_member(&w, &self);
    dissem_pack(&g->dq, &g->members, &self, &w, retransmit_limit(g),
                first ? first->id : (self_record ? g->self_id : UINT64_MAX));
    if (hdr->type == WIRE_PING)
        add_ae_sample(g, &w, first ? first->id : hdr->target);
    commit(g, to, to_id, any, hdr->type == WIRE_PING ? hdr->seq : 0, &w);
}

void msg_send(struct gossip *g, const gaddr_t *to, uint64_t to_id, const struct wire_msg *hdr,
              const struct member *first, bool self_record)
{
    send_one(g, to, to_id, false, hdr, first, self_record);
}

void msg_send_any(struct gossip *g, const gaddr_t *to, const struct wire_msg *hdr, const struct member *first)
{
    send_one(g, to, 0, true, hdr, first, false);
}

/* The full view in datagram-sized chunks (join reply and anti-entropy),
 * preceded by what we are gossiping right now: news travels as gossip,
 * so the receiver passes it on, while the view itself is history.  A
 * recent-only exchange costs a scan of the view here and a few datagrams
 * on the wire, however large the view. */
static void send_sync(struct gossip *g, const gaddr_t *to, uint64_t to_id, bool any, bool reply_wanted,
                      uint32_t recent_ms)
{
    if (!reply_wanted && g->dq.n > 0) {
        /* only when answering: the asker is a joiner or a peer that may have
         * missed it; our own pushes go to members that already hear it */
        struct wire_msg news = {.type = WIRE_GOSSIP};
        send_one(g, to, to_id, any, &news, NULL, false);
    }
    struct wire_msg hdr = {.type = WIRE_SYNC};
    if (reply_wanted)
        hdr.flags = WIRE_F_REPLY | (recent_ms ? WIRE_F_RECENT : 0);
    uint8_t settled = lc_settled(g) ? WIRE_F_SETTLED : 0;
    hdr.flags |= settled;
    if (reply_wanted && recent_ms)
        hdr.seq = recent_ms;
    struct wire_writer w;
    struct wire_member wm;
    uint32_t i = 0, n = g->members.n, e = 0;
    unsigned chunks = 0;
    do {
        if (begin(g, &w, &hdr) < 0)
            return;
        if (chunks == 0) {
            self_to_wire(g, &wm);
            (void)wire_add_member(&w, &wm);
        }
        for (; i < n; i++) {
            const struct member *m = &g->members.v[i];
            if ((recent_ms && g->now - m->state_ms > recent_ms) || (m->flags & MEMBER_UNCONFIRMED))
                continue;
            member_to_wire(m, &wm);
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
        commit(g, to, to_id, any, 0, &w);
        hdr.flags = settled; /* one reply is enough */
        chunks++;
    } while ((i < n || e < g->seen_n) && chunks <= n + g->seen_n);
}

void msg_send_sync(struct gossip *g, const gaddr_t *to, uint64_t to_id, bool reply_wanted, uint32_t recent_ms)
{
    send_sync(g, to, to_id, false, reply_wanted, recent_ms);
}

void msg_send_sync_any(struct gossip *g, const gaddr_t *to)
{
    send_sync(g, to, 0, true, true, 0);
}

/* ---- when gossip rounds run: next_gossip and last_gossip are written here only */

void msg_gossip_start(struct gossip *g)
{
    g->next_gossip = UINT64_MAX;
}

void msg_gossip_now(struct gossip *g)
{
    g->next_gossip = g->now;
}

void msg_gossip_soon(struct gossip *g)
{
    /* spread news at once, but no faster than a tenth of the interval */
    uint64_t soonest = g->last_gossip + g->cfg.gossip_interval_ms / 10;
    uint64_t at = soonest > g->now ? soonest : g->now;
    if (at < g->next_gossip)
        g->next_gossip = at;
}

uint64_t msg_gossip_due(const struct gossip *g)
{
    if (g->dq.n == 0)
        return UINT64_MAX;
    return g->next_gossip == UINT64_MAX ? g->now : g->next_gossip;
}

void msg_gossip_tick(struct gossip *g)
{
    if (g->dq.n == 0) {
        g->next_gossip = UINT64_MAX;
    } else if (g->now >= g->next_gossip) {
        msg_gossip_round(g);
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
}

void msg_gossip_round_now(struct gossip *g)
{
    msg_gossip_round(g);
    g->last_gossip = g->now;
    g->next_gossip = g->now + g->cfg.gossip_interval_ms;
}

/* Targets come from the shuffled probe order with a cursor of their own:
 * consecutive rounds reach distinct peers, so an update leaves far fewer
 * members uninformed than random picks with replacement would. */
void msg_gossip_round(struct gossip *g)
{
    uint32_t n = g->probe_n;
    unsigned sent = 0;
    unsigned fanout = g->cfg.gossip_fanout;
    if (lc_leaving(g))
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
        msg_send(g, &to, m->id, &hdr, NULL, false);
        if (lc_leaving(g))
            g->leave_sends++;
    }
}
