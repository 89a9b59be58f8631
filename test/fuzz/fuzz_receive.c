/*
 * libFuzzer target: the full receive path (gossip_feed -> open_datagram -> dispatch:
 * envelope, replay windows, open, decode, limits, apply) and the state
 * machine behind it, on one handle with a known key.
 *
 * The handle is created in LLVMFuzzerInitialize with hooks: a fake clock,
 * a deterministic random source and a send hook that discards.  By default
 * it is re-created at the start of every input (about 0.15 ms), so every
 * input starts from the same state: a crash reproduces from its file alone,
 * and libFuzzer's leak check (which runs LeakSanitizer after any input that
 * allocated more than it freed) stays cheap and exact.  With a state that
 * carried over, nearly every input left more allocated than it found, LSan
 * ran each time and the target managed ~600 exec/s.  FUZZ_RECEIVE_PERSIST=1
 * keeps one handle across inputs instead, as a long-running node does (run
 * it with -detect_leaks=0); a history-dependent crash then needs the inputs
 * before it.  Chunks (below) let one input build any history anyway.  The
 * member table is bounded (max_members 64) and so is everything else, so
 * libFuzzer's -rss_limit_mb catches unbounded growth.
 *
 * An input is a sequence of chunks; each starts with an op byte whose low
 * three bits select what to do (a length that runs past the end of the
 * input is cut to what is left, so "op sel ff ff bytes..." takes the rest):
 *
 *   0 RAW     sel len16 bytes   feed the bytes as a datagram, as they are
 *   1 SEALED  sel [ctr] len16 payload
 *                               seal the PAYLOAD (wire format 2: a DATA)
 *                               with the cluster key as a fake sender that
 *                               completed a handshake with the node (for
 *                               the node's current life, with its token
 *                               for that sender life and source address:
 *                               test/forge.h) and feed it: this reaches
 *                               the decoder and the state machine behind
 *                               authentication.  op 0x10: a counter byte
 *                               follows and rewinds the sender's counter
 *                               by that much (replays); op 0x20: seal with
 *                               the second key (installed, opens only);
 *                               op 0x40: with a key the node does not
 *                               have; op 0x80: without the token (a sender
 *                               life the node may not know: refused and
 *                               answered with a HELLO)
 *   2 TICK    d                 clock += d * 16 ms (op 0x10: d * 1024 ms), tick
 *   3 META    n bytes           gossip_set_meta
 *   4 EVENT   n bytes           gossip_broadcast
 *   5 LEAVE                     gossip_leave
 *   6 RESET                     destroy the handle and create a fresh one
 *   7 SHAKE   sel seq8 len16 payload
 *                               a handshake datagram of that sender: op
 *                               0x10 a COOKIE for the node's life, its
 *                               36-byte payload naming the node and
 *                               echoing the challenge the node would have
 *                               made for a HELLO to that source with seq8
 *                               and target the sender (op 0x20: target
 *                               NODE_ANY), the token from the input; else
 *                               a HELLO (sealed for anybody) with the
 *                               payload as it is (36 bytes decode)
 *
 * sel: bits 0-2 sender (node ids 1..5; 1 is the node's own id), bits 3-4
 * the sender's life (three made-up sessions; for id 1, life 1 is the
 * node's own), 3: life 2 sealing for another life of the node (a stale
 * receiver), bits 5-7 source address (0: the sender's own,
 * 10.0.0.<id>:1179; else a fixed table with another port, IPv6 and
 * v4-mapped sources).
 *
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "forge.h"
#include "gossip.h"
#include "handshake.h"
#include "internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SELF_ID 1u
#define N_IDS 5u
#define MAX_MEMBERS 64u
#define MAX_META 128u
#define MAX_CHUNKS 64u
#define LABEL "fuzz"

static const uint8_t KEY_A[GOSSIP_KEY_LEN] = "libgossip-fuzz-key-A-32-bytes!!";
static const uint8_t KEY_B[GOSSIP_KEY_LEN] = "libgossip-fuzz-key-B-32-bytes!!";
static const uint8_t KEY_C[GOSSIP_KEY_LEN] = "libgossip-fuzz-key-C-32-bytes!!";
static const uint64_t SESSIONS[3] = {1000, 2000, 3000}; /* the made-up lives' generations */

static gossip_t *g;
static struct gossip_config cfg;
static uint64_t now_ms = 1000;
static uint64_t rng_state;
/* sealing side of every (sender, life, key) a chunk can name, and its
 * DATA counter towards the node's current life */
static struct forger senders[N_IDS][3][3];
static uint64_t counters[N_IDS][3][3];
static uint8_t dgram[4096];
static bool leaving; /* the last input left the cluster: start the next one fresh */
static bool persist;  /* FUZZ_RECEIVE_PERSIST=1: one handle across inputs */

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_receive: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* ---- hooks and callbacks ------------------------------------------------- */

static uint64_t hook_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}

static uint64_t hook_wall(void *ctx)
{
    (void)ctx;
    return 1700000000000ull + now_ms;
}

static void hook_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    uint8_t *p = buf;
    while (len) {
        uint64_t x = rng_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rng_state = x;
        size_t k = len < 8 ? len : 8;
        memcpy(p, &x, k);
        p += k;
        len -= k;
    }
}

static volatile uint8_t sink;

static void touch(const void *p, size_t n)
{
    const volatile uint8_t *b = p;
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= b[i];
    sink ^= x;
}

static int hook_send(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf, size_t len)
{
    (void)ctx;
    CHECK(to != NULL && to_len > 0 && to_len <= sizeof(struct sockaddr_storage));
    CHECK(len >= ENV_OVERHEAD && len <= cfg.max_datagram);
    touch(buf, len); /* the whole datagram must be initialised memory */
    return 0;
}

static void cb_member(void *ud, enum gossip_event ev, const struct gossip_member *m)
{
    (void)ud;
    CHECK((unsigned)ev <= GOSSIP_EVENT_CONFLICT);
    CHECK((unsigned)m->state <= GOSSIP_LEFT);
    CHECK(m->meta_len <= MAX_META && (m->meta_len == 0 || m->meta != NULL));
    touch(m->meta, m->meta_len);
    /* callbacks may query the handle */
    struct gossip_member tmp;
    (void)gossip_member_get(g, m->id, &tmp);
}

static void cb_role(void *ud, const char *role, bool held)
{
    (void)ud;
    (void)held;
    CHECK(role != NULL && strlen(role) < GOSSIP_ROLE_NAME_MAX);
    (void)gossip_role_held(g, role);
}

static void cb_user(void *ud, uint64_t origin, const void *data, size_t len)
{
    (void)ud;
    (void)origin;
    CHECK(len <= cfg.max_event);
    touch(data, len);
}

static void cb_log(void *ud, enum gossip_log_level level, const char *msg)
{
    (void)ud;
    (void)level;
    touch(msg, strlen(msg));
}

/* ---- handle -------------------------------------------------------------- */

static void handle_create(void)
{
    rng_state = 0x2545f4914f6cdd1dull;
    gossip_config_init(&cfg);
    cfg.node_id = SELF_ID;
    snprintf(cfg.bind_addr, sizeof cfg.bind_addr, "10.0.0.1");
    snprintf(cfg.seeds[0], sizeof cfg.seeds[0], "10.0.0.2:1179");
    cfg.n_seeds = 1;
    CHECK(gossip_config_add_raw_key(&cfg, KEY_A) == 0);
    CHECK(gossip_config_add_raw_key(&cfg, KEY_B) == 0);
    snprintf(cfg.cluster_label, sizeof cfg.cluster_label, LABEL);
    cfg.generation = SESSIONS[1];
    cfg.heartbeat_ms = 100;
    cfg.reap_ms = 3000;
    cfg.max_datagram = 1232;
    cfg.max_members = MAX_MEMBERS;
    cfg.max_meta = MAX_META;
    cfg.max_event = 256;
    cfg.max_pending_events = 32;
    const uint64_t listed[2] = {2, 3};
    CHECK(gossip_config_set_role(&cfg, "fz.listed", listed, 2, 0) == 0);
    CHECK(gossip_config_set_role(&cfg, "fz.pinned", listed + 1, 1, GOSSIP_ROLE_NO_FAILOVER) == 0);
    CHECK(gossip_config_set_role(&cfg, "fz.quorum", NULL, 0, GOSSIP_ROLE_QUORUM) == 0);
    cfg.cb.member = cb_member;
    cfg.cb.role = cb_role;
    cfg.cb.user_event = cb_user;
    cfg.cb.log = cb_log;
    cfg.hooks.now_ms = hook_now;
    cfg.hooks.wall_ms = hook_wall;
    cfg.hooks.random = hook_random;
    cfg.hooks.send = hook_send;
    int rc = gossip_create(&g, &cfg);
    if (rc != 0) {
        fprintf(stderr, "fuzz_receive: gossip_create: %s\n", gossip_strerror(rc));
        abort();
    }
    CHECK(gossip_fd(g) == -1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *e = getenv("FUZZ_RECEIVE_PERSIST");
    persist = e && *e == '1';
    handle_create();
    return 0;
}

/* Source address of a datagram: 0 = the sender's own, else a fixed table. */
static socklen_t source(unsigned id_idx, unsigned which, struct sockaddr_storage *ss);

/* The forger of (sender, life, key) sending from `from`; for id 1 (our own)
 * life 1 is the node's own session (our own datagrams coming back). */
static struct forger *sender(unsigned id_idx, unsigned sess, unsigned key, const struct sockaddr_storage *from,
                             socklen_t fl)
{
    const uint8_t *k = key == 0 ? KEY_A : key == 1 ? KEY_B : KEY_C;
    struct forger *f = &senders[id_idx][sess][key];
    forger_init(f, k, LABEL, id_idx + 1, 1 + sess * 7 + key, (const struct sockaddr *)from, fl);
    f->generation = SESSIONS[sess];
    if (id_idx + 1 == SELF_ID && sess == 1) {
        memcpy(f->session, g->crypto.session, ENV_SESSION_LEN);
        f->generation = g->generation;
    }
    return f;
}

static socklen_t source(unsigned id_idx, unsigned which, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(GOSSIP_DEFAULT_PORT);
    switch (which) {
    case 0: a->sin_addr.s_addr = htonl(0x0a000001u + id_idx); break;
    case 1: a->sin_addr.s_addr = htonl(0x0a000001u + (id_idx + 1) % N_IDS); break;
    case 2: a->sin_addr.s_addr = htonl(0x0a000001u + id_idx); a->sin_port = htons(2000); break;
    case 3: a->sin_addr.s_addr = htonl(0x0a090909u); break;
    case 4: a->sin_addr.s_addr = htonl(0x0a000001u); break; /* the node's own address */
    case 5:
    case 6:
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(GOSSIP_DEFAULT_PORT);
        if (which == 5) {
            a6->sin6_addr.s6_addr[0] = 0xfd;
            a6->sin6_addr.s6_addr[15] = (uint8_t)(id_idx + 1);
        } else { /* v4-mapped */
            a6->sin6_addr.s6_addr[10] = a6->sin6_addr.s6_addr[11] = 0xff;
            a6->sin6_addr.s6_addr[12] = 10;
            a6->sin6_addr.s6_addr[15] = (uint8_t)(id_idx + 1);
        }
        return sizeof *a6;
    default: a->sin_addr.s_addr = htonl(0x7f000001u); a->sin_port = htons(1); break;
    }
    return sizeof *a;
}

/* ---- input --------------------------------------------------------------- */

struct cursor {
    const uint8_t *p;
    size_t left;
};

static uint8_t take_u8(struct cursor *c)
{
    if (!c->left)
        return 0;
    c->left--;
    return *c->p++;
}

static size_t take_len16(struct cursor *c)
{
    size_t n = (size_t)take_u8(c) << 8;
    n |= take_u8(c);
    return n < c->left ? n : c->left;
}

static void check_invariants(void)
{
    CHECK(gossip_member_count(g, GOSSIP_STATES_ALL) <= MAX_MEMBERS + 1);
    CHECK(gossip_next_timeout_ms(g) >= 0);
    struct gossip_stats st;
    CHECK(gossip_stats_get(g, &st) == 0);
    struct gossip_member self;
    CHECK(gossip_member_get(g, SELF_ID, &self) == 0 && self.is_self);
}

static int check_member(void *ud, const struct gossip_member *m)
{
    (void)ud;
    CHECK((unsigned)m->state <= GOSSIP_LEFT);
    CHECK(m->meta_len <= MAX_META && (m->meta_len == 0 || m->meta != NULL));
    touch(m->meta, m->meta_len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = {data, size};
    struct sockaddr_storage from;

    if (!persist || leaving) {
        /* (persistent: a node that left stays left; without this one LEAVE
         * would shut every later input out of most of the state machine) */
        gossip_destroy(g);
        now_ms = 1000;
        handle_create();
        leaving = false;
    }
    if (!persist)
        memset(counters, 0, sizeof counters);
    now_ms += 7; /* time passes between inputs too */
    for (unsigned chunk = 0; c.left && chunk < MAX_CHUNKS; chunk++) {
        uint8_t op = take_u8(&c);
        switch (op & 7) {
        case 0: { /* RAW */
            uint8_t sel = take_u8(&c);
            size_t n = take_len16(&c);
            socklen_t fl = source(sel & 7, (sel >> 5) & 7, &from);
            /* an exactly sized copy: over-reads hit ASan's redzone */
            uint8_t *b = malloc(n ? n : 1);
            CHECK(b != NULL);
            memcpy(b, c.p, n);
            CHECK(gossip_feed(g, (struct sockaddr *)&from, fl, b, n) == 0);
            free(b);
            c.p += n;
            c.left -= n;
            break;
        }
        case 1: { /* SEALED */
            uint8_t sel = take_u8(&c);
            unsigned id_idx = (sel & 7) % N_IDS;
            unsigned sess = (sel >> 3) & 3;
            bool stale = sess == 3;
            if (sess > 2)
                sess = 2;
            unsigned key = (op & 0x40) ? 2 : (op & 0x20) ? 1 : 0;
            socklen_t fl = source(id_idx, (sel >> 5) & 7, &from);
            struct forger *f = sender(id_idx, sess, key, &from, fl);
            f->no_token = (op & 0x80) != 0;
            uint64_t *ctr = &counters[id_idx][sess][key];
            if (op & 0x10) {
                uint8_t back = take_u8(&c);
                *ctr = *ctr > back ? *ctr - back : 0;
            }
            size_t n = take_len16(&c);
            size_t pt = n < sizeof dgram - ENV_OVERHEAD_MAX ? n : sizeof dgram - ENV_OVERHEAD_MAX;
            memcpy(dgram + ENV_HDR_MAX, c.p, pt);
            c.p += n;
            c.left -= n;
            size_t len;
            if (stale) {
                uint8_t other[ENV_SESSION_LEN];
                memcpy(other, g->crypto.session, ENV_SESSION_LEN);
                other[ENV_SESSION_LEN - 1] ^= 0x5a; /* the node's id, another life */
                other[0] ^= (uint8_t)(sel >> 5);
                len = forge_seal_for(f, ENV_DATA, SELF_ID, other, NULL, ++*ctr, dgram, pt, sizeof dgram);
            } else {
                len = forge_seal(g, f, ++*ctr, dgram, pt, sizeof dgram);
            }
            CHECK(len == pt + ENV_OVERHEAD + (stale || f->no_token ? 0 : ENV_TOKEN_LEN));
            CHECK(gossip_feed(g, (struct sockaddr *)&from, fl, dgram, len) == 0);
            break;
        }
        case 7: { /* SHAKE */
            uint8_t sel = take_u8(&c);
            uint8_t seq = take_u8(&c);
            unsigned id_idx = (sel & 7) % N_IDS;
            unsigned sess = (sel >> 3) & 3;
            if (sess > 2)
                sess = 2;
            socklen_t fl = source(id_idx, (sel >> 5) & 7, &from);
            struct forger *f = sender(id_idx, sess, 0, &from, fl);
            size_t n = take_len16(&c);
            size_t pt = n < sizeof dgram - ENV_OVERHEAD_MAX ? n : sizeof dgram - ENV_OVERHEAD_MAX;
            memcpy(dgram + ENV_HDR_MAX, c.p, pt);
            c.p += n;
            c.left -= n;
            uint64_t ctr = ENV_STATELESS_BIT | ((uint64_t)seq << 16) | (uint64_t)(now_ms & 0xffff) | 1;
            size_t len;
            if (op & 0x10) {
                /* a COOKIE answering the HELLO the node would have sent */
                struct hs_payload p;
                memset(&p, 0, sizeof p);
                p.target = SELF_ID;
                p.seq = seq;
                hs_make_challenge(g, &f->from, (op & 0x20) ? NODE_ANY : f->id, seq, p.challenge);
                memcpy(p.token, c.p - n, pt < ENV_TOKEN_LEN ? pt : ENV_TOKEN_LEN);
                hs_encode(&p, dgram + ENV_HDR_MAX);
                len = forge_seal_for(f, ENV_COOKIE, SELF_ID, g->crypto.session, NULL, ctr, dgram, HS_PAYLOAD_LEN,
                                     sizeof dgram);
                CHECK(len == HS_PAYLOAD_LEN + ENV_OVERHEAD);
            } else {
                len = forge_seal_for(f, ENV_HELLO, 0, NULL, NULL, ctr, dgram, pt, sizeof dgram);
                CHECK(len == pt + ENV_OVERHEAD);
            }
            CHECK(gossip_feed(g, (struct sockaddr *)&from, fl, dgram, len) == 0);
            break;
        }
        case 3: { /* META */
            uint8_t n = take_u8(&c);
            size_t k = n < c.left ? n : c.left;
            int rc = gossip_set_meta(g, c.p, k);
            CHECK(rc == 0 || rc == GOSSIP_ETOOBIG || rc == GOSSIP_ESTATE);
            c.p += k;
            c.left -= k;
            break;
        }
        case 4: { /* EVENT */
            uint8_t n = take_u8(&c);
            size_t k = n < c.left ? n : c.left;
            int rc = gossip_broadcast(g, c.p, k);
            CHECK(rc == 0 || rc == GOSSIP_ETOOBIG || rc == GOSSIP_EFULL || rc == GOSSIP_ESTATE ||
                  rc == GOSSIP_EINVAL);
            c.p += k;
            c.left -= k;
            break;
        }
        case 5: /* LEAVE */
            CHECK(gossip_leave(g) == 0);
            leaving = true;
            break;
        case 6: /* RESET */
            gossip_destroy(g);
            g = NULL;
            now_ms = 1000;
            handle_create();
            leaving = false;
            break;
        default: { /* TICK (2) */
            uint8_t d = take_u8(&c);
            now_ms += (uint64_t)d * ((op & 0x10) ? 1024u : 16u);
            CHECK(gossip_tick(g) == 0);
            break;
        }
        }
        check_invariants();
    }
    CHECK(gossip_tick(g) == 0);
    check_invariants();
    (void)gossip_member_foreach(g, check_member, NULL);
    if (getenv("FUZZ_RECEIVE_STATS")) {
        /* what the input reached: run a seed with this set to see that its
         * datagrams get past authentication */
        struct gossip_stats st;
        CHECK(gossip_stats_get(g, &st) == 0);
        fprintf(stderr,
                "fuzz_receive: %llu datagrams, %u members, handshakes %llu, hellos answered %llu, drops: "
                "auth %llu key %llu replay %llu unknown life %llu stale life %llu self %llu malformed %llu\n",
                (unsigned long long)st.recv_datagrams, (unsigned)gossip_member_count(g, GOSSIP_STATES_ALL),
                (unsigned long long)st.handshakes, (unsigned long long)st.hellos_answered,
                (unsigned long long)st.drop_auth, (unsigned long long)st.drop_key,
                (unsigned long long)st.drop_replay, (unsigned long long)st.drop_unknown_life,
                (unsigned long long)st.drop_stale_life, (unsigned long long)st.drop_self,
                (unsigned long long)st.drop_malformed);
    }
    return 0;
}
