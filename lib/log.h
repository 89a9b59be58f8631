/*
 * Log lines to the host, and the counted, rate-limited drop warnings.  The
 * bottom of the core: every module may log, logging calls nothing else.
 */
#ifndef GOSSIP_LOG_H
#define GOSSIP_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

void g_log(struct gossip *g, enum gossip_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Count a dropped datagram (or refused record); true when a warning for
 * this reason is due (one per reason every ten seconds).  Callers build the
 * message, addresses included, only then: under a flood nearly every drop
 * is silent and must cost no formatting. */
bool g_drop(struct gossip *g, uint64_t *counter, unsigned reason);
void g_drop_log(struct gossip *g, unsigned reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
