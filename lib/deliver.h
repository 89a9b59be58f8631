/*
 * What reaches the host's callbacks: member events, cluster events and
 * role changes, queued while the library works and delivered by
 * g_deliver() at the end of each entry point (after the transmit step), so
 * callbacks see a consistent state and never nest.  Roles are computed
 * here from the view (roles.c decides, this keeps the quorum lease).
 */
#ifndef GOSSIP_DELIVER_H
#define GOSSIP_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

void g_emit_member(struct gossip *g, enum gossip_event ev, const struct member *m);
void g_emit_user(struct gossip *g, uint64_t origin, const void *data, size_t len);
/* PE_QUERY (peer = the asker), PE_ANSWER (peer = the responder) or
 * PE_QUERY_DONE (peer = the number of answers, no data) for the query
 * handlers; nothing is queued without a handler for it. */
void g_emit_query(struct gossip *g, int kind, uint64_t id, uint64_t peer, const void *data, size_t len);
void g_deliver(struct gossip *g);
/* Recompute the roles if something changed them: before the transmit
 * step, so what a role change sends (a hand-back ping, our raised record)
 * leaves in this call, not the next. */
void roles_settle(struct gossip *g);
/* Run the role callbacks of roles given up now, before the transmit step:
 * the datagram that lets another node take a QUORUM role (the ack of its
 * hand-back ping) leaves only after the host was told to stop the duty, so
 * the two never hold it at once in the hosts' view either.  The other
 * events keep their order and come after the transmit step. */
void g_deliver_releases(struct gossip *g);
/* An answer from `sender` to our ping `seq`: it refreshes the quorum
 * lease, and if `ping_read` (an ack: the sender processed the ping and the
 * record it carried) it may be the one a QUORUM hand-back waits for
 * (struct handback).  A COOKIE answers only the HELLO sent ahead of a
 * parked ping: the sender has not read our record yet, so it may still
 * hold the role. */
void roles_on_ack(struct gossip *g, uint64_t sender, uint32_t seq, bool ping_read);
/* Keep the quorum lease fresh: ping the members not heard from lately. */
void roles_quorum_tick(struct gossip *g);
/* The view or the role table changed: recompute roles at delivery
 * (roles_dirty belongs to deliver.c). */
void roles_recompute(struct gossip *g);
void addr_fill_member(const gaddr_t *a, struct gossip_member *out);
/* The view roles are decided from (malloc'd, *n entries, self first; NULL
 * without memory): the members, and the nodes roles list that it has no
 * record of, counted as failed (deliver.c says why). */
struct roles_member *roles_view_build(const struct gossip *g, size_t *n);

#endif
