/*
 * The timers behind gossip_tick(): joining, gossip rounds, the full-view
 * exchange, reconnection, reaping, merging with returning members, traffic
 * rates and the quorum lease, beside the failure detector's own.
 */
#ifndef GOSSIP_MAINTAIN_H
#define GOSSIP_MAINTAIN_H

#include <stdint.h>

#include "core.h"

void maintain_run(struct gossip *g);
uint64_t maintain_next_deadline(const struct gossip *g);

#endif
