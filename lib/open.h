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
#include "inbound.h"

/* buf is opened in place. */
enum open_verdict open_datagram(struct gossip *g, const gaddr_t *from, uint8_t *buf, size_t len,
                                struct inbound *in);

#endif
