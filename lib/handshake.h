/*
 * First contact (wire format 2), in the spirit of WireGuard's cookie reply
 * and QUIC's Retry: how a node learns a peer's life without trusting a
 * datagram that could be a replay, and proves that a peer receives at the
 * address it speaks from, while the responder keeps no state.
 *
 *   A -> B  HELLO   sealed for any receiver; payload: target id (NODE_ANY
 *                   when A knows only an address), seq, an 8-byte challenge (A's
 *                   MAC of B's address, seq and the time), 16 bytes of pad
 *   B -> A  COOKIE  sealed for A's life as the HELLO named it; payload: A's
 *                   id, the seq and challenge echoed, and a token: B's MAC
 *                   of A's id, session and source address and the time
 *   A -> B  DATA    sealed for B's life, carrying the token until B shows
 *                   that it knows A's life
 *
 * B answers a HELLO with a COOKIE of the same length (never more bytes
 * than it received) and remembers nothing.  A takes B's life only from a
 * COOKIE whose challenge it made in the last two time buckets for that
 * address: a recorded COOKIE is stale, a forged one does not open.  B
 * takes A's life only from a DATA with a token it made in the last two
 * buckets for that id, session and address: the token proves that A
 * received B's COOKIE at that address (so larger replies may go there) and
 * that the datagram is at most two buckets old (so a recording of it
 * changes nothing later, whatever B has forgotten since).  A COOKIE also
 * acks a probe: its seq is the probe's.
 *
 * Replies to datagrams that cannot be opened as a known life (a HELLO back
 * to the source) and COOKIEs are budgeted per source and in all, per
 * heartbeat.
 */
#ifndef GOSSIP_HANDSHAKE_H
#define GOSSIP_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

#define HS_PAYLOAD_LEN 36
#define HS_CHALLENGE_LEN 8
/* Tokens and challenges are valid in the bucket they were made in and the
 * next: between 5 and 10 s. */
#define HS_BUCKET_MS 5000u
/* Handshake replies per heartbeat: per source, and in all beyond the
 * member count (a whole cluster restarting at once still gets answered). */
#define HS_PER_SOURCE 16u
#define HS_TOTAL_BASE 64u

struct hs_payload {
    uint64_t target;
    uint32_t seq;
    uint8_t challenge[HS_CHALLENGE_LEN];
    uint8_t token[ENV_TOKEN_LEN]; /* COOKIE; zero in a HELLO */
};

void hs_encode(const struct hs_payload *p, uint8_t out[HS_PAYLOAD_LEN]);
bool hs_decode(const uint8_t *buf, size_t len, struct hs_payload *p);

/* A keyed 32-bit name of an address (for "validated at this address"). */
uint32_t hs_addr_tag(struct gossip *g, const gaddr_t *a);

/* The token for (id, session) at `addr`, made now. */
void hs_make_token(struct gossip *g, uint64_t id, const uint8_t session[ENV_SESSION_LEN], const gaddr_t *addr,
                   uint8_t out[ENV_TOKEN_LEN]);
/* Did we make this token for (id, session) at `from` in the last two buckets? */
bool hs_token_valid(struct gossip *g, uint64_t id, const uint8_t session[ENV_SESSION_LEN], const gaddr_t *from,
                    const uint8_t token[ENV_TOKEN_LEN]);

/* The challenge of a HELLO to node `target` (NODE_ANY: whoever answers) at `to`
 * with `seq`, made now. */
void hs_make_challenge(struct gossip *g, const gaddr_t *to, uint64_t target, uint32_t seq,
                       uint8_t out[HS_CHALLENGE_LEN]);
/* Did we make `ch` in the last two buckets for a HELLO to `from` with
 * `seq`?  1: one that named `sender`; 2: one that named nobody; 0: no. */
int hs_challenge_valid(struct gossip *g, const gaddr_t *from, uint64_t sender, uint32_t seq,
                       const uint8_t ch[HS_CHALLENGE_LEN]);

/* May one more handshake reply go to `to` in this heartbeat?  A refusal
 * is counted (replies_limited). */
bool hs_budget(struct gossip *g, const gaddr_t *to);

#endif
