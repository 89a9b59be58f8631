/*
 * What this node knows of peers' lives (wire format 2) outside the member
 * table, and the bookkeeping of first contact: a few strangers' lives (a
 * seed that answered our HELLO before we know it as a member, a joiner
 * before its record is merged), the reply budgets, and payloads parked
 * until a handshake tells us the receiver's life.  Pure data: the rules
 * are handshake.c's, send.c's and open.c's.
 */
#ifndef GOSSIP_LIVES_H
#define GOSSIP_LIVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "members.h"

/* Strangers' lives: small, least recently used first out.  A stranger that
 * stays one (it never becomes a member) only costs a handshake again. */
#define LIVES_MAX 32
struct stranger {
    uint64_t id;
    uint64_t used_ms;          /* 0 = free */
    struct life life;
};
struct lives {
    struct stranger v[LIVES_MAX];
};

struct life *lives_find(struct lives *t, uint64_t id);
/* The stranger's slot for `id`, taking the least recently used one (its
 * life is forgotten) when `id` has none. */
struct life *lives_put(struct lives *t, uint64_t id, uint64_t now);
/* Move `id`'s life out (into a member record): false if there is none. */
bool lives_take(struct lives *t, uint64_t id, struct life *out);

/* Goodbyes and failures of members we did not know, kept outside the
 * member table (no member event for a node we never reported) for the
 * reap time, as a left or failed member is; the oldest goes first when
 * it is full.
 * - A goodbye: a node that has just (re)started can hear a member leave
 *   before it hears of the member; a stale record of that life arriving
 *   later (a suspicion gossiped by nodes the goodbye did not reach: a
 *   partition, a restart) must not bring it back to be declared failed.
 * - A failure from a full view: a node that (re)starts does not take the
 *   dead as members, but they still count against a QUORUM majority; a
 *   restart on the minority side of a partition, whose view lists only
 *   its own side alive, would otherwise be a majority of that side
 *   (swarm seed 1667). */
#define DEPARTED_MAX 64
struct departure {
    uint64_t id, generation;
    uint64_t until_ms;         /* 0 = free */
    uint32_t version;
    bool left;                 /* a goodbye; else a failure */
};
struct departed {
    struct departure v[DEPARTED_MAX];
};

void departed_note(struct departed *t, uint64_t id, uint64_t generation, uint32_t version, uint64_t until_ms,
                   bool left);
/* Is (generation, version) of `id` a record of the life whose goodbye we
 * kept, older than the goodbye?  A record of another life (a return) makes
 * us forget the goodbye. */
bool departed_covers(struct departed *t, uint64_t id, uint64_t generation, uint32_t version, uint64_t now);
/* The failures kept for members not in `members` now: their ids (at most
 * `max`), and how many there are. */
size_t departed_failed(const struct departed *t, const struct members *members, uint64_t now, uint64_t *ids,
                       size_t max);

/* Reply budgets per heartbeat: per source (hashed into slots) and in all. */
#define HS_SOURCE_SLOTS 64
struct hs_budget {
    uint64_t window_ms;        /* start of the current heartbeat window */
    uint32_t total;
    uint16_t per_source[HS_SOURCE_SLOTS];
};

/* Payloads waiting for a handshake: the receiver's life was unknown when
 * they were sealed.  Buffers allocated at create. */
#define PARK_SLOTS 8
struct parked {
    gaddr_t to;
    uint64_t to_id;
    bool to_any;               /* whoever answers at `to` (a seed), not to_id */
    uint64_t at_ms;            /* 0 = free */
    uint8_t *buf;              /* max_datagram bytes */
    size_t len;
};
struct park {
    struct parked v[PARK_SLOTS];
    uint64_t hello_ms[PARK_SLOTS]; /* when slot i's destination was last sent a HELLO */
};

#endif
