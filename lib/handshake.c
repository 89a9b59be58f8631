/* First contact: tokens, challenges, budgets (see handshake.h). */
#include "handshake.h"

#include <string.h>

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void hs_encode(const struct hs_payload *p, uint8_t out[HS_PAYLOAD_LEN])
{
    put64(out, p->target);
    for (int i = 0; i < 4; i++)
        out[8 + i] = (uint8_t)(p->seq >> (24 - 8 * i));
    memcpy(out + 12, p->challenge, HS_CHALLENGE_LEN);
    memcpy(out + 20, p->token, ENV_TOKEN_LEN);
}

bool hs_decode(const uint8_t *buf, size_t len, struct hs_payload *p)
{
    if (len != HS_PAYLOAD_LEN)
        return false;
    p->target = get64(buf);
    p->seq = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
    memcpy(p->challenge, buf + 12, HS_CHALLENGE_LEN);
    memcpy(p->token, buf + 20, ENV_TOKEN_LEN);
    return true;
}

/* The address as MAC input: family, port, the 16 address bytes. */
static size_t addr_bytes(const gaddr_t *a, uint8_t out[19])
{
    out[0] = a->family;
    out[1] = (uint8_t)(a->port >> 8);
    out[2] = (uint8_t)a->port;
    memcpy(out + 3, a->ip, 16);
    return 19;
}

static uint64_t bucket_now(const struct gossip *g)
{
    return g->now / HS_BUCKET_MS + 1; /* never 0 */
}

uint32_t hs_addr_tag(struct gossip *g, const gaddr_t *a)
{
    uint8_t msg[20], mac[16];
    msg[0] = 'A';
    addr_bytes(a, msg + 1);
    crypto_mac(&g->crypto, msg, sizeof msg, mac);
    uint32_t tag = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
    return tag ? tag : 1;
}

static void token_at(struct gossip *g, uint64_t bucket, uint64_t id, const uint8_t session[ENV_SESSION_LEN],
                     const gaddr_t *addr, uint8_t out[ENV_TOKEN_LEN])
{
    uint8_t msg[1 + 8 + 8 + ENV_SESSION_LEN + 19];
    msg[0] = 'T';
    put64(msg + 1, bucket);
    put64(msg + 9, id);
    memcpy(msg + 17, session, ENV_SESSION_LEN);
    addr_bytes(addr, msg + 17 + ENV_SESSION_LEN);
    crypto_mac(&g->crypto, msg, sizeof msg, out);
}

void hs_make_token(struct gossip *g, uint64_t id, const uint8_t session[ENV_SESSION_LEN], const gaddr_t *addr,
                   uint8_t out[ENV_TOKEN_LEN])
{
    token_at(g, bucket_now(g), id, session, addr, out);
}

/* Constant time: the token is a MAC. */
static bool same(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= a[i] ^ b[i];
    return d == 0;
}

bool hs_token_valid(struct gossip *g, uint64_t id, const uint8_t session[ENV_SESSION_LEN], const gaddr_t *from,
                    const uint8_t token[ENV_TOKEN_LEN])
{
    uint8_t t[ENV_TOKEN_LEN];
    uint64_t b = bucket_now(g);
    for (uint64_t k = 0; k < 2 && b - k > 0; k++) {
        token_at(g, b - k, id, session, from, t);
        if (same(t, token, ENV_TOKEN_LEN))
            return true;
    }
    return false;
}

static void challenge_at(struct gossip *g, uint64_t bucket, const gaddr_t *to, uint64_t target, uint32_t seq,
                         uint8_t out[HS_CHALLENGE_LEN])
{
    uint8_t msg[1 + 8 + 4 + 19 + 8], mac[16];
    msg[0] = 'C';
    put64(msg + 1, bucket);
    for (int i = 0; i < 4; i++)
        msg[9 + i] = (uint8_t)(seq >> (24 - 8 * i));
    addr_bytes(to, msg + 13);
    put64(msg + 32, target);
    crypto_mac(&g->crypto, msg, sizeof msg, mac);
    memcpy(out, mac, HS_CHALLENGE_LEN);
}

void hs_make_challenge(struct gossip *g, const gaddr_t *to, uint64_t target, uint32_t seq,
                       uint8_t out[HS_CHALLENGE_LEN])
{
    challenge_at(g, bucket_now(g), to, target, seq, out);
}

int hs_challenge_valid(struct gossip *g, const gaddr_t *from, uint64_t sender, uint32_t seq,
                       const uint8_t ch[HS_CHALLENGE_LEN])
{
    uint8_t c[HS_CHALLENGE_LEN];
    uint64_t b = bucket_now(g);
    for (int t = 0; t < 2; t++) {
        for (uint64_t k = 0; k < 2 && b - k > 0; k++) {
            challenge_at(g, b - k, from, t == 0 ? sender : NODE_ANY, seq, c);
            if (same(c, ch, HS_CHALLENGE_LEN))
                return t == 0 ? 1 : 2;
        }
    }
    return 0;
}

bool hs_budget(struct gossip *g, const gaddr_t *to)
{
    struct hs_budget *b = &g->hs;
    if (g->now - b->window_ms >= g->cfg.heartbeat_ms || g->now < b->window_ms) {
        memset(b, 0, sizeof *b);
        b->window_ms = g->now;
    }
    uint32_t slot = hs_addr_tag(g, to) % HS_SOURCE_SLOTS;
    if (b->per_source[slot] >= HS_PER_SOURCE || b->total >= HS_TOTAL_BASE + g->members.n) {
        g->stats.replies_limited++;
        return false;
    }
    b->per_source[slot]++;
    b->total++;
    return true;
}
