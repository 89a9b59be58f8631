/* The hook cluster: see hc.h. */
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

#include "hc.h"

const uint8_t KEY_A[GOSSIP_KEY_LEN] = "libgossip-test-key-A-32-bytes!!";
const uint8_t KEY_B[GOSSIP_KEY_LEN] = "libgossip-test-key-B-32-bytes!!";
const uint64_t IDS[HC_N_IDS] = {ID0, ID1, ID2, ID3};

struct sockaddr_in hc_addr(unsigned idx)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(GOSSIP_DEFAULT_PORT);
    a.sin_addr.s_addr = htonl(0x0a000000u + idx + 1);
    return a;
}

static unsigned hc_index_of(const struct sockaddr *sa)
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

static uint64_t hc_now(void *ctx)
{
    return ((struct hc_node *)ctx)->hc->now;
}

static void hc_random(void *ctx, void *buf, size_t len)
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

static void hc_push(struct hc_dlist *l, unsigned from, unsigned to, const void *buf, size_t len, uint64_t t)
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

void hc_dlist_free(struct hc_dlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].buf);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

int hc_send(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf, size_t len)
{
    struct hc_node *n = ctx;
    (void)to_len;
    unsigned dst = hc_index_of(to);
    hc_push(&n->hc->q, n->idx, dst, buf, len, n->hc->now);
    if (n->hc->recording)
        hc_push(&n->hc->rec, n->idx, dst, buf, len, n->hc->now);
    return 0;
}

static void hc_enter(struct hc_node *n)
{
    if (++n->depth > n->max_depth)
        n->max_depth = n->depth;
}

static void hc_cb_member(void *ud, enum gossip_event ev, const struct gossip_member *m)
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

static void hc_cb_user(void *ud, uint64_t origin, const void *data, size_t len)
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

static void hc_cb_role(void *ud, const char *role, bool held)
{
    struct hc_node *n = ud;
    hc_enter(n);
    if (n->n_role_ev < 64)
        snprintf(n->role_ev[n->n_role_ev++], sizeof(n->role_ev[0]), "%c%s", held ? '+' : '-', role);
    if (n->on_role)
        n->on_role(n, role, held);
    n->depth--;
}

static void hc_cb_log(void *ud, enum gossip_log_level level, const char *msg)
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

struct hc *hc_new(void)
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
struct gossip_config *hc_config(struct hc *hc, unsigned idx, uint64_t id)
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

void hc_start(struct hc *hc, unsigned idx)
{
    struct hc_node *n = &hc->node[idx];
    assert_null(n->g);
    assert_int_equal(gossip_create(&n->g, &n->cfg), 0);
    assert_non_null(n->g);
    assert_int_equal(gossip_fd(n->g), -1);
    n->deaf = n->frozen = false;
}

void hc_stop(struct hc *hc, unsigned idx)
{
    struct hc_node *n = &hc->node[idx];
    gossip_destroy(n->g);
    n->g = NULL;
}

void hc_free(struct hc *hc)
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

int hc_teardown(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 8; i++)
        if (hc_open[i])
            hc_free(hc_open[i]);
    return 0;
}

static bool hc_live(const struct hc_node *n)
{
    return n->g && !n->deaf;
}

/* Feed one datagram to node `to` as if it came from node `from`'s address. */
void hc_feed(struct hc *hc, unsigned from, unsigned to, const void *buf, size_t len)
{
    struct sockaddr_in a = hc_addr(from);
    assert_non_null(hc->node[to].g);
    assert_int_equal(gossip_feed(hc->node[to].g, (const struct sockaddr *)&a, sizeof(a), buf, len), 0);
}

/* Deliver everything in flight (and what that causes). */
void hc_pump(struct hc *hc)
{
    for (unsigned guard = 0; hc->q_pos < hc->q.n; guard++) {
        assert_true(guard < 1000000);
        struct hc_dgram d = hc->q.v[hc->q_pos++];
        if (d.to < HC_MAX && hc_live(&hc->node[d.to]) && !(d.from < HC_MAX && hc->cut[d.from][d.to]) &&
            !(hc->lose && hc->lose(hc, &d))) {
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
void hc_discard(struct hc *hc)
{
    hc_dlist_free(&hc->q);
    hc->q_pos = 0;
}

void hc_tick_all(struct hc *hc)
{
    for (unsigned i = 0; i < HC_MAX; i++)
        if (hc->node[i].g && !hc->node[i].frozen && !hc->node[i].deaf)
            assert_int_equal(gossip_tick(hc->node[i].g), 0);
}

int hc_next_timeout(struct hc *hc)
{
    int t = INT32_MAX;
    for (unsigned i = 0; i < HC_MAX; i++) {
        struct hc_node *n = &hc->node[i];
        if (!n->g || n->frozen || n->deaf)
            continue;
        int to = gossip_next_timeout_ms(n->g);
        assert_true(to >= 0);
        if (to < t)
            t = to;
    }
    return t;
}

/* Run the cluster for ms of fake time, jumping from one timer to the next,
 * with instant delivery.  Checks gossip_next_timeout_ms() is never negative. */
void hc_run(struct hc *hc, uint64_t ms)
{
    uint64_t end = hc->now + ms;
    unsigned zeros = 0;
    hc_pump(hc);
    for (;;) {
        int64_t t = hc_next_timeout(hc);
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
unsigned hc_count_ev(const struct hc_node *n, uint64_t id, int event)
{
    unsigned c = 0;
    for (unsigned i = 0; i < n->n_ev; i++)
        if ((id == 0 || n->ev[i].id == id) && n->ev[i].event == event)
            c++;
    return c;
}

const struct hc_ev *hc_first_ev(const struct hc_node *n, uint64_t id, int event, uint64_t from_t)
{
    for (unsigned i = 0; i < n->n_ev; i++)
        if (n->ev[i].id == id && n->ev[i].event == event && n->ev[i].t >= from_t)
            return &n->ev[i];
    return NULL;
}

unsigned hc_count_log(const struct hc_node *n, unsigned from, const char *needle)
{
    unsigned c = 0;
    for (unsigned i = from; i < n->n_log && i < HC_LOG_MAX; i++)
        if (strstr(n->log[i], needle))
            c++;
    return c;
}

/* Does node idx see member id in state st? */
bool hc_sees(const struct hc *hc, unsigned idx, uint64_t id, enum gossip_state st)
{
    struct gossip_member m;
    return hc->node[idx].g && gossip_member_get(hc->node[idx].g, id, &m) == 0 && m.state == st;
}

/* Every started node sees every other started node alive. */
bool hc_converged(const struct hc *hc)
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
void hc_converge(struct hc *hc, uint64_t max_ms)
{
    uint64_t end = hc->now + max_ms;
    while (!hc_converged(hc)) {
        assert_true(hc->now < end);
        hc_run(hc, 50);
    }
}

struct hc *hc_cluster(unsigned n)
{
    assert_true(n <= HC_N_IDS);
    struct hc *hc = hc_new();
    for (unsigned i = 0; i < n; i++)
        hc_config(hc, i, IDS[i]);
    return hc;
}

void hc_start_all(struct hc *hc, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        hc_start(hc, i);
    hc_converge(hc, 20000);
}
