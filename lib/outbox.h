/*
 * The outbox: plaintext messages waiting to be sealed and sent, in the
 * order the protocol produced them.  The protocol core writes payloads
 * here and never touches a key or a socket; the transmit step (send.c)
 * seals each entry in place and hands it to the socket or the send hook,
 * at the end of every entry point, before any callback runs.
 *
 * Each entry is laid out as the envelope will be: header room, payload,
 * tag room, so sealing needs no copy.  The arena is allocated once at
 * create (the receive path allocates nothing); when it is full the outbox
 * hands what it holds to its drain function first (the transmit step,
 * registered by the handle), so order is kept and memory stays bounded
 * however large a burst (a full-view reply) is.
 */
#ifndef GOSSIP_OUTBOX_H
#define GOSSIP_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct outbox_entry {
    gaddr_t to;
    uint64_t to_id;    /* the receiver, whose life the envelope is sealed for */
    bool to_any;       /* instead: whoever answers at `to` (a seed) */
    uint32_t seq;      /* a PING's seq (a HELLO sent in its stead carries it) */
    uint32_t off;      /* envelope start in the arena */
    uint32_t pt_len;   /* payload bytes at off + ENV_HDR_MAX */
};

struct outbox {
    uint8_t *arena;
    size_t cap, used;
    size_t max_datagram;       /* sealed bytes one entry may take */
    struct outbox_entry *v;
    unsigned n, max;
    void (*drain)(void *ctx);  /* empties the outbox (seal and send), order kept */
    void *drain_ctx;
};

/* Room for `slots` datagrams of max_datagram sealed bytes.  0 or GOSSIP_ENOMEM. */
int outbox_init(struct outbox *o, size_t max_datagram, unsigned slots);
void outbox_free(struct outbox *o);

/* Where the next payload goes (at most *cap bytes); drains first when the
 * arena or the entry list is full. */
uint8_t *outbox_reserve(struct outbox *o, size_t *cap);
/* The payload written at the reserved place (pt_len bytes) goes to node
 * `to_id` at `to` (or to_any: whoever answers there); seq: a PING's, else 0. */
void outbox_commit(struct outbox *o, const gaddr_t *to, uint64_t to_id, bool to_any, uint32_t seq, size_t pt_len);

/* Entry i's envelope buffer and its capacity (largest header + payload +
 * tag; the payload at ENV_HDR_MAX). */
uint8_t *outbox_envelope(const struct outbox *o, unsigned i, size_t *cap);
/* Entry i's plaintext payload (for tests of the protocol core). */
const uint8_t *outbox_payload(const struct outbox *o, unsigned i, size_t *len);

/* Forget every entry (after the transmit step, or to discard). */
void outbox_clear(struct outbox *o);

#endif
