/*
 * Unit tests of the dissemination queue (lib/dissem.c) on a real handle:
 * members are learnt from decoded GOSSIP messages handed to the core by
 * the plaintext harness (test/core_harness.h: no key, no seal), then the
 * queue is driven directly and every packed payload is decoded with
 * wire_decode() to see what a peer would get.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core_harness.c"

#define SELF 0x1001u
#define PEER 0x5000u   /* the peer that tells us about the members */
#define BASE 0x60000u  /* learnt members: BASE + i */

static struct ch *current; /* freed by teardown if a test fails */
static struct ch_peer peer;

static struct wire_member rec(uint64_t id, uint32_t version, const char *meta)
{
    struct wire_member m;
    memset(&m, 0, sizeof(m));
    m.id = id;
    m.generation = 777;
    m.version = version;
    m.state = GOSSIP_ALIVE;
    m.addr.family = 4;
    m.addr.ip[0] = 10, m.addr.ip[1] = 9;
    m.addr.ip[2] = (uint8_t)(id >> 8), m.addr.ip[3] = (uint8_t)id;
    m.addr.port = 1179;
    m.meta_len = meta ? (uint8_t)strlen(meta) : 0;
    m.meta = meta ? (const uint8_t *)meta : NULL;
    return m;
}

/* Hand g a GOSSIP message from PEER carrying these records. */
static void feed_records(const gossip_t *g, const struct wire_member *recs, unsigned n)
{
    assert_true(current && ch_g(current, 0) == g);
    struct wire_msg hdr = {.type = WIRE_GOSSIP};
    ch_peer_send(current, 0, &peer, &hdr, false, recs, n, NULL, 0);
}

/* A handle that knows PEER and n members BASE..BASE+n-1, with an empty queue. */
static gossip_t *handle_with_members(unsigned n, unsigned max_event)
{
    current = ch_new();
    struct gossip_config *c = hc_config(current->hc, 0, SELF);
    c->generation = 1000;
    c->max_event = max_event;
    current->hc->now = 5000;
    ch_start(current, 0);
    gossip_t *g = ch_g(current, 0);
    struct wire_addr pa = rec(PEER, 0, NULL).addr;
    peer = ch_peer(PEER, 777, &pa); /* session = generation */
    struct wire_member recs[32];
    unsigned k = 0;
    recs[k++] = rec(PEER, 0, NULL);
    for (unsigned i = 0; i < n; i++) {
        recs[k++] = rec(BASE + i, 0, NULL);
        if (k == 32 || i + 1 == n) {
            feed_records(g, recs, k);
            k = 0;
        }
    }
    if (k)
        feed_records(g, recs, k);
    if (g->members.n != n + 1)
        print_message("members %u, full %llu\n", g->members.n, (unsigned long long)g->stats.drop_full);
    assert_int_equal(g->members.n, n + 1);
    dissem_free(&g->dq);
    return g;
}

static void finish(const gossip_t *g)
{
    assert_true(current && ch_g(current, 0) == g);
    ch_free(current);
    current = NULL;
}

static int teardown(void **state)
{
    current = NULL;
    return ch_teardown(state);
}

/* Pack into a payload of `cap` bytes; decode it into *out. */
static struct wire_msg out_msg;
static uint8_t pbuf[4096];

static size_t pack(gossip_t *g, size_t cap, unsigned limit, uint64_t skip)
{
    struct wire_msg hdr = {.type = WIRE_GOSSIP};
    struct wire_writer w;
    assert_true(cap <= sizeof(pbuf));
    memset(pbuf, 0xee, sizeof(pbuf));
    assert_int_equal(wire_begin(&w, pbuf, cap, &hdr), 0);
    struct wire_member self;
    self_to_wire(g, &self);
    dissem_pack(&g->dq, &g->members, &self, &w, limit, skip);
    size_t len = wire_finish(&w);
    assert_true(len <= cap);
    assert_int_equal(pbuf[cap], 0xee); /* nothing written past the capacity */
    assert_int_equal(wire_decode(pbuf, len, &out_msg), 0);
    /* never two records about one member or one event */
    for (unsigned i = 0; i < out_msg.n_members; i++)
        for (unsigned j = 0; j < i; j++)
            assert_true(out_msg.members[i].id != out_msg.members[j].id);
    for (unsigned i = 0; i < out_msg.n_events; i++)
        for (unsigned j = 0; j < i; j++)
            assert_false(out_msg.events[i].origin == out_msg.events[j].origin &&
                         out_msg.events[i].event_id == out_msg.events[j].event_id);
    return len;
}

static int find_member(uint64_t id)
{
    for (unsigned i = 0; i < out_msg.n_members; i++)
        if (out_msg.members[i].id == id)
            return (int)i;
    return -1;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_order_newest_first(void **state)
{
    (void)state;
    gossip_t *g = handle_with_members(8, 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(dissem_member(&g->dq, BASE + i), 0);
    pack(g, 1186, 100, UINT64_MAX);
    assert_int_equal(out_msg.n_members, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_true(out_msg.members[i].id == BASE + 3 - i); /* newest first */
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(dissem_transmits(&g->dq, BASE + i), 1);

    /* a new item (0 transmits) goes before all of them */
    assert_int_equal(dissem_member(&g->dq, BASE + 7), 0);
    pack(g, 1186, 100, UINT64_MAX);
    assert_int_equal(out_msg.n_members, 5);
    assert_true(out_msg.members[0].id == BASE + 7);
    assert_true(out_msg.members[1].id == BASE + 3);
    assert_true(out_msg.members[4].id == BASE + 0);

    /* room for two records only: fewest transmits first, then newest */
    struct wire_member one;
    member_to_wire(members_get(&g->members, BASE), &one);
    size_t rsz = wire_member_size(&one);
    pack(g, 8 + 2 * rsz, 100, UINT64_MAX);
    assert_int_equal(out_msg.n_members, 2);
    assert_true(out_msg.members[0].id == BASE + 7); /* 1 transmit */
    assert_true(out_msg.members[1].id == BASE + 3); /* 2 transmits, newest */
    assert_int_equal(dissem_transmits(&g->dq, BASE + 7), 2);
    assert_int_equal(dissem_transmits(&g->dq, BASE + 3), 3);
    assert_int_equal(dissem_transmits(&g->dq, BASE + 0), 2);
    assert_int_equal(dissem_transmits(&g->dq, BASE + 5), -1); /* never queued */
    finish(g);
}

static void test_transmit_limit_drops(void **state)
{
    (void)state;
    gossip_t *g = handle_with_members(4, 0);
    for (unsigned i = 0; i < 4; i++)
        dissem_member(&g->dq, BASE + i);
    for (unsigned round = 1; round <= 3; round++) {
        pack(g, 1186, 3, UINT64_MAX);
        assert_int_equal(out_msg.n_members, 4);
        for (unsigned i = 0; i < 4; i++)
            assert_int_equal(dissem_transmits(&g->dq, BASE + i), round < 3 ? (int)round : -1);
    }
    assert_int_equal(g->dq.n, 0);
    pack(g, 1186, 3, UINT64_MAX);
    assert_int_equal(out_msg.n_members, 0);
    assert_int_equal(out_msg.n_events, 0);

    /* the real limit (~ retransmit_mult * log10(n) + 1) is at least that
     * of the table's size, and is applied exactly */
    unsigned limit = retransmit_limit(g);
    assert_true(limit >= 1 + (unsigned)ceil(3 * log10(4 + 1 + 2)));
    dissem_member(&g->dq, BASE + 2);
    for (unsigned round = 1; round <= limit; round++) {
        pack(g, 1186, limit, UINT64_MAX);
        assert_int_equal(find_member(BASE + 2), 0);
        assert_int_equal(dissem_transmits(&g->dq, BASE + 2), round < limit ? (int)round : -1);
    }
    finish(g);
}

static void test_requeue_resets_budget(void **state)
{
    (void)state;
    gossip_t *g = handle_with_members(4, 0);
    for (unsigned i = 0; i < 3; i++)
        dissem_member(&g->dq, BASE + i);
    pack(g, 1186, 4, UINT64_MAX);
    pack(g, 1186, 4, UINT64_MAX);
    assert_int_equal(dissem_transmits(&g->dq, BASE + 0), 2);
    uint32_t n_items = g->dq.n;
    /* a newer update about member 0: one item, fresh budget, newest */
    assert_int_equal(dissem_member(&g->dq, BASE + 0), 0);
    assert_int_equal(g->dq.n, n_items);
    assert_int_equal(dissem_transmits(&g->dq, BASE + 0), 0);
    pack(g, 1186, 4, UINT64_MAX);
    assert_true(out_msg.members[0].id == BASE + 0);
    pack(g, 1186, 4, UINT64_MAX);
    /* the others ran out (4 transmits), member 0 has 2 left */
    assert_int_equal(dissem_transmits(&g->dq, BASE + 1), -1);
    assert_int_equal(dissem_transmits(&g->dq, BASE + 0), 2);
    pack(g, 1186, 4, UINT64_MAX);
    pack(g, 1186, 4, UINT64_MAX);
    assert_int_equal(dissem_transmits(&g->dq, BASE + 0), -1);
    assert_int_equal(g->dq.n, 0);
    finish(g);
}

/* The queue names members; the record is read at send time, so the newest
 * state is what goes out, once. */
static void test_newer_update_replaces_older(void **state)
{
    (void)state;
    gossip_t *g = handle_with_members(2, 0);
    struct wire_member r = rec(BASE + 1, 5, "v5");
    feed_records(g, &r, 1);
    r = rec(BASE + 1, 6, "six");
    feed_records(g, &r, 1);
    /* both updates applied; the member is queued once */
    unsigned items = 0;
    for (uint32_t i = 0; i < g->dq.n; i++)
        items += !g->dq.v[i].is_event && g->dq.v[i].id == BASE + 1;
    assert_int_equal(items, 1);
    pack(g, 1186, 10, UINT64_MAX);
    int at = find_member(BASE + 1);
    assert_true(at >= 0);
    assert_int_equal(out_msg.members[at].version, 6);
    assert_int_equal(out_msg.members[at].meta_len, 3);
    assert_memory_equal(out_msg.members[at].meta, "six", 3);
    finish(g);
}

static void test_self_skip_and_reaped(void **state)
{
    (void)state;
    gossip_t *g = handle_with_members(3, 0);
    dissem_member(&g->dq, SELF);
    dissem_member(&g->dq, BASE + 0);
    dissem_member(&g->dq, BASE + 1);
    dissem_member(&g->dq, 0xabcdefu); /* not in the table (reaped) */
    pack(g, 1186, 10, BASE + 1);
    assert_int_equal(out_msg.n_members, 2);
    int s = find_member(SELF);
    assert_true(s >= 0);
    assert_true(out_msg.members[s].generation == 1000);
    assert_int_equal(find_member(BASE + 1), -1); /* skipped: already in the message */
    assert_int_equal(dissem_transmits(&g->dq, BASE + 1), 0);
    assert_int_equal(dissem_transmits(&g->dq, 0xabcdefu), -1); /* dropped */
    assert_int_equal(dissem_transmits(&g->dq, SELF), 1);
    dissem_forget_member(&g->dq, BASE + 1);
    assert_int_equal(dissem_transmits(&g->dq, BASE + 1), -1);
    finish(g);
}

static void test_capacity_respected(void **state)
{
    (void)state;
    gossip_t *g = handle_with_members(120, 0);
    uint8_t data[100];
    memset(data, 'x', sizeof(data));
    for (size_t cap = 8; cap <= 1186; cap += 7) {
        dissem_free(&g->dq);
        for (unsigned i = 0; i < 120; i++)
            dissem_member(&g->dq, BASE + i);
        for (unsigned e = 0; e < 3; e++)
            assert_int_equal(dissem_event(&g->dq, PEER, 10 + e, data, 20 + 30 * e), 0);
        size_t len = pack(g, cap, 50, UINT64_MAX);
        assert_true(len <= cap);
        /* exactly the records that went out were counted */
        unsigned counted = 0;
        for (uint32_t i = 0; i < g->dq.n; i++)
            counted += g->dq.v[i].transmits;
        assert_int_equal(counted, out_msg.n_members + out_msg.n_events);
        assert_true(out_msg.n_members <= WIRE_MAX_MEMBERS);
        /* and the room left is smaller than any record that stayed behind
         * for lack of space: at most one small record's worth is wasted */
        if (cap >= 600)
            assert_true(out_msg.n_members > 0 && out_msg.n_events > 0);
    }
    finish(g);
}

static void test_event_dedup_and_order(void **state)
{
    (void)state;
    gossip_t *g = handle_with_members(1, 0);
    assert_int_equal(dissem_event(&g->dq, 7, 1, "a", 1), 0);
    assert_int_equal(dissem_event(&g->dq, 7, 1, "a", 1), 0); /* same event again */
    assert_int_equal(dissem_event(&g->dq, 7, 2, "bb", 2), 0);
    assert_int_equal(dissem_event(&g->dq, 8, 1, "ccc", 3), 0); /* other origin, same id */
    assert_int_equal(g->dq.n, 3);
    assert_int_equal(g->dq.n_events, 3);
    pack(g, 1186, 2, UINT64_MAX);
    assert_int_equal(out_msg.n_events, 3);
    assert_true(out_msg.events[0].origin == 8); /* newest first */
    assert_true(out_msg.events[2].origin == 7 && out_msg.events[2].event_id == 1);
    assert_memory_equal(out_msg.events[0].data, "ccc", 3);
    pack(g, 1186, 2, UINT64_MAX);
    /* events get twice the member budget: still queued after `limit` sends */
    assert_int_equal(g->dq.n_events, 3);
    pack(g, 1186, 2, UINT64_MAX);
    assert_int_equal(g->dq.n_events, 3);
    pack(g, 1186, 2, UINT64_MAX);
    assert_int_equal(g->dq.n, 0);
    assert_int_equal(g->dq.n_events, 0);
    finish(g);
}

/* A small event travels in the very first datagram even behind hundreds of
 * member updates (a quarter of the room is kept for events). */
static void test_small_event_not_starved(void **state)
{
    (void)state;
    gossip_t *g = handle_with_members(300, 0);
    for (unsigned i = 0; i < 300; i++)
        dissem_member(&g->dq, BASE + i);
    uint8_t data[100];
    memset(data, 'e', sizeof(data));
    assert_int_equal(dissem_event(&g->dq, PEER, 99, data, sizeof(data)), 0);
    pack(g, 1186, retransmit_limit(g), UINT64_MAX);
    assert_int_equal(out_msg.n_events, 1);
    assert_int_equal(out_msg.events[0].len, 100);
    assert_true(out_msg.n_members >= 20); /* membership still gets most of it */
    /* and with a ping's header and self record ahead of the queue */
    dissem_free(&g->dq);
    for (unsigned i = 0; i < 300; i++)
        dissem_member(&g->dq, BASE + i);
    assert_int_equal(dissem_event(&g->dq, PEER, 100, data, sizeof(data)), 0);
    struct wire_msg hdr = {.type = WIRE_PING, .target = BASE + 1, .seq = 9};
    struct wire_writer w;
    assert_int_equal(wire_begin(&w, pbuf, 1186, &hdr), 0);
    struct wire_member self;
    self_to_wire(g, &self);
    assert_int_equal(wire_add_member(&w, &self), 0);
    dissem_pack(&g->dq, &g->members, &self, &w, retransmit_limit(g), SELF);
    assert_int_equal(wire_decode(pbuf, wire_finish(&w), &out_msg), 0);
    assert_int_equal(out_msg.n_events, 1);
    finish(g);
}

/*
 * Regression (lib/dissem.c, dissem_pack; fixed: the reserve is at least
 * the smallest queued event): only a quarter of the room is kept for
 * events, and membership items are always packed first.  An event larger
 * than that quarter (anything above ~290 bytes with the default 1232-byte
 * datagram; max_event is 512) does not fit in what the member updates
 * leave, so while member updates are queued it is never sent: with 300
 * queued updates it waits until every one of them has used up its whole
 * transmit budget (dozens of datagrams), and under continuous churn
 * forever.  Expected: an event that fits in a datagram goes out within the
 * first packs however many member updates are queued.
 */
static void test_large_event_not_starved(void **state)
{
    (void)state;
    gossip_t *g = handle_with_members(300, 512);
    for (unsigned i = 0; i < 300; i++)
        dissem_member(&g->dq, BASE + i);
    uint8_t data[512];
    memset(data, 'E', sizeof(data));
    assert_int_equal(dissem_event(&g->dq, PEER, 1, data, sizeof(data)), 0);
    unsigned packs = 0, sent = 0;
    while (sent == 0 && packs < 100) {
        pack(g, 1186, retransmit_limit(g), UINT64_MAX);
        packs++;
        sent = out_msg.n_events;
        /* churn: a couple of fresh member updates per round */
        dissem_member(&g->dq, BASE + (packs * 2) % 300);
        dissem_member(&g->dq, BASE + (packs * 2 + 1) % 300);
    }
    if (packs > 2)
        print_message("BUG: a 512-byte event waited %u packs (sent=%u) behind member updates\n", packs, sent);
    assert_true(sent == 1);
    assert_true(packs <= 2);
    finish(g);
}

/* A queue far longer than a datagram: what goes out is exactly the best
 * records by (fewest transmits, newest first), whatever the queue length
 * (the packer selects candidates instead of sorting the whole queue). */
static void test_long_queue_sends_the_best(void **state)
{
    (void)state;
    gossip_t *g = handle_with_members(400, 0);
    struct dissem *d = &g->dq;
    for (unsigned i = 0; i < 400; i++)
        assert_int_equal(dissem_member(d, BASE + i), 0);
    /* spread transmit counts over the queue, deterministically */
    for (uint32_t i = 0; i < d->n; i++)
        d->v[i].transmits = (uint16_t)((i * 7u) % 5u);
    /* the expected winners: sort a copy by the packer's order */
    uint32_t n = d->n;
    struct dq_item *copy = malloc(n * sizeof(*copy));
    assert_non_null(copy);
    memcpy(copy, d->v, n * sizeof(*copy));
    for (uint32_t a = 1; a < n; a++) {
        struct dq_item x = copy[a];
        uint32_t b = a;
        for (; b > 0 && (x.transmits < copy[b - 1].transmits ||
                         (x.transmits == copy[b - 1].transmits && x.order > copy[b - 1].order)); b--)
            copy[b] = copy[b - 1];
        copy[b] = x;
    }
    pack(g, 1186, 100, UINT64_MAX);
    assert_true(out_msg.n_members > 10);
    for (unsigned i = 0; i < out_msg.n_members; i++)
        assert_true(out_msg.members[i].id == copy[i].id);
    free(copy);
    finish(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_queue_sends_the_best),
        cmocka_unit_test_teardown(test_order_newest_first, teardown),
        cmocka_unit_test_teardown(test_transmit_limit_drops, teardown),
        cmocka_unit_test_teardown(test_requeue_resets_budget, teardown),
        cmocka_unit_test_teardown(test_newer_update_replaces_older, teardown),
        cmocka_unit_test_teardown(test_self_skip_and_reaped, teardown),
        cmocka_unit_test_teardown(test_capacity_respected, teardown),
        cmocka_unit_test_teardown(test_event_dedup_and_order, teardown),
        cmocka_unit_test_teardown(test_small_event_not_starved, teardown),
        cmocka_unit_test_teardown(test_large_event_not_starved, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
