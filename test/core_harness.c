/* The plaintext core harness: see core_harness.h. */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core_harness.h"

/* Harnesses still open when a test fails are freed by ch_teardown(). */
static struct ch *ch_open[8];

gaddr_t ch_addr(unsigned idx)
{
    struct sockaddr_in a = hc_addr(idx);
    gaddr_t out;
    assert_int_equal(addr_from_sockaddr((const struct sockaddr *)&a, sizeof(a), &out), 0);
    return out;
}

/* The node living at a, or HC_MAX. */
static unsigned ch_index_of(const gaddr_t *a)
{
    if (a->family != 4 || a->port != GOSSIP_DEFAULT_PORT || a->ip[0] != 10 || a->ip[1] != 0 || a->ip[2] != 0)
        return HC_MAX;
    unsigned i = (unsigned)a->ip[3] - 1;
    return a->ip[3] > 0 && i < HC_MAX ? i : HC_MAX;
}

static void ch_list_push(struct ch_list *l, const struct ch_out *o, const uint8_t *payload)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        assert_non_null(l->v);
    }
    struct ch_out *d = &l->v[l->n++];
    *d = *o;
    d->payload = malloc(o->len ? o->len : 1);
    assert_non_null(d->payload);
    memcpy(d->payload, payload, o->len);
}

static void ch_list_free(struct ch_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].payload);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* ---- setup ------------------------------------------------------------- */

struct ch *ch_new(void)
{
    struct ch *ch = calloc(1, sizeof(*ch));
    assert_non_null(ch);
    ch->hc = hc_new();
    for (unsigned i = 0; i < 8; i++)
        if (!ch_open[i]) {
            ch_open[i] = ch;
            break;
        }
    for (unsigned i = 0; i < HC_MAX; i++)
        ch->drain[i] = (struct ch_drain){.ch = ch, .idx = i};
    return ch;
}

struct ch *ch_cluster(unsigned n)
{
    assert_true(n <= HC_N_IDS);
    struct ch *ch = ch_new();
    for (unsigned i = 0; i < n; i++)
        hc_config(ch->hc, i, IDS[i]);
    return ch;
}

struct gossip *ch_g(const struct ch *ch, unsigned idx)
{
    assert_true(idx < HC_MAX);
    struct gossip *g = ch->hc->node[idx].g;
    assert_non_null(g);
    return g;
}

/* The outbox's drain, when a burst fills it in the middle of a call. */
static void ch_drain_fn(void *ctx)
{
    const struct ch_drain *d = ctx;
    ch_capture(d->ch, d->idx);
}

void ch_attach(struct ch *ch, unsigned idx)
{
    struct gossip *g = ch_g(ch, idx);
    if (g->out.drain != ch_drain_fn || g->out.drain_ctx != &ch->drain[idx]) {
        assert_int_equal(g->out.n, 0); /* nothing of the sealed path is left behind */
        g->out.drain = ch_drain_fn;
        g->out.drain_ctx = &ch->drain[idx];
    }
}

void ch_start(struct ch *ch, unsigned idx)
{
    hc_start(ch->hc, idx);
    ch->counter[idx] = 0;
    ch_attach(ch, idx);
}

void ch_start_all(struct ch *ch, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        ch_start(ch, i);
    ch_converge(ch, 20000);
}

void ch_free(struct ch *ch)
{
    for (unsigned i = 0; i < 8; i++)
        if (ch_open[i] == ch)
            ch_open[i] = NULL;
    hc_free(ch->hc);
    ch_list_free(&ch->q);
    ch_list_free(&ch->rec);
    free(ch);
}

int ch_teardown(void **state)
{
    for (unsigned i = 0; i < 8; i++)
        if (ch_open[i])
            ch_free(ch_open[i]);
    return hc_teardown(state);
}

/* Nothing went the sealed way (a public call that sends at once). */
static void ch_nothing_sealed(const struct ch *ch)
{
    if (ch->hc->q.n > ch->hc->q_pos)
        fail_msg("%zu sealed datagram(s) in the hook cluster's queue: a public call sent them, and the "
                 "plaintext harness cannot read them",
                 ch->hc->q.n - ch->hc->q_pos);
}

/* ---- out ----------------------------------------------------------------- */

void ch_capture(struct ch *ch, unsigned idx)
{
    struct gossip *g = ch_g(ch, idx);
    struct outbox *o = &g->out;
    for (unsigned i = 0; i < o->n; i++) {
        size_t len;
        const uint8_t *p = outbox_payload(o, i, &len);
        struct ch_out e = {
            .from = idx,
            .to = ch_index_of(&o->v[i].to),
            .addr = o->v[i].to,
            .t = ch->hc->now,
            .sender = g->self_id,
            .session = g->generation,
            .counter = ++ch->counter[idx],
            .len = len,
        };
        ch_list_push(&ch->q, &e, p);
        if (ch->recording)
            ch_list_push(&ch->rec, &e, p);
    }
    outbox_clear(o);
}

const struct wire_msg *ch_decode(struct ch *ch, const struct ch_out *o)
{
    if (wire_decode(o->payload, o->len, &ch->view) != 0)
        fail_msg("node %u wrote a payload of %zu bytes that does not decode", o->from, o->len);
    return &ch->view;
}

const struct wire_member *ch_record(const struct wire_msg *m, uint64_t id)
{
    for (unsigned i = 0; i < m->n_members; i++)
        if (m->members[i].id == id)
            return &m->members[i];
    return NULL;
}

void ch_rec_clear(struct ch *ch)
{
    ch_list_free(&ch->rec);
}

/* ---- in ---------------------------------------------------------------- */

void ch_dispatch(struct ch *ch, unsigned idx, const gaddr_t *from, uint64_t sender, uint64_t session,
                 uint64_t counter, const struct wire_msg *msg)
{
    struct gossip *g = ch_g(ch, idx);
    ch_attach(ch, idx);
    g->now = ch->hc->now;
    bool self_id = sender == g->self_id;
    if (self_id && session == g->generation)
        fail_msg("a message of node %u's own session: open.c drops it before anything reads it", idx);
    /* what open_datagram() hands on for an authentic, fresh datagram */
    struct inbound in;
    memset(&in, 0, sizeof(in));
    in.from = *from;
    in.h.version = ENV_VERSION;
    in.h.key_id = g->crypto.keys[0].id; /* as if sealed with the cluster's key */
    in.h.sender = sender;
    in.h.generation = session; /* the harness's peers' generation is their session */
    for (int i = 0; i < 8; i++)
        in.h.session[i] = (uint8_t)(session >> (56 - 8 * i));
    in.h.counter = counter;
    in.h.len = ENV_HDR_LEN;
    in.m = self_id ? NULL : members_get(&g->members, sender);
    in.msg = msg;
    in.validated = true; /* as if its address had been proved by a handshake */
    dispatch(g, &in, self_id ? OPEN_SELF_ID : OPEN_OK);
    /* the end of the entry point: the outbox instead of transmit(), then callbacks */
    ch_capture(ch, idx);
    g_deliver(g);
}

struct ch_peer ch_peer(uint64_t id, uint64_t session, const gaddr_t *addr)
{
    struct ch_peer p = {.id = id, .session = session, .counter = 0, .addr = *addr};
    return p;
}

struct wire_member ch_peer_record(const struct ch_peer *p)
{
    struct wire_member m;
    memset(&m, 0, sizeof(m));
    m.id = p->id;
    m.generation = p->session;
    m.state = GOSSIP_ALIVE;
    m.addr = p->addr;
    return m;
}

void ch_peer_send(struct ch *ch, unsigned idx, struct ch_peer *p, const struct wire_msg *hdr, bool self_record,
                  const struct wire_member *recs, unsigned n, const struct wire_event *evs, unsigned ne)
{
    const struct gossip *g = ch_g(ch, idx);
    /* no larger than a datagram the node would accept */
    size_t cap = g->cfg.max_datagram - ENV_OVERHEAD_MAX;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    struct wire_writer w;
    assert_int_equal(wire_begin(&w, buf, cap, hdr), 0);
    if (self_record) {
        struct wire_member self = ch_peer_record(p);
        assert_int_equal(wire_add_member(&w, &self), 0);
    }
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(wire_add_member(&w, &recs[i]), 0);
    for (unsigned i = 0; i < ne; i++)
        assert_int_equal(wire_add_event(&w, &evs[i]), 0);
    size_t len = wire_finish(&w);
    assert_int_equal(wire_decode(buf, len, &ch->rx), 0);
    ch_dispatch(ch, idx, &p->addr, p->id, p->session, ++p->counter, &ch->rx);
    free(buf);
}

/* ---- timers -------------------------------------------------------------- */

void ch_tick(struct ch *ch, unsigned idx)
{
    struct gossip *g = ch_g(ch, idx);
    ch_attach(ch, idx);
    g->now = ch->hc->now;
    maintain_run(g);
    ch_capture(ch, idx);
    g_deliver(g);
}

static bool ch_running(const struct ch *ch, unsigned i)
{
    const struct hc_node *n = &ch->hc->node[i];
    return n->g && !n->frozen && !n->deaf;
}

void ch_tick_all(struct ch *ch)
{
    for (unsigned i = 0; i < HC_MAX; i++)
        if (ch_running(ch, i))
            ch_tick(ch, i);
}

void ch_advance(struct ch *ch)
{
    ch->hc->now += (uint64_t)hc_next_timeout(ch->hc);
    ch_tick_all(ch);
}

/* ---- between nodes --------------------------------------------------------- */

void ch_deliver(struct ch *ch, const struct ch_out *o)
{
    const struct ch_out d = *o; /* delivery appends to ch->q, which may move */
    if (d.to >= HC_MAX || !ch->hc->node[d.to].g || ch->hc->node[d.to].deaf)
        return;
    if (wire_decode(d.payload, d.len, &ch->rx) != 0)
        fail_msg("node %u wrote a payload of %zu bytes that does not decode", d.from, d.len);
    gaddr_t from = ch_addr(d.from);
    ch_dispatch(ch, d.to, &from, d.sender, d.session, d.counter, &ch->rx);
    ch->delivered++;
}

void ch_pump(struct ch *ch)
{
    struct hc *hc = ch->hc;
    ch_nothing_sealed(ch);
    for (unsigned guard = 0; ch->q_pos < ch->q.n; guard++) {
        assert_true(guard < 1000000);
        const struct ch_out d = ch->q.v[ch->q_pos++];
        if (d.to >= HC_MAX || !hc->node[d.to].g || hc->node[d.to].deaf || hc->cut[d.from][d.to])
            continue;
        if (ch->lose && ch->lose(ch, &d, ch_decode(ch, &d)))
            continue;
        ch_deliver(ch, &d);
        if (ch->dup)
            ch_deliver(ch, &d);
    }
    ch_list_free(&ch->q);
    ch->q_pos = 0;
    ch_nothing_sealed(ch);
}

void ch_discard(struct ch *ch)
{
    ch_list_free(&ch->q);
    ch->q_pos = 0;
}

void ch_run(struct ch *ch, uint64_t ms)
{
    struct hc *hc = ch->hc;
    uint64_t end = hc->now + ms;
    unsigned zeros = 0;
    ch_pump(ch);
    for (;;) {
        int64_t t = hc_next_timeout(hc);
        if (t == 0 && ++zeros > 50)
            t = 1; /* a timer that stays due must not stall the test */
        else if (t > 0)
            zeros = 0;
        if (hc->now + (uint64_t)t > end) {
            hc->now = end;
            ch_tick_all(ch);
            ch_pump(ch);
            return;
        }
        hc->now += (uint64_t)t;
        ch_tick_all(ch);
        ch_pump(ch);
    }
}

void ch_converge(struct ch *ch, uint64_t max_ms)
{
    uint64_t end = ch->hc->now + max_ms;
    while (!hc_converged(ch->hc)) {
        assert_true(ch->hc->now < end);
        ch_run(ch, 50);
    }
}
