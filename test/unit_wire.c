/*
 * Unit tests of the payload codec (lib/wire.c): round trips, the writer's
 * space and count limits, rejection of every malformed form the
 * specification names, and a fuzz loop checking that whatever decodes
 * re-encodes to the very same bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

#define BUF 4096

static const uint8_t META_A[] = "role=mx;zone=eu-1";
static uint8_t meta_max[255];
static uint8_t ev_data[600];

/* ---- helpers ------------------------------------------------------------ */

static struct wire_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    struct wire_addr x;
    memset(&x, 0, sizeof x);
    x.family = 4;
    x.ip[0] = a, x.ip[1] = b, x.ip[2] = c, x.ip[3] = d;
    x.port = port;
    return x;
}

static struct wire_addr v6(uint8_t last, uint16_t port)
{
    struct wire_addr x;
    memset(&x, 0, sizeof x);
    x.family = 6;
    x.ip[0] = 0x20, x.ip[1] = 0x01, x.ip[2] = 0x0d, x.ip[3] = 0xb8;
    x.ip[15] = last;
    x.port = port;
    return x;
}

static struct wire_member member(uint64_t id, uint8_t state, struct wire_addr a,
                                 const uint8_t *meta, uint8_t meta_len)
{
    struct wire_member m;
    memset(&m, 0, sizeof m);
    m.id = id;
    m.generation = 0x0000018f00000000ull + id;
    m.version = (uint32_t)(id * 7u + 1u);
    m.state = state;
    m.addr = a;
    m.from = 0xf00d000000000000ull | id; /* only encoded for suspect/failed */
    m.meta = meta;
    m.meta_len = meta_len;
    return m;
}

static struct wire_event event(uint64_t origin, uint64_t id, const uint8_t *data, uint16_t len)
{
    struct wire_event e = { .origin = origin, .event_id = id, .len = len, .data = data };
    return e;
}

/* What the decoder is expected to give back for a record the encoder was
 * handed: no accuser unless suspect/failed, no IPv4 bytes past the fourth,
 * no meta pointer for empty meta. */
static struct wire_addr norm_addr(struct wire_addr a)
{
    if (a.family == 4)
        memset(a.ip + 4, 0, 12);
    return a;
}

static struct wire_member norm_member(struct wire_member m)
{
    if (m.state != 1 && m.state != 2)
        m.from = 0;
    m.addr = norm_addr(m.addr);
    if (m.meta_len == 0)
        m.meta = NULL;
    return m;
}

static void assert_addr_eq(const struct wire_addr *a, const struct wire_addr *b)
{
    assert_int_equal(a->family, b->family);
    assert_memory_equal(a->ip, b->ip, 16);
    assert_int_equal(a->port, b->port);
}

static void assert_member_eq(const struct wire_member *want, const struct wire_member *got)
{
    struct wire_member n = norm_member(*want);
    assert_true(n.id == got->id);
    assert_true(n.generation == got->generation);
    assert_true(n.from == got->from);
    assert_int_equal(n.version, got->version);
    assert_int_equal(n.state, got->state);
    assert_addr_eq(&n.addr, &got->addr);
    assert_int_equal(n.meta_len, got->meta_len);
    if (n.meta_len == 0)
        assert_null(got->meta);
    else
        assert_memory_equal(n.meta, got->meta, n.meta_len);
}

static void assert_event_eq(const struct wire_event *want, const struct wire_event *got)
{
    assert_true(want->origin == got->origin);
    assert_true(want->event_id == got->event_id);
    assert_int_equal(want->len, got->len);
    assert_memory_equal(want->data, got->data, want->len);
}

/* Encode everything in msg; fails the test if any record is refused. */
static size_t encode(const struct wire_msg *msg, uint8_t *buf, size_t cap)
{
    struct wire_writer w;
    assert_int_equal(wire_begin(&w, buf, cap, msg), 0);
    for (unsigned i = 0; i < msg->n_members; i++)
        assert_int_equal(wire_add_member(&w, &msg->members[i]), 0);
    for (unsigned i = 0; i < msg->n_events; i++)
        assert_int_equal(wire_add_event(&w, &msg->events[i]), 0);
    return wire_finish(&w);
}

/* Encode, decode, compare, and check that the records point into buf. */
static size_t roundtrip(const struct wire_msg *msg, uint8_t *buf)
{
    static struct wire_msg got;
    size_t len = encode(msg, buf, BUF);

    assert_int_equal(wire_decode(buf, len, &got), 0);
    assert_int_equal(got.type, msg->type);
    assert_int_equal(got.flags, msg->flags);
    assert_int_equal(got.seq, msg->seq);
    if (msg->type == WIRE_PING || msg->type == WIRE_PING_REQ)
        assert_true(got.target == msg->target);
    else
        assert_true(got.target == 0);
    if (msg->type == WIRE_PING_REQ) {
        struct wire_addr a = norm_addr(msg->target_addr);
        assert_addr_eq(&a, &got.target_addr);
    } else {
        assert_int_equal(got.target_addr.family, 0);
    }
    assert_int_equal(got.n_members, msg->n_members);
    assert_int_equal(got.n_events, msg->n_events);
    for (unsigned i = 0; i < msg->n_members; i++) {
        assert_member_eq(&msg->members[i], &got.members[i]);
        if (got.members[i].meta_len) {
            assert_true(got.members[i].meta >= buf);
            assert_true(got.members[i].meta + got.members[i].meta_len <= buf + len);
        }
    }
    for (unsigned i = 0; i < msg->n_events; i++) {
        assert_event_eq(&msg->events[i], &got.events[i]);
        assert_true(got.events[i].data >= buf);
        assert_true(got.events[i].data + got.events[i].len <= buf + len);
    }
    return len;
}

/* Re-encode a decoded message into a buffer of exactly len bytes and
 * require the same bytes: the decoder accepted only canonical input and
 * the writer's space accounting is exact. */
static void assert_reencodes(const struct wire_msg *m, const uint8_t *buf, size_t len)
{
    static uint8_t out[BUF];
    struct wire_writer w;

    assert_true(len <= sizeof out);
    assert_int_equal(wire_begin(&w, out, len, m), 0);
    for (unsigned i = 0; i < m->n_members; i++)
        assert_int_equal(wire_add_member(&w, &m->members[i]), 0);
    for (unsigned i = 0; i < m->n_events; i++)
        assert_int_equal(wire_add_event(&w, &m->events[i]), 0);
    assert_int_equal(wire_room(&w), 0);
    assert_int_equal(wire_finish(&w), len);
    assert_memory_equal(out, buf, len);
}

/* A message with one member in every state and both families, with and
 * without meta, plus events: the richest payload the tests use. */
static void fill_rich(struct wire_msg *m, uint8_t type, uint8_t flags)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    m->flags = flags;
    m->seq = 0xdeadbeef;
    m->target = 0x1122334455667788ull;
    m->target_addr = v6(9, 1179);
    unsigned n = 0;
    for (uint8_t st = 0; st < 4; st++) {
        m->members[n++] = member(10u + st, st, v4(10, 0, 0, (uint8_t)(st + 1), 1179), NULL, 0);
        m->members[n++] = member(20u + st, st, v6(st, 40000), META_A, sizeof META_A - 1);
    }
    m->n_members = n;
    m->events[0] = event(1, 1, (const uint8_t *)"x", 1);
    m->events[1] = event(2, 0xffffffffffffffffull, ev_data, 300);
    m->n_events = 2;
}

/* ---- round trips -------------------------------------------------------- */

static void test_roundtrip_every_type(void **state)
{
    (void)state;
    static struct wire_msg m;
    static uint8_t buf[BUF];
    const struct {
        uint8_t type, flags;
    } cases[] = {
        { WIRE_PING, 0 },     { WIRE_PING, WIRE_F_ANY },   { WIRE_PING, WIRE_F_SUSPECT },  { WIRE_PING, WIRE_F_WHO },
        { WIRE_ACK, 0 },      { WIRE_PING_REQ, 0 },        { WIRE_NACK, 0 },
        { WIRE_SYNC, 0 },     { WIRE_SYNC, WIRE_F_REPLY },     { WIRE_GOSSIP, 0 },
        { WIRE_SYNC, WIRE_F_REPLY | WIRE_F_RECENT },
        { WIRE_SYNC, WIRE_F_SETTLED },
        { WIRE_SYNC, WIRE_F_REPLY | WIRE_F_RECENT | WIRE_F_SETTLED },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fill_rich(&m, cases[i].type, cases[i].flags);
        roundtrip(&m, buf);
        /* And the bare form, with no records at all. */
        m.n_members = m.n_events = 0;
        size_t len = roundtrip(&m, buf);
        size_t want = WIRE_HDR_LEN + 2u + (cases[i].type == WIRE_PING ? 8u : 0u) +
                      (cases[i].type == WIRE_PING_REQ ? 8u + 19u : 0u);
        assert_int_equal(len, want);
    }
}

static void test_roundtrip_ping_req_v4_target(void **state)
{
    (void)state;
    static struct wire_msg m;
    static uint8_t buf[BUF];
    memset(&m, 0, sizeof m);
    m.type = WIRE_PING_REQ;
    m.seq = 7;
    m.target = 42;
    m.target_addr = v4(192, 168, 1, 2, 65535);
    memset(m.target_addr.ip + 4, 0xee, 12); /* must not leak through */
    size_t len = roundtrip(&m, buf);
    assert_int_equal(len, WIRE_HDR_LEN + 8 + 7 + 2);
}

static void test_members_every_state(void **state)
{
    (void)state;
    static struct wire_msg m;
    static uint8_t buf[BUF];
    for (uint8_t st = 0; st < 4; st++) {
        for (int fam = 0; fam < 2; fam++) {
            for (int with_meta = 0; with_meta < 3; with_meta++) {
                memset(&m, 0, sizeof m);
                m.type = WIRE_SYNC;
                struct wire_addr a = fam ? v6(st, 1) : v4(127, 0, 0, 1, 1);
                const uint8_t *meta = with_meta == 2 ? meta_max : with_meta ? META_A : NULL;
                uint8_t ml = with_meta == 2 ? 255 : with_meta ? sizeof META_A - 1 : 0;
                m.members[0] = member(0xffffffffffffffffull, st, a, meta, ml);
                m.n_members = 1;
                size_t expect = 22u + (fam ? 19u : 7u) + ((st == 1 || st == 2) ? 8u : 0u) + ml;
                assert_int_equal(wire_member_size(&m.members[0]), expect);
                size_t len = roundtrip(&m, buf);
                assert_int_equal(len, WIRE_HDR_LEN + 2 + expect);
            }
        }
    }
}

static void test_ipv4_tail_zeroed(void **state)
{
    (void)state;
    static struct wire_msg m, got;
    static uint8_t buf[BUF];
    memset(&m, 0, sizeof m);
    m.type = WIRE_ACK;
    m.members[0] = member(1, 0, v4(1, 2, 3, 4, 5), NULL, 0);
    memset(m.members[0].addr.ip + 4, 0xab, 12);
    m.n_members = 1;
    size_t len = encode(&m, buf, BUF);
    memset(&got, 0x5a, sizeof got); /* stale garbage must not survive */
    assert_int_equal(wire_decode(buf, len, &got), 0);
    static const uint8_t zero[12];
    assert_memory_equal(got.members[0].addr.ip + 4, zero, 12);
    assert_true(got.members[0].from == 0);
    assert_null(got.members[0].meta);
    assert_true(got.target == 0);
}

/* The exact bytes of the worked example in doc/wire-format.md. */
static void test_known_bytes_ack(void **state)
{
    (void)state;
    static struct wire_msg m, got;
    uint8_t buf[128];
    static const uint8_t want[] = {
        0x02, 0x00, 0x00, 0x00, 0x01, 0x2a,             /* ACK, no flags, seq 298 */
        0x01,                                           /* 1 member */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, /* id 7 */
        0x00, 0x00, 0x01, 0x8f, 0x3a, 0x5c, 0x10, 0x00, /* generation */
        0x00, 0x00, 0x00, 0x03,                         /* version 3 */
        0x01,                                           /* suspect */
        0x04, 0x0a, 0x00, 0x00, 0x05, 0x04, 0x9b,       /* 10.0.0.5:1179 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* from 2 */
        0x02, 0x64, 0x63,                               /* meta "dc" */
        0x01,                                           /* 1 event */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* origin 2 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, /* event id 9 */
        0x00, 0x02, 0x68, 0x69,                         /* "hi" */
    };
    memset(&m, 0, sizeof m);
    m.type = WIRE_ACK;
    m.seq = 298;
    m.members[0].id = 7;
    m.members[0].generation = 0x0000018f3a5c1000ull;
    m.members[0].version = 3;
    m.members[0].state = 1;
    m.members[0].addr = v4(10, 0, 0, 5, 1179);
    m.members[0].from = 2;
    m.members[0].meta = (const uint8_t *)"dc";
    m.members[0].meta_len = 2;
    m.n_members = 1;
    m.events[0] = event(2, 9, (const uint8_t *)"hi", 2);
    m.n_events = 1;
    size_t len = encode(&m, buf, sizeof buf);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    assert_int_equal(wire_decode(want, sizeof want, &got), 0);
    assert_member_eq(&m.members[0], &got.members[0]);
}

/* ---- writer limits ------------------------------------------------------ */

static void test_refuse_when_full(void **state)
{
    (void)state;
    static struct wire_msg m, got;
    uint8_t buf[300];
    struct wire_writer w;
    memset(&m, 0, sizeof m);
    m.type = WIRE_PING;
    m.target = 5;

    for (size_t cap = WIRE_HDR_LEN + 10; cap <= sizeof buf; cap++) {
        memset(buf, 0xcc, sizeof buf);
        assert_int_equal(wire_begin(&w, buf, cap, &m), 0);
        assert_int_equal(wire_room(&w), cap - (WIRE_HDR_LEN + 8 + 2));
        unsigned nm = 0, ne = 0;
        for (;;) {
            struct wire_member r = member(nm, (uint8_t)(nm % 4), v6((uint8_t)nm, 9), META_A, 5);
            size_t before = w.len, room = wire_room(&w);
            if (wire_add_member(&w, &r) != 0) {
                assert_true(wire_member_size(&r) > room);
                assert_int_equal(w.len, before);
                assert_int_equal(wire_room(&w), room);
                break;
            }
            assert_int_equal(wire_room(&w), room - wire_member_size(&r));
            nm++;
        }
        for (;;) {
            struct wire_event e = event(ne, ne, ev_data, (uint16_t)(1 + ne * 13));
            size_t before = w.len, room = wire_room(&w);
            if (wire_add_event(&w, &e) != 0) {
                assert_true(wire_event_size(&e) > room);
                assert_int_equal(w.len, before);
                break;
            }
            /* The events count byte was already set aside by wire_room(). */
            assert_int_equal(wire_room(&w), room - wire_event_size(&e));
            ne++;
        }
        size_t len = wire_finish(&w);
        assert_true(len <= cap);
        for (size_t i = cap; i < sizeof buf; i++)
            assert_int_equal(buf[i], 0xcc); /* never wrote past cap */
        assert_int_equal(wire_decode(buf, len, &got), 0);
        assert_int_equal(got.n_members, nm);
        assert_int_equal(got.n_events, ne);
        assert_true(got.target == 5);
    }
}

static void test_begin_needs_room_for_counts(void **state)
{
    (void)state;
    static struct wire_msg m, got;
    uint8_t buf[64];
    struct wire_writer w;
    memset(&m, 0, sizeof m);
    m.type = WIRE_PING_REQ;
    m.target = 1;
    m.target_addr = v6(1, 2);
    size_t need = WIRE_HDR_LEN + 8 + 19 + 2;
    for (size_t cap = 0; cap < need; cap++)
        assert_int_equal(wire_begin(&w, buf, cap, &m), -1);
    assert_int_equal(wire_begin(&w, buf, need, &m), 0);
    assert_int_equal(wire_room(&w), 0);
    struct wire_event e = event(1, 1, ev_data, 1);
    struct wire_member r = member(1, 0, v4(1, 1, 1, 1, 1), NULL, 0);
    assert_int_equal(wire_add_member(&w, &r), -1);
    assert_int_equal(wire_add_event(&w, &e), -1);
    assert_int_equal(wire_finish(&w), need);
    assert_int_equal(wire_decode(buf, need, &got), 0);
    /* A failed begin leaves a writer that refuses everything. */
    assert_int_equal(wire_begin(&w, buf, 3, &m), -1);
    assert_int_equal(wire_room(&w), 0);
    assert_int_equal(wire_add_member(&w, &r), -1);
    assert_int_equal(wire_add_event(&w, &e), -1);
    assert_int_equal(wire_finish(&w), 0);
}

static void test_count_limits(void **state)
{
    (void)state;
    static uint8_t buf[BUF * 2];
    static struct wire_msg m, got;
    struct wire_writer w;
    memset(&m, 0, sizeof m);
    m.type = WIRE_SYNC;
    m.flags = WIRE_F_REPLY;
    assert_int_equal(wire_begin(&w, buf, sizeof buf, &m), 0);
    struct wire_member r = member(1, 0, v4(1, 1, 1, 1, 1), NULL, 0);
    for (unsigned i = 0; i < WIRE_MAX_MEMBERS; i++) {
        r.id = i;
        assert_int_equal(wire_add_member(&w, &r), 0);
    }
    size_t before = w.len;
    assert_int_equal(wire_add_member(&w, &r), -1);
    assert_int_equal(w.len, before);
    struct wire_event e = event(1, 1, ev_data, 3);
    for (unsigned i = 0; i < WIRE_MAX_EVENTS; i++) {
        e.event_id = i;
        assert_int_equal(wire_add_event(&w, &e), 0);
    }
    before = w.len;
    assert_int_equal(wire_add_event(&w, &e), -1);
    assert_int_equal(w.len, before);
    size_t len = wire_finish(&w);
    assert_int_equal(wire_decode(buf, len, &got), 0);
    assert_int_equal(got.n_members, WIRE_MAX_MEMBERS);
    assert_int_equal(got.n_events, WIRE_MAX_EVENTS);
    assert_true(got.members[63].id == 63);
    assert_true(got.events[31].event_id == 31);
    assert_reencodes(&got, buf, len);
}

static void test_member_after_event_refused(void **state)
{
    (void)state;
    static struct wire_msg m, got;
    uint8_t buf[256];
    struct wire_writer w;
    memset(&m, 0, sizeof m);
    m.type = WIRE_ACK;
    assert_int_equal(wire_begin(&w, buf, sizeof buf, &m), 0);
    struct wire_member r = member(1, 3, v4(1, 1, 1, 1, 1), NULL, 0);
    struct wire_event e = event(1, 1, ev_data, 4);
    assert_int_equal(wire_add_event(&w, &e), 0);
    size_t before = w.len;
    assert_int_equal(wire_add_member(&w, &r), -1);
    assert_int_equal(w.len, before);
    size_t len = wire_finish(&w);
    /* Finishing twice changes nothing. */
    assert_int_equal(wire_finish(&w), len);
    assert_int_equal(wire_decode(buf, len, &got), 0);
    assert_int_equal(got.n_members, 0);
    assert_int_equal(got.n_events, 1);
}

static void test_encoder_refuses_invalid(void **state)
{
    (void)state;
    static struct wire_msg m;
    uint8_t buf[256];
    struct wire_writer w;
    memset(&m, 0, sizeof m);

    const struct {
        uint8_t type, flags;
    } bad[] = {
        { 0, 0 },          { 7, 0 },          { WIRE_ACK, WIRE_F_ANY },
        { WIRE_PING, WIRE_F_REPLY },          { WIRE_SYNC, WIRE_F_SUSPECT },
        { WIRE_PING, 0x08 },                  { WIRE_PING, WIRE_F_ANY | WIRE_F_SUSPECT },
        { WIRE_SYNC, WIRE_F_RECENT },         { WIRE_PING, WIRE_F_REPLY | WIRE_F_RECENT },
        { WIRE_PING, WIRE_F_WHO | WIRE_F_ANY }, { WIRE_PING, WIRE_F_WHO | WIRE_F_SUSPECT },
        { WIRE_ACK, WIRE_F_WHO },             { WIRE_SYNC, WIRE_F_REPLY | WIRE_F_WHO },
        { WIRE_PING, WIRE_F_SETTLED },        { WIRE_GOSSIP, WIRE_F_SETTLED },
        { WIRE_SYNC, WIRE_F_SETTLED | 0x40 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m.type = bad[i].type;
        m.flags = bad[i].flags;
        assert_int_equal(wire_begin(&w, buf, sizeof buf, &m), -1);
    }
    m.type = WIRE_PING_REQ;
    m.flags = 0;
    m.target_addr = v4(1, 2, 3, 4, 0);
    assert_int_equal(wire_begin(&w, buf, sizeof buf, &m), -1);
    m.target_addr = v4(1, 2, 3, 4, 1);
    m.target_addr.family = 5;
    assert_int_equal(wire_begin(&w, buf, sizeof buf, &m), -1);

    m.type = WIRE_ACK;
    assert_int_equal(wire_begin(&w, buf, sizeof buf, &m), 0);
    size_t len0 = w.len;
    struct wire_member r = member(1, 4, v4(1, 1, 1, 1, 1), NULL, 0);
    assert_int_equal(wire_add_member(&w, &r), -1);
    r = member(1, 0, v4(1, 1, 1, 1, 0), NULL, 0);
    assert_int_equal(wire_add_member(&w, &r), -1);
    r = member(1, 0, v4(1, 1, 1, 1, 1), NULL, 0);
    r.addr.family = 0;
    assert_int_equal(wire_add_member(&w, &r), -1);
    r = member(1, 0, v4(1, 1, 1, 1, 1), NULL, 3);
    assert_int_equal(wire_add_member(&w, &r), -1);
    struct wire_event e = event(1, 1, ev_data, 0);
    assert_int_equal(wire_add_event(&w, &e), -1);
    e = event(1, 1, NULL, 5);
    assert_int_equal(wire_add_event(&w, &e), -1);
    assert_int_equal(w.len, len0);
    assert_int_equal(w.n_members + w.n_events, 0);
}

/* ---- decoder rejections ------------------------------------------------- */

static void test_every_truncation_rejected(void **state)
{
    (void)state;
    static struct wire_msg m, got;
    static uint8_t buf[BUF];
    const uint8_t types[] = { WIRE_PING, WIRE_ACK, WIRE_PING_REQ, WIRE_NACK, WIRE_SYNC, WIRE_GOSSIP };
    for (size_t t = 0; t < sizeof types; t++) {
        fill_rich(&m, types[t], 0);
        size_t len = encode(&m, buf, BUF);
        assert_int_equal(wire_decode(buf, len, &got), 0);
        for (size_t l = 0; l < len; l++) {
            /* An exact-size heap copy, so a sanitizer build catches any
             * read past the end. */
            uint8_t *cut = malloc(l ? l : 1);
            assert_non_null(cut);
            memcpy(cut, buf, l);
            got.n_members = got.n_events = 99;
            assert_int_equal(wire_decode(cut, l, &got), -1);
            free(cut);
            assert_int_equal(got.n_members, 0);
            assert_int_equal(got.n_events, 0);
        }
    }
    assert_int_equal(wire_decode(NULL, 0, &got), -1);
}

static void test_trailing_byte_rejected(void **state)
{
    (void)state;
    static struct wire_msg m, got;
    static uint8_t buf[BUF];
    fill_rich(&m, WIRE_SYNC, WIRE_F_REPLY);
    size_t len = encode(&m, buf, BUF);
    buf[len] = 0;
    assert_int_equal(wire_decode(buf, len + 1, &got), -1);
    m.n_members = m.n_events = 0;
    len = encode(&m, buf, BUF);
    buf[len] = 0;
    assert_int_equal(wire_decode(buf, len, &got), 0);
    assert_int_equal(wire_decode(buf, len + 1, &got), -1);
}

/* Encode msg, apply one byte patch at off, expect rejection; the unpatched
 * payload must decode, so the patch is what the decoder objects to. */
static void expect_rejected_patch(const struct wire_msg *msg, size_t off, uint8_t val)
{
    static uint8_t buf[BUF];
    static struct wire_msg got;
    size_t len = encode(msg, buf, BUF);
    assert_int_equal(wire_decode(buf, len, &got), 0);
    assert_true(off < len);
    buf[off] = val;
    assert_int_equal(wire_decode(buf, len, &got), -1);
}

static void test_bad_type_and_flags(void **state)
{
    (void)state;
    static struct wire_msg m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_ACK;
    expect_rejected_patch(&m, 0, 0);
    expect_rejected_patch(&m, 0, 7);
    expect_rejected_patch(&m, 0, 0xff);
    for (unsigned bit = 3; bit < 8; bit++)
        expect_rejected_patch(&m, 1, (uint8_t)(1u << bit));
    expect_rejected_patch(&m, 1, WIRE_F_ANY);
    expect_rejected_patch(&m, 1, WIRE_F_REPLY);
    expect_rejected_patch(&m, 1, WIRE_F_SUSPECT);
    m.type = WIRE_NACK;
    expect_rejected_patch(&m, 1, WIRE_F_SUSPECT);
    m.type = WIRE_PING;
    expect_rejected_patch(&m, 1, WIRE_F_REPLY);
    expect_rejected_patch(&m, 1, WIRE_F_ANY | WIRE_F_SUSPECT);
    expect_rejected_patch(&m, 1, WIRE_F_ALL);
    m.type = WIRE_SYNC;
    expect_rejected_patch(&m, 1, WIRE_F_ANY);
    expect_rejected_patch(&m, 1, WIRE_F_SUSPECT | WIRE_F_REPLY);
    expect_rejected_patch(&m, 1, WIRE_F_RECENT); /* only on a request for a reply */
    m.type = WIRE_PING_REQ;
    m.target_addr = v4(1, 2, 3, 4, 5);
    expect_rejected_patch(&m, 1, WIRE_F_ANY);
    /* An ACK whose type byte says PING: shorter than a PING must be. */
    m.type = WIRE_ACK;
    expect_rejected_patch(&m, 0, WIRE_PING);
}

static void test_bad_addresses(void **state)
{
    (void)state;
    static struct wire_msg m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_PING_REQ;
    m.target_addr = v4(1, 2, 3, 4, 0x0100);
    const size_t fam = WIRE_HDR_LEN + 8;
    expect_rejected_patch(&m, fam, 0);
    expect_rejected_patch(&m, fam, 5);
    expect_rejected_patch(&m, fam, 0x46);
    expect_rejected_patch(&m, fam + 5, 0); /* port 0x0100 -> 0 */

    m.type = WIRE_ACK;
    m.members[0] = member(1, 0, v6(1, 0x0001), NULL, 0);
    m.n_members = 1;
    const size_t mfam = WIRE_HDR_LEN + 1 + 21;
    expect_rejected_patch(&m, mfam, 0);
    expect_rejected_patch(&m, mfam, 5);
    expect_rejected_patch(&m, mfam + 17 + 1, 0); /* port 0x0001 -> 0 */
    /* Family 4 where 6 was encoded: the record now ends early, and what
     * follows does not parse. */
    expect_rejected_patch(&m, mfam, 4);
}

static void test_bad_member_state(void **state)
{
    (void)state;
    static struct wire_msg m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_SYNC;
    m.members[0] = member(1, 0, v4(1, 2, 3, 4, 5), NULL, 0);
    m.n_members = 1;
    const size_t st = WIRE_HDR_LEN + 1 + 20;
    expect_rejected_patch(&m, st, 4);
    expect_rejected_patch(&m, st, 0xff);
    /* Alive -> suspect would need an accuser that is not there. */
    expect_rejected_patch(&m, st, 1);
    m.members[0].state = 2;
    /* Failed -> left leaves the accuser as trailing garbage. */
    expect_rejected_patch(&m, st, 3);
}

static void test_bad_counts_and_event_len(void **state)
{
    (void)state;
    static struct wire_msg m, got;
    static uint8_t buf[BUF];
    memset(&m, 0, sizeof m);
    m.type = WIRE_NACK;
    m.events[0] = event(1, 2, ev_data, 1);
    m.n_events = 1;
    const size_t ev_len = WIRE_HDR_LEN + 2 + 16;
    expect_rejected_patch(&m, ev_len + 1, 0); /* len 1 -> 0 */

    /* Counts above the limits, each followed by enough valid records that
     * only the limit can be the reason. */
    memset(&m, 0, sizeof m);
    m.type = WIRE_ACK;
    struct wire_writer w;
    assert_int_equal(wire_begin(&w, buf, BUF, &m), 0);
    struct wire_member r = member(1, 0, v4(1, 1, 1, 1, 1), NULL, 0);
    for (unsigned i = 0; i < WIRE_MAX_MEMBERS; i++)
        assert_int_equal(wire_add_member(&w, &r), 0);
    size_t len = wire_finish(&w);
    /* Append a 65th record by hand. */
    size_t rs = wire_member_size(&r);
    memmove(buf + len - 1 + rs, buf + len - 1, 1);
    memcpy(buf + len - 1, buf + WIRE_HDR_LEN + 1, rs);
    buf[WIRE_HDR_LEN] = WIRE_MAX_MEMBERS + 1;
    assert_int_equal(wire_decode(buf, len + rs, &got), -1);
    buf[WIRE_HDR_LEN] = 0xff;
    assert_int_equal(wire_decode(buf, len + rs, &got), -1);

    assert_int_equal(wire_begin(&w, buf, BUF, &m), 0);
    struct wire_event e = event(1, 1, ev_data, 1);
    for (unsigned i = 0; i < WIRE_MAX_EVENTS; i++)
        assert_int_equal(wire_add_event(&w, &e), 0);
    len = wire_finish(&w);
    size_t es = wire_event_size(&e);
    memcpy(buf + len, buf + WIRE_HDR_LEN + 2, es);
    buf[WIRE_HDR_LEN + 1] = WIRE_MAX_EVENTS + 1;
    assert_int_equal(wire_decode(buf, len + es, &got), -1);
    buf[WIRE_HDR_LEN + 1] = WIRE_MAX_EVENTS;
    assert_int_equal(wire_decode(buf, len, &got), 0);
}

static void test_huge_lengths_bounded(void **state)
{
    (void)state;
    static struct wire_msg m, got;
    static uint8_t buf[BUF];
    /* An event claiming 65535 bytes, and meta claiming 255, in a short
     * buffer: the length must be checked, not trusted. */
    memset(&m, 0, sizeof m);
    m.type = WIRE_ACK;
    m.events[0] = event(1, 2, ev_data, 1);
    m.n_events = 1;
    size_t len = encode(&m, buf, BUF);
    buf[len - 3] = 0xff;
    buf[len - 2] = 0xff;
    assert_int_equal(wire_decode(buf, len, &got), -1);
    m.n_events = 0;
    m.members[0] = member(1, 0, v4(1, 1, 1, 1, 1), META_A, 1);
    m.n_members = 1;
    len = encode(&m, buf, BUF);
    buf[len - 3] = 0xff;
    assert_int_equal(wire_decode(buf, len, &got), -1);
}

/* ---- fuzz --------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void check_consistent(const uint8_t *buf, size_t len, unsigned *ok)
{
    static struct wire_msg got;
    /* Exact-size heap copy: overreads are caught under AddressSanitizer. */
    uint8_t *in = malloc(len ? len : 1);
    assert_non_null(in);
    memcpy(in, buf, len);
    if (wire_decode(in, len, &got) == 0) {
        (*ok)++;
        assert_true(got.n_members <= WIRE_MAX_MEMBERS);
        assert_true(got.n_events <= WIRE_MAX_EVENTS);
        assert_reencodes(&got, in, len);
    }
    free(in);
}

static void test_fuzz_random_bytes(void **state)
{
    (void)state;
    static uint8_t buf[512];
    unsigned ok = 0;
    rng = 0x9e3779b97f4a7c15ull;
    for (unsigned it = 0; it < 200000; it++) {
        size_t len = (size_t)(xorshift() % sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)xorshift();
        /* Steer a share of inputs past the header so deeper parsing runs. */
        if (len >= 8 && (it & 1)) {
            buf[0] = (uint8_t)(1 + xorshift() % 6);
            buf[1] = buf[0] == WIRE_PING ? (uint8_t)((xorshift() % 5) & 5) :
                     buf[0] == WIRE_SYNC ? (uint8_t)(xorshift() & 2) : 0;
        }
        check_consistent(buf, len, &ok);
    }
    (void)ok; /* random bytes rarely form a payload; crashes are the point */
}

static void test_fuzz_mutations(void **state)
{
    (void)state;
    static struct wire_msg m;
    static uint8_t base[BUF], buf[BUF];
    unsigned ok = 0;
    rng = 0x0123456789abcdefull;
    const uint8_t types[] = { WIRE_PING, WIRE_ACK, WIRE_PING_REQ, WIRE_NACK, WIRE_SYNC, WIRE_GOSSIP };
    for (unsigned it = 0; it < 200000; it++) {
        fill_rich(&m, types[it % 5], 0);
        m.n_members = (unsigned)(xorshift() % 9);
        m.n_events = (unsigned)(xorshift() % 3);
        size_t len = encode(&m, base, BUF);
        memcpy(buf, base, len);
        unsigned flips = 1 + (unsigned)(xorshift() % 4);
        for (unsigned f = 0; f < flips; f++) {
            uint64_t r = xorshift();
            size_t at = (size_t)(r % len);
            switch ((r >> 32) % 3) {
            case 0: buf[at] ^= (uint8_t)(1u << ((r >> 40) % 8)); break;
            case 1: buf[at] = (uint8_t)(r >> 48); break;
            default: buf[at] = (uint8_t)(buf[at] + ((r >> 48) & 1 ? 1 : 0xff)); break;
            }
        }
        size_t mlen = len;
        if (xorshift() % 8 == 0)
            mlen = (size_t)(xorshift() % (len + 1));
        check_consistent(buf, mlen, &ok);
    }
    /* Flips inside ids, seqs and blobs keep the payload valid: the
     * re-encode check must actually have run many times. */
    assert_true(ok > 20000);
}

int main(void)
{
    for (size_t i = 0; i < sizeof meta_max; i++)
        meta_max[i] = (uint8_t)(i * 31u + 7u);
    for (size_t i = 0; i < sizeof ev_data; i++)
        ev_data[i] = (uint8_t)(i ^ 0x5a);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_roundtrip_ping_req_v4_target),
        cmocka_unit_test(test_members_every_state),
        cmocka_unit_test(test_ipv4_tail_zeroed),
        cmocka_unit_test(test_known_bytes_ack),
        cmocka_unit_test(test_refuse_when_full),
        cmocka_unit_test(test_begin_needs_room_for_counts),
        cmocka_unit_test(test_count_limits),
        cmocka_unit_test(test_member_after_event_refused),
        cmocka_unit_test(test_encoder_refuses_invalid),
        cmocka_unit_test(test_every_truncation_rejected),
        cmocka_unit_test(test_trailing_byte_rejected),
        cmocka_unit_test(test_bad_type_and_flags),
        cmocka_unit_test(test_bad_addresses),
        cmocka_unit_test(test_bad_member_state),
        cmocka_unit_test(test_bad_counts_and_event_len),
        cmocka_unit_test(test_huge_lengths_bounded),
        cmocka_unit_test(test_fuzz_random_bytes),
        cmocka_unit_test(test_fuzz_mutations),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
