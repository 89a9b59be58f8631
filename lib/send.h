/*
 * The one place that sends: the transmit step seals every outbox entry in
 * order (crypto.c) and hands it to the socket or the send hook (udp.c),
 * counting what went out.  Runs at the end of each entry point, before
 * callbacks, and whenever the outbox is full.
 */
#ifndef GOSSIP_SEND_H
#define GOSSIP_SEND_H

#include "core.h"

void transmit(struct gossip *g);
/* transmit() as the outbox's drain function (ctx is the handle). */
void transmit_drain(void *ctx);

#endif
