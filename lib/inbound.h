/*
 * A received datagram after opening: the verdict of open.c and what it
 * found, handed to dispatch.c.  Types only.
 */
#ifndef GOSSIP_INBOUND_H
#define GOSSIP_INBOUND_H

#include "addr.h"
#include "crypto.h"
#include "members.h"
#include "wire.h"

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

#endif
