/* Chance for protocol choices (see rng.h). */
#include "rng.h"

#include <openssl/rand.h>

int rng_init(struct rng *r, void (*hook)(void *ctx, void *buf, size_t len), void *ctx)
{
    r->hook = hook;
    r->ctx = ctx;
    if (hook)
        return 0;
    return RAND_bytes((unsigned char *)r->s, sizeof(r->s)) == 1 ? 0 : -1;
}

int rng_secret(const struct rng *r, void *buf, size_t len)
{
    if (r->hook) {
        r->hook(r->ctx, buf, len);
        return 0;
    }
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
    if (r->hook) {
        uint64_t v;
        r->hook(r->ctx, &v, sizeof(v));
        return v;
    }
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32) : 0;
}
