/*
 * resolve: the seed list as addresses.  Numeric seeds are parsed once;
 * seed names are looked up with c-ares without blocking the host's loop,
 * at create and again every RESOLVE_REFRESH_MS, a name that does not
 * resolve being retried sooner; every address a name stands for is a seed.
 * The result is g->seed_addr (core.h), which joining and reconnecting
 * (maintain.c) read.  Driven from the host's loop calls by gossip.c: the
 * deadline resolve_next_deadline() reports is one resolve_tick() acts on.
 * A handle whose seeds are all numeric has no resolver at all (no c-ares
 * channel, no socket, no deadline), and neither has one with a send hook.
 */
#ifndef GOSSIP_RESOLVE_H
#define GOSSIP_RESOLVE_H

#include <stdint.h>

#include "core.h"

/* A resolved name is looked up again after this. */
#define RESOLVE_REFRESH_MS 30000u
/* A name that failed is retried after 1 s, 2 s, 4 s ... up to the refresh. */
#define RESOLVE_RETRY_MS 1000u
/* While lookups are in flight the resolver's sockets are polled (without
 * waiting) after 1, 2, 4 ... ms, at most this far apart. */
#define RESOLVE_POLL_MAX_MS 64u
/* Addresses kept per name (a headless service may list many). */
#define RESOLVE_MAX_ADDRS 64u
/* One lookup: each DNS server asked twice, after 1 s and then 2 s. */
#define RESOLVE_TIMEOUT_MS 1000
#define RESOLVE_TRIES 2
/* The environment variable that names the DNS servers instead of
 * /etc/resolv.conf: "ip[:port],..." (c-ares' servers_ports_csv form). */
#define RESOLVE_SERVERS_ENV "GOSSIP_DNS_SERVERS"

/* Fill g->seed_addr from g->cfg.seeds and start looking up the names.
 * Never fails because of DNS; 0 or GOSSIP_ENOMEM. */
int resolve_start(struct gossip *g);
/* g->cfg.seeds was replaced (gossip_reconfigure()): names still listed
 * keep their addresses and their schedule, new ones are looked up now,
 * numeric seeds are parsed again.  0 or GOSSIP_ENOMEM. */
int resolve_reconfigure(struct gossip *g);
/* From gossip_tick(): read the answers that arrived, let the resolver
 * retransmit or give up, start the lookups that are due. */
void resolve_tick(struct gossip *g);
/* When resolve_tick() has work next (UINT64_MAX: never). */
uint64_t resolve_next_deadline(const struct gossip *g);
/* Cancel every lookup, close the resolver, free g->seed_addr. */
void resolve_stop(struct gossip *g);

/* The pure parts, for the unit test. */
/* Delay before the next lookup of a name after `failures` failures in a
 * row (0: a name that resolved, RESOLVE_REFRESH_MS). */
uint32_t resolve_retry_ms(unsigned failures);
/* Delay before the next poll of the sockets after `polls` polls of the
 * lookups in flight. */
uint32_t resolve_poll_ms(unsigned polls);
/* The address family to ask for, from the socket's: AF_INET for an IPv4
 * socket, AF_INET6 for one bound to an IPv6 address, AF_UNSPEC (both) for
 * a dual-stack wildcard bind. */
int resolve_family(int sock_family, const char *bind_addr);
struct ares_addrinfo_node;
/* The usable addresses of an answer, `port` set, in the answer's order:
 * of `family` (AF_UNSPEC: both), not a wildcard, each once; at most `max`.
 * Returns how many were written to `out`. */
unsigned resolve_take(const struct ares_addrinfo_node *nodes, uint16_t port, int family, gaddr_t *out,
                      unsigned max);

#endif
