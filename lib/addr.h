/*
 * addr: the one peer address type (gaddr_t) and its one parser.  A pure
 * value module: no socket IO, no struct gossip, no name resolution, no
 * allocation, no state.  It owns the textual forms of an address (what a
 * config file and the logs show) and the conversions to and from struct
 * sockaddr; it must not know sockets, members or the configuration.
 *
 * Addresses are numeric IPv4 or IPv6, without an IPv6 zone ("%eth0"): the
 * wire format and gaddr_t carry no scope id, so a scoped (link-local)
 * address could be bound or sent to but never gossiped.  An IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d) is stored as the IPv4 address it maps, so
 * that one peer always compares equal whichever socket family saw it.
 */
#ifndef GOSSIP_ADDR_H
#define GOSSIP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wire.h"

/* A peer address in one comparable form: family 4 or 6, IPv4 in ip[0..3]
 * and the rest zero, port in host order. */
typedef struct wire_addr gaddr_t;

/* Split "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address
 * (two or more colons, so it cannot carry a port) into `host` (brackets
 * removed, NUL-terminated) and `*port` (the text after the ':', or NULL
 * when there is none).  The host is not checked, so a name passes.
 * Returns 0, or GOSSIP_EADDR when the form is broken ("[::1", "[::1]x",
 * an empty host) or the host does not fit `hostlen`. */
int addr_split(const char *text, char *host, size_t hostlen, const char **port);

/* A port: decimal digits only, 1..65535.  0 or GOSSIP_ERANGE. */
int addr_parse_port(const char *text, uint16_t *out);

/* A numeric host without a port: "192.0.2.1", "2001:db8::1", "::",
 * "[2001:db8::1]", "[::]"; `port` is stored with it.  Refuses names, IPv4
 * shorthands ("10.1"), a port, and an IPv6 zone ("fe80::1%eth0").
 * Returns 0 or GOSSIP_EADDR. */
int addr_parse_host(const char *text, uint16_t port, gaddr_t *out);

/* A numeric endpoint: a host as addr_parse_host() takes, optionally with a
 * port ("192.0.2.1:7946", "[2001:db8::1]:7946"); `default_port` without
 * one.  Returns 0, GOSSIP_EADDR or GOSSIP_ERANGE (a bad port). */
int addr_parse(const char *text, uint16_t default_port, gaddr_t *out);

/* To a struct sockaddr of socket family `family` (AF_INET, or AF_INET6,
 * which also carries IPv4 as ::ffff:a.b.c.d).  0 or GOSSIP_EADDR (an IPv6
 * address for an AF_INET socket). */
int addr_to_sockaddr(const gaddr_t *a, int family, struct sockaddr_storage *ss, socklen_t *len);

/* From a struct sockaddr (AF_INET or AF_INET6, a mapped address unmapped;
 * a scope id is dropped).  0 or GOSSIP_EADDR. */
int addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, gaddr_t *out);

/* Same family, address and port. */
bool addr_equal(const gaddr_t *a, const gaddr_t *b);

/* All-zero address (0.0.0.0 or ::): "any", or "my source address" when
 * advertised. */
bool addr_is_unspecified(const gaddr_t *a);

/* IPv6 link-local unicast (fe80::/10): usable only with a zone, which an
 * address here never has. */
bool addr_is_link_local(const gaddr_t *a);

/* "a.b.c.d:port" or "[v6]:port", truncated to `len` (54 bytes fit any
 * address). */
void addr_format(const gaddr_t *a, char *buf, size_t len);

#endif
