/*
 * Queries (see gossip_query() in gossip.h): the asker's pending queries
 * and their answers, the questions this node was asked and may answer
 * once, and the payload a query carries (timeout, role filter, metadata
 * filter, question).  The question spreads as a marked cluster event
 * (merge.c dedups it, dissem.c carries it); answers are RESPONSE messages
 * straight to the asker (message.c).  Knows no keys or sockets.
 */
#ifndef GOSSIP_QUERY_H
#define GOSSIP_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* The payload of a query: u32 timeout ms, u8 role length, role, u8 prefix
 * length, prefix, question.  Writes at most cap bytes; the length, or a
 * negative error (GOSSIP_ETOOBIG, GOSSIP_EINVAL). */
int query_encode(const struct gossip *g, const void *data, size_t len, const struct gossip_query_params *p,
                 uint8_t *out, size_t cap);

/* Our query `id` was sent: await answers until its timeout.  GOSSIP_EFULL
 * when QUERY_MAX_PENDING are pending. */
int query_register(struct gossip *g, uint64_t id, const uint8_t *payload, size_t len);

/* A query (already deduplicated) from `asker`: if we match its filter,
 * it is delivered to the host and may be answered once. */
void query_on_event(struct gossip *g, uint64_t asker, uint64_t id, const uint8_t *payload, size_t len);

/* gossip_query_respond(). */
int query_respond(struct gossip *g, uint64_t id, uint64_t asker, const void *data, size_t len);

/* A RESPONSE from `responder` to our query `id`. */
void query_on_answer(struct gossip *g, uint64_t responder, uint64_t id, const uint8_t *data, size_t len);

/* The timer of the pending queries (maintain.c's table). */
uint64_t query_due(const struct gossip *g);
void query_expire(struct gossip *g);

void query_free(struct gossip *g);

#endif
