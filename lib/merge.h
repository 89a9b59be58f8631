/*
 * What a received record means: the merge rules for member records (ours
 * refuted, others' by incarnation and state precedence, failures from a
 * full view softened), cluster events (exactly once), duplicate node ids
 * (challenged before a conflict is reported) and tombstones of reaped
 * lives (challenged before anything of theirs is taken).  Decides; sends
 * only through message.c, reports only through deliver.c.
 */
#ifndef GOSSIP_MERGE_H
#define GOSSIP_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

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

/* The tombstone that covers (sender, session), or -1. */
int tomb_find(const struct gossip *g, uint64_t sender, uint64_t session);
/* Does a datagram of a tombstoned life pass (it answered our challenge)?
 * If not, it is counted as a replay and challenged (rate-limited). */
bool tomb_passes(struct gossip *g, unsigned i, const gaddr_t *from, const struct wire_msg *msg);

/* An authentic datagram from another process with our node id. */
void conflict_on_self_id(struct gossip *g, const gaddr_t *from, const struct env_header *h,
                         const struct wire_msg *msg);
/* An older life of `m` speaks from an address other than the one we hold:
 * show it the record we hold, once per heartbeat (a live process then
 * challenges the newer one). */
void conflict_show_record(struct gossip *g, const gaddr_t *from, const struct member *m);
/* Could conflict_show_record() send now? */
bool conflict_can_show(const struct gossip *g);

#endif
