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
    OPEN_DROP,            /* counted (and rate-limited logged): nothing more to do,
                           * unless hello_back says the source is asked who it is */
    OPEN_OK,              /* authentic, fresh and decoded (a DATA) */
    OPEN_SELF_ID,         /* authentic, from another process with our node id
                           * (a DATA, or a COOKIE: then msg is NULL) */
    OPEN_HELLO,           /* an authentic HELLO for us: answered statelessly */
    OPEN_COOKIE,          /* a COOKIE answering our HELLO: the sender's life is
                           * now known (a member's or a stranger's); it acks seq */
    OPEN_OTHER_LIFE,      /* authentic and fresh, from an older life of member in->m
                           * at another address (a second process with its id):
                           * not taken; the core shows it the record it holds */
};

struct inbound {
    gaddr_t from;
    struct env_header h;
    struct member *m;         /* the sender's record, if known */
    const struct wire_msg *msg; /* decoded payload (OPEN_OK, OPEN_SELF_ID of a DATA) */
    bool cookie;              /* a COOKIE (OPEN_COOKIE, OPEN_SELF_ID) */
    uint32_t cookie_seq;      /* the seq it answers */
    uint64_t hello_target;    /* OPEN_HELLO: whom the sender asked for (NODE_ANY: anyone) */
    uint32_t hello_seq;
    uint8_t hello_challenge[8];
    bool validated;           /* the source proved it receives at this address */
    bool hello_back;          /* OPEN_DROP: ask the source for its life (a HELLO) */
    bool new_life;            /* OPEN_OK, OPEN_COOKIE: the sender's life was just adopted */
};

#endif
