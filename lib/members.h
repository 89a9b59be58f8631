/*
 * The member table and what a member record is: its compact in-memory
 * form, its precedence rules (incarnation order, state order), its wire
 * form, and its life as this node knows it (session, replay window, our
 * counter towards it).  Pure data: no handle, no datagrams, no events.
 */
#ifndef GOSSIP_MEMBERS_H
#define GOSSIP_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "crypto.h"
#include "window.h"
#include "wire.h"

/*
 * A peer's life as this node knows it, for sealing to it and opening from
 * it (wire format 2, crypto.h): learned only from the peer itself, by a
 * handshake (a COOKIE answering our challenge) or by a datagram that
 * carries a fresh token of ours (handshake.h), never from hearsay.  A
 * datagram of any other life of the peer is not opened as this one's:
 * the previous life's are replays, an unknown one must prove itself.
 */
struct life {
    uint8_t session[ENV_SESSION_LEN]; /* all zero: unknown */
    uint64_t tx_counter;      /* last DATA counter we sealed for it */
    struct replay_window rx;  /* its DATA counters to us */
    uint64_t prev;            /* fingerprint of the life before (life_fingerprint), 0 = none */
    uint8_t token[ENV_TOKEN_LEN]; /* its token for us while LIFE_TOKEN */
    uint32_t addr_tag;        /* hs_addr_tag() of the address it proved it receives at */
    uint8_t flags;            /* LIFE_* */
};
/* We carry its token until it shows that it knows our life (a datagram
 * sealed for us), so that its first sight of us is not a stranger's. */
#define LIFE_TOKEN 0x01u
/* addr_tag is set: replies beyond 3x may go to that address. */
#define LIFE_VALIDATED 0x02u

bool life_known(const struct life *l);
bool life_is(const struct life *l, const uint8_t session[ENV_SESSION_LEN]);
/* 64 bits that name a session (for the previous-life check). */
uint64_t life_fingerprint(const uint8_t session[ENV_SESSION_LEN]);
/* Take `session` as the peer's current life: the one before becomes
 * "previous" (its datagrams are replays from now on), counters start
 * afresh both ways. */
void life_adopt(struct life *l, const uint8_t session[ENV_SESSION_LEN]);

/* One member record.  Kept compact (it is multiplied by the cluster size on
 * every node): 160 bytes on LP64, metadata outside. */
struct member {
    uint64_t id;
    uint64_t generation;
    uint64_t from;            /* accuser of a suspect/failed state */
    uint64_t state_ms;        /* local time of the last state change */
    uint64_t heard_ms;        /* last authentic datagram from it (quorum lease) */
    struct life life;
    uint32_t version;
    uint32_t susp;            /* index + 1 in the suspicion pool, 0 = none */
    gaddr_t addr;             /* 20 bytes */
    uint8_t state;
    uint8_t meta_len;
    uint8_t flags;            /* MEMBER_* */
    uint8_t *meta;
};

/* Known only from the host (gossip_member_restore()), not yet from the
 * member itself nor from another member: kept local.  A saved view may be
 * stale; passing it on would make every node learn, probe and fail a dead
 * node.  Cleared by any authentic datagram from the member and by any
 * record of it from the network. */
#define MEMBER_UNCONFIRMED 0x01u
/* The member drains (its record says so, WIRE_M_DRAINING): alive, probed
 * and probing, but no role is given to it. */
#define MEMBER_DRAINING 0x02u

/* Member table: dense array (iteration, random choice) plus an
 * open-addressing index by id. */
struct members {
    struct member *v;
    uint32_t n, cap;
    uint32_t *slot;           /* 0 = empty, else tag and index + 1 (below); power-of-two size */
    uint32_t slot_mask;
    uint32_t n_dead;          /* failed + left, for the reaper */
};

/* A slot holds index + 1 in its low 25 bits (max-members is at most 2^24)
 * and 7 bits of the id's hash above them, so a probe that meets another
 * id's slot is rejected from the slot alone, without touching that record's
 * cache line.  The position comes from the low bits of the hash, the tag
 * from the top, so the two never overlap (at most 2^25 slots). */
#define MEMBER_SLOT_INDEX_BITS 25
#define MEMBER_SLOT_INDEX(s) ((s) & ((1u << MEMBER_SLOT_INDEX_BITS) - 1))
#define MEMBER_SLOT_TAG(h) ((h) >> MEMBER_SLOT_INDEX_BITS)

int members_init(struct members *t);
void members_free(struct members *t);
struct member *members_get(const struct members *t, uint64_t id);
/* Adds a zeroed record with this id; NULL on allocation failure.  Pointers
 * into the table are invalidated by add and remove. */
struct member *members_add(struct members *t, uint64_t id);
void members_remove(struct members *t, uint64_t id);

/* Incarnation order: <0, 0, >0. */
int incarnation_cmp(uint64_t gen_a, uint32_t ver_a, uint64_t gen_b, uint32_t ver_b);
/* Does an update (state, gen, ver) override the current (state, gen, ver)?
 * Higher incarnation wins; at equal incarnation left > failed > suspect > alive. */
bool update_overrides(uint8_t new_state, uint64_t new_gen, uint32_t new_ver,
                      uint8_t cur_state, uint64_t cur_gen, uint32_t cur_ver);

/* The record as it goes on the wire (meta points into the member). */
void member_to_wire(const struct member *m, struct wire_member *w);

/* An authentic, fresh datagram from this member's current life was
 * accepted at `now`: it is heard (the quorum lease, and it is confirmed). */
void member_heard(struct member *m, uint64_t now);

#endif
