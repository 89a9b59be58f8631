/*
 * Wire format 2's promises, tried as an attacker with recorded traffic
 * would (issue 11): a recording replayed to a node that restarted, to a
 * node it was not sealed for, or to a node that never knew the sender
 * changes nothing; a spoofed source gets at most 3x what it sent and never
 * a full view; a HELLO earns one reply no larger than itself, within a
 * budget; a node restarted with its clock behind (or twice with one
 * generation) is seen alive by all within a few heartbeats; implausible
 * incarnations are refused.  Real handles on the hook cluster (test/hc.h).
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
#include <time.h>

#include <cmocka.h>

#include "hc.h"
#include "internal.h"

static struct gossip_stats stats(const struct hc *hc, unsigned i)
{
    struct gossip_stats st;
    assert_int_equal(gossip_stats_get(hc->node[i].g, &st), 0);
    return st;
}

/* A copy of every datagram node `from` sent to node `to` while recording. */
static struct hc_dlist recorded(const struct hc *hc, unsigned from, unsigned to)
{
    struct hc_dlist out = {0};
    for (size_t i = 0; i < hc->rec.n; i++) {
        const struct hc_dgram *d = &hc->rec.v[i];
        if (d->from != from || d->to != to)
            continue;
        if (out.n == out.cap) {
            out.cap = out.cap ? 2 * out.cap : 64;
            out.v = realloc(out.v, out.cap * sizeof *out.v);
            assert_non_null(out.v);
        }
        struct hc_dgram c = *d;
        c.buf = malloc(d->len);
        assert_non_null(c.buf);
        memcpy(c.buf, d->buf, d->len);
        out.v[out.n++] = c;
    }
    return out;
}

/* How many of `l` are not HELLOs (a HELLO is answered, never taken). */
static size_t sealed_for_receiver(const struct hc_dlist *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += (l->v[i].buf[1] & ENV_KIND_MASK) != ENV_HELLO;
    return n;
}

/* Record a busy minute of a 3-node cluster: joins, probes, gossip, a
 * cluster event from node 1 and a metadata change. */
static struct hc *busy_cluster(void)
{
    struct hc *hc = hc_cluster(3);
    hc->recording = true;
    hc_start_all(hc, 3);
    assert_int_equal(gossip_broadcast(hc->node[1].g, "reload", 6), 0);
    assert_int_equal(gossip_set_meta(hc->node[1].g, "v2", 2), 0);
    hc_run(hc, 60000);
    hc->recording = false;
    assert_true(hc_converged(hc));
    return hc;
}

struct snapshot {
    uint32_t n;
    uint64_t gen[8];
    uint32_t ver[8];
    uint8_t state[8];
    unsigned n_ev, n_user;
};

static struct snapshot snap(const struct hc *hc, unsigned i)
{
    const struct gossip *g = hc->node[i].g;
    struct snapshot s = {.n = g->members.n, .n_ev = hc->node[i].n_ev, .n_user = hc->node[i].n_user};
    for (uint32_t k = 0; k < g->members.n && k < 8; k++) {
        s.gen[k] = g->members.v[k].generation;
        s.ver[k] = g->members.v[k].version;
        s.state[k] = g->members.v[k].state;
    }
    return s;
}

static void assert_unchanged(const struct snapshot *a, const struct snapshot *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->n_ev, b->n_ev);
    assert_int_equal(a->n_user, b->n_user);
    for (uint32_t k = 0; k < a->n && k < 8; k++) {
        assert_true(a->gen[k] == b->gen[k]);
        assert_int_equal(a->ver[k], b->ver[k]);
        assert_int_equal(a->state[k], b->state[k]);
    }
}

static void assert_same(const struct snapshot *before, const struct hc *hc, unsigned i)
{
    struct snapshot now = snap(hc, i);
    assert_unchanged(before, &now);
}

/* Replay `l` to node `to` as if from node `from`; what it sends back is
 * discarded (it goes to an attacker, not to the cluster). */
static void replay(struct hc *hc, const struct hc_dlist *l, unsigned from, unsigned to)
{
    for (size_t i = 0; i < l->n; i++) {
        hc_feed(hc, from, to, l->v[i].buf, l->v[i].len);
        hc_discard(hc);
    }
}

/* Node 0 restarts (a new life, same id, same address, a later
 * generation); 30 minutes later the recording of node 1's traffic to its
 * previous life is replayed to it: nothing is taken, no event is
 * delivered a second time, and what it answers is a few small HELLOs. */
static void test_replay_to_restarted_node(void **state)
{
    (void)state;
    struct hc *hc = busy_cluster();
    struct hc_dlist l = recorded(hc, 1, 0);
    assert_true(l.n > 20);
    hc_stop(hc, 0);
    hc->now += 30 * 60 * 1000;
    hc_config(hc, 0, ID0)->generation += 5000;
    hc->node[0].n_ev = 0;
    hc->node[0].n_user = 0;
    hc_start(hc, 0);
    hc_converge(hc, 20000);
    hc_run(hc, 5000);
    struct snapshot before = snap(hc, 0);
    struct gossip_stats a = stats(hc, 0);
    hc->recording = true;
    size_t rec0 = hc->rec.n;
    for (size_t i = 0; i < l.n; i++)
        hc_feed(hc, 1, 0, l.v[i].buf, l.v[i].len);
    hc->recording = false;
    struct gossip_stats b = stats(hc, 0);
    struct snapshot after = snap(hc, 0);
    assert_unchanged(&before, &after);
    /* every one refused as sealed for the life before */
    assert_int_equal(b.drop_stale_life - a.drop_stale_life, sealed_for_receiver(&l));
    assert_int_equal(b.events_delivered, a.events_delivered);
    /* answers: HELLOs only, none larger than the datagram that caused it */
    size_t replies = 0;
    for (size_t i = rec0; i < hc->rec.n; i++) {
        const struct hc_dgram *d = &hc->rec.v[i];
        if (d->from != 0)
            continue;
        replies++;
        /* a HELLO back for each datagram sealed for the life before, a
         * COOKIE for each replayed HELLO: both 102 bytes */
        assert_true((d->buf[1] & ENV_KIND_MASK) != ENV_DATA);
        assert_true(d->len <= ENV_OVERHEAD + HS_PAYLOAD_LEN);
    }
    print_message("restarted node: %zu replayed datagrams, %zu HELLOs back\n", l.n, replies);
    assert_true(replies <= l.n);
    hc_pump(hc);
    hc_run(hc, 5000);
    assert_true(hc_converged(hc));
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].buf);
    free(l.v);
    hc_free(hc);
}

/* A datagram recorded on its way to node 0 is refused by node 2 (another
 * receiver) and by node 3, which joined after it was sent and never knew
 * anything of the sender's traffic. */
static void test_replay_across_destinations_and_to_newcomer(void **state)
{
    (void)state;
    struct hc *hc = busy_cluster();
    struct hc_dlist l = recorded(hc, 1, 0);
    assert_true(l.n > 20);
    hc_config(hc, 3, ID3);
    hc_start(hc, 3);
    hc_converge(hc, 20000);
    for (unsigned to = 2; to <= 3; to++) {
        struct snapshot before = snap(hc, to);
        struct gossip_stats a = stats(hc, to);
        replay(hc, &l, 1, to);
        struct gossip_stats b = stats(hc, to);
        assert_same(&before, hc, to);
        assert_int_equal(b.drop_stale_life - a.drop_stale_life, sealed_for_receiver(&l));
        assert_int_equal(b.events_delivered, a.events_delivered);
    }
    /* and the node it was sealed for refuses it too: all used up */
    struct snapshot before = snap(hc, 0);
    struct gossip_stats a = stats(hc, 0);
    replay(hc, &l, 1, 0);
    struct gossip_stats b = stats(hc, 0);
    assert_same(&before, hc, 0);
    assert_int_equal(b.drop_replay - a.drop_replay, sealed_for_receiver(&l));
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].buf);
    free(l.v);
    hc_free(hc);
}

static size_t bytes_to_nobody(const struct hc *hc, size_t from_rec, size_t *datagrams)
{
    size_t bytes = 0;
    *datagrams = 0;
    for (size_t i = from_rec; i < hc->rec.n; i++) {
        if (hc->rec.v[i].to == HC_MAX) {
            bytes += hc->rec.v[i].len;
            (*datagrams)++;
        }
    }
    return bytes;
}

static void feed_from(struct hc *hc, unsigned to, const char *ip, const void *buf, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1179)};
    assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    assert_int_equal(gossip_feed(hc->node[to].g, (const struct sockaddr *)&a, sizeof a, buf, len), 0);
}

/* Node 0 knows 200 members.  Node 1's recorded datagrams (its join asked
 * for a full view) replayed from a spoofed source: node 0 sends no view,
 * and at most 3x the bytes it received from that source. */
static void test_spoofed_source_gets_no_view(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(2);
    hc->recording = true;
    hc_start_all(hc, 2);
    hc->recording = false;
    struct hc_dlist l = recorded(hc, 1, 0);
    struct gossip *g = hc->node[0].g;
    for (unsigned k = 0; k < 200; k++) {
        struct gossip_member m = {.id = 0x90000u + k, .generation = 5, .state = GOSSIP_ALIVE};
        struct sockaddr_in *a = (struct sockaddr_in *)&m.addr;
        a->sin_family = AF_INET;
        a->sin_port = htons(1179);
        a->sin_addr.s_addr = htonl(0x0a010000u + k);
        m.addr_len = sizeof *a;
        assert_int_equal(gossip_member_restore(g, &m), 0);
    }
    hc->now += 60000; /* tokens long expired */
    hc->recording = true;
    size_t rec0 = hc->rec.n, in_bytes = 0;
    struct snapshot before = snap(hc, 0);
    for (size_t i = 0; i < l.n; i++) {
        feed_from(hc, 0, "10.0.0.99", l.v[i].buf, l.v[i].len);
        in_bytes += l.v[i].len;
    }
    hc->recording = false;
    size_t n_out;
    size_t out_bytes = bytes_to_nobody(hc, rec0, &n_out);
    print_message("spoofed source: %zu datagrams, %zu bytes in; %zu datagrams, %zu bytes out\n", l.n, in_bytes,
                  n_out, out_bytes);
    assert_true(out_bytes <= 3 * in_bytes);
    assert_same(&before, hc, 0);
    for (size_t i = rec0; i < hc->rec.n; i++)
        if (hc->rec.v[i].to == HC_MAX)
            assert_true(hc->rec.v[i].len <= ENV_OVERHEAD + HS_PAYLOAD_LEN);
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].buf);
    free(l.v);
    hc_free(hc);
}

/* A HELLO (any key holder can make one; a recording of one is as good)
 * earns a COOKIE of the same length and nothing else; a flood of them from
 * one source gets HS_PER_SOURCE answers per heartbeat, and the rest are
 * counted as limited. */
static void test_hello_answer_and_budget(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(2);
    hc->recording = true;
    hc_start_all(hc, 2);
    hc->recording = false;
    const struct hc_dgram *hello = NULL;
    for (size_t i = 0; i < hc->rec.n && !hello; i++)
        if (hc->rec.v[i].from == 1 && (hc->rec.v[i].buf[1] & ENV_KIND_MASK) == ENV_HELLO)
            hello = &hc->rec.v[i];
    assert_non_null(hello);
    hc_run(hc, 3000);
    struct snapshot before = snap(hc, 0);
    struct gossip_stats a = stats(hc, 0);
    hc->recording = true;
    size_t rec0 = hc->rec.n;
    for (unsigned i = 0; i < 100; i++)
        feed_from(hc, 0, "10.0.0.99", hello->buf, hello->len);
    hc->recording = false;
    struct gossip_stats b = stats(hc, 0);
    size_t n_out;
    size_t out = bytes_to_nobody(hc, rec0, &n_out);
    assert_int_equal(n_out, HS_PER_SOURCE);
    assert_int_equal(out, HS_PER_SOURCE * hello->len);
    for (size_t i = rec0; i < hc->rec.n; i++)
        if (hc->rec.v[i].to == HC_MAX)
            assert_int_equal(hc->rec.v[i].buf[1] & ENV_KIND_MASK, ENV_COOKIE);
    assert_int_equal(b.hellos_answered - a.hellos_answered, HS_PER_SOURCE);
    assert_int_equal(b.replies_limited - a.replies_limited, 100 - HS_PER_SOURCE);
    assert_same(&before, hc, 0);
    hc_free(hc);
}

/* Node 1 restarts with a generation below its previous life's (a clock an
 * hour behind), and again with the very same generation (two starts in one
 * millisecond whose random bits came out equal): each time every node
 * sees it alive within a few heartbeats, its generation moves past what
 * the cluster remembered, and nobody suspects it afterwards. */
static void test_restart_clock_behind_rejoins(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(3);
    hc_start_all(hc, 3);
    hc_run(hc, 10000);
    uint64_t old_gen = hc->node[1].g->generation;
    const uint64_t hb = hc->node[1].cfg.heartbeat_ms;
    for (int round = 0; round < 2; round++) {
        uint64_t remembered = hc->node[0].g->members.v[0].id == ID1 ? hc->node[0].g->members.v[0].generation
                                                                     : hc->node[0].g->members.v[1].generation;
        assert_true(remembered >= old_gen);
        hc_stop(hc, 1);
        hc_run(hc, hb); /* down for a heartbeat: not yet suspected */
        struct gossip_config *c = hc_config(hc, 1, ID1);
        c->generation = round == 0 ? old_gen / 2 : remembered;
        hc_start(hc, 1);
        uint64_t t0 = hc->now;
        unsigned susp0 = hc_count_ev(&hc->node[0], ID1, GOSSIP_EVENT_SUSPECT) +
                         hc_count_ev(&hc->node[2], ID1, GOSSIP_EVENT_SUSPECT);
        bool seen = false;
        for (unsigned k = 0; k < 200 && !seen; k++) {
            hc_run(hc, hb / 4);
            const struct gossip *g1 = hc->node[1].g;
            seen = hc_converged(hc) && (round == 1 || g1->generation > remembered);
            for (unsigned i = 0; i < 3 && seen; i += 2) {
                struct gossip_member m;
                seen = gossip_member_get(hc->node[i].g, ID1, &m) == 0 && m.generation == g1->generation &&
                       m.version == g1->version;
            }
        }
        print_message("restart %d (generation %s): seen alive by all after %llu ms, generation moved %llu -> %llu\n",
                      round, round == 0 ? "behind" : "equal", (unsigned long long)(hc->now - t0),
                      (unsigned long long)c->generation, (unsigned long long)hc->node[1].g->generation);
        assert_true(seen);
        assert_true(hc->now - t0 <= 5 * hb);
        struct gossip_member m;
        for (unsigned i = 0; i < 3; i += 2) {
            assert_int_equal(gossip_member_get(hc->node[i].g, ID1, &m), 0);
            assert_int_equal(m.state, GOSSIP_ALIVE);
            assert_true(m.generation == hc->node[1].g->generation);
        }
        hc_run(hc, 60000);
        unsigned susp1 = hc_count_ev(&hc->node[0], ID1, GOSSIP_EVENT_SUSPECT) +
                         hc_count_ev(&hc->node[2], ID1, GOSSIP_EVENT_SUSPECT);
        assert_int_equal(susp1, susp0);
        assert_true(hc_converged(hc));
        old_gen = hc->node[1].g->generation;
    }
    hc_free(hc);
}

/* A record no clock explains is refused at the door: a generation beyond
 * the receiver's clock plus a day, or a version a refutation could not
 * raise; the member table keeps the real record, and the node itself keeps
 * its own incarnation (hearsay cannot lock it out).  The host's restore
 * refuses the same with GOSSIP_EINVAL. */
static void test_implausible_records_refused(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(2);
    hc_start_all(hc, 2);
    struct gossip *g = hc->node[0].g;
    struct member *m = members_get(&g->members, ID1);
    assert_non_null(m);
    uint64_t gen = m->generation;
    uint32_t ver = m->version;
    gaddr_t from = m->addr;
    struct wire_member far = {.id = ID1, .generation = UINT64_MAX, .state = GOSSIP_FAILED, .from = ID0, .addr = from};
    struct wire_member wrap = {.id = ID1, .generation = gen, .version = UINT32_MAX, .state = GOSSIP_SUSPECT,
                               .from = ID0, .addr = from};
    struct wire_member self_far = {.id = ID0, .generation = UINT64_MAX, .state = GOSSIP_FAILED, .addr = g->self_addr};
    uint64_t my_gen = g->generation;
    uint64_t d0 = g->stats.drop_implausible;
    merge_record(g, &far, &from, ID1, FROM_GOSSIP);
    merge_record(g, &wrap, &from, ID1, FROM_GOSSIP);
    merge_record(g, &self_far, &from, ID1, FROM_GOSSIP);
    assert_int_equal(g->stats.drop_implausible - d0, 3);
    m = members_get(&g->members, ID1);
    assert_true(m->generation == gen && m->version == ver && m->state == GOSSIP_ALIVE);
    assert_true(g->generation == my_gen);
    struct gossip_member r = {.id = 0x7777, .generation = UINT64_MAX, .state = GOSSIP_ALIVE};
    struct sockaddr_in *a = (struct sockaddr_in *)&r.addr;
    a->sin_family = AF_INET;
    a->sin_port = htons(1179);
    a->sin_addr.s_addr = htonl(0x0a000063u);
    r.addr_len = sizeof *a;
    assert_int_equal(gossip_member_restore(g, &r), GOSSIP_EINVAL);
    hc_run(hc, 10000);
    assert_true(hc_converged(hc));
    hc_free(hc);
}

/* max-clock-skew sets the bound: a record 2 h ahead of the receiver's
 * clock is taken at the default (a day) and refused with a 1 h bound. */
static void test_clock_skew_bound_configured(void **state)
{
    (void)state;
    uint64_t wall = (uint64_t)time(NULL) * 1000;
    uint64_t ahead = (wall + 2ull * 3600 * 1000) << 16;
    for (int bounded = 0; bounded < 2; bounded++) {
        struct hc *hc = hc_cluster(1);
        hc_config(hc, 0, ID0)->max_clock_skew_ms = bounded ? 3600u * 1000 : 0;
        hc_start(hc, 0);
        struct gossip_member r = {.id = 0x7777, .generation = ahead, .state = GOSSIP_ALIVE};
        struct sockaddr_in *a = (struct sockaddr_in *)&r.addr;
        a->sin_family = AF_INET;
        a->sin_port = htons(1179);
        a->sin_addr.s_addr = htonl(0x0a000063u);
        r.addr_len = sizeof *a;
        assert_int_equal(gossip_member_restore(hc->node[0].g, &r), bounded ? GOSSIP_EINVAL : 0);
        hc_free(hc);
    }
}

/* Node 0's own traffic, recorded before it restarted, replayed to its new
 * life (what it sent to others, its HELLOs, from any source): no conflict
 * about itself (wire format 1 reported one: its challenge counter started
 * again at 0, so an old answer matched the new challenge), nothing taken. */
static void test_own_previous_life_replayed(void **state)
{
    (void)state;
    struct hc *hc = busy_cluster();
    struct hc_dlist mine = {0};
    for (unsigned to = 1; to <= 2; to++) {
        struct hc_dlist l = recorded(hc, 0, to);
        for (size_t i = 0; i < l.n; i++) {
            if (mine.n == mine.cap) {
                mine.cap = mine.cap ? 2 * mine.cap : 64;
                mine.v = realloc(mine.v, mine.cap * sizeof *mine.v);
                assert_non_null(mine.v);
            }
            mine.v[mine.n++] = l.v[i];
        }
        free(l.v);
    }
    assert_true(mine.n > 20);
    hc_stop(hc, 0);
    hc_config(hc, 0, ID0)->generation += 5000;
    hc->node[0].n_ev = 0;
    hc_start(hc, 0);
    hc_converge(hc, 20000);
    hc_run(hc, 3000);
    struct snapshot before = snap(hc, 0);
    struct gossip_stats a = stats(hc, 0);
    for (unsigned from = 1; from <= 2; from++) {
        replay(hc, &mine, from, 0);
        for (size_t i = 0; i < mine.n; i++)
            feed_from(hc, 0, "10.0.0.99", mine.v[i].buf, mine.v[i].len);
        hc_discard(hc);
    }
    hc_run(hc, 5000); /* any challenge it sent has had time to be answered */
    struct gossip_stats b = stats(hc, 0);
    print_message("own previous life: %zu datagrams replayed 3 ways, conflicts %llu -> %llu\n", mine.n,
                  (unsigned long long)a.conflicts, (unsigned long long)b.conflicts);
    assert_int_equal(b.conflicts, a.conflicts);
    assert_int_equal(hc_count_ev(&hc->node[0], ID0, GOSSIP_EVENT_CONFLICT), 0);
    assert_int_equal(hc->node[0].g->life.end, END_NONE);
    assert_same(&before, hc, 0);
    assert_true(hc_converged(hc));
    for (size_t i = 0; i < mine.n; i++)
        free(mine.v[i].buf);
    free(mine.v);
    hc_free(hc);
}

/* A datagram held back on its way to node 2 while its sender sends 2,000
 * datagrams to node 1 is still accepted when it arrives: counters are per
 * pair of lives, so a burst to one node never pushes another node's
 * datagrams out of the 64-wide window (wire format 1 had one counter for
 * all destinations and dropped it). */
static struct hc_dgram held;
static bool holding;

static bool hold_one(struct hc *hc, const struct hc_dgram *d)
{
    (void)hc;
    if (!holding || held.buf || d->from != 0 || d->to != 2 || (d->buf[1] & ENV_KIND_MASK) != ENV_DATA)
        return false;
    held = *d;
    held.buf = malloc(d->len);
    assert_non_null(held.buf);
    memcpy(held.buf, d->buf, d->len);
    return true;
}

static void test_reordered_behind_burst(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(3);
    hc_start_all(hc, 3);
    hc_run(hc, 5000);
    memset(&held, 0, sizeof held);
    holding = true;
    hc->lose = hold_one;
    for (unsigned k = 0; k < 200 && !held.buf; k++)
        hc_run(hc, 50);
    holding = false;
    hc->lose = NULL;
    assert_non_null(held.buf);
    struct gossip *g0 = hc->node[0].g;
    struct member *m1 = members_get(&g0->members, ID1);
    assert_non_null(m1);
    gaddr_t to = m1->addr;
    uint64_t c0 = m1->life.tx_counter;
    for (unsigned k = 0; k < 2000; k++) {
        struct wire_msg ping = {.type = WIRE_PING, .seq = ++g0->seq, .target = ID1};
        msg_send(g0, &to, ID1, &ping, NULL, false);
        if (g0->out.n >= 16)
            transmit(g0);
    }
    transmit(g0);
    assert_true(members_get(&g0->members, ID1)->life.tx_counter - c0 >= 2000);
    /* and a fresh datagram to node 2 overtakes the held one (with one
     * counter for all destinations it would be 2,000 ahead of it) */
    struct member *m2 = members_get(&g0->members, ID2);
    assert_non_null(m2);
    gaddr_t to2 = m2->addr;
    struct wire_msg ping2 = {.type = WIRE_PING, .seq = ++g0->seq, .target = ID2};
    msg_send(g0, &to2, ID2, &ping2, NULL, false);
    transmit(g0);
    hc_pump(hc);
    struct gossip_stats a = stats(hc, 2);
    hc_feed(hc, 0, 2, held.buf, held.len);
    struct gossip_stats b = stats(hc, 2);
    print_message("held datagram delivered after a burst of 2000 to another node: replay drops %llu -> %llu\n",
                  (unsigned long long)a.drop_replay, (unsigned long long)b.drop_replay);
    assert_int_equal(b.drop_replay, a.drop_replay);
    assert_int_equal(b.drop_unknown_life + b.drop_stale_life + b.drop_auth,
                     a.drop_unknown_life + a.drop_stale_life + a.drop_auth);
    assert_int_equal(b.recv_datagrams, a.recv_datagrams + 1);
    free(held.buf);
    held.buf = NULL;
    hc_free(hc);
}

/* A QUORUM role taken back by its listed node: the failover holder lets go
 * in the call that answers the hand-back ping, and reports the loss before
 * that call sends anything (the ack among it), so the host that takes the
 * role cannot be told before the host that held it was told to stop. */
static uint64_t sent_before_feed[HC_MAX];
static unsigned releases_checked, releases_late;

static uint64_t sent_of(gossip_t *g)
{
    struct gossip_stats st;
    assert_int_equal(gossip_stats_get(g, &st), 0);
    return st.sent_datagrams;
}

static void on_release(struct hc_node *n, const char *role, bool now_held)
{
    if (now_held || strcmp(role, "lock") != 0)
        return;
    releases_checked++;
    if (sent_of(n->g) != sent_before_feed[n->idx])
        releases_late++;
}

static bool note_sent(struct hc *hc, const struct hc_dgram *d)
{
    if (d->to < HC_MAX && hc->node[d->to].g)
        sent_before_feed[d->to] = sent_of(hc->node[d->to].g);
    return false;
}

static void test_release_reported_before_sending(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(3);
    for (unsigned i = 0; i < 3; i++) {
        const uint64_t listed[] = {ID0};
        struct gossip_config *c = &hc->node[i].cfg;
        assert_int_equal(gossip_config_set_role(c, "lock", listed, 1, GOSSIP_ROLE_QUORUM), 0);
        hc->node[i].on_role = on_release;
    }
    hc_start_all(hc, 3);
    hc_run(hc, 10000);
    assert_int_equal(gossip_role_held(hc->node[0].g, "lock"), 1);
    assert_int_equal(gossip_drain(hc->node[0].g, true), 0);
    hc_run(hc, 5000);
    unsigned holder = gossip_role_held(hc->node[1].g, "lock") == 1 ? 1 : 2;
    assert_int_equal(gossip_role_held(hc->node[holder].g, "lock"), 1);
    releases_checked = releases_late = 0;
    hc->lose = note_sent; /* observes each delivery, drops nothing */
    assert_int_equal(gossip_drain(hc->node[0].g, false), 0);
    for (unsigned k = 0; k < 100 && gossip_role_held(hc->node[0].g, "lock") != 1; k++)
        hc_run(hc, 50);
    hc->lose = NULL;
    print_message("hand-back: %u release(s) of the failover holder, %u reported after it had sent\n",
                  releases_checked, releases_late);
    assert_int_equal(gossip_role_held(hc->node[0].g, "lock"), 1);
    assert_int_equal(gossip_role_held(hc->node[holder].g, "lock"), 0);
    assert_true(releases_checked >= 1);
    assert_int_equal(releases_late, 0);
    for (unsigned i = 0; i < 3; i++)
        hc->node[i].on_role = NULL;
    hc_free(hc);
}

/* A cluster event broadcast by a node restarted with its clock behind,
 * before its first view: its id must not be minted from the generation
 * below its earlier life's (the others, which saw that life's events,
 * would drop it as old).  It is held until the first exchange moved the
 * generation past, then minted, and every node gets it exactly once. */
static unsigned got_user(const struct hc_node *n, uint64_t origin, const char *text)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n->n_user; i++)
        k += n->user_origin[i] == origin && n->user_len[i] == strlen(text) &&
             memcmp(n->user_data[i], text, n->user_len[i]) == 0;
    return k;
}

static void test_event_after_restart_behind(void **state)
{
    (void)state;
    struct hc *hc = hc_cluster(3);
    hc_start_all(hc, 3);
    hc_run(hc, 10000);
    assert_int_equal(gossip_broadcast(hc->node[1].g, "earlier", 7), 0);
    hc_run(hc, 2000);
    assert_int_equal(got_user(&hc->node[0], ID1, "earlier"), 1);
    assert_int_equal(got_user(&hc->node[2], ID1, "earlier"), 1);
    uint64_t old_gen = hc->node[1].g->generation;
    hc_stop(hc, 1);
    hc_run(hc, hc->node[0].cfg.heartbeat_ms);
    struct gossip_config *c = hc_config(hc, 1, ID1);
    c->generation = old_gen / 2; /* the clock far behind */
    hc_start(hc, 1);
    assert_int_equal(gossip_broadcast(hc->node[1].g, "after", 5), 0);
    assert_int_equal(got_user(&hc->node[1], ID1, "after"), 1); /* the host's own callback at once */
    hc_run(hc, 5000);
    print_message("restarted behind (generation %llu -> %llu): the event reached %u + %u of 2\n",
                  (unsigned long long)c->generation, (unsigned long long)hc->node[1].g->generation,
                  got_user(&hc->node[0], ID1, "after"), got_user(&hc->node[2], ID1, "after"));
    assert_true(hc->node[1].g->generation > old_gen);
    assert_int_equal(got_user(&hc->node[0], ID1, "after"), 1);
    assert_int_equal(got_user(&hc->node[2], ID1, "after"), 1);
    assert_int_equal(got_user(&hc->node[1], ID1, "after"), 1);
    hc_free(hc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_replay_to_restarted_node, hc_teardown),
        cmocka_unit_test_teardown(test_replay_across_destinations_and_to_newcomer, hc_teardown),
        cmocka_unit_test_teardown(test_spoofed_source_gets_no_view, hc_teardown),
        cmocka_unit_test_teardown(test_hello_answer_and_budget, hc_teardown),
        cmocka_unit_test_teardown(test_restart_clock_behind_rejoins, hc_teardown),
        cmocka_unit_test_teardown(test_implausible_records_refused, hc_teardown),
        cmocka_unit_test_teardown(test_clock_skew_bound_configured, hc_teardown),
        cmocka_unit_test_teardown(test_reordered_behind_burst, hc_teardown),
        cmocka_unit_test_teardown(test_own_previous_life_replayed, hc_teardown),
        cmocka_unit_test_teardown(test_release_reported_before_sending, hc_teardown),
        cmocka_unit_test_teardown(test_event_after_restart_behind, hc_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
