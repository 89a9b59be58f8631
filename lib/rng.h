/*
 * Chance for protocol choices (probe order, helpers, gossip targets,
 * jitter): the host's random hook when it gave one (simulators replay a
 * seed), else xoshiro256** seeded once from RAND_bytes.  Speed, not
 * secrecy: nothing secret is derived from rng_next(); secrets (sessions,
 * MAC secrets) come from rng_secret(): RAND_bytes, or the hook.
 * A pure value module: knows no handle.
 */
#ifndef GOSSIP_RNG_H
#define GOSSIP_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
    uint64_t s[4];
    void (*hook)(void *ctx, void *buf, size_t len); /* hooks.random, or NULL */
    void *ctx;
};

/* Use the hook if there is one, else seed from RAND_bytes.  0, or -1 when
 * libcrypto has no randomness to give. */
int rng_init(struct rng *r, void (*hook)(void *ctx, void *buf, size_t len), void *ctx);

uint64_t rng_next(struct rng *r);

/* Secret bytes (sessions, MAC secrets): the hook's when there is one (a
 * simulator replays its seed), else RAND_bytes.  0 or -1. */
int rng_secret(const struct rng *r, void *buf, size_t len);

/* Uniform in [0, n) by multiply-shift (0 when n is 0). */
uint32_t rng_below(struct rng *r, uint32_t n);

#endif
