/*
 * A peer address as one comparable value: IPv4 as family 4 with the
 * address in ip[0..3] and the rest zero, IPv4-mapped IPv6 unmapped, so
 * that the same peer always compares equal.  Pure values: no sockets are
 * opened here.
 */
#ifndef GOSSIP_ADDR_H
#define GOSSIP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wire.h"

typedef struct wire_addr gaddr_t;

/* "a.b.c.d", "a.b.c.d:port", "[v6]", "[v6]:port" or a bare IPv6 address;
 * default_port when none is given.  0, GOSSIP_EADDR or GOSSIP_ERANGE. */
int addr_parse(const char *text, uint16_t default_port, gaddr_t *out);
/* As a sockaddr of `family` (an IPv4 peer as v4-mapped on an AF_INET6 socket). */
int addr_to_sockaddr(const gaddr_t *a, int family, struct sockaddr_storage *ss, socklen_t *len);
int addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, gaddr_t *out);
bool addr_equal(const gaddr_t *a, const gaddr_t *b);
bool addr_is_unspecified(const gaddr_t *a);
/* "a.b.c.d:port" or "[v6]:port". */
void addr_format(const gaddr_t *a, char *buf, size_t len);

#endif
