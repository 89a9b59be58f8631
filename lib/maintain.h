/*
 * The timers behind gossip_tick(): joining, gossip rounds, the full-view
 * exchange, reconnection, reaping, merging with returning members, traffic
 * rates and the quorum lease, beside the failure detector's own.
 */
#ifndef GOSSIP_MAINTAIN_H
#define GOSSIP_MAINTAIN_H

#include <stdint.h>

#include "core.h"

/* Arm every timer at create (next_sync, next_reconnect, next_join,
 * next_reap and the rate window belong to maintain.c). */
void maintain_start(struct gossip *g);
void maintain_run(struct gossip *g);
/* The timers due now, once more (after the roles settled in a tick). */
void maintain_run_due(struct gossip *g);
uint64_t maintain_next_deadline(const struct gossip *g);
/* g->seed_addr changed (a seed name resolved): a joining node asks at once. */
void maintain_seeds_changed(struct gossip *g);

#endif
