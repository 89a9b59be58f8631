/*
 * Public API behaviour (include/gossip.h), through real handles wired
 * together by their hooks: configuration defaults, creation errors, error
 * names, joining, the member queries, callback delivery rules, graceful
 * leave versus crash detection (timed on the fake clock), metadata,
 * exactly-once cluster events, roles, timers and statistics.
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

#define ID0 0x1001u
#define ID1 0x2002u
#define ID2 0x3003u

static const uint64_t IDS[] = {ID0, ID1, ID2};

static struct hc *cluster(unsigned n)
{
    struct hc *hc = hc_new();
    for (unsigned i = 0; i < n; i++)
        hc_config(hc, i, IDS[i]);
    return hc;
}

static void start_all(struct hc *hc, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        hc_start(hc, i);
    hc_converge(hc, 20000);
}

/* ---- configuration and creation ------------------------------------------ */

static void test_config_defaults(void **state)
{
    (void)state;
    struct gossip_config c;
    memset(&c, 0xa5, sizeof(c));
    gossip_config_init(&c);
    assert_int_equal(c.size, sizeof(c));
    assert_int_equal(c.bind_port, 1179);
    assert_int_equal(c.heartbeat_ms, 1000);
    assert_int_equal(c.n_roles, 5);
    const char *want[] = {"purge.stores", "purge.accounts", "acme.renew", "metrics.calculate", "metrics.push"};
    for (unsigned i = 0; i < 5; i++) {
        assert_string_equal(c.roles[i].name, want[i]);
        assert_int_equal(c.roles[i].n_nodes, 0);
        assert_int_equal(c.roles[i].flags, 0);
    }
    assert_string_equal(c.bind_addr, "");
    assert_string_equal(c.advertise_addr, "");
    assert_int_equal(c.n_keys, 0);
    assert_int_equal(c.n_seeds, 0);
    assert_int_equal(c.node_id, 0);
    assert_int_equal(c.max_datagram, 0);
    assert_int_equal(c.probe_timeout_ms, 0);
    assert_true(c.suspicion_mult == 0);
    assert_null(c.cb.log);
    assert_null(c.hooks.send);
    gossip_config_init(NULL); /* never fails */
}

struct logcap {
    char lines[8][256];
    unsigned n;
};

static void cap_log(void *ud, enum gossip_log_level lvl, const char *msg)
{
    struct logcap *l = ud;
    (void)lvl;
    if (l->n < 8)
        snprintf(l->lines[l->n], sizeof(l->lines[0]), "%s", msg);
    l->n++;
}

static void test_create_errors(void **state)
{
    (void)state;
    struct logcap lc;
    struct gossip_config c;
    gossip_t *g = (gossip_t *)&lc; /* must be reset to NULL on error */

    /* no bind address */
    memset(&lc, 0, sizeof(lc));
    gossip_config_init(&c);
    assert_int_equal(gossip_config_add_raw_key(&c, KEY_A), 0);
    c.cb.ud = &lc;
    c.cb.log = cap_log;
    assert_int_equal(gossip_create(&g, &c), GOSSIP_ENOBIND);
    assert_null(g);
    assert_int_equal(lc.n, 1);
    assert_non_null(strstr(lc.lines[0], "bind-addr"));

    /* no key */
    memset(&lc, 0, sizeof(lc));
    gossip_config_init(&c);
    snprintf(c.bind_addr, sizeof(c.bind_addr), "10.0.0.1");
    c.cb.ud = &lc;
    c.cb.log = cap_log;
    c.hooks.send = hc_send; /* never called */
    g = (gossip_t *)&lc;
    assert_int_equal(gossip_create(&g, &c), GOSSIP_ENOKEY);
    assert_null(g);
    assert_int_equal(lc.n, 1);
    assert_non_null(strstr(lc.lines[0], "key"));

    /* both missing: the bind address is reported first, and no log callback is fine */
    gossip_config_init(&c);
    assert_int_equal(gossip_create(&g, &c), GOSSIP_ENOBIND);
    assert_null(g);

    /* bad arguments */
    assert_int_equal(gossip_create(NULL, &c), GOSSIP_EINVAL);
    assert_int_equal(gossip_create(&g, NULL), GOSSIP_EINVAL);
    gossip_destroy(NULL);
}

static void test_strerror(void **state)
{
    (void)state;
    const int codes[] = {GOSSIP_OK, GOSSIP_EINVAL, GOSSIP_ENOMEM, GOSSIP_ENOBIND, GOSSIP_ENOKEY,
                         GOSSIP_EADDR, GOSSIP_ESOCKET, GOSSIP_ECRYPTO, GOSSIP_ENOTFOUND, GOSSIP_ETOOBIG,
                         GOSSIP_ESTATE, GOSSIP_EFULL, GOSSIP_ECONFIG, GOSSIP_EIO, GOSSIP_ERANGE};
    const size_t n = sizeof(codes) / sizeof(codes[0]);
    const char *unknown = gossip_strerror(12345);
    assert_non_null(unknown);
    assert_string_equal(unknown, gossip_strerror(-15));
    assert_string_equal(unknown, gossip_strerror(1));
    assert_string_equal(unknown, gossip_strerror(-1000000));
    for (size_t i = 0; i < n; i++) {
        const char *s = gossip_strerror(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 3);
        assert_string_not_equal(s, unknown);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, gossip_strerror(codes[j])); /* all distinct */
    }
    assert_non_null(strstr(gossip_strerror(GOSSIP_ENOBIND), "bind"));
    assert_non_null(strstr(gossip_strerror(GOSSIP_ENOKEY), "key"));
    /* the other name tables */
    assert_string_equal(gossip_state_name(GOSSIP_ALIVE), "alive");
    assert_string_equal(gossip_state_name(GOSSIP_LEFT), "left");
    assert_string_equal(gossip_state_name(4), "unknown");
    assert_string_equal(gossip_event_name(GOSSIP_EVENT_CONFLICT), "conflict");
    assert_string_equal(gossip_event_name(-1), "unknown");
}

/* ---- joining and queries ---------------------------------------------------- */

struct collect {
    uint64_t ids[16];
    unsigned n, stop_after;
    unsigned selves;
};

static int collect_fn(void *ud, const struct gossip_member *m)
{
    struct collect *c = ud;
    if (c->n < 16)
        c->ids[c->n] = m->id;
    c->n++;
    c->selves += m->is_self;
    return c->stop_after && c->n >= c->stop_after ? 77 : 0;
}

static void test_two_nodes_join(void **state)
{
    (void)state;
    struct hc *hc = cluster(2);
    hc_start(hc, 0);
    hc_start(hc, 1);
    /* before anything ran each knows only itself */
    assert_int_equal(gossip_member_count(hc->node[0].g, GOSSIP_STATES_ALL), 1);
    assert_int_equal(gossip_member_get(hc->node[0].g, ID1, &(struct gossip_member){0}), GOSSIP_ENOTFOUND);
    hc_converge(hc, 5000);
    assert_true(hc->now < 1000 + 3000); /* joined within a few heartbeats */
    hc_run(hc, 5000);

    for (unsigned i = 0; i < 2; i++) {
        gossip_t *g = hc->node[i].g;
        uint64_t self = IDS[i], other = IDS[1 - i];
        assert_true(gossip_self_id(g) == self);
        /* exactly one JOIN for the other, none for itself, nothing bad */
        assert_int_equal(hc_count_ev(&hc->node[i], other, GOSSIP_EVENT_JOIN), 1);
        assert_int_equal(hc_count_ev(&hc->node[i], self, GOSSIP_EVENT_JOIN), 0);
        assert_int_equal(hc_count_ev(&hc->node[i], 0, GOSSIP_EVENT_SUSPECT), 0);
        assert_int_equal(hc_count_ev(&hc->node[i], 0, GOSSIP_EVENT_FAILED), 0);
        const struct hc_ev *je = hc_first_ev(&hc->node[i], other, GOSSIP_EVENT_JOIN, 0);
        assert_int_equal(je->state, GOSSIP_ALIVE);
        assert_false(je->is_self);
        assert_true(je->generation == hc->node[1 - i].cfg.generation);

        struct gossip_member m;
        assert_int_equal(gossip_member_get(g, other, &m), 0);
        assert_true(m.id == other);
        assert_int_equal(m.state, GOSSIP_ALIVE);
        assert_false(m.is_self);
        assert_true(m.generation == hc->node[1 - i].cfg.generation);
        assert_int_equal(m.addr.ss_family, AF_INET);
        struct sockaddr_in want = hc_addr(1 - i), *got = (struct sockaddr_in *)&m.addr;
        assert_int_equal(m.addr_len, sizeof(struct sockaddr_in));
        assert_int_equal(got->sin_addr.s_addr, want.sin_addr.s_addr);
        assert_int_equal(got->sin_port, want.sin_port);
        assert_null(m.meta);
        assert_int_equal(m.meta_len, 0);

        assert_int_equal(gossip_member_get(g, self, &m), 0);
        assert_true(m.is_self);
        assert_int_equal(m.state, GOSSIP_ALIVE);
        assert_true(m.generation == hc->node[i].cfg.generation);
        assert_int_equal(gossip_member_get(g, 0x9999, &m), GOSSIP_ENOTFOUND);
        assert_int_equal(gossip_member_get(g, self, NULL), GOSSIP_EINVAL);

        assert_int_equal(gossip_member_count(g, GOSSIP_STATES_ALL), 2);
        assert_int_equal(gossip_member_count(g, 1u << GOSSIP_ALIVE), 2);
        assert_int_equal(gossip_member_count(g, 1u << GOSSIP_SUSPECT | 1u << GOSSIP_FAILED | 1u << GOSSIP_LEFT), 0);
        assert_int_equal(gossip_member_count(g, 0), 0);

        struct collect c = {0};
        assert_int_equal(gossip_member_foreach(g, collect_fn, &c), 0);
        assert_int_equal(c.n, 2);
        assert_int_equal(c.selves, 1);
        assert_true((c.ids[0] == self && c.ids[1] == other) || (c.ids[0] == other && c.ids[1] == self));
        struct collect early = {.stop_after = 1};
        assert_int_equal(gossip_member_foreach(g, collect_fn, &early), 77);
        assert_int_equal(early.n, 1);
        assert_int_equal(gossip_member_foreach(g, NULL, NULL), GOSSIP_EINVAL);

        struct gossip_stats st;
        assert_int_equal(gossip_stats_get(g, &st), 0);
        assert_true(st.sent_datagrams > 0 && st.sent_bytes > st.sent_datagrams * 46);
        assert_true(st.recv_datagrams > 0 && st.recv_bytes > 0);
        assert_true(st.probes > 0);
        assert_int_equal(st.joins, 1);
        assert_int_equal(st.drop_auth + st.drop_key + st.drop_replay + st.drop_malformed + st.drop_short, 0);
        assert_int_equal(st.suspicions, 0);
        assert_int_equal(st.failures, 0);
        assert_int_equal(st.send_errors, 0);
        assert_int_equal(gossip_stats_get(g, NULL), GOSSIP_EINVAL);

        /* callbacks never nested */
        assert_int_equal(hc->node[i].max_depth, 1);
    }
    /* counters move */
    struct gossip_stats a, b;
    gossip_stats_get(hc->node[0].g, &a);
    hc_run(hc, 10000);
    gossip_stats_get(hc->node[0].g, &b);
    assert_true(b.probes >= a.probes + 8);
    assert_true(b.sent_datagrams > a.sent_datagrams);
    assert_true(b.recv_datagrams > a.recv_datagrams);
    assert_true(b.recv_bytes > a.recv_bytes);
    hc_free(hc);
}

/* ---- callbacks: never re-entrant ------------------------------------------- */

static size_t count_in_cb;
static int broadcast_rc = 99;
static unsigned user_before_return, member_cb_done;

static void reentrant_member(struct hc_node *n, enum gossip_event ev, const struct gossip_member *m)
{
    if (ev != GOSSIP_EVENT_JOIN || m->id != ID1)
        return;
    count_in_cb = gossip_member_count(n->g, GOSSIP_STATES_ALL);
    unsigned before = n->n_user;
    broadcast_rc = gossip_broadcast(n->g, "from-callback", 13);
    user_before_return = n->n_user - before; /* must be 0: delivered later */
    member_cb_done = 1;
}

static void reentrant_user(struct hc_node *n, uint64_t origin, const void *data, size_t len)
{
    (void)data;
    (void)len;
    if (origin == ID0 && n->idx == 0)
        assert_int_equal(member_cb_done, 1); /* after the member callback returned */
    assert_int_equal(n->depth, 1);
}

static void test_callbacks_not_reentrant(void **state)
{
    (void)state;
    struct hc *hc = cluster(2);
    hc->node[0].on_member = reentrant_member;
    hc->node[0].on_user = reentrant_user;
    hc->node[1].on_user = reentrant_user;
    start_all(hc, 2);
    hc_run(hc, 3000);
    assert_int_equal(member_cb_done, 1);
    assert_int_equal(broadcast_rc, 0);
    assert_int_equal(count_in_cb, 2); /* the state was consistent inside the callback */
    assert_int_equal(user_before_return, 0);
    /* the event reached both nodes, once each */
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(hc->node[i].n_user, 1);
        assert_true(hc->node[i].user_origin[0] == ID0);
        assert_int_equal(hc->node[i].user_len[0], 13);
        assert_memory_equal(hc->node[i].user_data[0], "from-callback", 13);
        assert_int_equal(hc->node[i].max_depth, 1);
    }
    hc_free(hc);
}

/* ---- leave and crash -------------------------------------------------------- */

static void test_leave_reported_as_left(void **state)
{
    (void)state;
    struct hc *hc = cluster(2);
    start_all(hc, 2);
    hc_run(hc, 2000);
    gossip_t *g1 = hc->node[1].g;
    assert_false(gossip_leave_done(g1));
    uint64_t t0 = hc->now;
    assert_int_equal(gossip_leave(g1), 0);
    assert_int_equal(gossip_leave(g1), 0); /* idempotent */
    assert_int_equal(gossip_set_meta(g1, "x", 1), GOSSIP_ESTATE);
    assert_int_equal(gossip_broadcast(g1, "x", 1), GOSSIP_ESTATE);
    hc_run(hc, 1000); /* grace period: one heartbeat */
    assert_true(gossip_leave_done(g1));
    struct gossip_member m;
    assert_int_equal(gossip_member_get(g1, ID1, &m), 0);
    assert_int_equal(m.state, GOSSIP_LEFT);
    assert_true(hc_sees(hc, 0, ID1, GOSSIP_LEFT));
    const struct hc_ev *e = hc_first_ev(&hc->node[0], ID1, GOSSIP_EVENT_LEFT, t0);
    assert_non_null(e);
    assert_true(e->t - t0 <= 1000);
    assert_int_equal(e->state, GOSSIP_LEFT);
    hc_stop(hc, 1);
    hc_run(hc, 120000); /* two minutes without it */
    assert_true(hc_sees(hc, 0, ID1, GOSSIP_LEFT));
    assert_int_equal(hc_count_ev(&hc->node[0], ID1, GOSSIP_EVENT_LEFT), 1);
    assert_int_equal(hc_count_ev(&hc->node[0], ID1, GOSSIP_EVENT_FAILED), 0);
    assert_int_equal(hc_count_ev(&hc->node[0], ID1, GOSSIP_EVENT_SUSPECT), 0);
    struct gossip_stats st;
    gossip_stats_get(hc->node[0].g, &st);
    assert_int_equal(st.leaves, 1);
    assert_int_equal(st.failures, 0);
    assert_int_equal(gossip_member_count(hc->node[0].g, 1u << GOSSIP_LEFT), 1);
    assert_int_equal(gossip_member_count(hc->node[0].g, 1u << GOSSIP_ALIVE), 1);
    hc_free(hc);
}

static void test_crash_detected_in_time(void **state)
{
    (void)state;
    struct hc *hc = cluster(2);
    start_all(hc, 2);
    hc_run(hc, 5000);
    struct gossip_stats st;
    gossip_stats_get(hc->node[0].g, &st);
    assert_int_equal(st.awareness, 0);
    uint64_t t0 = hc->now;
    hc->node[1].deaf = true; /* crash: no ticks, nothing delivered */
    hc_run(hc, 10000);
    const struct hc_ev *s = hc_first_ev(&hc->node[0], ID1, GOSSIP_EVENT_SUSPECT, t0);
    const struct hc_ev *f = hc_first_ev(&hc->node[0], ID1, GOSSIP_EVENT_FAILED, t0);
    assert_non_null(s);
    assert_non_null(f);
    /* the next probe goes out within one heartbeat; suspect after the direct
     * (200 ms) and indirect (400 ms) timeouts */
    uint64_t ds = s->t - t0;
    assert_true(ds > 600 && ds <= 1000 + 600);
    /* suspicion: max(heartbeat, 1.5 * log10(2 + 1) * heartbeat) = 1000 ms
     * (715 ms is below the floor), and with two nodes there is nobody to
     * confirm (k = 0): it runs for exactly the minimum */
    assert_int_equal(f->t - s->t, 1000);
    assert_int_equal(s->state, GOSSIP_SUSPECT);
    assert_int_equal(f->state, GOSSIP_FAILED);
    assert_true(hc_sees(hc, 0, ID1, GOSSIP_FAILED));
    assert_int_equal(hc_count_ev(&hc->node[0], ID1, GOSSIP_EVENT_LEFT), 0);
    gossip_stats_get(hc->node[0].g, &st);
    assert_int_equal(st.suspicions, 1);
    assert_int_equal(st.failures, 1);
    hc_free(hc);
}

/* ---- metadata ----------------------------------------------------------------- */

static void test_set_meta(void **state)
{
    (void)state;
    struct hc *hc = cluster(2);
    hc_config(hc, 1, ID1)->max_meta = 16;
    start_all(hc, 2);
    gossip_t *g0 = hc->node[0].g;
    struct gossip_member m;
    assert_int_equal(gossip_member_get(g0, ID0, &m), 0);
    uint32_t v0 = m.version;
    uint8_t meta[] = {'d', 'c', '=', 'e', 'u', 0, 0xff, '1'}; /* binary-safe */
    uint64_t t0 = hc->now;
    assert_int_equal(gossip_set_meta(g0, meta, sizeof(meta)), 0);
    assert_int_equal(gossip_member_get(g0, ID0, &m), 0);
    assert_int_equal(m.meta_len, sizeof(meta));
    assert_memory_equal(m.meta, meta, sizeof(meta));
    assert_true(m.version > v0);
    hc_run(hc, 2000);
    assert_int_equal(gossip_member_get(hc->node[1].g, ID0, &m), 0);
    assert_int_equal(m.meta_len, sizeof(meta));
    assert_memory_equal(m.meta, meta, sizeof(meta));
    assert_true(m.version > v0);
    assert_int_equal(m.state, GOSSIP_ALIVE);
    const struct hc_ev *e = hc_first_ev(&hc->node[1], ID0, GOSSIP_EVENT_UPDATE, t0);
    assert_non_null(e);
    assert_int_equal(e->meta_len, sizeof(meta));
    assert_memory_equal(e->meta, meta, sizeof(meta));
    assert_int_equal(hc_count_ev(&hc->node[1], ID0, GOSSIP_EVENT_UPDATE), 1);

    /* clearing it is an update too */
    t0 = hc->now;
    assert_int_equal(gossip_set_meta(g0, NULL, 0), 0);
    hc_run(hc, 2000);
    assert_int_equal(gossip_member_get(hc->node[1].g, ID0, &m), 0);
    assert_int_equal(m.meta_len, 0);
    assert_null(m.meta);
    assert_non_null(hc_first_ev(&hc->node[1], ID0, GOSSIP_EVENT_UPDATE, t0));

    /* limits: max_meta default 128, node 1 configured with 16 */
    uint8_t big[256];
    memset(big, 'm', sizeof(big));
    assert_int_equal(gossip_set_meta(g0, big, 129), GOSSIP_ETOOBIG);
    assert_int_equal(gossip_set_meta(g0, big, 256), GOSSIP_ETOOBIG);
    assert_int_equal(gossip_set_meta(g0, big, 128), 0);
    assert_int_equal(gossip_set_meta(hc->node[1].g, big, 17), GOSSIP_ETOOBIG);
    assert_int_equal(gossip_set_meta(hc->node[1].g, big, 16), 0);
    assert_int_equal(gossip_set_meta(g0, NULL, 3), GOSSIP_EINVAL);
    /* a refused call changed nothing */
    assert_int_equal(gossip_member_get(g0, ID0, &m), 0);
    assert_int_equal(m.meta_len, 128);
    hc_free(hc);
}

/* ---- cluster events ------------------------------------------------------------ */

static unsigned count_user(const struct hc_node *n, uint64_t origin, const char *text)
{
    unsigned c = 0;
    for (unsigned i = 0; i < n->n_user; i++)
        if (n->user_origin[i] == origin && n->user_len[i] == strlen(text) &&
            memcmp(n->user_data[i], text, strlen(text)) == 0)
            c++;
    return c;
}

static void test_broadcast_exactly_once(void **state)
{
    (void)state;
    struct hc *hc = cluster(3);
    start_all(hc, 3);
    assert_int_equal(gossip_broadcast(hc->node[1].g, "hello", 5), 0);
    /* the sender's own callback ran before the call returned */
    assert_int_equal(count_user(&hc->node[1], ID1, "hello"), 1);
    hc_run(hc, 5000);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(count_user(&hc->node[i], ID1, "hello"), 1);
        assert_int_equal(hc->node[i].n_user, 1);
        struct gossip_stats st;
        gossip_stats_get(hc->node[i].g, &st);
        assert_int_equal(st.events_delivered, 1);
    }

    /* every datagram fed twice from now on */
    struct gossip_stats before[3], after;
    for (unsigned i = 0; i < 3; i++)
        gossip_stats_get(hc->node[i].g, &before[i]);
    hc->dup = true;
    assert_int_equal(gossip_broadcast(hc->node[2].g, "again", 5), 0);
    assert_int_equal(gossip_broadcast(hc->node[0].g, "third", 5), 0);
    hc_run(hc, 5000);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(count_user(&hc->node[i], ID2, "again"), 1);
        assert_int_equal(count_user(&hc->node[i], ID0, "third"), 1);
        assert_int_equal(hc->node[i].n_user, 3);
        gossip_stats_get(hc->node[i].g, &after);
        assert_true(after.drop_replay > before[i].drop_replay); /* the copies were refused */
        assert_int_equal(after.events_delivered, 3);
    }
    hc->dup = false;

    /* limits */
    uint8_t big[600];
    memset(big, 'e', sizeof(big));
    assert_int_equal(gossip_broadcast(hc->node[0].g, big, 513), GOSSIP_ETOOBIG);
    assert_int_equal(gossip_broadcast(hc->node[0].g, big, 0), GOSSIP_EINVAL);
    assert_int_equal(gossip_broadcast(hc->node[0].g, NULL, 4), GOSSIP_EINVAL);
    assert_int_equal(gossip_broadcast(hc->node[0].g, big, 512), 0);
    hc_run(hc, 5000);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(hc->node[i].n_user, 4);
    hc_free(hc);
}

/* ---- roles ------------------------------------------------------------------------ */

static void test_roles(void **state)
{
    (void)state;
    struct hc *hc = cluster(3);
    const uint64_t listed[] = {ID1};
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(gossip_config_set_role(&hc->node[i].cfg, "db.primary", listed, 1, 0), 0);
    start_all(hc, 3);
    hc_run(hc, 2000);
    uint64_t ids[8];
    for (unsigned i = 0; i < 3; i++) {
        gossip_t *g = hc->node[i].g;
        assert_int_equal(gossip_role_held(g, "db.primary"), i == 1);
        memset(ids, 0, sizeof(ids));
        assert_int_equal(gossip_role_holders(g, "db.primary", ids, 8), 1);
        assert_true(ids[0] == ID1);
        /* a default role without a list: everybody, ascending */
        assert_int_equal(gossip_role_held(g, "purge.stores"), 1);
        assert_int_equal(gossip_role_holders(g, "purge.stores", ids, 8), 3);
        assert_true(ids[0] == ID0 && ids[1] == ID1 && ids[2] == ID2);
        /* a short buffer gets the smallest ids, the count stays */
        assert_int_equal(gossip_role_holders(g, "purge.stores", ids, 1), 3);
        assert_true(ids[0] == ID0);
        assert_int_equal(gossip_role_holders(g, "purge.stores", NULL, 0), 3);
        assert_int_equal(gossip_role_held(g, "no.such.role"), GOSSIP_ENOTFOUND);
        assert_int_equal(gossip_role_holders(g, "no.such.role", ids, 8), GOSSIP_ENOTFOUND);
        assert_int_equal(gossip_role_held(g, NULL), GOSSIP_ENOTFOUND);
        /* role callback: purge.stores announced once; the last word on
         * db.primary matches gossip_role_held().  (A node that has not yet
         * heard of the listed node may take db.primary over for a moment
         * at start-up: it is alone in its view, so failover applies.) */
        unsigned plus_purge = 0;
        int last_db = 0;
        for (unsigned k = 0; k < hc->node[i].n_role_ev; k++) {
            if (strcmp(hc->node[i].role_ev[k] + 1, "db.primary") == 0)
                last_db = hc->node[i].role_ev[k][0] == '+' ? 1 : -1;
            plus_purge += strcmp(hc->node[i].role_ev[k], "+purge.stores") == 0;
        }
        if (getenv("HC_VERBOSE"))
            for (unsigned k = 0; k < hc->node[i].n_role_ev; k++)
                fprintf(stderr, "node %u role event %s\n", i, hc->node[i].role_ev[k]);
        assert_int_equal(last_db, i == 1 ? 1 : (last_db == 0 ? 0 : -1));
        assert_int_equal(plus_purge, 1);
    }
    /* the listed node crashes: after it is declared failed one live node
     * takes over, the same one in both views */
    hc->node[1].deaf = true;
    hc_run(hc, 15000);
    assert_true(hc_sees(hc, 0, ID1, GOSSIP_FAILED));
    assert_true(hc_sees(hc, 2, ID1, GOSSIP_FAILED));
    uint64_t a[8], b[8];
    assert_int_equal(gossip_role_holders(hc->node[0].g, "db.primary", a, 8), 1);
    assert_int_equal(gossip_role_holders(hc->node[2].g, "db.primary", b, 8), 1);
    assert_true(a[0] == b[0]);
    assert_true(a[0] == ID0 || a[0] == ID2);
    assert_int_equal(gossip_role_held(hc->node[0].g, "db.primary") + gossip_role_held(hc->node[2].g, "db.primary"), 1);
    unsigned winner = a[0] == ID0 ? 0 : 2;
    assert_string_equal(hc->node[winner].role_ev[hc->node[winner].n_role_ev - 1], "+db.primary");
    assert_int_equal(gossip_role_holders(hc->node[0].g, "purge.stores", a, 8), 2);
    hc_free(hc);
}

/* ---- timers ------------------------------------------------------------------------ */

static void test_next_timeout(void **state)
{
    (void)state;
    struct hc *hc = hc_new();
    hc_config(hc, 0, ID0);
    hc_start(hc, 0);
    gossip_t *g = hc->node[0].g;
    int t = gossip_next_timeout_ms(g);
    assert_true(t >= 0 && t <= 1000);
    /* long overdue without a tick: 0, not negative */
    hc->now += 7ull * 24 * 3600 * 1000;
    assert_int_equal(gossip_next_timeout_ms(g), 0);
    assert_int_equal(gossip_tick(g), 0);
    t = gossip_next_timeout_ms(g);
    assert_true(t > 0 && t <= 1000);
    /* and across a normal run (hc_run asserts >= 0 at every step) */
    hc_run(hc, 60000);
    assert_true(gossip_next_timeout_ms(g) >= 0);
    assert_int_equal(gossip_next_timeout_ms(NULL), 0);
    assert_int_equal(gossip_tick(NULL), GOSSIP_EINVAL);
    hc_free(hc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_config_defaults, hc_teardown),
        cmocka_unit_test_teardown(test_create_errors, hc_teardown),
        cmocka_unit_test_teardown(test_strerror, hc_teardown),
        cmocka_unit_test_teardown(test_two_nodes_join, hc_teardown),
        cmocka_unit_test_teardown(test_callbacks_not_reentrant, hc_teardown),
        cmocka_unit_test_teardown(test_leave_reported_as_left, hc_teardown),
        cmocka_unit_test_teardown(test_crash_detected_in_time, hc_teardown),
        cmocka_unit_test_teardown(test_set_meta, hc_teardown),
        cmocka_unit_test_teardown(test_broadcast_exactly_once, hc_teardown),
        cmocka_unit_test_teardown(test_roles, hc_teardown),
        cmocka_unit_test_teardown(test_next_timeout, hc_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
