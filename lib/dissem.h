/*
 * The dissemination queue: what to piggyback next, and how many times
 * each item has gone out.  Member items name a member (its current record
 * is encoded at send time, so a newer update replaces an older one by
 * construction); event items carry a copy of the payload.  Pure data over
 * the member table: no handle, no datagrams.
 */
#ifndef GOSSIP_DISSEM_H
#define GOSSIP_DISSEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "members.h"
#include "wire.h"

struct dq_item {
    uint64_t id;              /* member id, or event origin */
    uint64_t event_id;        /* events only */
    uint64_t order;           /* enqueue order: newer first among equals */
    uint8_t *data;            /* events only */
    uint16_t len;
    uint16_t transmits;
    bool is_event;
    bool is_query;            /* an event item that is a query (query.c) */
};

struct dissem {
    struct dq_item *v;
    uint32_t n, cap;
    uint32_t *pick;           /* scratch: the candidates of one pack */
    uint32_t pick_cap;
    uint32_t n_events;
    uint64_t order;
};

void dissem_free(struct dissem *d);
/* Queue (or re-queue with a fresh transmit budget) member `id`: 0, or
 * GOSSIP_ENOMEM when the queue cannot grow. */
int dissem_member(struct dissem *d, uint64_t id);
int dissem_event(struct dissem *d, uint64_t origin, uint64_t event_id, const void *data, size_t len);
/* A query travels like a cluster event, marked as one (WIRE_EVENT_QUERY). */
int dissem_query(struct dissem *d, uint64_t origin, uint64_t query_id, const void *data, size_t len);
void dissem_forget_member(struct dissem *d, uint64_t id);
/* How many times `id` has been sent since it was queued (-1: not queued). */
int dissem_transmits(const struct dissem *d, uint64_t id);
/* Pack as many queued items as fit into w, fewest transmits first,
 * membership first but leaving events a quarter of the room; items that
 * reach `limit` transmits are dropped (events at twice the limit).  Member
 * records come from `table`, this node's own from `self`; skip_id names a
 * member already written. */
void dissem_pack(struct dissem *d, const struct members *table, const struct wire_member *self,
                 struct wire_writer *w, unsigned limit, uint64_t skip_id);

#endif
