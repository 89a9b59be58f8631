/*
 * An old program against the current library (issue 12, doc/abi.md).
 *
 * This file does not include gossip.h.  It carries its own copy of the
 * libgossip 0.1.0 header, the part it uses: the layouts of struct
 * gossip_config, gossip_stats and gossip_member exactly as 0.1.0 shipped
 * them (git show 5d56203^:include/gossip.h; struct gossip_stats then ended
 * at over_limit, before events_lost) and the 0.1.0 prototypes.  Compiled
 * that way and linked with the current library objects, it is what a
 * binary built against 0.1.0 meets when the shared library is upgraded
 * under it.
 *
 * Every struct the library writes or reads lives at the very end of a
 * mapping: `GUARD` bytes of 0xa5 after it, then a page that is not
 * accessible.  A write past the caller's struct changes the guard bytes (or
 * faults); a read past a struct placed with no guard bytes faults (cmocka
 * reports the signal as the test's failure).
 *
 * The tests of the 0.2 entry points (gossip_*_sized, gossip_version*,
 * gossip_reconfigure_ex) call them with the sizes such a program would
 * pass: its own sizeof, a smaller one, a larger one (a program built
 * against a newer header).  With -DABI_LEGACY_ONLY only the 0.1.0 calls
 * are built: that is the variant that links with a 0.1.0-era library and
 * shows the old behaviour failing (gossip_stats_get() wrote the 8 bytes of
 * events_lost past a 0.1.0 struct gossip_stats).
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- the libgossip 0.1.0 header, the part this program uses --------------- */

typedef struct gossip gossip_t;

#define GOSSIP_ADDR_MAX 64
#define GOSSIP_MAX_SEEDS 16
#define GOSSIP_MAX_KEYS 8
#define GOSSIP_KEY_LEN 32
#define GOSSIP_LABEL_MAX 64
#define GOSSIP_MAX_ROLES 16
#define GOSSIP_ROLE_NAME_MAX 48
#define GOSSIP_ROLE_MAX_NODES 32

#define GOSSIP_EINVAL (-1)
#define GOSSIP_ENOTFOUND (-8)

enum gossip_state { GOSSIP_ALIVE = 0, GOSSIP_SUSPECT = 1, GOSSIP_FAILED = 2, GOSSIP_LEFT = 3 };

enum gossip_event {
    GOSSIP_EVENT_JOIN = 0,
    GOSSIP_EVENT_ALIVE = 1,
    GOSSIP_EVENT_SUSPECT = 2,
    GOSSIP_EVENT_FAILED = 3,
    GOSSIP_EVENT_LEFT = 4,
    GOSSIP_EVENT_REMOVED = 5,
    GOSSIP_EVENT_UPDATE = 6,
    GOSSIP_EVENT_CONFLICT = 7,
};

enum gossip_log_level { GOSSIP_LOG_ERROR = 0, GOSSIP_LOG_WARN = 1, GOSSIP_LOG_INFO = 2, GOSSIP_LOG_DEBUG = 3 };

struct gossip_member {
    uint64_t id;
    enum gossip_state state;
    uint64_t generation;
    uint32_t version;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    const uint8_t *meta;
    size_t meta_len;
    uint64_t state_since_ms;
    bool is_self;
};

struct gossip_callbacks {
    void *ud;
    void (*member)(void *ud, enum gossip_event event, const struct gossip_member *m);
    void (*role)(void *ud, const char *role, bool held);
    void (*user_event)(void *ud, uint64_t origin, const void *data, size_t len);
    void (*log)(void *ud, enum gossip_log_level level, const char *msg);
};

struct gossip_hooks {
    void *ctx;
    uint64_t (*now_ms)(void *ctx);
    uint64_t (*wall_ms)(void *ctx);
    void (*random)(void *ctx, void *buf, size_t len);
    int (*send)(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf, size_t len);
};

struct gossip_role {
    char name[GOSSIP_ROLE_NAME_MAX];
    uint64_t nodes[GOSSIP_ROLE_MAX_NODES];
    unsigned n_nodes;
    unsigned flags;
};

struct gossip_config {
    uint32_t size;
    uint64_t node_id;
    char bind_addr[GOSSIP_ADDR_MAX];
    char advertise_addr[GOSSIP_ADDR_MAX];
    uint16_t bind_port;
    uint16_t advertise_port;
    uint32_t heartbeat_ms;
    char seeds[GOSSIP_MAX_SEEDS][GOSSIP_ADDR_MAX];
    unsigned n_seeds;
    uint8_t keys[GOSSIP_MAX_KEYS][GOSSIP_KEY_LEN];
    unsigned n_keys;
    char cluster_label[GOSSIP_LABEL_MAX];
    struct gossip_role roles[GOSSIP_MAX_ROLES];
    unsigned n_roles;
    uint32_t probe_timeout_ms;
    uint32_t indirect_timeout_ms;
    unsigned indirect_checks;
    double suspicion_mult;
    double suspicion_max_mult;
    unsigned suspicion_confirmations;
    double retransmit_mult;
    uint32_t gossip_interval_ms;
    unsigned gossip_fanout;
    uint32_t sync_interval_ms;
    unsigned ae_records;
    uint32_t reconnect_interval_ms;
    uint32_t reap_ms;
    unsigned awareness_max;
    unsigned max_datagram;
    unsigned max_members;
    unsigned max_meta;
    unsigned max_event;
    unsigned max_pending_events;
    uint64_t generation;
    struct gossip_callbacks cb;
    struct gossip_hooks hooks;
};

struct gossip_stats {
    uint64_t sent_datagrams, sent_bytes, send_errors;
    uint64_t recv_datagrams, recv_bytes;
    uint64_t drop_short;
    uint64_t drop_oversize;
    uint64_t drop_version;
    uint64_t drop_key;
    uint64_t drop_auth;
    uint64_t drop_replay;
    uint64_t drop_malformed;
    uint64_t drop_self;
    uint64_t drop_full;
    uint64_t probes, indirect_probes, indirect_requests, nacks_sent, nacks_received;
    uint64_t suspicions, refutations, failures, joins, leaves;
    uint64_t syncs;
    uint64_t events_delivered;
    uint64_t conflicts;
    unsigned awareness;
    uint32_t sent_bytes_per_s, recv_bytes_per_s;
    uint32_t sent_datagrams_per_s, recv_datagrams_per_s;
    uint64_t over_limit;
};

void gossip_config_init(struct gossip_config *cfg);
int gossip_config_add_raw_key(struct gossip_config *cfg, const uint8_t key[GOSSIP_KEY_LEN]);
int gossip_config_add_seed(struct gossip_config *cfg, const char *seed);
int gossip_config_set_role(struct gossip_config *cfg, const char *name, const uint64_t *nodes,
                           size_t n, unsigned flags);
int gossip_config_validate(const struct gossip_config *cfg, char *err, size_t errlen);
int gossip_config_load_string(struct gossip_config *cfg, const char *text, const char *name,
                              char *err, size_t errlen);
int gossip_config_format(const struct gossip_config *cfg, char *buf, size_t buflen);
int gossip_create(gossip_t **out, const struct gossip_config *cfg);
void gossip_destroy(gossip_t *g);
int gossip_tick(gossip_t *g);
int gossip_feed(gossip_t *g, const struct sockaddr *from, socklen_t from_len, const void *buf,
                size_t len);
uint64_t gossip_self_id(const gossip_t *g);
int gossip_member_get(const gossip_t *g, uint64_t id, struct gossip_member *out);
int gossip_member_foreach(const gossip_t *g, int (*fn)(void *ud, const struct gossip_member *m),
                          void *ud);
int gossip_member_restore(gossip_t *g, const struct gossip_member *m);
int gossip_reconfigure(gossip_t *g, const struct gossip_config *cfg);
int gossip_stats_get(const gossip_t *g, struct gossip_stats *out);

#ifndef ABI_LEGACY_ONLY
/* The 0.2 entry points (a program built against 0.2 reaches them through
 * the header's macros, with its own sizeof). */
void gossip_config_init_sized(struct gossip_config *cfg, size_t size);
int gossip_stats_get_sized(const gossip_t *g, struct gossip_stats *out, size_t size);
int gossip_member_get_sized(const gossip_t *g, uint64_t id, struct gossip_member *out,
                            size_t size);
int gossip_member_restore_sized(gossip_t *g, const struct gossip_member *m, size_t size);
int gossip_reconfigure_ex(gossip_t *g, const struct gossip_config *cfg, unsigned flags, char *err,
                          size_t errlen);
const char *gossip_version(void);
uint32_t gossip_version_number(void);
#endif

/* ---- guarded placement -------------------------------------------------------- */

#define GUARD 64
#define GUARD_BYTE 0xa5

/* One struct at the end of its own mapping. */
struct placed {
    void *map;
    size_t map_len;
    unsigned char *p;   /* the struct */
    size_t size, guard; /* its size; the guard bytes after it */
};

static struct placed place(size_t size, size_t guard)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (size + guard + page - 1) / page * page;
    struct placed pl = {.map_len = data + page, .size = size, .guard = guard};

    pl.map = mmap(NULL, pl.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(pl.map != MAP_FAILED);
    assert_int_equal(mprotect((unsigned char *)pl.map + data, page, PROT_NONE), 0);
    /* sizes here are multiples of 8, so the struct is aligned */
    assert_int_equal(size % 8, 0);
    pl.p = (unsigned char *)pl.map + data - guard - size;
    memset(pl.map, GUARD_BYTE, data);
    return pl;
}

/* The guard bytes were not touched. */
static void assert_guard(const struct placed *pl)
{
    for (size_t i = 0; i < pl->guard; i++)
        if (pl->p[pl->size + i] != GUARD_BYTE)
            fail_msg("byte %zu after the %zu-byte struct was written (0x%02x)", i, pl->size,
                     pl->p[pl->size + i]);
}

static void unplace(struct placed *pl)
{
    munmap(pl->map, pl->map_len);
    pl->map = NULL;
}

/* ---- two nodes wired by their hooks --------------------------------------------- */

#define NODES 2
#define QMAX 256

static uint64_t fake_now = 1000000;

struct node {
    unsigned idx;
    gossip_t *g;
    uint64_t rng;
    unsigned joins, logs;
    char last_log[256];
};

struct dgram {
    unsigned from, to;
    size_t len;
    uint8_t buf[1500];
};

static struct node nodes[NODES];
static struct dgram queue[QMAX];
static unsigned queued;

static uint64_t hook_now(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static uint64_t hook_wall(void *ctx)
{
    (void)ctx;
    return 1700000000000ull;
}

static void hook_random(void *ctx, void *buf, size_t len)
{
    struct node *n = ctx;
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++) {
        n->rng = n->rng * 6364136223846793005ull + 1442695040888963407ull;
        b[i] = (uint8_t)(n->rng >> 56);
    }
}

static void node_addr(unsigned i, struct sockaddr_in *a)
{
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)(7101 + i));
    a->sin_addr.s_addr = htonl(0x7f000001);
}

static int hook_send(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf,
                     size_t len)
{
    const struct node *n = ctx;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)to;
    if (to->sa_family != AF_INET || to_len < sizeof *sin || len > sizeof queue[0].buf ||
        queued == QMAX)
        return -1;
    unsigned port = ntohs(sin->sin_port);
    if (port < 7101 || port >= 7101 + NODES)
        return 0; /* nobody there */
    queue[queued] = (struct dgram){.from = n->idx, .to = port - 7101, .len = len};
    memcpy(queue[queued].buf, buf, len);
    queued++;
    return 0;
}

static void on_member(void *ud, enum gossip_event ev, const struct gossip_member *m)
{
    struct node *n = ud;
    /* the library's struct: an old program reads the fields it knows */
    if (ev == GOSSIP_EVENT_JOIN && !m->is_self)
        n->joins++;
}

static void on_log(void *ud, enum gossip_log_level level, const char *msg)
{
    struct node *n = ud;
    (void)level;
    n->logs++;
    snprintf(n->last_log, sizeof n->last_log, "%s", msg);
}

/* Node i's settings, on top of an initialised config. */
static void fill_fields(struct gossip_config *cfg, unsigned i)
{
    static const uint8_t key[GOSSIP_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    cfg->node_id = 100 + i;
    snprintf(cfg->bind_addr, sizeof cfg->bind_addr, "127.0.0.1");
    cfg->bind_port = (uint16_t)(7101 + i);
    cfg->heartbeat_ms = 100;
    assert_int_equal(gossip_config_add_raw_key(cfg, key), 0);
    if (i > 0)
        assert_int_equal(gossip_config_add_seed(cfg, "127.0.0.1:7101"), 0);
    nodes[i].idx = i;
    nodes[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
    cfg->cb.ud = &nodes[i];
    cfg->cb.member = on_member;
    cfg->cb.log = on_log;
    cfg->hooks.ctx = &nodes[i];
    cfg->hooks.now_ms = hook_now;
    cfg->hooks.wall_ms = hook_wall;
    cfg->hooks.random = hook_random;
    cfg->hooks.send = hook_send;
}

/* A 0.1.0 program's config for node i, built the 0.1.0 way in `cfg`. */
static void fill_config(struct gossip_config *cfg, unsigned i)
{
    gossip_config_init(cfg);
    fill_fields(cfg, i);
}

static void pump(void)
{
    for (unsigned k = 0; k < queued; k++) {
        struct sockaddr_in from;
        node_addr(queue[k].from, &from);
        if (nodes[queue[k].to].g)
            gossip_feed(nodes[queue[k].to].g, (const struct sockaddr *)&from, sizeof from,
                        queue[k].buf, queue[k].len);
    }
    queued = 0;
}

static void run_ms(unsigned ms)
{
    for (unsigned t = 0; t < ms; t += 10) {
        fake_now += 10;
        for (unsigned i = 0; i < NODES; i++)
            if (nodes[i].g)
                gossip_tick(nodes[i].g);
        pump();
        pump();
    }
}

/* Two nodes created from 0.1.0 configs that end at a page boundary (any
 * read past them faults), joined. */
static void start_cluster(void)
{
    memset(nodes, 0, sizeof nodes);
    queued = 0;
    for (unsigned i = 0; i < NODES; i++) {
        struct placed pl = place(sizeof(struct gossip_config), 0);
        struct gossip_config *cfg = (struct gossip_config *)pl.p;
        fill_config(cfg, i);
        assert_int_equal(gossip_create(&nodes[i].g, cfg), 0);
        unplace(&pl);
    }
    run_ms(3000);
    for (unsigned i = 0; i < NODES; i++)
        assert_int_equal(nodes[i].joins, 1);
}

static int stop_cluster(void **state)
{
    (void)state;
    for (unsigned i = 0; i < NODES; i++) {
        gossip_destroy(nodes[i].g);
        nodes[i].g = NULL;
    }
    return 0;
}

/* ---- the 0.1.0 calls ---------------------------------------------------------- */

/* gossip_config_init() writes the 0.1.0 struct and nothing after it, and
 * says so in `size`. */
static void test_config_init_legacy(void **state)
{
    (void)state;
    struct placed pl = place(sizeof(struct gossip_config), GUARD);
    struct gossip_config *cfg = (struct gossip_config *)pl.p;

    gossip_config_init(cfg);
    assert_guard(&pl);
    assert_int_equal(cfg->size, sizeof(struct gossip_config));
    assert_int_equal(cfg->bind_port, 1179);
    assert_int_equal(cfg->heartbeat_ms, 1000);
    assert_int_equal(cfg->n_roles, 5);
    assert_string_equal(cfg->roles[2].name, "acme.renew");
    assert_null(cfg->hooks.send);
    unplace(&pl);
}

/* The builders, the loader, validate and format on a 0.1.0 config that
 * ends at a page boundary: nothing reads or writes past it. */
static void test_config_calls_legacy(void **state)
{
    (void)state;
    struct placed pl = place(sizeof(struct gossip_config), 0);
    struct gossip_config *cfg = (struct gossip_config *)pl.p;
    char err[256], text[4096];
    const uint64_t who[] = {100};

    fill_config(cfg, 1);
    assert_int_equal(gossip_config_set_role(cfg, "acme.renew", who, 1, 0), 0);
    assert_int_equal(gossip_config_load_string(cfg, "[cluster]\nheartbeat = 200ms\n", "t", err,
                                               sizeof err),
                     0);
    assert_int_equal(cfg->heartbeat_ms, 200);
    assert_int_equal(cfg->size, sizeof(struct gossip_config));
    assert_ptr_equal(cfg->hooks.send, hook_send); /* kept by the loader */
    assert_int_equal(gossip_config_validate(cfg, err, sizeof err), 0);
    int n = gossip_config_format(cfg, text, sizeof text);
    assert_true(n > 0 && (size_t)n < sizeof text);
    assert_non_null(strstr(text, "heartbeat = \"200ms\""));
    unplace(&pl);
}

/* gossip_stats_get() writes the 0.1.0 struct gossip_stats and nothing after
 * it.  The old library wrote events_lost (8 bytes) past it. */
static void test_stats_get_legacy(void **state)
{
    (void)state;
    start_cluster();
    struct placed pl = place(sizeof(struct gossip_stats), GUARD);
    struct gossip_stats *st = (struct gossip_stats *)pl.p;

    assert_int_equal(gossip_stats_get(nodes[0].g, st), 0);
    assert_guard(&pl);
    assert_true(st->sent_datagrams > 0);
    assert_true(st->recv_datagrams > 0);
    assert_int_equal(st->joins, 1);
    assert_int_equal(st->drop_auth, 0);
    unplace(&pl);
}

/* gossip_member_get() writes the 0.1.0 struct gossip_member and nothing
 * after it; foreach hands over the library's struct, whose 0.1.0 part is
 * the same. */
struct seen {
    unsigned n;
    uint64_t ids[NODES];
};

static int count_member(void *ud, const struct gossip_member *m)
{
    struct seen *s = ud;
    if (s->n < NODES)
        s->ids[s->n] = m->id;
    s->n++;
    return 0;
}

static void test_member_get_legacy(void **state)
{
    (void)state;
    start_cluster();
    struct placed pl = place(sizeof(struct gossip_member), GUARD);
    struct gossip_member *m = (struct gossip_member *)pl.p;
    struct seen s = {0};

    assert_int_equal(gossip_member_get(nodes[0].g, 101, m), 0);
    assert_guard(&pl);
    assert_int_equal(m->id, 101);
    assert_int_equal(m->state, GOSSIP_ALIVE);
    assert_false(m->is_self);
    assert_int_equal(m->addr_len, sizeof(struct sockaddr_in));
    assert_int_equal(gossip_member_get(nodes[0].g, 100, m), 0);
    assert_true(m->is_self);
    assert_guard(&pl);
    assert_int_equal(gossip_member_get(nodes[0].g, 555, m), GOSSIP_ENOTFOUND);
    assert_int_equal(gossip_member_foreach(nodes[0].g, count_member, &s), 0);
    assert_int_equal(s.n, 2);
    unplace(&pl);
}

/* gossip_member_restore() reads a 0.1.0 struct gossip_member that ends at
 * a page boundary; gossip_reconfigure() a 0.1.0 config. */
static void test_restore_reconfigure_legacy(void **state)
{
    (void)state;
    start_cluster();
    struct placed pm = place(sizeof(struct gossip_member), 0);
    struct gossip_member *m = (struct gossip_member *)pm.p;
    struct sockaddr_in a;

    memset(m, 0, sizeof *m);
    m->id = 777;
    m->state = GOSSIP_ALIVE;
    m->generation = 5;
    node_addr(7, &a);
    memcpy(&m->addr, &a, sizeof a);
    m->addr_len = sizeof a;
    assert_int_equal(gossip_member_restore(nodes[0].g, m), 0);
    unplace(&pm);

    struct placed pc = place(sizeof(struct gossip_config), 0);
    struct gossip_config *cfg = (struct gossip_config *)pc.p;
    const uint64_t who[] = {101};
    fill_config(cfg, 0);
    assert_int_equal(gossip_config_set_role(cfg, "acme.renew", who, 1, 0), 0);
    assert_int_equal(gossip_reconfigure(nodes[0].g, cfg), 0);
    unplace(&pc);
}

#ifndef ABI_LEGACY_ONLY
/* ---- the 0.2 calls with the sizes programs pass ------------------------------------ */

/* A program's own sizeof, a smaller size (no such layout: written, but
 * refused by every call that reads it) and a larger one (a program built
 * against a newer header: what this library does not know is zeroed). */
static void test_config_init_sized(void **state)
{
    (void)state;
    const size_t s010 = sizeof(struct gossip_config);
    char err[256];

    struct placed pl = place(s010, GUARD);
    struct gossip_config *cfg = (struct gossip_config *)pl.p;
    gossip_config_init_sized(cfg, s010);
    assert_guard(&pl);
    assert_int_equal(cfg->size, s010);
    assert_int_equal(cfg->bind_port, 1179);
    unplace(&pl);

    /* smaller than any released layout: only that much is written */
    const size_t small = offsetof(struct gossip_config, cb);
    pl = place(small, GUARD);
    cfg = (struct gossip_config *)pl.p;
    gossip_config_init_sized(cfg, small);
    assert_guard(&pl);
    assert_int_equal(cfg->size, small);
    assert_int_equal(cfg->heartbeat_ms, 1000);
    assert_int_equal(gossip_config_validate(cfg, err, sizeof err), GOSSIP_EINVAL);
    assert_non_null(strstr(err, "bytes"));
    gossip_t *g = (gossip_t *)&err; /* must be overwritten */
    assert_int_equal(gossip_create(&g, cfg), GOSSIP_EINVAL);
    assert_null(g);
    unplace(&pl);

    /* a size below the size field itself: nothing at all is written */
    pl = place(8, GUARD);
    gossip_config_init_sized((struct gossip_config *)pl.p, 3);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(pl.p[i], GUARD_BYTE);
    unplace(&pl);

    /* larger: a newer program's unknown tail is zero, the guard intact,
     * and the config creates a node */
    const size_t big = s010 + 64;
    pl = place(big, GUARD);
    cfg = (struct gossip_config *)pl.p;
    gossip_config_init_sized(cfg, big);
    assert_guard(&pl);
    assert_int_equal(cfg->size, big);
    for (size_t i = s010; i < big; i++)
        assert_int_equal(pl.p[i], 0);
    fill_fields(cfg, 0);
    assert_int_equal(gossip_config_validate(cfg, err, sizeof err), 0);
    assert_int_equal(gossip_create(&g, cfg), 0);
    assert_non_null(g);
    gossip_destroy(g);
    assert_guard(&pl);
    unplace(&pl);
}

/* Counters today's library has after the 0.1.0 ones: events_lost,
 * loop_stalls, five of queries, six of first contact (wire format 2). */
#define LIB_STATS_AFTER_0_1 13

static void test_stats_get_sized(void **state)
{
    (void)state;
    start_cluster();
    const size_t s010 = sizeof(struct gossip_stats);
    struct placed pl;

    /* the 0.1.0 size, and the 0.2 one (events_lost appended) */
    for (size_t size = s010; size <= s010 + 8; size += 8) {
        pl = place(size, GUARD);
        assert_int_equal(gossip_stats_get_sized(nodes[1].g, (struct gossip_stats *)pl.p, size), 0);
        assert_guard(&pl);
        assert_true(((struct gossip_stats *)pl.p)->recv_datagrams > 0);
        if (size > s010) {
            uint64_t lost;
            memcpy(&lost, pl.p + s010, sizeof lost);
            assert_int_equal(lost, 0); /* events_lost */
        }
        unplace(&pl);
    }
    /* a newer program: the fields this library lacks read 0 (this library
     * has LIB_STATS_AFTER_0_1 counters after the 0.1.0 ones; some of them
     * may be 0 too, so only what lies beyond is checked) */
    size_t lib_end = s010 + 8 * LIB_STATS_AFTER_0_1, newer = lib_end + 72;
    pl = place(newer, GUARD);
    memset(pl.p, 0x77, newer);
    assert_int_equal(gossip_stats_get_sized(nodes[1].g, (struct gossip_stats *)pl.p, newer), 0);
    assert_guard(&pl);
    for (size_t i = lib_end; i < newer; i++)
        assert_int_equal(pl.p[i], 0);
    unplace(&pl);
    /* smaller than 0.1.0: refused, nothing written */
    pl = place(s010 - 8, GUARD);
    assert_int_equal(gossip_stats_get_sized(nodes[1].g, (struct gossip_stats *)pl.p, s010 - 8),
                     GOSSIP_EINVAL);
    for (size_t i = 0; i < s010 - 8; i++)
        assert_int_equal(pl.p[i], GUARD_BYTE);
    unplace(&pl);
}

static void test_member_sized(void **state)
{
    (void)state;
    start_cluster();
    const size_t s010 = sizeof(struct gossip_member);
    struct placed pl = place(s010, GUARD);

    assert_int_equal(gossip_member_get_sized(nodes[1].g, 100, (struct gossip_member *)pl.p, s010),
                     0);
    assert_guard(&pl);
    assert_int_equal(((struct gossip_member *)pl.p)->id, 100);
    unplace(&pl);

    pl = place(s010 + 32, GUARD);
    memset(pl.p, 0x77, s010 + 32);
    assert_int_equal(
        gossip_member_get_sized(nodes[1].g, 100, (struct gossip_member *)pl.p, s010 + 32), 0);
    assert_guard(&pl);
    for (size_t i = s010; i < s010 + 32; i++)
        assert_int_equal(pl.p[i], 0);
    unplace(&pl);

    pl = place(s010 - 8, GUARD);
    assert_int_equal(
        gossip_member_get_sized(nodes[1].g, 100, (struct gossip_member *)pl.p, s010 - 8),
        GOSSIP_EINVAL);
    unplace(&pl);

    /* restore reads exactly the size it is given */
    pl = place(s010, 0);
    struct gossip_member *m = (struct gossip_member *)pl.p;
    struct sockaddr_in a;
    memset(m, 0, s010);
    m->id = 778;
    m->state = GOSSIP_ALIVE;
    node_addr(8, &a);
    memcpy(&m->addr, &a, sizeof a);
    m->addr_len = sizeof a;
    assert_int_equal(gossip_member_restore_sized(nodes[1].g, m, s010), 0);
    assert_int_equal(gossip_member_restore_sized(nodes[1].g, m, s010 - 8), GOSSIP_EINVAL);
    unplace(&pl);
}

/* A 0.1.0 config created and reconfigured through the 0.2 calls; a
 * refusal names the field. */
static void test_reconfigure_ex_legacy_config(void **state)
{
    (void)state;
    start_cluster();
    struct placed pc = place(sizeof(struct gossip_config), 0);
    struct gossip_config *cfg = (struct gossip_config *)pc.p;
    char err[256];

    fill_config(cfg, 1);
    assert_int_equal(gossip_reconfigure_ex(nodes[1].g, cfg, 0, err, sizeof err), 0);
    assert_string_equal(err, "");
    snprintf(cfg->cluster_label, sizeof cfg->cluster_label, "other");
    assert_int_equal(gossip_reconfigure_ex(nodes[1].g, cfg, 0, err, sizeof err), GOSSIP_EINVAL);
    assert_non_null(strstr(err, "cluster_label"));
    assert_non_null(strstr(nodes[1].last_log, "cluster_label"));
    unplace(&pc);
}

static void test_version(void **state)
{
    (void)state;
    const char *v = gossip_version();
    uint32_t n = gossip_version_number();
    char want[32];

    assert_non_null(v);
    snprintf(want, sizeof want, "%u.%u.%u", (unsigned)(n >> 16), (unsigned)(n >> 8 & 0xff),
             (unsigned)(n & 0xff));
    assert_string_equal(v, want);
    assert_true(n >= 0x000200u); /* these calls came with 0.2.0 */
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_init_legacy),
        cmocka_unit_test(test_config_calls_legacy),
        cmocka_unit_test_teardown(test_stats_get_legacy, stop_cluster),
        cmocka_unit_test_teardown(test_member_get_legacy, stop_cluster),
        cmocka_unit_test_teardown(test_restore_reconfigure_legacy, stop_cluster),
#ifndef ABI_LEGACY_ONLY
        cmocka_unit_test(test_config_init_sized),
        cmocka_unit_test_teardown(test_stats_get_sized, stop_cluster),
        cmocka_unit_test_teardown(test_member_sized, stop_cluster),
        cmocka_unit_test_teardown(test_reconfigure_ex_legacy_config, stop_cluster),
        cmocka_unit_test(test_version),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
