/*
 * forge: hand-made datagrams of wire format 2 for the tests (unit tests
 * and the fuzz harness; no cmocka, no hc).
 *
 * A forger is "a key holder that completed a handshake with handle g": a
 * made-up sender id and 16-byte session at address `from`, sealing for
 * g's current life (g->self_id, g->crypto.session) and carrying the token
 * g would have given it in a COOKIE (hs_make_token(), made with g->now as
 * g's last entry point saw it: forge right before feeding, or the token may
 * be stale).  The counter is the caller's: a fresh forger starts at 1 and
 * must count up itself, or the receiver's replay window refuses it.
 *
 * A spy opens what a handle sends to a given receiver: in wire format 2
 * only the receiver's life can open a DATA, so the spy takes the
 * receiver's id and session (read from the receiving handle's g->crypto).
 */
#ifndef LIBGOSSIP_TEST_FORGE_H
#define LIBGOSSIP_TEST_FORGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "internal.h"

struct forger {
    const uint8_t *key;       /* GOSSIP_KEY_LEN bytes; sealing key */
    const char *label;        /* cluster label, NULL = none */
    uint64_t id;              /* sender id */
    uint8_t session[ENV_SESSION_LEN];
    uint64_t generation;      /* goes in the header (ordering only) */
    gaddr_t from;             /* where it sends from (the token binds it) */
    bool no_token;            /* seal without g's token (a sender g does not know) */
};

/* A forger with this key (NULL: label none) and id, at `from`; its session
 * is derived from `seed` (distinct seeds, distinct lives). */
void forger_init(struct forger *f, const uint8_t *key, const char *label, uint64_t id, uint64_t seed,
                 const struct sockaddr *from, socklen_t from_len);

/* Seal the pt_len bytes of plaintext at buf + ENV_HDR_MAX as f, for g's
 * current life, under `counter`.  The datagram is moved to buf[0]; returns
 * its length, or 0 on failure (no space, a 0 counter, libcrypto). */
size_t forge_seal(struct gossip *g, const struct forger *f, uint64_t counter, uint8_t *buf, size_t pt_len,
                  size_t cap);
/* The same for an explicit receiver (id, session): sealed for a node or a
 * life that may not be g's.  to_session NULL seals a HELLO of f's (kind
 * ENV_HELLO; counter in the stateless space is the caller's choice).
 * token NULL: none. */
size_t forge_seal_for(const struct forger *f, uint8_t kind, uint64_t to_id, const uint8_t *to_session,
                      const uint8_t *token, uint64_t counter, uint8_t *buf, size_t pt_len, size_t cap);

/* A wire message (header, member records, events) encoded at
 * buf + ENV_HDR_MAX and sealed by forge_seal().  0 on failure. */
size_t forge_msg(struct gossip *g, const struct forger *f, uint64_t counter, const struct wire_msg *hdr,
                 const struct wire_member *recs, unsigned n_recs, const struct wire_event *evs, unsigned n_evs,
                 uint8_t *buf, size_t cap);

/* A spy that opens what is sealed for handle rx's current life (its id
 * and session), with key `key` and label (NULL: none).  0 or < 0. */
int spy_init(struct crypto *spy, struct gossip *rx, const uint8_t *key, const char *label);
/* Open a copy of buf[0..len) in work (cap bytes) as the spy: the header in
 * *h, the plaintext length returned (< 0: does not open) at work + h->len. */
int spy_open_dgram(struct crypto *spy, const uint8_t *buf, size_t len, uint8_t *work, size_t cap,
                   struct env_header *h);

#endif
