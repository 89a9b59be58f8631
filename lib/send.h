/*
 * The one place that sends: the transmit step seals every outbox entry in
 * order for its receiver's life (crypto.c) and hands it to the socket or
 * the send hook (udp.c), counting what went out; entries for a life not
 * known yet wait for a handshake (handshake.h).  Runs at the end of each
 * entry point, before callbacks, and whenever the outbox is full.
 */
#ifndef GOSSIP_SEND_H
#define GOSSIP_SEND_H

#include "core.h"
#include "inbound.h"

void transmit(struct gossip *g);
/* transmit() as the outbox's drain function (ctx is the handle). */
void transmit_drain(void *ctx);

/* Answer an authentic HELLO (OPEN_HELLO) with a COOKIE of the same size,
 * within the reply budget; nothing is remembered. */
void send_cookie(struct gossip *g, const struct inbound *in);
/* Ask the source of a datagram we could not take (hello_back) for its
 * life: a HELLO, within the reply budget. */
void send_hello_back(struct gossip *g, const struct inbound *in);
/* A COOKIE told us the sender's life (OPEN_COOKIE): what was parked for it
 * goes out now, or, if nothing was, our record with its token. */
void send_unpark(struct gossip *g, const struct inbound *in);

#endif
