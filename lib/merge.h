/*
 * What a received record means: the merge rules for member records (ours
 * refuted, others' by incarnation and state precedence, failures from a
 * full view softened), cluster events (exactly once), duplicate node ids
 * (challenged before a conflict is reported), implausible incarnations
 * (refused) and later lives of our own id (moved past).  Decides; sends
 * only through message.c, reports only through deliver.c.
 */
#ifndef GOSSIP_MERGE_H
#define GOSSIP_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "inbound.h"

/* Where a record comes from decides how far it is trusted and whether it
 * is passed on. */
enum record_source {
    FROM_GOSSIP, /* news: applied and relayed */
    FROM_VIEW,   /* a full-view exchange: failures softened, history not relayed */
    FROM_HOST,   /* gossip_member_restore(): like a view, and never relayed */
};

/* Apply one member record that `sender` sent from `from` (NULL for the host). */
void merge_record(struct gossip *g, const struct wire_member *rec, const gaddr_t *from,
                  uint64_t sender, enum record_source source);
/* gossip_member_restore(): an alive record from the host, as a view
 * record that is never relayed.  GOSSIP_EFULL at max-members. */
int merge_restore(struct gossip *g, const struct wire_member *r);
/* Apply one cluster event: delivered and relayed once. */
void merge_event(struct gossip *g, const struct wire_event *e);

/* Cluster events remembered (false if already seen) for exactly-once
 * delivery and the repair of nodes that missed one. */
bool event_remember(struct gossip *g, uint64_t origin, uint64_t event_id, const void *data, size_t len);
void events_expire(struct gossip *g);

/* An authentic datagram (in->msg) or COOKIE (in->cookie) from another
 * process with our node id. */
void conflict_on_self_id(struct gossip *g, const struct inbound *in);

/* The timer of "moving past" a later life of our id that nobody answered
 * for (see apply_self_record). */
uint64_t merge_move_past_due(const struct gossip *g);
void merge_move_past_tick(struct gossip *g);
/* Is the record's incarnation one a clock can explain? */
bool merge_plausible(const struct gossip *g, const struct wire_member *r);

#endif
