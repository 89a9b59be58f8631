/*
 * An opened message acted on: the sender's replay window used up, records
 * and events merged, and the message type answered (ping -> ack, ping-req
 * -> relayed probe, sync -> view, acks and nacks to the failure detector).
 */
#ifndef GOSSIP_DISPATCH_H
#define GOSSIP_DISPATCH_H

#include "core.h"
#include "inbound.h"

void dispatch(struct gossip *g, const struct inbound *in, enum open_verdict verdict);

#endif
