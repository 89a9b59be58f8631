/*
 * Internal configuration helpers shared by the configuration code and the
 * library core.
 */
#ifndef GOSSIP_CONFIG_INT_H
#define GOSSIP_CONFIG_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gossip.h"

/* Copy `in` to `out` and replace every 0 ("derived") tuning field by its
 * effective value, derived from heartbeat_ms exactly as documented in
 * gossip.h and gossip.conf(5); also advertise_port 0 -> bind_port and
 * heartbeat_ms 0 -> the default.  Multiplications saturate at UINT32_MAX.
 * The one place where defaults are derived: the core and
 * gossip_config_format() both call it.  `in` and `out` may be the same. */
void config_effective(const struct gossip_config *in, struct gossip_config *out);

/* Parse a numeric IPv4 or IPv6 address, optionally in brackets ("[::]"),
 * without a port, into `ss` with port `port`.  IPv6 may carry a %scope.
 * Returns 0 or GOSSIP_EADDR. */
int config_parse_ip(const char *s, uint16_t port, struct sockaddr_storage *ss, socklen_t *len);

/* Parse a numeric endpoint as stored in cfg->seeds: "a.b.c.d", "a.b.c.d:port",
 * "[v6]", "[v6]:port" or a bare IPv6 address; `default_port` when there is
 * none.  Returns 0, GOSSIP_EADDR or GOSSIP_ERANGE (bad port). */
int config_parse_endpoint(const char *s, uint16_t default_port, struct sockaddr_storage *ss,
                          socklen_t *len);

/* strerror() for a library: thread-safe, the text in `buf` or static. */
const char *config_strerror(int err, char *buf, size_t len);

/* True for 0.0.0.0 and :: (any address). */
bool config_is_wildcard(const struct sockaddr_storage *ss);

/* gossip_config_add_key() whose short-passphrase warning starts with
 * `where` (e.g. "gossip.conf:5: "). */
int config_add_key(struct gossip_config *cfg, const char *key, const char *where);

/* printf-style line to cfg->cb.log (nothing when there is no callback). */
void config_log(const struct gossip_config *cfg, enum gossip_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
