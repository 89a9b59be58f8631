/*
 * The deterministic cluster simulator (see sim.h).
 *
 * One binary heap of events ordered by (time, seq): seq is a counter
 * assigned at scheduling, so events at the same millisecond run in the order
 * they were scheduled and a run depends on nothing but the seed.  Node
 * timers use lazy deletion: each node keeps one armed deadline and a
 * generation; re-arming bumps the generation and the stale heap entry is
 * skipped when it surfaces.  That keeps the heap a plain array (no index
 * bookkeeping) at the cost of a few dead entries.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

enum ev_kind {
    EV_DELIVER = 1,
    EV_TIMER,
    EV_WAKE,
    EV_START,
    EV_DESTROY, /* end of a leave's grace period */
    EV_CALL,
};

/* A datagram in flight (or in a paused node's backlog). */
struct packet {
    struct packet *next; /* backlog chain */
    uint32_t from;
    uint32_t len;
    uint8_t data[];
};

struct call {
    sim_call_fn fn;
    void *ud;
};

struct event {
    uint64_t t;
    uint64_t seq;
    uint32_t node;
    uint32_t kind;
    union {
        struct packet *pkt;
        uint64_t gen;   /* EV_TIMER, EV_WAKE, EV_DESTROY: which arming/life it belongs to */
        struct call *call;
    } u;
};

/* Per-node state: kept small, the bench runs 10,000 of these. */
struct node {
    sim_t *sim;
    gossip_t *g;
    struct sim_rng rng;
    uint64_t timer_at;     /* armed deadline, UINT64_MAX = none */
    uint64_t timer_gen;
    uint64_t life;         /* bumped on every start/crash: stale wake/destroy events are ignored */
    uint64_t paused_until; /* 0 = running */
    struct packet *backlog, *backlog_tail;
    uint32_t index;
    uint32_t restarts;     /* starts so far minus one */
    uint32_t group;        /* partition group */
    uint8_t state;         /* enum sim_node_state */
    uint8_t started;       /* ever started */
    /* The callbacks the node was configured with (sim's own, or a
     * scenario's wrappers): the oracle wrappers below forward to them. */
    struct gossip_callbacks user_cb;
};

struct link {
    uint32_t from, to;
    double loss;        /* < 0: default */
    int64_t latency_ms; /* < 0: default */
    int64_t jitter_ms;
};

struct sim {
    struct sim_options opt;
    uint64_t now;
    uint64_t seq;
    struct event *heap;
    size_t heap_len, heap_cap;
    struct node *nodes;
    unsigned n;
    struct sim_rng net_rng;
    double loss;
    uint32_t latency_ms, jitter_ms;
    struct link *links;
    size_t n_links, cap_links;
    bool partitioned;
    unsigned pending_starts; /* autostarts not yet run */
    uint8_t *views;      /* n*n nibbles, enum sim_view_state; NULL unless track_views */
    char *trace;
    size_t trace_len, trace_cap;
    uint64_t trace_hash;
    struct sim_event *events;
    size_t n_events, cap_events;
    struct sim_stats stats;
    uint8_t key[GOSSIP_KEY_LEN];
    int log_level;
    unsigned serial;     /* creation order within the process (oracle record) */
    uint64_t log_hash;   /* FNV-1a 64 of every log callback (oracle record) */
    /* the call into a handle in progress (sim_current_node/_call) */
    unsigned cur_node1; /* node index + 1, 0 = none */
    uint8_t cur_call;   /* enum sim_call */
};

/* Bracket a call into node i's handle (defined at the end of the file). */
struct call_mark {
    unsigned node1;
    uint8_t call;
};
static struct call_mark call_enter(sim_t *sim, unsigned i, enum sim_call kind);
static void call_leave(sim_t *sim, struct call_mark prev);

/* ---------------------------------------------------------------- PRNG */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream, uint64_t sub)
{
    /* Mix the three inputs through splitmix64 one after the other so that
     * nearby (stream, sub) pairs give unrelated states. */
    uint64_t x = seed;
    uint64_t a = splitmix64(&x);
    x = a ^ (stream * 0xd1342543de82ef95ULL + 1);
    uint64_t b = splitmix64(&x);
    x = b ^ (sub * 0xaf251af3b0f025b5ULL + 7);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1; /* xoshiro's one forbidden state */
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sim_rng_double(struct sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
    /* Rejection sampling: no modulo bias, so loss ratios are exact. */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = sim_rng_next(r);
    while (v >= lim);
    return v % n;
}

/* ---------------------------------------------------------------- heap */

static bool ev_less(const struct event *a, const struct event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_push(sim_t *sim, struct event ev)
{
    if (sim->heap_len == sim->heap_cap) {
        size_t cap = sim->heap_cap ? sim->heap_cap * 2 : 1024;
        struct event *h = realloc(sim->heap, cap * sizeof *h);
        if (!h) {
            fprintf(stderr, "sim: out of memory (event heap)\n");
            abort();
        }
        sim->heap = h;
        sim->heap_cap = cap;
    }
    ev.seq = sim->seq++;
    size_t i = sim->heap_len++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_less(&ev, &sim->heap[p]))
            break;
        sim->heap[i] = sim->heap[p];
        i = p;
    }
    sim->heap[i] = ev;
}

static struct event heap_pop(sim_t *sim)
{
    struct event top = sim->heap[0];
    struct event last = sim->heap[--sim->heap_len];
    size_t n = sim->heap_len, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ev_less(&sim->heap[c + 1], &sim->heap[c]))
            c++;
        if (!ev_less(&sim->heap[c], &last))
            break;
        sim->heap[i] = sim->heap[c];
        i = c;
    }
    if (n > 0)
        sim->heap[i] = last;
    return top;
}

static void schedule(sim_t *sim, uint64_t t, uint32_t node, uint32_t kind, struct event proto)
{
    proto.t = t < sim->now ? sim->now : t;
    proto.node = node;
    proto.kind = kind;
    heap_push(sim, proto);
}

/* ---------------------------------------------------------------- trace */

/* FNV-1a 64 over raw bytes into the trace hash, without text: the oracle
 * folds every datagram and every callback in, so a refactoring that keeps
 * the hash of every scenario kept the wire bytes and what the host saw. */
static void hash_fold(sim_t *sim, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = sim->trace_hash;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    sim->trace_hash = h;
}

static void hash_fold_u64(sim_t *sim, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    hash_fold(sim, b, sizeof b);
}

static void trace_append(sim_t *sim, const char *s, size_t len)
{
    /* FNV-1a 64, streamed: the hash exists even when the text is not kept. */
    uint64_t h = sim->trace_hash;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x100000001b3ULL;
    }
    sim->trace_hash = h;
    if (!sim->opt.keep_trace)
        return;
    if (sim->trace_len + len + 1 > sim->trace_cap) {
        size_t cap = sim->trace_cap ? sim->trace_cap : 65536;
        while (cap < sim->trace_len + len + 1)
            cap *= 2;
        char *t = realloc(sim->trace, cap);
        if (!t) {
            fprintf(stderr, "sim: out of memory (trace)\n");
            abort();
        }
        sim->trace = t;
        sim->trace_cap = cap;
    }
    memcpy(sim->trace + sim->trace_len, s, len);
    sim->trace_len += len;
    sim->trace[sim->trace_len] = '\0';
}

static void vnote(sim_t *sim, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void vnote(sim_t *sim, const char *fmt, va_list ap)
{
    char line[256];
    int k = snprintf(line, sizeof line, "t=%" PRIu64 " sim ", sim->now);
    int m = vsnprintf(line + k, sizeof line - (size_t)k - 1, fmt, ap);
    size_t len = (size_t)k + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    trace_append(sim, line, len);
}

void sim_note(sim_t *sim, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(sim, fmt, ap);
    va_end(ap);
}

const char *sim_trace(const sim_t *sim, size_t *len)
{
    if (len)
        *len = sim->trace_len;
    return sim->trace;
}

uint64_t sim_trace_hash(const sim_t *sim)
{
    return sim->trace_hash;
}

void sim_dump_trace(const sim_t *sim, FILE *f, size_t lines)
{
    if (!sim->trace) {
        fprintf(f, "(trace not kept)\n");
        return;
    }
    const char *start = sim->trace;
    if (lines > 0) {
        const char *p = sim->trace + sim->trace_len;
        size_t seen = 0;
        while (p > sim->trace) {
            p--;
            if (*p == '\n' && p + 1 < sim->trace + sim->trace_len && ++seen == lines) {
                start = p + 1;
                break;
            }
        }
        if (seen < lines)
            start = sim->trace;
    }
    fputs(start, f);
}

void sim_report_failure(const sim_t *sim, const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n  seed=%llu t=%" PRIu64
            " ms; replay with GOSSIP_SIM_SEED=%llu (GOSSIP_SIM_TRACE=1 prints the trace tail)\n",
            file, line, what, (unsigned long long)sim->opt.seed, sim->now,
            (unsigned long long)sim->opt.seed);
    if (getenv("GOSSIP_SIM_TRACE"))
        sim_dump_trace(sim, stderr, 200);
}

/* ---------------------------------------------------------------- views */

static enum sim_view_state view_get(const sim_t *sim, unsigned obs, unsigned subj)
{
    size_t i = (size_t)obs * sim->n + subj;
    return (enum sim_view_state)((sim->views[i / 2] >> ((i & 1) * 4)) & 0xf);
}

static void view_set(sim_t *sim, unsigned obs, unsigned subj, enum sim_view_state s)
{
    size_t i = (size_t)obs * sim->n + subj;
    unsigned sh = (unsigned)(i & 1) * 4;
    sim->views[i / 2] = (uint8_t)((sim->views[i / 2] & ~(0xfu << sh)) | ((unsigned)s << sh));
}

static void view_clear_row(sim_t *sim, unsigned obs)
{
    if (!sim->views)
        return;
    for (unsigned j = 0; j < sim->n; j++)
        view_set(sim, obs, j, SIM_UNKNOWN);
}

enum sim_view_state sim_view(const sim_t *sim, unsigned obs, unsigned subj)
{
    if (obs >= sim->n || subj >= sim->n)
        return SIM_UNKNOWN;
    if (obs == subj)
        return sim->nodes[obs].state != SIM_NODE_DOWN ? SIM_ALIVE : SIM_UNKNOWN;
    if (sim->views)
        return view_get(sim, obs, subj);
    /* Views not tracked: ask the library (the same information, read). */
    struct gossip_member m;
    if (!sim->nodes[obs].g || gossip_member_get(sim->nodes[obs].g, sim->opt.id_base + subj, &m) != 0)
        return SIM_UNKNOWN;
    return (enum sim_view_state)(m.state + 1);
}

const char *sim_view_name(enum sim_view_state s)
{
    switch (s) {
    case SIM_ALIVE: return "alive";
    case SIM_SUSPECT: return "suspect";
    case SIM_FAILED: return "failed";
    case SIM_LEFT: return "left";
    default: return "unknown";
    }
}

unsigned sim_count_seeing(const sim_t *sim, unsigned subj, enum sim_view_state state)
{
    unsigned c = 0;
    for (unsigned i = 0; i < sim->n; i++)
        if (i != subj && sim->nodes[i].state != SIM_NODE_DOWN && sim_view(sim, i, subj) == state)
            c++;
    return c;
}

bool sim_all_see(const sim_t *sim, unsigned subj, enum sim_view_state state)
{
    for (unsigned i = 0; i < sim->n; i++)
        if (i != subj && sim->nodes[i].state != SIM_NODE_DOWN && sim_view(sim, i, subj) != state)
            return false;
    return true;
}

bool sim_converged(const sim_t *sim)
{
    /* Not before every scheduled start happened: an empty cluster is not a
     * converged one. */
    if (sim->pending_starts > 0)
        return false;
    for (unsigned i = 0; i < sim->n; i++) {
        if (sim->nodes[i].state != SIM_NODE_UP)
            continue;
        for (unsigned j = 0; j < sim->n; j++)
            if (j != i && sim->nodes[j].state == SIM_NODE_UP && sim_view(sim, i, j) != SIM_ALIVE)
                return false;
    }
    return true;
}

bool sim_pred_converged(sim_t *sim, void *ud)
{
    (void)ud;
    return sim_converged(sim);
}

static bool ev_match(const struct sim_event *e, int obs, int subj, int event)
{
    return (obs < 0 || e->observer == (uint32_t)obs) && (subj < 0 || e->subject == (uint32_t)subj) &&
           (event < 0 || e->event == (uint8_t)event);
}

size_t sim_count_events_between(const sim_t *sim, int obs, int subj, int event, uint64_t from_ms,
                                uint64_t to_ms)
{
    size_t c = 0;
    for (size_t i = 0; i < sim->n_events; i++) {
        const struct sim_event *e = &sim->events[i];
        if (e->t >= from_ms && e->t < to_ms && ev_match(e, obs, subj, event))
            c++;
    }
    return c;
}

size_t sim_count_events(const sim_t *sim, int obs, int subj, int event)
{
    return sim_count_events_between(sim, obs, subj, event, 0, UINT64_MAX);
}

int64_t sim_first_event(const sim_t *sim, int obs, int subj, int event, uint64_t from_ms)
{
    for (size_t i = 0; i < sim->n_events; i++) {
        const struct sim_event *e = &sim->events[i];
        if (e->t >= from_ms && ev_match(e, obs, subj, event))
            return (int64_t)e->t;
    }
    return -1;
}

int64_t sim_last_event(const sim_t *sim, int obs, int subj, int event, uint64_t from_ms)
{
    for (size_t i = sim->n_events; i-- > 0;) {
        const struct sim_event *e = &sim->events[i];
        if (e->t < from_ms)
            break; /* recorded in time order */
        if (ev_match(e, obs, subj, event))
            return (int64_t)e->t;
    }
    return -1;
}

const struct sim_event *sim_events(const sim_t *sim, size_t *n)
{
    *n = sim->n_events;
    return sim->events;
}

/* ---------------------------------------------------------------- hooks */

static void node_addr(unsigned index, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(GOSSIP_DEFAULT_PORT);
    sa->sin_addr.s_addr = htonl(0x0a000000u | ((index + 1) & 0xffffffu));
}

static void node_addr_str(unsigned index, char *buf, size_t len)
{
    uint32_t v = index + 1;
    snprintf(buf, len, "10.%u.%u.%u", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

/* Node index of a virtual address, or -1. */
static int64_t addr_index(const sim_t *sim, const struct sockaddr *sa, socklen_t len)
{
    if (sa->sa_family != AF_INET || len < (socklen_t)sizeof(struct sockaddr_in))
        return -1;
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    uint32_t a = ntohl(in->sin_addr.s_addr);
    if ((a >> 24) != 10 || ntohs(in->sin_port) != GOSSIP_DEFAULT_PORT)
        return -1;
    uint32_t v = a & 0xffffffu;
    if (v == 0 || v > sim->n)
        return -1;
    return (int64_t)v - 1;
}

static uint64_t hook_now(void *ctx)
{
    return ((struct node *)ctx)->sim->now;
}

static uint64_t hook_wall(void *ctx)
{
    return SIM_EPOCH_MS + ((struct node *)ctx)->sim->now;
}

static void hook_random(void *ctx, void *buf, size_t len)
{
    struct node *nd = ctx;
    uint8_t *p = buf;
    while (len > 0) {
        uint64_t v = sim_rng_next(&nd->rng);
        size_t k = len < 8 ? len : 8;
        memcpy(p, &v, k); /* byte order only matters for reproducibility on one host type */
        p += k;
        len -= k;
    }
}

static const struct link *link_find(const sim_t *sim, unsigned from, unsigned to)
{
    /* Linear: scenarios set a handful of links; partitions use groups. */
    for (size_t i = 0; i < sim->n_links; i++)
        if (sim->links[i].from == from && sim->links[i].to == to)
            return &sim->links[i];
    return NULL;
}

bool sim_route(sim_t *sim, unsigned from, unsigned to, uint64_t *delay_ms)
{
    double loss = sim->loss;
    uint64_t lat = sim->latency_ms, jit = sim->jitter_ms;
    if (sim->partitioned && sim->nodes[from].group != sim->nodes[to].group) {
        sim->stats.dropped_cut++;
        return false;
    }
    const struct link *l = link_find(sim, from, to);
    if (l) {
        if (l->loss >= 0)
            loss = l->loss;
        if (l->latency_ms >= 0)
            lat = (uint64_t)l->latency_ms;
        if (l->jitter_ms >= 0)
            jit = (uint64_t)l->jitter_ms;
        if (loss >= 1.0) {
            sim->stats.dropped_cut++;
            return false;
        }
    }
    /* Always draw, even at loss 0, so changing the loss of one link does not
     * shift the random stream of every later datagram... except through the
     * outcome itself. */
    double r = sim_rng_double(&sim->net_rng);
    uint64_t j = jit ? sim_rng_below(&sim->net_rng, jit + 1) : 0;
    if (r < loss) {
        sim->stats.dropped_loss++;
        return false;
    }
    *delay_ms = lat + j;
    return true;
}

static int hook_send(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf, size_t len)
{
    struct node *nd = ctx;
    sim_t *sim = nd->sim;
    sim->stats.sent++;
    /* Oracle: when, who, to where, and every byte. */
    hash_fold_u64(sim, 0x53454e44u); /* "SEND" */
    hash_fold_u64(sim, sim->now);
    hash_fold_u64(sim, nd->index);
    hash_fold(sim, to, (size_t)to_len);
    hash_fold_u64(sim, len);
    hash_fold(sim, buf, len);
    int64_t dst = addr_index(sim, to, to_len);
    if (dst < 0) {
        sim->stats.dropped_down++;
        return 0; /* like UDP to an unused address: gone without an error */
    }
    uint64_t delay;
    if (!sim_route(sim, nd->index, (unsigned)dst, &delay))
        return 0;
    struct packet *p = malloc(sizeof *p + len);
    if (!p)
        return -1;
    p->next = NULL;
    p->from = nd->index;
    p->len = (uint32_t)len;
    memcpy(p->data, buf, len);
    struct event ev = {0};
    ev.u.pkt = p;
    schedule(sim, sim->now + delay, (uint32_t)dst, EV_DELIVER, ev);
    return 0;
}

static enum sim_view_state event_view(enum gossip_event ev, const struct gossip_member *m, bool *change)
{
    *change = true;
    switch (ev) {
    case GOSSIP_EVENT_JOIN:
    case GOSSIP_EVENT_ALIVE: return SIM_ALIVE;
    case GOSSIP_EVENT_SUSPECT: return SIM_SUSPECT;
    case GOSSIP_EVENT_FAILED: return SIM_FAILED;
    case GOSSIP_EVENT_LEFT: return SIM_LEFT;
    case GOSSIP_EVENT_REMOVED: return SIM_UNKNOWN;
    case GOSSIP_EVENT_UPDATE: return (enum sim_view_state)(m->state + 1);
    default: *change = false; return SIM_UNKNOWN;
    }
}

static void cb_member(void *ud, enum gossip_event event, const struct gossip_member *m)
{
    struct node *nd = ud;
    sim_t *sim = nd->sim;
    uint64_t rel = m->id - sim->opt.id_base;
    uint32_t subj = (m->id >= sim->opt.id_base && rel < sim->n) ? (uint32_t)rel : UINT32_MAX;
    char line[160];
    int k;
    if (subj != UINT32_MAX)
        k = snprintf(line, sizeof line, "t=%" PRIu64 " node=%u member=%u event=%s\n", sim->now,
                     nd->index, subj, gossip_event_name(event));
    else
        k = snprintf(line, sizeof line, "t=%" PRIu64 " node=%u member=id:%" PRIu64 " event=%s\n",
                     sim->now, nd->index, m->id, gossip_event_name(event));
    trace_append(sim, line, (size_t)k);
    if ((unsigned)event < 8)
        sim->stats.member_events[event]++;
    bool change;
    enum sim_view_state vs = event_view(event, m, &change);
    if (change && sim->views && subj != UINT32_MAX && subj != nd->index)
        view_set(sim, nd->index, subj, vs);
    struct sim_event rec = {sim->now, nd->index, subj, (uint8_t)event};
    if (sim->opt.keep_events) {
        if (sim->n_events == sim->cap_events) {
            size_t cap = sim->cap_events ? sim->cap_events * 2 : 4096;
            struct sim_event *e = realloc(sim->events, cap * sizeof *e);
            if (!e) {
                fprintf(stderr, "sim: out of memory (events)\n");
                abort();
            }
            sim->events = e;
            sim->cap_events = cap;
        }
        sim->events[sim->n_events++] = rec;
    }
    if (sim->opt.on_event)
        sim->opt.on_event(sim->opt.ud, sim, &rec);
}

static void cb_log(void *ud, enum gossip_log_level level, const char *msg)
{
    struct node *nd = ud;
    if ((int)level <= nd->sim->log_level)
        fprintf(stderr, "t=%" PRIu64 " node=%u log%d: %s\n", nd->sim->now, nd->index, (int)level, msg);
}

/* The oracle's wrappers: every callback a node makes is folded into the
 * trace hash (member events through their trace line), then forwarded to
 * the callbacks the node was configured with. */
static void oracle_member(void *ud, enum gossip_event event, const struct gossip_member *m)
{
    struct node *nd = ud;
    if (nd->user_cb.member)
        nd->user_cb.member(nd->user_cb.ud, event, m);
}

static void oracle_role(void *ud, const char *role, bool held)
{
    struct node *nd = ud;
    sim_t *sim = nd->sim;
    hash_fold_u64(sim, 0x524f4c45u); /* "ROLE" */
    hash_fold_u64(sim, sim->now);
    hash_fold_u64(sim, nd->index);
    hash_fold(sim, role, strlen(role));
    hash_fold_u64(sim, held);
    if (nd->user_cb.role)
        nd->user_cb.role(nd->user_cb.ud, role, held);
}

static void oracle_user_event(void *ud, uint64_t origin, const void *data, size_t len)
{
    struct node *nd = ud;
    sim_t *sim = nd->sim;
    hash_fold_u64(sim, 0x55534552u); /* "USER" */
    hash_fold_u64(sim, sim->now);
    hash_fold_u64(sim, nd->index);
    hash_fold_u64(sim, origin);
    hash_fold_u64(sim, len);
    hash_fold(sim, data, len);
    if (nd->user_cb.user_event)
        nd->user_cb.user_event(nd->user_cb.ud, origin, data, len);
}

static void oracle_log(void *ud, enum gossip_log_level level, const char *msg)
{
    struct node *nd = ud;
    sim_t *sim = nd->sim;
    /* A stream of its own: log lines are written at once, datagrams when
     * an entry point hands its outbox to the socket, so only the order
     * within each stream is the library's behaviour. */
    uint64_t h = sim->log_hash;
    uint8_t b[24];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(sim->now >> (8 * i));
        b[8 + i] = (uint8_t)((uint64_t)nd->index >> (8 * i));
        b[16 + i] = (uint8_t)((uint64_t)level >> (8 * i));
    }
    for (size_t i = 0; i < sizeof b; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    for (const char *p = msg; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    sim->log_hash = h;
    if (nd->user_cb.log)
        nd->user_cb.log(nd->user_cb.ud, level, msg);
}

/* ---------------------------------------------------------------- nodes */

/* After every call into a node: keep exactly one live timer event for its
 * next deadline. */
static void arm(sim_t *sim, struct node *nd, bool after_tick)
{
    if (!nd->g)
        return;
    int d = gossip_next_timeout_ms(nd->g);
    if (sim->opt.on_timeout)
        sim->opt.on_timeout(sim->opt.ud, sim, nd->index, d, after_tick);
    if (d < 0)
        d = 0;
    if (d == 0 && after_tick) {
        /* A tick just ran every due timer; a deadline still "now" would spin
         * the loop at one instant.  Count it (a library smell) and move on. */
        sim->stats.zero_timeouts++;
        d = 1;
    }
    uint64_t at = sim->now + (uint64_t)d;
    if (at == nd->timer_at)
        return;
    nd->timer_at = at;
    struct event ev = {0};
    ev.u.gen = ++nd->timer_gen;
    schedule(sim, at, nd->index, EV_TIMER, ev);
}

static void free_backlog(struct node *nd)
{
    struct packet *p = nd->backlog;
    while (p) {
        struct packet *nx = p->next;
        free(p);
        p = nx;
    }
    nd->backlog = nd->backlog_tail = NULL;
}

static void feed(sim_t *sim, struct node *nd, struct packet *p)
{
    struct sockaddr_in from;
    node_addr(p->from, &from);
    sim->stats.delivered++;
    struct call_mark cm = call_enter(sim, nd->index, SIM_CALL_FEED);
    gossip_feed(nd->g, (const struct sockaddr *)&from, sizeof from, p->data, p->len);
    call_leave(sim, cm);
    free(p);
}

int sim_start(sim_t *sim, unsigned i)
{
    if (i >= sim->n)
        return GOSSIP_EINVAL;
    struct node *nd = &sim->nodes[i];
    if (nd->state != SIM_NODE_DOWN)
        return GOSSIP_ESTATE;
    if (nd->started)
        nd->restarts++;
    nd->started = 1;
    nd->life++;
    /* A fresh stream per (seed, node, restart): a restarted node does not
     * replay its previous life's choices. */
    sim_rng_seed(&nd->rng, sim->opt.seed, i, nd->restarts);

    struct gossip_config cfg;
    gossip_config_init(&cfg);
    cfg.node_id = sim->opt.id_base + i;
    node_addr_str(i, cfg.bind_addr, sizeof cfg.bind_addr);
    cfg.bind_port = GOSSIP_DEFAULT_PORT;
    cfg.heartbeat_ms = sim->opt.heartbeat_ms;
    /* Deterministic and increasing over restarts (the default would read
     * hooks.wall_ms, which is deterministic too, but this is explicit). */
    cfg.generation = 1000 + (uint64_t)nd->restarts * 1000;
    int rc = gossip_config_add_raw_key(&cfg, sim->key);
    if (rc != 0)
        return rc;
    for (unsigned s = 0; s < sim->opt.n_seeds; s++) {
        unsigned si = sim->opt.seeds[s];
        if (si == i || si >= sim->n || cfg.n_seeds >= GOSSIP_MAX_SEEDS)
            continue;
        uint32_t v = si + 1;
        snprintf(cfg.seeds[cfg.n_seeds++], GOSSIP_ADDR_MAX, "10.%u.%u.%u:%u", (v >> 16) & 0xff,
                 (v >> 8) & 0xff, v & 0xff, GOSSIP_DEFAULT_PORT);
    }
    cfg.cb.ud = nd;
    cfg.cb.member = cb_member;
    cfg.cb.log = cb_log;
    cfg.hooks.ctx = nd;
    cfg.hooks.now_ms = hook_now;
    cfg.hooks.wall_ms = hook_wall;
    cfg.hooks.random = hook_random;
    cfg.hooks.send = hook_send;
    if (sim->opt.configure)
        sim->opt.configure(sim->opt.ud, sim, i, &cfg);
    nd->user_cb = cfg.cb;
    cfg.cb.ud = nd;
    cfg.cb.member = oracle_member;
    cfg.cb.role = oracle_role;
    cfg.cb.user_event = oracle_user_event;
    cfg.cb.log = oracle_log;

    view_clear_row(sim, i);
    struct call_mark cm = call_enter(sim, i, SIM_CALL_CREATE);
    rc = gossip_create(&nd->g, &cfg);
    call_leave(sim, cm);
    if (rc != 0) {
        fprintf(stderr, "sim: gossip_create(node %u) failed: %s\n", i, gossip_strerror(rc));
        nd->g = NULL;
        return rc;
    }
    nd->state = SIM_NODE_UP;
    nd->paused_until = 0;
    nd->timer_at = UINT64_MAX;
    sim_note(sim, "%s node=%u generation=%" PRIu64, nd->restarts ? "restart" : "start", i,
             cfg.generation);
    arm(sim, nd, false);
    return 0;
}

static void node_down(sim_t *sim, struct node *nd)
{
    struct call_mark cm = call_enter(sim, nd->index, SIM_CALL_DESTROY);
    gossip_destroy(nd->g);
    call_leave(sim, cm);
    nd->g = NULL;
    nd->state = SIM_NODE_DOWN;
    nd->paused_until = 0;
    nd->timer_at = UINT64_MAX;
    nd->timer_gen++;
    nd->life++;
    free_backlog(nd);
    view_clear_row(sim, nd->index);
}

void sim_crash(sim_t *sim, unsigned i)
{
    if (i >= sim->n || sim->nodes[i].state == SIM_NODE_DOWN)
        return;
    sim_note(sim, "crash node=%u", i);
    node_down(sim, &sim->nodes[i]);
}

int sim_restart(sim_t *sim, unsigned i)
{
    sim_crash(sim, i);
    return sim_start(sim, i);
}

int sim_leave(sim_t *sim, unsigned i, uint64_t grace_ms)
{
    if (i >= sim->n || sim->nodes[i].state != SIM_NODE_UP)
        return GOSSIP_ESTATE;
    struct node *nd = &sim->nodes[i];
    sim_note(sim, "leave node=%u grace=%" PRIu64, i, grace_ms);
    struct call_mark cm = call_enter(sim, i, SIM_CALL_LEAVE);
    int rc = gossip_leave(nd->g);
    call_leave(sim, cm);
    nd->state = SIM_NODE_LEAVING;
    arm(sim, nd, false);
    struct event ev = {0};
    ev.u.gen = nd->life;
    schedule(sim, sim->now + grace_ms, i, EV_DESTROY, ev);
    return rc;
}

void sim_pause(sim_t *sim, unsigned i, uint64_t ms)
{
    if (i >= sim->n || sim->nodes[i].state == SIM_NODE_DOWN)
        return;
    struct node *nd = &sim->nodes[i];
    sim_note(sim, "pause node=%u ms=%" PRIu64, i, ms);
    nd->paused_until = sim->now + ms;
    struct event ev = {0};
    ev.u.gen = nd->life;
    schedule(sim, nd->paused_until, i, EV_WAKE, ev);
}

void sim_at(sim_t *sim, uint64_t t, sim_call_fn fn, void *ud)
{
    struct call *c = malloc(sizeof *c);
    if (!c) {
        fprintf(stderr, "sim: out of memory (call)\n");
        abort();
    }
    c->fn = fn;
    c->ud = ud;
    struct event ev = {0};
    ev.u.call = c;
    schedule(sim, t, 0, EV_CALL, ev);
}

/* ---------------------------------------------------------------- network */

void sim_set_loss(sim_t *sim, double loss)
{
    sim->loss = loss;
    sim_note(sim, "loss %.4f", loss);
}

void sim_set_latency(sim_t *sim, uint32_t latency_ms, uint32_t jitter_ms)
{
    sim->latency_ms = latency_ms;
    sim->jitter_ms = jitter_ms;
    sim_note(sim, "latency %u+%u", latency_ms, jitter_ms);
}

void sim_link_set(sim_t *sim, unsigned from, unsigned to, double loss, int64_t latency_ms,
                  int64_t jitter_ms)
{
    if (from >= sim->n || to >= sim->n)
        return;
    sim_note(sim, "link %u->%u loss=%.4f latency=%" PRId64 " jitter=%" PRId64, from, to, loss,
             latency_ms, jitter_ms);
    struct link *l = (struct link *)link_find(sim, from, to);
    if (!l) {
        if (sim->n_links == sim->cap_links) {
            size_t cap = sim->cap_links ? sim->cap_links * 2 : 16;
            struct link *nl = realloc(sim->links, cap * sizeof *nl);
            if (!nl) {
                fprintf(stderr, "sim: out of memory (links)\n");
                abort();
            }
            sim->links = nl;
            sim->cap_links = cap;
        }
        l = &sim->links[sim->n_links++];
        l->from = from;
        l->to = to;
    }
    l->loss = loss;
    l->latency_ms = latency_ms;
    l->jitter_ms = jitter_ms;
}

void sim_cut(sim_t *sim, unsigned from, unsigned to)
{
    sim_link_set(sim, from, to, 1.0, -1, -1);
}

void sim_uncut(sim_t *sim, unsigned from, unsigned to)
{
    sim_link_set(sim, from, to, -1.0, -1, -1);
}

void sim_links_clear(sim_t *sim)
{
    sim->n_links = 0;
    sim_note(sim, "links cleared");
}

void sim_partition(sim_t *sim, const unsigned *group_of_node)
{
    for (unsigned i = 0; i < sim->n; i++)
        sim->nodes[i].group = group_of_node[i];
    sim->partitioned = true;
    sim_note(sim, "partition");
}

void sim_heal(sim_t *sim)
{
    for (unsigned i = 0; i < sim->n; i++)
        sim->nodes[i].group = 0;
    sim->partitioned = false;
    sim_note(sim, "heal");
}

/* ---------------------------------------------------------------- loop */

static void process(sim_t *sim, struct event *ev)
{
    struct node *nd = ev->kind == EV_CALL ? NULL : &sim->nodes[ev->node];
    switch (ev->kind) {
    case EV_DELIVER:
        if (nd->state == SIM_NODE_DOWN) {
            sim->stats.dropped_down++;
            free(ev->u.pkt);
        } else if (nd->paused_until) {
            sim->stats.backlogged++;
            ev->u.pkt->next = NULL;
            if (nd->backlog_tail)
                nd->backlog_tail->next = ev->u.pkt;
            else
                nd->backlog = ev->u.pkt;
            nd->backlog_tail = ev->u.pkt;
        } else {
            feed(sim, nd, ev->u.pkt);
            arm(sim, nd, false);
        }
        break;
    case EV_TIMER:
        if (ev->u.gen != nd->timer_gen || !nd->g)
            break; /* re-armed since, or the node is gone */
        nd->timer_at = UINT64_MAX;
        if (nd->paused_until)
            break; /* a stalled process runs no timers; wake re-arms */
        struct call_mark tm = call_enter(sim, nd->index, SIM_CALL_TICK);
        gossip_tick(nd->g);
        call_leave(sim, tm);
        arm(sim, nd, true);
        break;
    case EV_WAKE:
        if (ev->u.gen != nd->life || !nd->g || nd->paused_until != sim->now)
            break; /* a newer pause extended it, or the node was crashed */
        nd->paused_until = 0;
        sim_note(sim, "wake node=%u", ev->node);
        if (sim->opt.wake_ticks_first && nd->g) {
            gossip_tick(nd->g); /* the timers before the socket */
            nd->timer_at = UINT64_MAX;
        }
        /* The backlog first, as a stalled process would find its socket
         * buffer full; then the timers that came due meanwhile. */
        while (nd->backlog && nd->g) {
            struct packet *p = nd->backlog;
            nd->backlog = p->next;
            if (!nd->backlog)
                nd->backlog_tail = NULL;
            feed(sim, nd, p);
        }
        if (nd->g) {
            struct call_mark wm = call_enter(sim, nd->index, SIM_CALL_TICK);
            gossip_tick(nd->g);
            call_leave(sim, wm);
            nd->timer_at = UINT64_MAX;
            arm(sim, nd, true);
        }
        break;
    case EV_START:
        sim->pending_starts--;
        if (nd->state == SIM_NODE_DOWN && !nd->started)
            sim_start(sim, ev->node);
        break;
    case EV_DESTROY:
        if (ev->u.gen != nd->life || nd->state != SIM_NODE_LEAVING)
            break;
        sim_note(sim, "left node=%u done=%d", ev->node, (int)gossip_leave_done(nd->g));
        node_down(sim, nd);
        break;
    case EV_CALL: {
        struct call c = *ev->u.call;
        free(ev->u.call);
        c.fn(sim, c.ud);
        break;
    }
    default:
        break;
    }
}

/* Run the events due at or before t; stop early when stop_ms_boundary is set
 * and the next event is later than the current millisecond (so a predicate
 * can look at the state between milliseconds). */
static int run(sim_t *sim, uint64_t t, bool one_ms)
{
    uint64_t budget = sim->opt.max_events;
    uint64_t start_ms = sim->heap_len ? sim->heap[0].t : t;
    while (sim->heap_len > 0 && sim->heap[0].t <= t) {
        if (one_ms && sim->heap[0].t != start_ms)
            return 0;
        if (budget-- == 0) {
            fprintf(stderr, "sim: event budget of %" PRIu64 " exhausted at t=%" PRIu64
                    " (seed=%llu)\n", sim->opt.max_events, sim->now,
                    (unsigned long long)sim->opt.seed);
            return -1;
        }
        struct event ev = heap_pop(sim);
        sim->now = ev.t;
        sim->stats.events++;
        process(sim, &ev);
    }
    if (!one_ms && t > sim->now)
        sim->now = t;
    return 0;
}

int sim_run_until(sim_t *sim, uint64_t t)
{
    return run(sim, t, false);
}

int sim_run_for(sim_t *sim, uint64_t ms)
{
    return run(sim, sim->now + ms, false);
}

int64_t sim_run_until_cond(sim_t *sim, sim_pred_fn pred, void *ud, uint64_t timeout_ms)
{
    uint64_t end = sim->now + timeout_ms;
    uint64_t steps = 0;
    if (pred(sim, ud))
        return (int64_t)sim->now;
    while (sim->heap_len > 0 && sim->heap[0].t <= end) {
        /* One millisecond's events at a time, so the returned time is exact. */
        if (run(sim, end, true) != 0)
            return -1;
        if (pred(sim, ud))
            return (int64_t)sim->now;
        if (++steps > sim->opt.max_events)
            return -1;
    }
    sim->now = end;
    return pred(sim, ud) ? (int64_t)end : -1;
}

/* ---------------------------------------------------------------- setup */

uint64_t sim_seed_from_env(uint64_t dflt)
{
    const char *s = getenv("GOSSIP_SIM_SEED");
    if (!s || !*s)
        return dflt;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    return *end == '\0' ? (uint64_t)v : dflt;
}

void sim_options_init(struct sim_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->n_nodes = 16;
    opt->seed = sim_seed_from_env(SIM_DEFAULT_SEED);
    opt->heartbeat_ms = GOSSIP_DEFAULT_HEARTBEAT_MS;
    opt->seeds[0] = 0;
    opt->n_seeds = 1;
    opt->latency_ms = 1;
    opt->jitter_ms = 2;
    opt->autostart = true;
    opt->track_views = true;
    opt->keep_trace = true;
    opt->keep_events = true;
    opt->max_events = 200000000ULL;
    opt->log_level = -1;
}

sim_t *sim_create(const struct sim_options *opt)
{
    if (opt->n_nodes == 0 || opt->n_nodes > 0xfffffe || opt->n_seeds > SIM_MAX_SEEDS)
        return NULL;
    sim_t *sim = calloc(1, sizeof *sim);
    if (!sim)
        return NULL;
    sim->opt = *opt;
    sim->n = opt->n_nodes;
    sim->nodes = calloc(sim->n, sizeof *sim->nodes);
    if (opt->track_views)
        sim->views = calloc(((size_t)sim->n * sim->n + 1) / 2, 1);
    if (!sim->nodes || (opt->track_views && !sim->views)) {
        sim_destroy(sim);
        return NULL;
    }
    sim->trace_hash = 0xcbf29ce484222325ULL;
    sim->log_hash = 0xcbf29ce484222325ULL;
    /* Test code, one thread: a process-wide counter names each simulator
     * of a test program in the oracle record. */
    static unsigned serials;
    sim->serial = serials++;
    sim->loss = opt->loss;
    sim->latency_ms = opt->latency_ms;
    sim->jitter_ms = opt->jitter_ms;
    sim->log_level = opt->log_level;
    const char *lv = getenv("GOSSIP_SIM_LOG");
    if (lv && *lv)
        sim->log_level = atoi(lv);
    /* The network has its own stream (stream id past any node index) so a
     * node's random choices and the loss pattern do not steal from each
     * other. */
    sim_rng_seed(&sim->net_rng, opt->seed, UINT64_MAX, 0);
    for (size_t k = 0; k < GOSSIP_KEY_LEN; k++)
        sim->key[k] = (uint8_t)(0xa5 ^ (k * 29));
    for (unsigned i = 0; i < sim->n; i++) {
        struct node *nd = &sim->nodes[i];
        nd->sim = sim;
        nd->index = i;
        nd->timer_at = UINT64_MAX;
    }
    sim_note(sim, "create n=%u seed=%llu", sim->n, (unsigned long long)opt->seed);
    if (opt->autostart)
        for (unsigned i = 0; i < sim->n; i++) {
            struct event ev = {0};
            schedule(sim, (uint64_t)i * opt->stagger_ms, i, EV_START, ev);
            sim->pending_starts++;
        }
    return sim;
}

/* The oracle's record: with env GOSSIP_SIM_ORACLE=FILE every simulator
 * appends "<program> <k> seed=<seed> hash=<hash> log=<hash>" to FILE when
 * destroyed
 * (k counts the simulators of the process, in creation order), so
 * test/oracle.sh can compare every scenario's hash with test/oracle.txt. */
static void oracle_record(const sim_t *sim)
{
    const char *path = getenv("GOSSIP_SIM_ORACLE");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "a");
    if (!f) {
        fprintf(stderr, "sim: cannot append to %s\n", path);
        return;
    }
    fprintf(f, "%s %u seed=%llu hash=%016llx log=%016llx\n", program_invocation_short_name,
            sim->serial, (unsigned long long)sim->opt.seed, (unsigned long long)sim->trace_hash,
            (unsigned long long)sim->log_hash);
    fclose(f);
}

void sim_destroy(sim_t *sim)
{
    if (!sim)
        return;
    oracle_record(sim);
    while (sim->heap_len > 0) {
        struct event ev = heap_pop(sim);
        if (ev.kind == EV_DELIVER)
            free(ev.u.pkt);
        else if (ev.kind == EV_CALL)
            free(ev.u.call);
    }
    if (sim->nodes)
        for (unsigned i = 0; i < sim->n; i++) {
            gossip_destroy(sim->nodes[i].g);
            free_backlog(&sim->nodes[i]);
        }
    free(sim->heap);
    free(sim->nodes);
    free(sim->views);
    free(sim->links);
    free(sim->trace);
    free(sim->events);
    free(sim);
}

uint64_t sim_seed(const sim_t *sim)
{
    return sim->opt.seed;
}

uint64_t sim_now(const sim_t *sim)
{
    return sim->now;
}

unsigned sim_n_nodes(const sim_t *sim)
{
    return sim->n;
}

gossip_t *sim_handle(sim_t *sim, unsigned i)
{
    return i < sim->n ? sim->nodes[i].g : NULL;
}

uint64_t sim_node_id(const sim_t *sim, unsigned i)
{
    return sim->opt.id_base + i;
}

enum sim_node_state sim_node_state(const sim_t *sim, unsigned i)
{
    return i < sim->n ? (enum sim_node_state)sim->nodes[i].state : SIM_NODE_DOWN;
}

bool sim_is_paused(const sim_t *sim, unsigned i)
{
    return i < sim->n && sim->nodes[i].paused_until != 0;
}

unsigned sim_restarts(const sim_t *sim, unsigned i)
{
    return i < sim->n ? sim->nodes[i].restarts : 0;
}

void sim_stats_get(const sim_t *sim, struct sim_stats *out)
{
    *out = sim->stats;
}

/* ---------------------------------------------------------------- swarm additions */

static struct call_mark call_enter(sim_t *sim, unsigned i, enum sim_call kind)
{
    struct call_mark prev = {sim->cur_node1, sim->cur_call};
    sim->cur_node1 = i + 1;
    sim->cur_call = (uint8_t)kind;
    return prev;
}

static void call_leave(sim_t *sim, struct call_mark prev)
{
    sim->cur_node1 = prev.node1;
    sim->cur_call = prev.call;
}

int sim_current_node(const sim_t *sim)
{
    return sim->cur_node1 ? (int)sim->cur_node1 - 1 : -1;
}

enum sim_call sim_current_call(const sim_t *sim)
{
    return (enum sim_call)sim->cur_call;
}

void sim_rearm(sim_t *sim, unsigned i)
{
    if (i < sim->n && sim->nodes[i].g)
        arm(sim, &sim->nodes[i], false);
}

uint64_t sim_paused_until(const sim_t *sim, unsigned i)
{
    return i < sim->n ? sim->nodes[i].paused_until : 0;
}
