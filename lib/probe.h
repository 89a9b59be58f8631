/*
 * The failure detector: SWIM probes in shuffled round robin, indirect
 * probes with Lifeguard nacks, local health (awareness), suspicion timers
 * that shrink with independent confirmations, and member state changes.
 */
#ifndef GOSSIP_PROBE_H
#define GOSSIP_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

/* The first probe within a heartbeat of the start, at a random moment;
 * after a heartbeat change, the next within the new heartbeat.
 * (next_probe belongs to probe.c.) */
void probe_schedule_first(struct gossip *g);
void probe_heartbeat_changed(struct gossip *g);
void probe_tick(struct gossip *g);
uint64_t probe_next_deadline(const struct gossip *g);
void probe_on_ack(struct gossip *g, uint32_t seq);
/* A new life of member `id` was just learned (open.c adopted it). */
void probe_on_new_life(struct gossip *g, uint64_t id);
void probe_on_nack(struct gossip *g, uint32_t seq);
void probe_on_ping_req(struct gossip *g, const gaddr_t *from, uint64_t sender, const struct wire_msg *msg);
/* An ack for an indirect probe we run for somebody: relayed (true). */
bool relay_on_ack(struct gossip *g, uint32_t seq);
void probe_add_member(struct gossip *g, uint64_t id);
/* Somebody else suspects `id`: maybe probe it out of turn. */
void probe_on_suspicion(struct gossip *g, uint64_t id);
void suspicion_start(struct gossip *g, struct member *m, uint64_t accuser);
void suspicion_confirm(struct gossip *g, struct member *m, uint64_t accuser);
void suspicion_stop(struct gossip *g, struct member *m);
/* A gossiped "failed" (from accuser, at incarnation gen, ver) about m, a
 * member we know: true when it is taken as a suspicion that this node
 * verifies at once with a ping of its own, and is not to be applied as it
 * is (merge.c). */
bool probe_hearsay_failed(struct gossip *g, struct member *m, uint64_t gen, uint32_t ver, uint64_t accuser);
void awareness_apply(struct gossip *g, int delta);
/* The host's loop was `late_ms` late (a tick long after its deadline, or
 * lag the host reported): our own trouble, not the peers'.  Local health
 * is raised, and the probe and suspicion deadlines that came due while we
 * were not listening are moved on by the time we lost, so what queued in
 * the socket meanwhile (acks, refutations) is read before anything is
 * judged.  Counted in stats.loop_stalls. */
void probe_on_stall(struct gossip *g, uint64_t late_ms);
/* How late a tick may be before it counts as a stall: a probe timeout. */
uint64_t probe_stall_threshold(const struct gossip *g);
/* Change a member's state (counted, reported, roles recomputed). */
void member_set_state(struct gossip *g, struct member *m, uint8_t state, uint64_t from);

#endif
