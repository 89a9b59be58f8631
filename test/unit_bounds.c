/*
 * Configured bounds (issue "hostile input"): for each limit of struct
 * gossip_config -- max_members, max_meta, max_event, max_pending_events,
 * max_datagram -- what happens AT the limit, on the API side and on the
 * receive side: the new thing is refused, what is there is kept, the
 * matching stats counter moves and a log line says so.  Real handles wired
 * by their hooks (test/hc.h); hand-made datagrams are sealed with the
 * cluster key under a made-up sender.  One test uses a real socket on
 * 127.0.0.1: the kernel's side of max_datagram.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "forge.h"
#include "hc.h"
#include "internal.h"

/* ---- helpers --------------------------------------------------------------- */

static uint64_t forged_sender = 0x7000;

/* Seal records and events for node `to` of hc as a fresh made-up sender
 * (a new one each call, so no replay window is involved) that holds the
 * cluster key and completed a handshake with node `to` from node 7's
 * address (wire format 2: a sender node `to` does not know must show its
 * fresh token, test/forge.h).  Feed it from node 7. */
static size_t forge(struct hc *hc, unsigned to, const struct wire_member *recs, unsigned n_recs,
                    const struct wire_event *evs, unsigned n_evs, uint8_t *out, size_t cap)
{
    struct forger f;
    struct sockaddr_in a = hc_addr(7);
    uint64_t sender = ++forged_sender;
    forger_init(&f, KEY_A, "", sender, sender, (const struct sockaddr *)&a, sizeof a);
    struct wire_msg hdr = {.type = WIRE_GOSSIP};
    size_t len = forge_msg(hc->node[to].g, &f, 1, &hdr, recs, n_recs, evs, n_evs, out, cap);
    assert_true(len > 0);
    return len;
}

static struct wire_member record(uint64_t id, const uint8_t *meta, uint8_t meta_len)
{
    struct wire_member m;
    memset(&m, 0, sizeof(m));
    m.id = id;
    m.generation = 777;
    m.state = GOSSIP_ALIVE;
    m.addr.family = 4;
    m.addr.ip[0] = 10, m.addr.ip[1] = 77, m.addr.ip[2] = (uint8_t)(id >> 8), m.addr.ip[3] = (uint8_t)id;
    m.addr.port = 1179;
    m.meta_len = meta_len;
    m.meta = meta_len ? meta : NULL;
    return m;
}

static struct gossip_stats stats(const struct hc *hc, unsigned i)
{
    struct gossip_stats st;
    assert_int_equal(gossip_stats_get(hc->node[i].g, &st), 0);
    return st;
}

/* Run until every started node's dissemination queue is empty. */
static void settle(struct hc *hc)
{
    for (unsigned k = 0; k < 120; k++) {
        bool idle = true;
        for (unsigned i = 0; i < HC_MAX; i++)
            if (hc->node[i].g && hc->node[i].g->dq.n)
                idle = false;
        if (idle)
            return;
        hc_run(hc, 1000);
    }
    fail_msg("the dissemination queues never drained");
}

static unsigned count_user(const struct hc_node *n, size_t len)
{
    unsigned c = 0;
    for (unsigned i = 0; i < n->n_user; i++)
        c += n->user_len[i] == len;
    return c;
}

/* ---- max_members -------------------------------------------------------------- */

/* At the bound a new member is refused (drop_full, a rate-limited WARN),
 * the members already known stay, and nothing is suspected; once one has
 * failed and been reaped, the refused one gets in. */
static void test_max_members(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(3);
    hc->node[0].cfg.max_members = 2; /* the two real peers fill it */
    hc->node[0].cfg.reap_ms = 15000;
    hc_start_all(hc, 3);
    settle(hc);
    unsigned log0 = hc->node[0].n_log;
    struct gossip_stats a = stats(hc, 0);

    hc_config(hc, 3, ID3); /* seeded with node 0 */
    hc_start(hc, 3);
    hc_run(hc, 10000);
    struct gossip_stats b = stats(hc, 0);
    /* refused at node 0 ... */
    struct gossip_member m;
    assert_int_equal(gossip_member_get(hc->node[0].g, ID3, &m), GOSSIP_ENOTFOUND);
    assert_int_equal(gossip_member_count(hc->node[0].g, GOSSIP_STATES_ALL), 3);
    assert_true(b.drop_full > a.drop_full);
    assert_int_equal(hc_count_ev(&hc->node[0], ID3, GOSSIP_EVENT_JOIN), 0);
    assert_true(hc_count_log(&hc->node[0], log0, "member table full (2): refusing node 16388") >= 1);
    /* ... the old ones kept and never doubted ... */
    assert_true(hc_sees(hc, 0, ID1, GOSSIP_ALIVE));
    assert_true(hc_sees(hc, 0, ID2, GOSSIP_ALIVE));
    assert_int_equal(hc_count_ev(&hc->node[0], 0, GOSSIP_EVENT_SUSPECT), 0);
    /* ... and the rest of the cluster takes it in (node 0 still answers it) */
    assert_true(hc_sees(hc, 1, ID3, GOSSIP_ALIVE));
    assert_true(hc_sees(hc, 2, ID3, GOSSIP_ALIVE));
    assert_true(hc_sees(hc, 3, ID0, GOSSIP_ALIVE));

    /* the warning is rate-limited: one line per 10 s, each refusal counted */
    hc_run(hc, 30000);
    struct gossip_stats c = stats(hc, 0);
    unsigned lines = hc_count_log(&hc->node[0], log0, "member table full");
    assert_true(lines >= 1 && lines <= 5);
    assert_true(c.drop_full - a.drop_full > lines);
    assert_true(hc_sees(hc, 3, ID0, GOSSIP_ALIVE));

    /* node 2 dies: failed, then reaped; then node 3 has room */
    hc_stop(hc, 2);
    uint64_t t0 = hc->now;
    while (!hc_first_ev(&hc->node[0], ID2, GOSSIP_EVENT_REMOVED, t0)) {
        assert_true(hc->now - t0 < 120000);
        hc_run(hc, 1000);
    }
    t0 = hc->now;
    while (!hc_sees(hc, 0, ID3, GOSSIP_ALIVE)) {
        assert_true(hc->now - t0 < 30000);
        hc_run(hc, 500);
    }
    assert_int_equal(hc_count_ev(&hc->node[0], ID3, GOSSIP_EVENT_JOIN), 1);
    assert_int_equal(gossip_member_count(hc->node[0].g, GOSSIP_STATES_ALL), 3);
    assert_true(hc_sees(hc, 0, ID1, GOSSIP_ALIVE));
    hc_free(hc);
}

/* The same bound against a flood of made-up members carried in one
 * datagram each: the table never grows past it. */
static void test_max_members_forged_flood(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(2);
    hc->node[0].cfg.max_members = 8;
    hc_start_all(hc, 2);
    static uint8_t d[1500];
    struct gossip_stats a = stats(hc, 0);
    for (unsigned i = 0; i < 100; i++) {
        struct wire_member r = record(0x9000 + i, NULL, 0);
        size_t len = forge(hc, 0, &r, 1, NULL, 0, d, sizeof(d));
        hc_feed(hc, 7, 0, d, len);
        hc_discard(hc);
        assert_true(gossip_member_count(hc->node[0].g, GOSSIP_STATES_ALL) <= 9);
    }
    struct gossip_stats b = stats(hc, 0);
    assert_int_equal(gossip_member_count(hc->node[0].g, GOSSIP_STATES_ALL), 9);
    assert_int_equal(hc->node[0].g->members.n, 8);
    assert_int_equal(b.drop_full - a.drop_full, 93); /* 100 offered, 7 places left */
    assert_true(hc_sees(hc, 0, ID1, GOSSIP_ALIVE));
    hc_free(hc);
}

/* ---- max_meta ------------------------------------------------------------------ */

static void test_max_meta(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(2);
    hc->node[0].cfg.max_meta = 16;
    hc_start_all(hc, 2);
    settle(hc);
    gossip_t *g = hc->node[0].g;
    uint8_t meta[32];
    memset(meta, 'm', sizeof(meta));

    /* API: one byte over -> ETOOBIG, nothing changes, nothing is sent */
    struct gossip_member before, after;
    assert_int_equal(gossip_member_get(g, ID0, &before), 0);
    uint32_t dq_before = g->dq.n;
    assert_int_equal(gossip_set_meta(g, meta, 17), GOSSIP_ETOOBIG);
    assert_int_equal(gossip_member_get(g, ID0, &after), 0);
    assert_int_equal(after.version, before.version);
    assert_int_equal(after.meta_len, before.meta_len);
    assert_int_equal(g->dq.n, dq_before);
    /* at the limit: accepted and spread */
    assert_int_equal(gossip_set_meta(g, meta, 16), 0);
    assert_int_equal(gossip_member_get(g, ID0, &after), 0);
    assert_int_equal(after.meta_len, 16);
    assert_int_equal(after.version, before.version + 1);
    hc_run(hc, 3000);
    struct gossip_member seen;
    assert_int_equal(gossip_member_get(hc->node[1].g, ID0, &seen), 0);
    assert_int_equal(seen.meta_len, 16);

    /* receive: metadata over our limit comes from a peer configured with a
     * larger one.  Its membership news still counts (else its acks would be
     * lost and it declared failed): the record is kept without the blob,
     * counted in over_limit and logged; the record beside it is intact. */
    static uint8_t d[1500];
    unsigned log0 = hc->node[0].n_log;
    struct gossip_stats a = stats(hc, 0);
    struct wire_member recs[2] = {record(0x8001, meta, 4), record(0x8002, meta, 17)};
    size_t len = forge(hc, 0, recs, 2, NULL, 0, d, sizeof(d));
    hc_feed(hc, 7, 0, d, len);
    struct gossip_stats b = stats(hc, 0);
    assert_int_equal(b.drop_malformed, a.drop_malformed);
    assert_int_equal(b.over_limit - a.over_limit, 1);
    assert_int_equal(gossip_member_get(g, 0x8001, &seen), 0);
    assert_int_equal(seen.meta_len, 4);
    assert_int_equal(gossip_member_get(g, 0x8002, &seen), 0);
    assert_int_equal(seen.meta_len, 0);
    assert_null(seen.meta);
    assert_true(hc_count_log(&hc->node[0], log0, "above max-meta") >= 1);
    /* at the limit: the blob is kept */
    recs[1] = record(0x8002, meta, 16);
    recs[1].version = 1; /* a newer record of the same member */
    len = forge(hc, 0, recs, 2, NULL, 0, d, sizeof(d));
    hc_feed(hc, 7, 0, d, len);
    assert_int_equal(stats(hc, 0).over_limit, b.over_limit);
    assert_int_equal(gossip_member_get(g, 0x8002, &seen), 0);
    assert_int_equal(seen.meta_len, 16);
    hc_discard(hc);

    /* the bound itself is bounded: the wire carries at most 255 bytes */
    struct gossip_config cfg = hc->node[0].cfg;
    cfg.max_meta = 256;
    assert_int_equal(gossip_config_validate(&cfg, NULL, 0), GOSSIP_ERANGE);
    cfg.max_meta = 255;
    assert_int_equal(gossip_config_validate(&cfg, NULL, 0), 0);
    hc_free(hc);
}

/* ---- max_event ------------------------------------------------------------------ */

static void test_max_event(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(2);
    hc->node[0].cfg.max_event = 32;
    hc->node[1].cfg.max_event = 32;
    hc_start_all(hc, 2);
    settle(hc);
    gossip_t *g = hc->node[0].g;
    uint8_t ev[64];
    memset(ev, 'e', sizeof(ev));

    unsigned users = hc->node[0].n_user;
    uint32_t queued = g->dq.n_events;
    assert_int_equal(gossip_broadcast(g, ev, 33), GOSSIP_ETOOBIG);
    assert_int_equal(hc->node[0].n_user, users); /* not even delivered locally */
    assert_int_equal(g->dq.n_events, queued);
    assert_int_equal(gossip_broadcast(g, ev, 32), 0);
    assert_int_equal(hc->node[0].n_user, users + 1);
    hc_run(hc, 3000);
    assert_int_equal(count_user(&hc->node[1], 32), 1);

    /* receive: an event over our limit (a peer configured with a larger
     * one) is not delivered, counted and logged; the rest of the datagram
     * applies, the event beside it included */
    static uint8_t d[1500];
    unsigned log1 = hc->node[1].n_log;
    struct gossip_stats a = stats(hc, 1);
    users = hc->node[1].n_user;
    struct wire_event evs[2] = {{.origin = 0x9999, .event_id = 1, .len = 8, .data = ev},
                                {.origin = 0x9999, .event_id = 2, .len = 33, .data = ev}};
    size_t len = forge(hc, 1, NULL, 0, evs, 2, d, sizeof(d));
    hc_feed(hc, 7, 1, d, len);
    struct gossip_stats b = stats(hc, 1);
    assert_int_equal(b.drop_malformed, a.drop_malformed);
    assert_int_equal(b.over_limit - a.over_limit, 1);
    assert_int_equal(b.events_delivered - a.events_delivered, 1);
    assert_int_equal(hc->node[1].n_user, users + 1);
    assert_true(hc_count_log(&hc->node[1], log1, "above max-event") >= 1);
    /* at the limit: delivered */
    evs[0].event_id = 3;
    evs[1].event_id = 4;
    evs[1].len = 32;
    len = forge(hc, 1, NULL, 0, evs, 2, d, sizeof(d));
    hc_feed(hc, 7, 1, d, len);
    assert_int_equal(hc->node[1].n_user, users + 3);
    assert_int_equal(stats(hc, 1).over_limit, b.over_limit);
    hc_discard(hc);

    /* the bound must leave room in a datagram */
    struct gossip_config cfg = hc->node[0].cfg;
    cfg.max_datagram = 1232;
    cfg.max_event = 1232 - 128 + 1;
    assert_int_equal(gossip_config_validate(&cfg, NULL, 0), GOSSIP_ERANGE);
    cfg.max_event = 1232 - 128;
    assert_int_equal(gossip_config_validate(&cfg, NULL, 0), 0);
    hc_free(hc);
}

/* ---- max_pending_events ------------------------------------------------------------ */

static void test_max_pending_events(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(2);
    hc->node[0].cfg.max_pending_events = 4;
    hc_start_all(hc, 2);
    settle(hc);
    gossip_t *g = hc->node[0].g;
    uint8_t ev[8] = "event-0";

    /* API: the fifth while four are queued -> EFULL, nothing delivered */
    unsigned users = hc->node[0].n_user;
    for (unsigned i = 0; i < 4; i++) {
        ev[6] = (uint8_t)('0' + i);
        assert_int_equal(gossip_broadcast(g, ev, sizeof(ev)), 0);
    }
    assert_int_equal(g->dq.n_events, 4);
    assert_int_equal(gossip_broadcast(g, ev, sizeof(ev)), GOSSIP_EFULL);
    assert_int_equal(hc->node[0].n_user, users + 4);
    assert_int_equal(g->dq.n_events, 4);

    /* receive while full: delivered once, not queued for re-gossip */
    static uint8_t d[1500];
    uint8_t x[3] = "xyz";
    struct wire_event evs[3];
    for (unsigned i = 0; i < 3; i++)
        evs[i] = (struct wire_event){.origin = 0x9001, .event_id = 100 + i, .len = sizeof(x), .data = x};
    size_t len = forge(hc, 0, NULL, 0, evs, 3, d, sizeof(d));
    struct gossip_stats a = stats(hc, 0);
    hc_feed(hc, 7, 0, d, len);
    struct gossip_stats b = stats(hc, 0);
    assert_int_equal(b.events_delivered - a.events_delivered, 3);
    assert_int_equal(hc->node[0].n_user, users + 7);
    assert_int_equal(g->dq.n_events, 4);
    /* the same events again (another datagram): not delivered twice */
    len = forge(hc, 0, NULL, 0, evs, 3, d, sizeof(d));
    hc_feed(hc, 7, 0, d, len);
    assert_int_equal(stats(hc, 0).events_delivered, b.events_delivered);
    hc_discard(hc);

    /* the queue drains by gossip; then broadcasting works again */
    settle(hc);
    assert_int_equal(g->dq.n_events, 0);
    assert_int_equal(count_user(&hc->node[1], sizeof(ev)), 4);
    assert_int_equal(gossip_broadcast(g, ev, sizeof(ev)), 0);

    /* dedup memory stays bounded however many events arrive: the payload
     * ring holds max_pending_events, the per-origin windows a fixed number */
    for (unsigned k = 0; k < 100; k++) {
        struct wire_event many[2];
        for (unsigned i = 0; i < 2; i++)
            many[i] = (struct wire_event){.origin = 0xa000 + k, .event_id = 1 + i, .len = sizeof(x), .data = x};
        len = forge(hc, 0, NULL, 0, many, 2, d, sizeof(d));
        hc_feed(hc, 7, 0, d, len);
        hc_discard(hc);
        assert_true(g->seen_n <= 4);
        assert_true(g->dq.n_events <= 4);
    }
    assert_int_equal(stats(hc, 0).events_delivered - b.events_delivered, 200 + 1);
    hc_free(hc);
}

/* ---- max_datagram ------------------------------------------------------------------- */

static bool seen_all_big(const struct hc *hc, unsigned n, size_t len, unsigned want)
{
    for (unsigned i = 0; i < n; i++)
        if (count_user(&hc->node[i], len) != want)
            return false;
    return true;
}

/* Every node at the smallest datagram, with full metadata and events at
 * max_event: every datagram sent fits, the view exchange is split, and the
 * largest events still get through. */
static void test_max_datagram(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(4);
    for (unsigned i = 0; i < 4; i++) {
        hc->node[i].cfg.max_datagram = 512;
        hc->node[i].cfg.max_event = 512 - 128;
        hc->node[i].cfg.max_meta = 255;
    }
    hc->recording = true;
    hc_start_all(hc, 4);
    uint8_t meta[255];
    for (unsigned i = 0; i < 4; i++) {
        memset(meta, 'a' + (int)i, sizeof(meta));
        assert_int_equal(gossip_set_meta(hc->node[i].g, meta, sizeof(meta)), 0);
    }
    static uint8_t big[512 - 128];
    memset(big, 'E', sizeof(big));
    for (unsigned k = 0; k < 3; k++)
        assert_int_equal(gossip_broadcast(hc->node[1].g, big, sizeof(big)), 0);
    uint64_t t0 = hc->now;
    while (!seen_all_big(hc, 4, sizeof(big), 3)) {
        assert_true(hc->now - t0 < 30000);
        hc_run(hc, 500);
    }
    hc_run(hc, 70000); /* full-view exchanges of 4 x 255-byte metadata */
    assert_true(hc_converged(hc));
    struct gossip_member m;
    assert_int_equal(gossip_member_get(hc->node[3].g, ID0, &m), 0);
    assert_int_equal(m.meta_len, 255);

    size_t largest = 0, n = 0;
    for (size_t i = 0; i < hc->rec.n; i++) {
        assert_true(hc->rec.v[i].len <= 512);
        if (hc->rec.v[i].len > largest)
            largest = hc->rec.v[i].len;
        n++;
    }
    print_message("%zu datagrams sent, largest %zu bytes (bound 512)\n", n, largest);
    assert_true(largest > 400);
    uint64_t sync = 0;
    for (unsigned i = 0; i < 4; i++)
        sync += stats(hc, i).syncs;
    assert_true(sync > 0);
    hc->recording = false;
    hc_dlist_free(&hc->rec);

    /* receive: one byte over -> drop_oversize, logged; at the bound it is
     * opened (and fails authentication, being random) */
    static uint8_t d[70000];
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)(i * 131u + 7u);
    d[0] = ENV_VERSION;
    d[1] = 0;
    /* wire format 2: the receiver hint names node 0's life (else it is
     * dropped as sealed for another life before any key is tried) and the
     * counter is a DATA one (top bit clear, else a replay) */
    uint32_t hint = env_hint(hc->node[0].g->crypto.session);
    d[38] = (uint8_t)(hint >> 24), d[39] = (uint8_t)(hint >> 16), d[40] = (uint8_t)(hint >> 8), d[41] = (uint8_t)hint;
    d[42] &= 0x7f;
    unsigned log0 = hc->node[0].n_log;
    struct gossip_stats a = stats(hc, 0);
    hc_feed(hc, 7, 0, d, 513);
    hc_feed(hc, 7, 0, d, sizeof(d));
    struct gossip_stats b = stats(hc, 0);
    assert_int_equal(b.drop_oversize - a.drop_oversize, 2);
    assert_true(hc_count_log(&hc->node[0], log0, "larger than 512 bytes dropped") >= 1);
    hc_feed(hc, 7, 0, d, 512);
    struct gossip_stats c = stats(hc, 0);
    assert_int_equal(c.drop_oversize, b.drop_oversize);
    assert_int_equal((c.drop_key + c.drop_auth) - (b.drop_key + b.drop_auth), 1);
    assert_true(hc_converged(hc));
    hc_free(hc);
}

/* The socket path: a datagram above max_datagram is truncated by the
 * kernel, yet counted at its real size and dropped as oversize; one at the
 * bound is read whole.  Loopback only; nothing is waited for (a loopback
 * datagram is queued before sendto() returns). */
static void test_max_datagram_socket(void **state)
{
    (void)state;
    int probe = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(probe >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(probe, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(probe, (struct sockaddr *)&sa, &sl), 0);
    close(probe); /* a free port, for the handle to bind */

    struct gossip_config cfg;
    gossip_config_init(&cfg);
    cfg.node_id = 77;
    snprintf(cfg.bind_addr, sizeof cfg.bind_addr, "127.0.0.1");
    cfg.bind_port = ntohs(sa.sin_port);
    cfg.max_datagram = 512;
    cfg.max_event = 256; /* must fit the smaller datagram */
    assert_int_equal(gossip_config_add_raw_key(&cfg, KEY_A), 0);
    gossip_t *g;
    assert_int_equal(gossip_create(&g, &cfg), 0);
    assert_true(gossip_fd(g) >= 0);

    int tx = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(tx >= 0);
    static uint8_t d[3000];
    memset(d, 0x5a, sizeof d);
    d[0] = ENV_VERSION;
    struct gossip_stats a, b, c;
    assert_int_equal(gossip_stats_get(g, &a), 0);
    assert_int_equal(sendto(tx, d, sizeof d, 0, (struct sockaddr *)&sa, sizeof sa), (ssize_t)sizeof d);
    assert_int_equal(gossip_on_readable(g), 0);
    assert_int_equal(gossip_stats_get(g, &b), 0);
    assert_int_equal(b.drop_oversize - a.drop_oversize, 1);
    assert_int_equal(b.recv_bytes - a.recv_bytes, sizeof d);
    assert_int_equal(sendto(tx, d, 512, 0, (struct sockaddr *)&sa, sizeof sa), 512);
    assert_int_equal(gossip_on_readable(g), 0);
    assert_int_equal(gossip_stats_get(g, &c), 0);
    assert_int_equal(c.drop_oversize, b.drop_oversize);
    assert_int_equal(c.recv_bytes - b.recv_bytes, 512);
    assert_int_equal(c.recv_datagrams - b.recv_datagrams, 1);
    close(tx);
    gossip_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_max_members, hc_teardown),
        cmocka_unit_test_teardown(test_max_members_forged_flood, hc_teardown),
        cmocka_unit_test_teardown(test_max_meta, hc_teardown),
        cmocka_unit_test_teardown(test_max_event, hc_teardown),
        cmocka_unit_test_teardown(test_max_pending_events, hc_teardown),
        cmocka_unit_test_teardown(test_max_datagram, hc_teardown),
        cmocka_unit_test(test_max_datagram_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
