/*
 * Writes the seed corpus of fuzz_wire and fuzz_receive (run once by hand,
 * output checked in: test/fuzz/corpus/{wire,receive}/):
 *   build: cc -std=c11 -D_GNU_SOURCE -Iinclude -Ilib -Itest -o build/fuzz/gen_corpus \
 *              test/fuzz/gen_corpus.c test/forge.c lib/[a-z]*.c -linih -lcrypto -lcares -lm
 *   run:   build/fuzz/gen_corpus test/fuzz/corpus
 *
 * A three-node hook cluster (ids 1..3 at 10.0.0.1..3:1179, the key and
 * label fuzz_receive uses) joins, gossips metadata and cluster events, loses
 * node 3 to a crash and node 2 to a graceful leave; every datagram is
 * captured and opened by a spy of its receiver (wire format 2: a DATA opens
 * only at the life it was sealed for).  fuzz_wire gets distinct plaintext
 * payloads; fuzz_receive gets the DATA datagrams that reached node 1,
 * replayed in order as SEALED chunks (with TICK chunks for the time
 * between them), a HELLO and a COOKIE chunk first in some, and a few RAW
 * chunks holding the original sealed bytes (sealed for another life of
 * node 1 than the fuzzed handle's: refused as a stale receiver).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "forge.h"
#include "gossip.h"
#include "handshake.h"
#include "internal.h"
#include "wire.h"

static const uint8_t KEY_A[GOSSIP_KEY_LEN] = "libgossip-fuzz-key-A-32-bytes!!";
#define LABEL "fuzz"

struct dg {
    unsigned from, to;
    uint64_t t;
    size_t len;
    uint8_t buf[1500];
};

static uint64_t now = 1000;
static struct dg *cap;
static size_t n_cap, cap_cap;
static struct dg *q;
static size_t n_q, q_cap;
static gossip_t *nodes[3];
static bool down[3];
static uint64_t rng[3];

static uint64_t h_now(void *ctx) { (void)ctx; return now; }

static void h_random(void *ctx, void *buf, size_t len)
{
    uint64_t *s = ctx;
    uint8_t *p = buf;
    while (len) {
        uint64_t x = *s;
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        *s = x;
        size_t k = len < 8 ? len : 8;
        memcpy(p, &x, k);
        p += k;
        len -= k;
    }
}

static void push(struct dg **v, size_t *n, size_t *c, const struct dg *d)
{
    if (*n == *c) {
        *c = *c ? *c * 2 : 256;
        *v = realloc(*v, *c * sizeof **v);
        if (!*v)
            abort();
    }
    (*v)[(*n)++] = *d;
}

static int h_send(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf, size_t len)
{
    (void)to_len;
    unsigned from = (unsigned)((uint64_t *)ctx - rng);
    if (to->sa_family != AF_INET || len > sizeof q->buf)
        return 0;
    uint32_t ip = ntohl(((const struct sockaddr_in *)to)->sin_addr.s_addr);
    struct dg d = {.from = from, .to = (ip & 0xff) - 1, .t = now, .len = len};
    memcpy(d.buf, buf, len);
    push(&q, &n_q, &q_cap, &d);
    push(&cap, &n_cap, &cap_cap, &d);
    return 0;
}

static void pump(void)
{
    for (size_t i = 0; i < n_q; i++) {
        struct dg d = q[i];
        if (d.to < 3 && nodes[d.to] && !down[d.to]) {
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1179)};
            a.sin_addr.s_addr = htonl(0x0a000001u + d.from);
            gossip_feed(nodes[d.to], (struct sockaddr *)&a, sizeof a, d.buf, d.len);
        }
    }
    n_q = 0;
}

static void run(uint64_t ms)
{
    for (uint64_t end = now + ms; now < end; now += 10) {
        for (unsigned i = 0; i < 3; i++)
            if (nodes[i] && !down[i])
                gossip_tick(nodes[i]);
        pump();
    }
}

static void put(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static const uint64_t GEN[3] = {2000, 1000, 3000};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus DIR\n");
        return 2;
    }
    for (unsigned i = 0; i < 3; i++) {
        struct gossip_config c;
        gossip_config_init(&c);
        c.node_id = i + 1;
        snprintf(c.bind_addr, sizeof c.bind_addr, "10.0.0.%u", i + 1);
        if (i) {
            snprintf(c.seeds[0], sizeof c.seeds[0], "10.0.0.1:1179");
            c.n_seeds = 1;
        }
        gossip_config_add_raw_key(&c, KEY_A);
        snprintf(c.cluster_label, sizeof c.cluster_label, LABEL);
        c.generation = GEN[i];
        c.heartbeat_ms = 100;
        c.reap_ms = 3000;
        c.max_members = 64;
        rng[i] = 0x9e3779b97f4a7c15ull * (i + 1);
        c.hooks.ctx = &rng[i];
        c.hooks.now_ms = h_now;
        c.hooks.random = h_random;
        c.hooks.send = h_send;
        if (gossip_create(&nodes[i], &c) != 0)
            return 1;
    }
    run(1500);
    gossip_set_meta(nodes[1], "role=db", 7);
    gossip_broadcast(nodes[2], "deploy v2", 9);
    run(800);
    gossip_set_meta(nodes[0], "\x01\x02\x03", 3);
    gossip_broadcast(nodes[0], "hello", 5);
    run(800);
    down[2] = true; /* crash: suspect, then failed */
    run(3000);
    gossip_leave(nodes[1]);
    run(600);
    /* open everything, each datagram as its receiver */
    struct crypto spies[3];
    for (unsigned i = 0; i < 3; i++)
        if (spy_init(&spies[i], nodes[i], KEY_A, LABEL) != 0)
            return 1;
    for (unsigned i = 0; i < 3; i++)
        gossip_destroy(nodes[i]);

    static uint8_t pts[8192][1500];
    static size_t pt_len[8192];
    static struct wire_msg m;
    char dir[400], name[64];
    snprintf(dir, sizeof dir, "%s/wire", argv[1]);
    mkdir(dir, 0755);
    unsigned seen_kind[64] = {0};
    unsigned n_wire = 0;
    size_t n_pt = n_cap < 8192 ? n_cap : 8192;
    for (size_t i = 0; i < n_pt; i++) {
        uint8_t b[1500];
        struct env_header h;
        int n = cap[i].to < 3 ? spy_open_dgram(&spies[cap[i].to], cap[i].buf, cap[i].len, b, sizeof b, &h) : -1;
        pt_len[i] = n > 0 && h.kind == ENV_DATA ? (size_t)n : 0;
        if (!pt_len[i])
            continue;
        memcpy(pts[i], b + h.len, (size_t)n);
        if (wire_decode(pts[i], (size_t)n, &m) != 0)
            continue;
        /* one seed per (type, flags, has members, has events, any suspect/failed/left) */
        unsigned st = 0;
        for (unsigned k = 0; k < m.n_members; k++)
            st |= 1u << m.members[k].state;
        unsigned kind = (m.type * 4u + (m.flags & 3u)) % 32u;
        unsigned bit = (m.n_members > 0) | (m.n_events > 0) << 1 | (st & 0xe) << 1;
        if (seen_kind[kind] & (1u << bit) || n_wire >= 24)
            continue;
        seen_kind[kind] |= 1u << bit;
        snprintf(name, sizeof name, "cluster-%02u-type%u", n_wire++, m.type);
        put(dir, name, pts[i], (size_t)n);
    }
    for (unsigned i = 0; i < 3; i++)
        crypto_free(&spies[i]);

    /* receive: what node 1 got, as chunk sequences */
    snprintf(dir, sizeof dir, "%s/receive", argv[1]);
    mkdir(dir, 0755);
    static uint8_t out[1 << 16];
    unsigned files = 0;
    size_t start = 0;
    for (unsigned f = 0; f < 16 && start < n_pt; f++) {
        size_t o = 0;
        uint64_t t = 0;
        unsigned dgrams = 0;
        size_t i;
        if (f % 3 == 1) {
            /* SHAKE: a HELLO of node 2 naming node 1, then a COOKIE */
            uint8_t hello[HS_PAYLOAD_LEN];
            struct hs_payload p = {.target = 1, .seq = (uint32_t)f};
            hs_encode(&p, hello);
            out[o++] = 7; out[o++] = 1; out[o++] = (uint8_t)f; out[o++] = 0; out[o++] = HS_PAYLOAD_LEN;
            memcpy(out + o, hello, HS_PAYLOAD_LEN);
            o += HS_PAYLOAD_LEN;
            out[o++] = 0x17; out[o++] = 1; out[o++] = (uint8_t)f; out[o++] = 0; out[o++] = ENV_TOKEN_LEN;
            memset(out + o, 0xab, ENV_TOKEN_LEN);
            o += ENV_TOKEN_LEN;
        }
        for (i = start; i < n_pt && dgrams < 4u + 2u * f && o < sizeof out - 1600; i++) {
            if (cap[i].to != 0 || !pt_len[i])
                continue;
            if (t && cap[i].t > t) {
                uint64_t d = (cap[i].t - t) / 16;
                out[o++] = 2;
                out[o++] = (uint8_t)(d > 255 ? 255 : d);
            }
            t = cap[i].t;
            unsigned from = cap[i].from;
            uint8_t sel = (uint8_t)from; /* life 0 of node id from + 1, from its own address */
            if (f % 5 == 4 && dgrams == 0) {
                out[o++] = 0; /* RAW: the original sealed datagram */
                out[o++] = (uint8_t)from;
                out[o++] = (uint8_t)(cap[i].len >> 8);
                out[o++] = (uint8_t)cap[i].len;
                memcpy(out + o, cap[i].buf, cap[i].len);
                o += cap[i].len;
            } else {
                out[o++] = 1;
                out[o++] = sel;
                out[o++] = (uint8_t)(pt_len[i] >> 8);
                out[o++] = (uint8_t)pt_len[i];
                memcpy(out + o, pts[i], pt_len[i]);
                o += pt_len[i];
            }
            dgrams++;
        }
        start = start + (i - start) / 2 + 1;
        if (f % 4 == 3) { /* some API ops and a long tick */
            out[o++] = 3; out[o++] = 4; memcpy(out + o, "meta", 4); o += 4;
            out[o++] = 4; out[o++] = 2; memcpy(out + o, "ev", 2); o += 2;
            out[o++] = 0x12; out[o++] = 8;
        }
        snprintf(name, sizeof name, "cluster-%02u", files++);
        put(dir, name, out, o);
    }
    printf("%zu datagrams captured, %u wire seeds, %u receive seeds\n", n_cap, n_wire, files);
    free(cap);
    free(q);
    return 0;
}
