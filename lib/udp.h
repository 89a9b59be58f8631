/*
 * The one UDP socket: dual stack when bound to "::", non-blocking, read in
 * batches with recvmmsg().  Per-datagram errors (EAGAIN, EINTR, ICMP
 * errors reported on the socket) never lose state.  Knows datagrams, not
 * messages: what arrives is handed back to the caller.
 */
#ifndef GOSSIP_UDP_H
#define GOSSIP_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#define UDP_BATCH 16

struct udp_rx {
    unsigned n;
    bool more;               /* the socket may hold more */
    gaddr_t from[UDP_BATCH];
    uint8_t *buf[UDP_BATCH];
    size_t len[UDP_BATCH];   /* real length (may exceed the buffer: oversize) */
};

int udp_open(struct gossip *g);
void udp_close(struct gossip *g);
/* Send one sealed datagram to the socket, or to hooks.send.  0 or -1. */
int udp_send(struct gossip *g, const gaddr_t *to, const uint8_t *buf, size_t len);
/* Read up to UDP_BATCH datagrams into rx (buffers owned by the socket
 * state, valid until the next call).  0, or GOSSIP_ESOCKET for a failure
 * that is not per-datagram. */
int udp_recv_batch(struct gossip *g, struct udp_rx *rx);

#endif
