/*
 * Run-time keyring (lib/keyring.c): gossip_key_install(), gossip_key_use(),
 * gossip_key_remove(), gossip_key_list(), gossip_key_id().  Real handles
 * wired together by their hooks (the harness of unit_api.c): the documented
 * rotation procedure on a live 3-node cluster with no suspicion or failure
 * at any point, datagrams sealed with a removed key dropped and logged with
 * the key id, a node that missed a rotation logging the key id it cannot
 * open and seeing the others fail, and every error code.
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

#include <cmocka.h>

#include "gossip.h"

/* ---- hook cluster ---------------------------------------------------------
 * Real handles in one process, wired together by their hooks: a fake clock
 * (hc->now, moved only by the test), a deterministic random hook per node,
 * and a send hook that queues datagrams (and optionally records them);
 * hc_pump() delivers the queue with gossip_feed().  Node i lives at
 * 10.0.0.(i+1):1179.  Nothing sleeps and nothing reads a real clock. */

#define HC_UNUSED __attribute__((unused))
#define HC_MAX 10
#define HC_EV_MAX 1024
#define HC_LOG_MAX 512
#define HC_USER_MAX 64

struct hc_ev {
    uint64_t t;
    uint64_t id, generation;
    uint32_t version;
    int event, state;
    uint8_t meta[255];
    size_t meta_len;
    bool is_self;
    struct sockaddr_storage addr;
};

struct hc;

struct hc_node {
    struct hc *hc;
    unsigned idx;
    gossip_t *g;
    struct gossip_config cfg;
    uint64_t rng;
    bool deaf;    /* datagrams to it are dropped (crashed or cut off) */
    bool frozen;  /* not ticked */
    struct hc_ev ev[HC_EV_MAX];
    unsigned n_ev;
    char log[HC_LOG_MAX][256];
    unsigned n_log;
    uint64_t user_origin[HC_USER_MAX];
    uint8_t user_data[HC_USER_MAX][64];
    size_t user_len[HC_USER_MAX];
    unsigned n_user;
    /* test hooks run inside the callbacks */
    void (*on_member)(struct hc_node *n, enum gossip_event ev, const struct gossip_member *m);
    void (*on_user)(struct hc_node *n, uint64_t origin, const void *data, size_t len);
    int depth, max_depth; /* callback nesting */
    char role_ev[64][GOSSIP_ROLE_NAME_MAX + 2]; /* "+name" / "-name" */
    unsigned n_role_ev;
};

struct hc_dgram {
    unsigned from, to; /* node indices; to = HC_MAX when nobody lives there */
    size_t len;
    uint8_t *buf;
    uint64_t t;
};

struct hc_dlist {
    struct hc_dgram *v;
    size_t n, cap;
};

struct hc {
    uint64_t now;
    struct hc_node node[HC_MAX];
    struct hc_dlist q;      /* in flight */
    size_t q_pos;
    struct hc_dlist rec;    /* recorded (when recording) */
    bool recording;
    bool dup;               /* deliver every datagram twice */
    uint64_t delivered;
};

static HC_UNUSED const uint8_t KEY_A[GOSSIP_KEY_LEN] = "libgossip-test-key-A-32-bytes!!";
static HC_UNUSED const uint8_t KEY_B[GOSSIP_KEY_LEN] = "libgossip-test-key-B-32-bytes!!";

static HC_UNUSED struct sockaddr_in hc_addr(unsigned idx)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(GOSSIP_DEFAULT_PORT);
    a.sin_addr.s_addr = htonl(0x0a000000u + idx + 1);
    return a;
}

static HC_UNUSED unsigned hc_index_of(const struct sockaddr *sa)
{
    if (sa->sa_family != AF_INET)
        return HC_MAX;
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    uint32_t ip = ntohl(a->sin_addr.s_addr);
    if ((ip & 0xffffff00u) != 0x0a000000u || ntohs(a->sin_port) != GOSSIP_DEFAULT_PORT)
        return HC_MAX;
    unsigned i = (ip & 0xffu) - 1;
    return i < HC_MAX ? i : HC_MAX;
}

static HC_UNUSED uint64_t hc_now(void *ctx)
{
    return ((struct hc_node *)ctx)->hc->now;
}

static HC_UNUSED void hc_random(void *ctx, void *buf, size_t len)
{
    struct hc_node *n = ctx;
    uint8_t *p = buf;
    while (len) {
        uint64_t x = n->rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        n->rng = x;
        size_t k = len < 8 ? len : 8;
        memcpy(p, &x, k);
        p += k;
        len -= k;
    }
}

static HC_UNUSED void hc_push(struct hc_dlist *l, unsigned from, unsigned to, const void *buf, size_t len, uint64_t t)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        assert_non_null(l->v);
    }
    struct hc_dgram *d = &l->v[l->n++];
    d->from = from;
    d->to = to;
    d->len = len;
    d->t = t;
    d->buf = malloc(len ? len : 1);
    assert_non_null(d->buf);
    memcpy(d->buf, buf, len);
}

static HC_UNUSED void hc_dlist_free(struct hc_dlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].buf);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static HC_UNUSED int hc_send(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf, size_t len)
{
    struct hc_node *n = ctx;
    (void)to_len;
    unsigned dst = hc_index_of(to);
    hc_push(&n->hc->q, n->idx, dst, buf, len, n->hc->now);
    if (n->hc->recording)
        hc_push(&n->hc->rec, n->idx, dst, buf, len, n->hc->now);
    return 0;
}

static HC_UNUSED void hc_enter(struct hc_node *n)
{
    if (++n->depth > n->max_depth)
        n->max_depth = n->depth;
}

static HC_UNUSED void hc_cb_member(void *ud, enum gossip_event ev, const struct gossip_member *m)
{
    struct hc_node *n = ud;
    hc_enter(n);
    if (n->n_ev < HC_EV_MAX) {
        struct hc_ev *e = &n->ev[n->n_ev++];
        memset(e, 0, sizeof(*e));
        e->t = n->hc->now;
        e->id = m->id;
        e->generation = m->generation;
        e->version = m->version;
        e->event = (int)ev;
        e->state = (int)m->state;
        e->is_self = m->is_self;
        e->meta_len = m->meta_len;
        if (m->meta_len)
            memcpy(e->meta, m->meta, m->meta_len);
        memcpy(&e->addr, &m->addr, sizeof(e->addr));
    }
    if (n->on_member)
        n->on_member(n, ev, m);
    n->depth--;
}

static HC_UNUSED void hc_cb_user(void *ud, uint64_t origin, const void *data, size_t len)
{
    struct hc_node *n = ud;
    hc_enter(n);
    if (n->n_user < HC_USER_MAX) {
        n->user_origin[n->n_user] = origin;
        n->user_len[n->n_user] = len;
        memcpy(n->user_data[n->n_user], data, len < 64 ? len : 64);
        n->n_user++;
    }
    if (n->on_user)
        n->on_user(n, origin, data, len);
    n->depth--;
}

static HC_UNUSED void hc_cb_role(void *ud, const char *role, bool held)
{
    struct hc_node *n = ud;
    hc_enter(n);
    if (n->n_role_ev < 64)
        snprintf(n->role_ev[n->n_role_ev++], sizeof(n->role_ev[0]), "%c%s", held ? '+' : '-', role);
    n->depth--;
}

static HC_UNUSED void hc_cb_log(void *ud, enum gossip_log_level level, const char *msg)
{
    struct hc_node *n = ud;
    (void)level;
    if (getenv("HC_VERBOSE"))
        fprintf(stderr, "[t=%llu n%u] %s\n", (unsigned long long)n->hc->now, n->idx, msg);
    if (n->n_log < HC_LOG_MAX)
        snprintf(n->log[n->n_log], sizeof(n->log[0]), "%s", msg);
    n->n_log++;
}

/* Clusters still open when a test fails are freed by hc_teardown(). */
static struct hc *hc_open[8];

static HC_UNUSED struct hc *hc_new(void)
{
    struct hc *hc = calloc(1, sizeof(*hc));
    assert_non_null(hc);
    for (unsigned i = 0; i < 8; i++)
        if (!hc_open[i]) {
            hc_open[i] = hc;
            break;
        }
    hc->now = 1000;
    for (unsigned i = 0; i < HC_MAX; i++) {
        hc->node[i].hc = hc;
        hc->node[i].idx = i;
        hc->node[i].rng = 0x2545f4914f6cdd1dull * (i + 1);
    }
    return hc;
}

/* A config for node idx with this id, key A, seeded with node 0 (except
 * node 0 itself); the test may change it before hc_start(). */
static HC_UNUSED struct gossip_config *hc_config(struct hc *hc, unsigned idx, uint64_t id)
{
    struct hc_node *n = &hc->node[idx];
    struct gossip_config *c = &n->cfg;
    gossip_config_init(c);
    c->node_id = id;
    snprintf(c->bind_addr, sizeof(c->bind_addr), "10.0.0.%u", idx + 1);
    assert_int_equal(gossip_config_add_raw_key(c, KEY_A), 0);
    if (idx != 0) {
        snprintf(c->seeds[0], sizeof(c->seeds[0]), "10.0.0.1:%u", GOSSIP_DEFAULT_PORT);
        c->n_seeds = 1;
    }
    c->generation = 1000000 + 1000 * (uint64_t)idx;
    c->cb.ud = n;
    c->cb.member = hc_cb_member;
    c->cb.user_event = hc_cb_user;
    c->cb.log = hc_cb_log;
    c->cb.role = hc_cb_role;
    c->hooks.ctx = n;
    c->hooks.now_ms = hc_now;
    c->hooks.random = hc_random;
    c->hooks.send = hc_send;
    return c;
}

static HC_UNUSED void hc_start(struct hc *hc, unsigned idx)
{
    struct hc_node *n = &hc->node[idx];
    assert_null(n->g);
    assert_int_equal(gossip_create(&n->g, &n->cfg), 0);
    assert_non_null(n->g);
    assert_int_equal(gossip_fd(n->g), -1);
    n->deaf = n->frozen = false;
}

static HC_UNUSED void hc_stop(struct hc *hc, unsigned idx)
{
    struct hc_node *n = &hc->node[idx];
    gossip_destroy(n->g);
    n->g = NULL;
}

static HC_UNUSED void hc_free(struct hc *hc)
{
    for (unsigned i = 0; i < 8; i++)
        if (hc_open[i] == hc)
            hc_open[i] = NULL;
    for (unsigned i = 0; i < HC_MAX; i++)
        gossip_destroy(hc->node[i].g);
    hc_dlist_free(&hc->q);
    hc_dlist_free(&hc->rec);
    free(hc);
}

static HC_UNUSED int hc_teardown(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 8; i++)
        if (hc_open[i])
            hc_free(hc_open[i]);
    return 0;
}

static HC_UNUSED bool hc_live(const struct hc_node *n)
{
    return n->g && !n->deaf;
}

/* Feed one datagram to node `to` as if it came from node `from`'s address. */
static HC_UNUSED void hc_feed(struct hc *hc, unsigned from, unsigned to, const void *buf, size_t len)
{
    struct sockaddr_in a = hc_addr(from);
    assert_non_null(hc->node[to].g);
    assert_int_equal(gossip_feed(hc->node[to].g, (const struct sockaddr *)&a, sizeof(a), buf, len), 0);
}

/* Deliver everything in flight (and what that causes). */
static HC_UNUSED void hc_pump(struct hc *hc)
{
    for (unsigned guard = 0; hc->q_pos < hc->q.n; guard++) {
        assert_true(guard < 1000000);
        struct hc_dgram d = hc->q.v[hc->q_pos++];
        if (d.to < HC_MAX && hc_live(&hc->node[d.to])) {
            hc_feed(hc, d.from, d.to, d.buf, d.len);
            hc->delivered++;
            if (hc->dup && hc->node[d.to].g)
                hc_feed(hc, d.from, d.to, d.buf, d.len);
        }
    }
    hc_dlist_free(&hc->q);
    hc->q_pos = 0;
}

/* Drop whatever is in flight. */
static HC_UNUSED void hc_discard(struct hc *hc)
{
    hc_dlist_free(&hc->q);
    hc->q_pos = 0;
}

static HC_UNUSED void hc_tick_all(struct hc *hc)
{
    for (unsigned i = 0; i < HC_MAX; i++)
        if (hc->node[i].g && !hc->node[i].frozen && !hc->node[i].deaf)
            assert_int_equal(gossip_tick(hc->node[i].g), 0);
}

/* Run the cluster for ms of fake time, jumping from one timer to the next,
 * with instant delivery.  Checks gossip_next_timeout_ms() is never negative. */
static HC_UNUSED void hc_run(struct hc *hc, uint64_t ms)
{
    uint64_t end = hc->now + ms;
    unsigned zeros = 0;
    hc_pump(hc);
    for (;;) {
        int64_t t = INT32_MAX;
        for (unsigned i = 0; i < HC_MAX; i++) {
            struct hc_node *n = &hc->node[i];
            if (!n->g || n->frozen || n->deaf)
                continue;
            int to = gossip_next_timeout_ms(n->g);
            assert_true(to >= 0);
            if (to < t)
                t = to;
        }
        if (t == 0 && ++zeros > 50)
            t = 1; /* a timer that stays due must not stall the test */
        else if (t > 0)
            zeros = 0;
        if (hc->now + (uint64_t)t > end) {
            hc->now = end;
            hc_tick_all(hc);
            hc_pump(hc);
            return;
        }
        hc->now += (uint64_t)t;
        hc_tick_all(hc);
        hc_pump(hc);
    }
}

/* Events of one kind that node `obs` got about member `id` (id 0: any). */
static HC_UNUSED unsigned hc_count_ev(const struct hc_node *n, uint64_t id, int event)
{
    unsigned c = 0;
    for (unsigned i = 0; i < n->n_ev; i++)
        if ((id == 0 || n->ev[i].id == id) && n->ev[i].event == event)
            c++;
    return c;
}

static HC_UNUSED const struct hc_ev *hc_first_ev(const struct hc_node *n, uint64_t id, int event, uint64_t from_t)
{
    for (unsigned i = 0; i < n->n_ev; i++)
        if (n->ev[i].id == id && n->ev[i].event == event && n->ev[i].t >= from_t)
            return &n->ev[i];
    return NULL;
}

static HC_UNUSED unsigned hc_count_log(const struct hc_node *n, unsigned from, const char *needle)
{
    unsigned c = 0;
    for (unsigned i = from; i < n->n_log && i < HC_LOG_MAX; i++)
        if (strstr(n->log[i], needle))
            c++;
    return c;
}

/* Does node idx see member id in state st? */
static HC_UNUSED bool hc_sees(const struct hc *hc, unsigned idx, uint64_t id, enum gossip_state st)
{
    struct gossip_member m;
    return hc->node[idx].g && gossip_member_get(hc->node[idx].g, id, &m) == 0 && m.state == st;
}

/* Every started node sees every other started node alive. */
static HC_UNUSED bool hc_converged(const struct hc *hc)
{
    for (unsigned i = 0; i < HC_MAX; i++) {
        if (!hc->node[i].g)
            continue;
        for (unsigned j = 0; j < HC_MAX; j++)
            if (hc->node[j].g && !hc_sees(hc, i, hc->node[j].cfg.node_id, GOSSIP_ALIVE))
                return false;
    }
    return true;
}

/* Run until converged (fails after max_ms of fake time). */
static HC_UNUSED void hc_converge(struct hc *hc, uint64_t max_ms)
{
    uint64_t end = hc->now + max_ms;
    while (!hc_converged(hc)) {
        assert_true(hc->now < end);
        hc_run(hc, 50);
    }
}

/* ---- keyring tests ---------------------------------------------------------- */

#define ID0 0x1001u
#define ID1 0x2002u
#define ID2 0x3003u

static const uint64_t IDS[] = {ID0, ID1, ID2};

/* K1 = KEY_A (every hc_config() node starts with it), K2 = KEY_B. */
#define K1 KEY_A
#define K2 KEY_B

/* Two different keys with the same key id (found by a birthday search over
 * "libgossip-collide-%u", zero padded). */
static const uint8_t COLLIDE_A[GOSSIP_KEY_LEN] = "libgossip-collide-71861";
static const uint8_t COLLIDE_B[GOSSIP_KEY_LEN] = "libgossip-collide-159257";

static struct hc *cluster(unsigned n)
{
    struct hc *hc = hc_new();
    for (unsigned i = 0; i < n; i++)
        hc_config(hc, i, IDS[i]);
    for (unsigned i = 0; i < n; i++)
        hc_start(hc, i);
    hc_converge(hc, 20000);
    return hc;
}

static void hex_id(char out[9], uint32_t id)
{
    snprintf(out, 9, "%08x", id);
}

/* No node of the first n has seen a suspicion or failure, or dropped a
 * datagram for its key or authentication. */
static void assert_no_false_failure(const struct hc *hc, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct hc_node *nd = &hc->node[i];
        assert_int_equal(hc_count_ev(nd, 0, GOSSIP_EVENT_SUSPECT), 0);
        assert_int_equal(hc_count_ev(nd, 0, GOSSIP_EVENT_FAILED), 0);
        assert_int_equal(hc_count_ev(nd, 0, GOSSIP_EVENT_LEFT), 0);
        struct gossip_stats st;
        assert_int_equal(gossip_stats_get(nd->g, &st), 0);
        assert_int_equal(st.drop_key, 0);
        assert_int_equal(st.drop_auth, 0);
        assert_int_equal(st.suspicions, 0);
        assert_int_equal(st.failures, 0);
    }
    assert_true(hc_converged(hc));
}

static void assert_keys(gossip_t *g, const uint32_t *want, int n)
{
    uint32_t ids[GOSSIP_MAX_KEYS + 1];
    memset(ids, 0xee, sizeof ids);
    assert_int_equal(gossip_key_list(g, ids, GOSSIP_MAX_KEYS + 1), n);
    for (int i = 0; i < n; i++)
        assert_int_equal(ids[i], want[i]);
    assert_int_equal(ids[n], 0xeeeeeeeeu);
}

/* The documented procedure, one node at a time with traffic in between:
 * install K2 everywhere, seal with K2 everywhere, remove K1 everywhere.
 * Checked after every single step. */
static void rotate(struct hc *hc, unsigned n, uint64_t settle_ms)
{
    const uint32_t k1 = gossip_key_id(K1), k2 = gossip_key_id(K2);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(gossip_key_install(hc->node[i].g, K2), 0);
        assert_keys(hc->node[i].g, (const uint32_t[]){k1, k2}, 2);
        hc_run(hc, settle_ms);
        assert_no_false_failure(hc, n);
    }
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(gossip_key_use(hc->node[i].g, k2), 0);
        assert_keys(hc->node[i].g, (const uint32_t[]){k2, k1}, 2);
        hc_run(hc, settle_ms);
        assert_no_false_failure(hc, n);
    }
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(gossip_key_remove(hc->node[i].g, k1), 0);
        assert_keys(hc->node[i].g, (const uint32_t[]){k2}, 1);
        hc_run(hc, settle_ms);
        assert_no_false_failure(hc, n);
    }
}

static void test_rotation_live_cluster(void **state)
{
    (void)state;
    struct hc *hc = cluster(3);
    const uint32_t k1 = gossip_key_id(K1), k2 = gossip_key_id(K2);
    assert_true(k1 != k2);
    hc_run(hc, 5000);
    assert_no_false_failure(hc, 3);

    unsigned log0[3];
    for (unsigned i = 0; i < 3; i++)
        log0[i] = hc->node[i].n_log;
    /* settle 3 heartbeats per step: probes, acks and gossip flow under
     * every intermediate keyring */
    rotate(hc, 3, 3000);
    hc_run(hc, 30000); /* and long after: no late failure, no drop */
    assert_no_false_failure(hc, 3);

    /* every change was logged with the key id in hex */
    char h1[9], h2[9];
    hex_id(h1, k1);
    hex_id(h2, k2);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(hc_count_log(&hc->node[i], log0[i], "installed key id"), 1);
        assert_true(hc_count_log(&hc->node[i], log0[i], h2) >= 2);
        assert_int_equal(hc_count_log(&hc->node[i], log0[i], "removed key id"), 1);
        /* named as the sealing key on install, switched away from, removed */
        assert_int_equal(hc_count_log(&hc->node[i], log0[i], h1), 3);
        /* nothing was dropped, so no key-id error either */
        assert_int_equal(hc_count_log(&hc->node[i], log0[i], "not in this node's keyring"), 0);
        /* and the cluster keeps working: a broadcast still reaches all */
    }
    assert_int_equal(gossip_broadcast(hc->node[1].g, "after", 5), 0);
    hc_run(hc, 3000);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(hc->node[i].n_user, 1);
        assert_int_equal(hc->node[i].user_len[0], 5);
    }

    /* A second rotation back to K1 through the same calls works too. */
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(gossip_key_install(hc->node[i].g, K1), 0);
        hc_run(hc, 2000);
    }
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(gossip_key_use(hc->node[i].g, k1), 0);
        hc_run(hc, 2000);
    }
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(gossip_key_remove(hc->node[i].g, k2), 0);
        assert_keys(hc->node[i].g, (const uint32_t[]){k1}, 1);
        hc_run(hc, 2000);
    }
    hc_run(hc, 20000);
    assert_no_false_failure(hc, 3);
    hc_free(hc);
}

/* After the rotation, a node that seals with the removed key again (rolled
 * back by mistake): the others drop its datagrams as drop_key and log the
 * 8-hex-digit id of the key they cannot open. */
static void test_removed_key_dropped(void **state)
{
    (void)state;
    struct hc *hc = cluster(3);
    const uint32_t k1 = gossip_key_id(K1);
    rotate(hc, 3, 2000);
    hc_run(hc, 5000);
    assert_no_false_failure(hc, 3);

    unsigned log0 = hc->node[0].n_log, log2 = hc->node[2].n_log;
    assert_int_equal(gossip_key_install(hc->node[1].g, K1), 0);
    assert_int_equal(gossip_key_use(hc->node[1].g, k1), 0);
    hc_run(hc, 3000);

    char h1[9];
    hex_id(h1, k1);
    struct gossip_stats st0, st2;
    assert_int_equal(gossip_stats_get(hc->node[0].g, &st0), 0);
    assert_int_equal(gossip_stats_get(hc->node[2].g, &st2), 0);
    assert_true(st0.drop_key > 0);
    assert_true(st2.drop_key > 0);
    assert_int_equal(st0.drop_auth, 0); /* the id says why: never a trial decryption */
    for (unsigned k = 0; k < 2; k++) {
        const struct hc_node *nd = &hc->node[k ? 2 : 0];
        unsigned from = k ? log2 : log0, found = 0;
        for (unsigned i = from; i < nd->n_log && i < HC_LOG_MAX; i++)
            if (strstr(nd->log[i], "not in this node's keyring") && strstr(nd->log[i], h1))
                found++;
        assert_int_equal(found, 1); /* rate-limited: one line per 10 s */
    }
    hc_free(hc);
}

/* Node 2 never gets K2.  The others rotate; node 2 cannot open what they
 * seal from then on and says so, naming K2's id; once K1 is gone from the
 * others they drop node 2's datagrams, naming K1's id.  Each side sees the
 * other fail: node 2 is cut off loudly, not silently in its own cluster. */
static void test_missed_rotation(void **state)
{
    (void)state;
    struct hc *hc = cluster(3);
    const uint32_t k1 = gossip_key_id(K1), k2 = gossip_key_id(K2);
    unsigned log2 = hc->node[2].n_log, log0 = hc->node[0].n_log;
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(gossip_key_install(hc->node[i].g, K2), 0);
        hc_run(hc, 2000);
    }
    /* K2 installed on two nodes, sealing still with K1: nobody notices */
    assert_no_false_failure(hc, 3);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(gossip_key_use(hc->node[i].g, k2), 0);
        hc_run(hc, 2000);
    }
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(gossip_key_remove(hc->node[i].g, k1), 0);
        hc_run(hc, 2000);
    }
    hc_run(hc, 60000);

    char h1[9], h2[9];
    hex_id(h1, k1);
    hex_id(h2, k2);
    unsigned n2 = 0, n0 = 0;
    for (unsigned i = log2; i < hc->node[2].n_log && i < HC_LOG_MAX; i++)
        if (strstr(hc->node[2].log[i], "not in this node's keyring") && strstr(hc->node[2].log[i], h2))
            n2++;
    for (unsigned i = log0; i < hc->node[0].n_log && i < HC_LOG_MAX; i++)
        if (strstr(hc->node[0].log[i], "not in this node's keyring") && strstr(hc->node[0].log[i], h1))
            n0++;
    assert_true(n2 >= 1);
    assert_true(n0 >= 1);
    struct gossip_stats st;
    assert_int_equal(gossip_stats_get(hc->node[2].g, &st), 0);
    assert_true(st.drop_key > 0);

    /* node 2 sees both others fail; they see node 2 fail, and each other alive */
    assert_true(hc_sees(hc, 2, ID0, GOSSIP_FAILED));
    assert_true(hc_sees(hc, 2, ID1, GOSSIP_FAILED));
    assert_int_equal(hc_count_ev(&hc->node[2], ID0, GOSSIP_EVENT_FAILED), 1);
    assert_int_equal(hc_count_ev(&hc->node[2], ID1, GOSSIP_EVENT_FAILED), 1);
    for (unsigned i = 0; i < 2; i++) {
        assert_true(hc_sees(hc, i, ID2, GOSSIP_FAILED));
        assert_true(hc_sees(hc, i, IDS[1 - i], GOSSIP_ALIVE));
        /* While the others still open K1, node 2's accusations against
         * them (it hears nothing from them) can reach the other one as a
         * brief suspicion, refuted at once; never a failure. */
        assert_int_equal(hc_count_ev(&hc->node[i], IDS[1 - i], GOSSIP_EVENT_FAILED), 0);
    }
    assert_int_equal(gossip_member_count(hc->node[2].g, 1u << GOSSIP_ALIVE), 1);

    /* Installing the missing key heals it: node 2 hears the others again
     * and is back, seen alive by both (it still seals with K1, which they
     * no longer open, so it must switch too). */
    assert_int_equal(gossip_key_install(hc->node[2].g, K2), 0);
    assert_int_equal(gossip_key_use(hc->node[2].g, k2), 0);
    assert_int_equal(gossip_key_remove(hc->node[2].g, k1), 0);
    hc_converge(hc, 60000);
    hc_free(hc);
}

/* Every argument check and error code, the ordering rules, the log lines,
 * and the relation to the config (gossip_config_format() ids and
 * gossip_reconfigure()). */
static void test_errors_and_order(void **state)
{
    (void)state;
    struct hc *hc = hc_new();
    hc_config(hc, 0, ID0);
    hc_start(hc, 0);
    gossip_t *g = hc->node[0].g;
    struct hc_node *nd = &hc->node[0];
    const uint32_t k1 = gossip_key_id(K1), k2 = gossip_key_id(K2);

    /* gossip_key_id: the id gossip_config_format() shows */
    assert_int_equal(gossip_key_id(NULL), 0);
    assert_int_equal(gossip_key_id(K1), k1);
    {
        char buf[4096], want[32];
        assert_true(gossip_config_format(&nd->cfg, buf, sizeof buf) > 0);
        snprintf(want, sizeof want, "0x%08x", k1);
        assert_non_null(strstr(buf, want));
    }

    /* NULL arguments */
    uint32_t ids[GOSSIP_MAX_KEYS];
    assert_int_equal(gossip_key_install(NULL, K2), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_install(g, NULL), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_use(NULL, k1), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_remove(NULL, k1), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_list(NULL, ids, 8), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_list(g, NULL, 1), GOSSIP_EINVAL);
    assert_int_equal(gossip_key_list(g, NULL, 0), 1); /* count only */
    assert_keys(g, (const uint32_t[]){k1}, 1);

    /* not installed */
    unsigned l = nd->n_log;
    assert_int_equal(gossip_key_use(g, k2), GOSSIP_ENOTFOUND);
    assert_int_equal(gossip_key_remove(g, k2), GOSSIP_ENOTFOUND);
    char h1[9], h2[9];
    hex_id(h1, k1);
    hex_id(h2, k2);
    assert_int_equal(hc_count_log(nd, l, h2), 2);
    /* the only key seals: cannot go */
    assert_int_equal(gossip_key_remove(g, k1), GOSSIP_ESTATE);
    assert_int_equal(hc_count_log(nd, l, "switch to another key first"), 1);
    assert_keys(g, (const uint32_t[]){k1}, 1);
    /* using the primary again, installing an installed key: no-ops, not logged */
    l = nd->n_log;
    assert_int_equal(gossip_key_use(g, k1), 0);
    assert_int_equal(gossip_key_install(g, K1), 0);
    assert_int_equal(nd->n_log, l);
    assert_keys(g, (const uint32_t[]){k1}, 1);

    /* install appends as an opening key; logged at INFO with the id */
    assert_int_equal(gossip_key_install(g, K2), 0);
    assert_int_equal(hc_count_log(nd, l, "installed key id"), 1);
    assert_int_equal(hc_count_log(nd, l, h2), 1);
    assert_keys(g, (const uint32_t[]){k1, k2}, 2);
    assert_int_equal(gossip_key_install(g, K2), 0);
    assert_keys(g, (const uint32_t[]){k1, k2}, 2);

    /* a different key with an id already installed is refused */
    assert_true(gossip_key_id(COLLIDE_A) == gossip_key_id(COLLIDE_B));
    assert_memory_not_equal(COLLIDE_A, COLLIDE_B, GOSSIP_KEY_LEN);
    const uint32_t kc = gossip_key_id(COLLIDE_A);
    assert_int_equal(gossip_key_install(g, COLLIDE_A), 0);
    assert_int_equal(gossip_key_install(g, COLLIDE_B), GOSSIP_EINVAL);
    assert_keys(g, (const uint32_t[]){k1, k2, kc}, 3);

    /* fill up: 8 keys, then GOSSIP_EFULL; an installed key still a no-op */
    uint32_t all[GOSSIP_MAX_KEYS] = {k1, k2, kc};
    for (unsigned i = 3; i < GOSSIP_MAX_KEYS; i++) {
        uint8_t k[GOSSIP_KEY_LEN] = {0};
        snprintf((char *)k, sizeof k, "keyring-test-fill-%u", i);
        assert_int_equal(gossip_key_install(g, k), 0);
        all[i] = gossip_key_id(k);
    }
    assert_keys(g, all, GOSSIP_MAX_KEYS);
    {
        uint8_t k[GOSSIP_KEY_LEN] = "keyring-test-one-too-many";
        l = nd->n_log;
        assert_int_equal(gossip_key_install(g, k), GOSSIP_EFULL);
        assert_int_equal(hc_count_log(nd, l, "full"), 1);
        assert_int_equal(gossip_key_install(g, K2), 0);
        assert_keys(g, all, GOSSIP_MAX_KEYS);
    }
    /* a short list: the count of all, only max written */
    memset(ids, 0xee, sizeof ids);
    assert_int_equal(gossip_key_list(g, ids, 2), GOSSIP_MAX_KEYS);
    assert_int_equal(ids[0], k1);
    assert_int_equal(ids[1], k2);
    assert_int_equal(ids[2], 0xeeeeeeeeu);

    /* use: the chosen key first, the others in their order */
    assert_int_equal(gossip_key_use(g, kc), 0);
    assert_keys(g, (const uint32_t[]){kc, k1, k2, all[3], all[4], all[5], all[6], all[7]}, 8);
    assert_int_equal(gossip_key_use(g, all[7]), 0);
    assert_keys(g, (const uint32_t[]){all[7], kc, k1, k2, all[3], all[4], all[5], all[6]}, 8);
    /* remove: the others keep their order; the primary refused */
    assert_int_equal(gossip_key_remove(g, all[7]), GOSSIP_ESTATE);
    assert_int_equal(gossip_key_remove(g, k1), 0);
    assert_int_equal(gossip_key_remove(g, k1), GOSSIP_ENOTFOUND);
    assert_int_equal(gossip_key_remove(g, all[6]), 0);
    assert_keys(g, (const uint32_t[]){all[7], kc, k2, all[3], all[4], all[5]}, 6);
    /* a removed key can be installed again */
    assert_int_equal(gossip_key_install(g, K1), 0);
    assert_keys(g, (const uint32_t[]){all[7], kc, k2, all[3], all[4], all[5], k1}, 7);

    /* the node still works through all that */
    assert_int_equal(gossip_tick(g), 0);

    /* gossip_reconfigure() replaces the keyring with its config's */
    assert_int_equal(gossip_reconfigure(g, &nd->cfg), 0);
    assert_keys(g, (const uint32_t[]){k1}, 1);
    hc_free(hc);
}

/* A two-node cluster whose keyring is changed by gossip_reconfigure() and by
 * the key calls in turn: the two paths agree (install by call, switch by
 * reconfigure with [K2, K1], remove by call). */
static void test_mixed_with_reconfigure(void **state)
{
    (void)state;
    struct hc *hc = cluster(2);
    const uint32_t k1 = gossip_key_id(K1), k2 = gossip_key_id(K2);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(gossip_key_install(hc->node[i].g, K2), 0);
        hc_run(hc, 2000);
    }
    for (unsigned i = 0; i < 2; i++) {
        struct gossip_config c = hc->node[i].cfg;
        c.n_keys = 0;
        assert_int_equal(gossip_config_add_raw_key(&c, K2), 0);
        assert_int_equal(gossip_config_add_raw_key(&c, K1), 0);
        assert_int_equal(gossip_reconfigure(hc->node[i].g, &c), 0);
        assert_keys(hc->node[i].g, (const uint32_t[]){k2, k1}, 2);
        hc_run(hc, 2000);
    }
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(gossip_key_remove(hc->node[i].g, k1), 0);
        hc_run(hc, 2000);
    }
    hc_run(hc, 20000);
    assert_no_false_failure(hc, 2);
    hc_free(hc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_errors_and_order, hc_teardown),
        cmocka_unit_test_teardown(test_rotation_live_cluster, hc_teardown),
        cmocka_unit_test_teardown(test_removed_key_dropped, hc_teardown),
        cmocka_unit_test_teardown(test_missed_rotation, hc_teardown),
        cmocka_unit_test_teardown(test_mixed_with_reconfigure, hc_teardown),
    };
    return cmocka_run_group_tests_name("unit_keyring", tests, NULL, NULL);
}
