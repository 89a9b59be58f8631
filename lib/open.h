/*
 * The one place that opens: a received datagram becomes an authenticated,
 * fresh, decoded message, or a counted and logged drop.  Size, envelope
 * header, our own datagrams, the sender's replay window, AES-GCM open,
 * payload decode, in that order.  Decides nothing about what the message
 * means (dispatch.c and merge.c do).
 */
#ifndef GOSSIP_OPEN_H
#define GOSSIP_OPEN_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

enum open_verdict {
    OPEN_DROP,            /* counted (and rate-limited logged): nothing more to do */
    OPEN_OK,              /* authentic, fresh and decoded */
    OPEN_SELF_ID,         /* authentic, from another process with our node id */
    OPEN_STALE_ELSEWHERE, /* authentic, but an older life of in->m speaking from
                           * another address: dropped as a replay, and the core may
                           * show it the record it holds */
};

struct inbound {
    gaddr_t from;
    struct env_header h;
    struct member *m;         /* the sender's record, if known */
    const struct wire_msg *msg; /* decoded payload (OPEN_OK, OPEN_SELF_ID) */
};

/* buf is opened in place. */
enum open_verdict open_datagram(struct gossip *g, const gaddr_t *from, uint8_t *buf, size_t len,
                                struct inbound *in);

#endif
