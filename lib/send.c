/*
 * The one place that sends (see send.h): every outbox entry sealed for its
 * receiver's life under the pair's own counter, then handed to the socket
 * or the send hook.  An entry for a life we do not know yet is parked and
 * a HELLO goes out in its stead (handshake.h); the COOKIE that answers it
 * releases the entry.  HELLOs and COOKIEs are sealed here too.
 */
#include "send.h"

#include <string.h>

#include "handshake.h"
#include "log.h"
#include "message.h"
#include "udp.h"

static void put_out(struct gossip *g, const gaddr_t *to, const uint8_t *buf, int n)
{
    if (n < 0) {
        g->stats.send_errors++;
        g_log(g, GOSSIP_LOG_ERROR, "cannot seal a datagram (%d)", n);
        return;
    }
    if (udp_send(g, to, buf, (size_t)n) < 0) {
        g->stats.send_errors++;
        return;
    }
    g->stats.sent_datagrams++;
    g->stats.sent_bytes += (uint64_t)n;
}

/* Seal the payload at buf + ENV_HDR_MAX for node `to_id`'s life `l` and
 * send it. */
static void send_data(struct gossip *g, const gaddr_t *to, uint64_t to_id, struct life *l, uint8_t *buf,
                      size_t pt_len, size_t cap)
{
    size_t start = 0;
    int n = CRYPTO_EINTERNAL;
    /* DATA counters stay below the stateless space; a pair that used them
     * all (2^63 datagrams) is sealed no more */
    if (l->tx_counter + 1 < ENV_STATELESS_BIT) {
        struct env_seal s = {.kind = ENV_DATA, .to_id = to_id, .to_session = l->session,
                             .counter = ++l->tx_counter,
                             .token = (l->flags & LIFE_TOKEN) ? l->token : NULL};
        n = crypto_seal(&g->crypto, buf, pt_len, cap, &s, &start);
    }
    put_out(g, to, buf + start, n);
}

/* A HELLO or COOKIE: 36 bytes of payload under a stateless counter. */
static void send_handshake(struct gossip *g, const gaddr_t *to, uint8_t kind, uint64_t to_id,
                           const uint8_t *to_session, const struct hs_payload *p)
{
    uint8_t buf[ENV_HDR_MAX + HS_PAYLOAD_LEN + ENV_TAG_LEN];
    size_t start = 0;
    hs_encode(p, buf + ENV_HDR_MAX);
    struct env_seal s = {.kind = kind, .to_id = to_id, .to_session = to_session,
                         .counter = crypto_stateless_counter(&g->crypto)};
    int n = s.counter ? crypto_seal(&g->crypto, buf, HS_PAYLOAD_LEN, sizeof buf, &s, &start) : CRYPTO_EINTERNAL;
    put_out(g, to, buf + start, n);
}

static void send_hello(struct gossip *g, const gaddr_t *to, uint64_t target, uint32_t seq)
{
    struct hs_payload p = {.target = target, .seq = seq};
    hs_make_challenge(g, to, target, seq, p.challenge);
    send_handshake(g, to, ENV_HELLO, 0, NULL, &p);
}

/* How long a parked payload stays worth sending: a heartbeat.  Older, it
 * is history (a view with members since gone, a probe long decided), and
 * a COOKIE that comes later must not release it. */
static bool park_fresh(const struct gossip *g, const struct parked *p)
{
    return p->at_ms && g->now - p->at_ms <= g->cfg.heartbeat_ms;
}

/* Keep the payload until the receiver's life is known; ask for it unless
 * a HELLO went to that address a moment ago. */
static void park(struct gossip *g, const struct outbox_entry *e, const uint8_t *pt)
{
    struct park *pk = &g->park;
    unsigned slot = 0;
    bool recent_hello = false;
    for (unsigned i = 0; i < PARK_SLOTS; i++) {
        const struct parked *p = &pk->v[i];
        if (park_fresh(g, p) && addr_equal(&p->to, &e->to) && p->to_id == e->to_id && p->to_any == e->to_any &&
            g->now - pk->hello_ms[i] < g->cfg.heartbeat_ms / 10 + 1)
            recent_hello = true;
        if (p->at_ms < pk->v[slot].at_ms || (!park_fresh(g, p) && park_fresh(g, &pk->v[slot])))
            slot = i; /* free, stale or oldest */
    }
    struct parked *p = &pk->v[slot];
    p->to = e->to;
    p->to_id = e->to_id;
    p->to_any = e->to_any;
    p->at_ms = g->now ? g->now : 1;
    p->len = e->pt_len;
    memcpy(p->buf + ENV_HDR_MAX, pt, e->pt_len);
    pk->hello_ms[slot] = recent_hello ? 0 : g->now;
    if (!recent_hello)
        send_hello(g, &e->to, e->to_any ? NODE_ANY : e->to_id, e->seq);
}

void transmit(struct gossip *g)
{
    /* Only entry points that passed enter() get here, and enter() refuses a
     * copy made by fork(): no second getpid() on the per-datagram path. */
    struct outbox *o = &g->out;
    crypto_set_generation(&g->crypto, g->generation);
    for (unsigned i = 0; i < o->n; i++) {
        const struct outbox_entry *e = &o->v[i];
        size_t cap, len;
        uint8_t *buf = outbox_envelope(o, i, &cap);
        if (!e->to_any && e->to_id == g->self_id) {
            /* a challenge to another process with our id: only a HELLO,
             * which a live process can answer and a recording cannot */
            send_hello(g, &e->to, g->self_id, e->seq);
            continue;
        }
        struct life *l = e->to_any ? NULL : life_of(g, e->to_id);
        if (l && life_known(l))
            send_data(g, &e->to, e->to_id, l, buf, e->pt_len, cap);
        else
            park(g, e, outbox_payload(o, i, &len));
    }
    outbox_clear(o);
}

void transmit_drain(void *ctx)
{
    transmit(ctx);
}

void send_cookie(struct gossip *g, const struct inbound *in)
{
    if (!hs_budget(g, &in->from))
        return;
    struct hs_payload p = {.target = in->h.sender, .seq = in->hello_seq};
    memcpy(p.challenge, in->hello_challenge, sizeof p.challenge);
    hs_make_token(g, in->h.sender, in->h.session, &in->from, p.token);
    g->stats.hellos_answered++;
    send_handshake(g, &in->from, ENV_COOKIE, in->h.sender, in->h.session, &p);
}

void send_hello_back(struct gossip *g, const struct inbound *in)
{
    if (!hs_budget(g, &in->from))
        return;
    send_hello(g, &in->from, in->h.sender == g->self_id ? NODE_ANY : in->h.sender, 0);
}

void send_unpark(struct gossip *g, const struct inbound *in)
{
    uint64_t id = in->h.sender;
    struct member *m = members_get(&g->members, id);
    struct life *l = m && life_is(&m->life, in->h.session) ? &m->life : lives_find(&g->lives, id);
    if (!l || !life_is(l, in->h.session))
        return;
    bool sent = false;
    for (unsigned i = 0; i < PARK_SLOTS; i++) {
        struct parked *p = &g->park.v[i];
        if (!park_fresh(g, p)) {
            p->at_ms = 0;
            continue;
        }
        if (!addr_equal(&p->to, &in->from) || (!p->to_any && p->to_id != id))
            continue;
        send_data(g, &in->from, id, l, p->buf, p->len, g->cfg.max_datagram + ENV_OVERHEAD_MAX);
        p->at_ms = 0;
        sent = true;
    }
    if (!sent && (!m || &m->life == l)) {
        /* nothing waited: the peer asked who we are (it restarted, or
         * forgot us); our record, with its token, tells it (not to a
         * stranger with a member's id: that would be sealed for the
         * member's life) */
        struct wire_msg hdr = {.type = WIRE_GOSSIP};
        msg_send(g, &in->from, id, &hdr, NULL, true);
    }
}
