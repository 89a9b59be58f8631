/*
 * Outgoing messages: a header, then what rides along (a first record, our
 * own, the dissemination queue, anti-entropy samples), written as
 * plaintext into the outbox.  The only way the core sends anything; it
 * seals nothing (send.c does, at the end of the entry point).
 */
#ifndef GOSSIP_MESSAGE_H
#define GOSSIP_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

/* Transmissions per update: ~ retransmit_mult * log10(n + 1) + 1. */
unsigned retransmit_limit(const struct gossip *g);

/* One message with piggybacked updates, for node `to_id` at `to` (our own
 * id: a challenge, sent as a HELLO only).  `first` (may be NULL) is a member record written before
 * the queue (e.g. the target's suspicion); self_record adds our own. */
void msg_send(struct gossip *g, const gaddr_t *to, uint64_t to_id, const struct wire_msg *hdr,
              const struct member *first, bool self_record);

/* Our view in SYNC chunks, asking for the peer's in return if reply_wanted;
 * recent_ms > 0 limits both to the records that changed in the last
 * recent_ms milliseconds (the exchange after joining). */
void msg_send_sync(struct gossip *g, const gaddr_t *to, uint64_t to_id, bool reply_wanted, uint32_t recent_ms);

/* The same for whoever answers at `to` (a seed, a member's old address):
 * sealed once a handshake there says who it is. */
void msg_send_any(struct gossip *g, const gaddr_t *to, const struct wire_msg *hdr, const struct member *first);
void msg_send_sync_any(struct gossip *g, const gaddr_t *to);

/* One gossip round: up to fanout (twice that while leaving) distinct live
 * peers get the queue. */
void msg_gossip_round(struct gossip *g);

/* When gossip rounds run (next_gossip and last_gossip belong to message.c). */
void msg_gossip_start(struct gossip *g);
/* Fresh urgent news (a suspicion, a refutation, a failure): a round now. */
void msg_gossip_now(struct gossip *g);
/* News to spread: a round now, but no faster than a tenth of the interval. */
void msg_gossip_soon(struct gossip *g);
/* The gossip timer: due while updates are queued; the tick runs a round
 * and paces the next (a quarter interval while updates are young). */
uint64_t msg_gossip_due(const struct gossip *g);
void msg_gossip_tick(struct gossip *g);
/* A round right away, the next one an interval later (gossip_leave()). */
void msg_gossip_round_now(struct gossip *g);

/* How long a cluster event's payload is kept for the full-view exchange. */
uint64_t event_keep_ms(const struct gossip *g);

#endif
