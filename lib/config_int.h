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

#include "addr.h"
#include "gossip.h"

/* Copy `in` to `out` and replace every 0 ("derived") tuning field by its
 * effective value, derived from heartbeat_ms exactly as documented in
 * gossip.h and gossip.conf(5); also advertise_port 0 -> bind_port and
 * heartbeat_ms 0 -> the default.  Multiplications saturate at UINT32_MAX.
 * The one place where defaults are derived: the core and
 * gossip_config_format() both call it.  `in` and `out` may be the same. */
void config_effective(const struct gossip_config *in, struct gossip_config *out);

/* The caller's config `user` (its cfg->size bytes) in the library's
 * layout: the fields the caller's build has, every other field at its
 * default, size = sizeof.  GOSSIP_EINVAL, with the reason in err (if
 * errlen > 0), for NULL or a size below the 0.1.0 layout (not from
 * gossip_config_init()).  `out` holds the defaults then. */
int config_widen(const struct gossip_config *user, struct gossip_config *out, char *err,
                 size_t errlen);

/* Back into the caller's struct: the fields its size covers; its size kept. */
void config_narrow(const struct gossip_config *full, struct gossip_config *user);

enum config_addr {
    CONFIG_ADDR_BIND,      /* numeric host; not link-local */
    CONFIG_ADDR_ADVERTISE, /* numeric host */
    CONFIG_ADDR_SEED,      /* numeric host[:port] or name[:port], default_port without one */
};

/* Why `text` cannot be a configured address of that kind, or NULL when it
 * can.  addr.c parses; this adds the refusals a message must explain (an
 * IPv6 zone anywhere, a link-local bind address). */
const char *config_addr_problem(const char *text, enum config_addr kind, uint16_t default_port);

/* A seed as gossip_config_add_seed() takes it and cfg->seeds holds it: a
 * numeric endpoint (as addr_parse() takes it) or a host name with an
 * optional port.  Syntax only: nothing is resolved.  Fills `out` (port:
 * `default_port` without one; addr: the address when numeric) and returns
 * 0, GOSSIP_EINVAL (NULL or ""), GOSSIP_EADDR (neither form, a zone, a
 * name in brackets) or GOSSIP_ERANGE (a bad port). */
struct config_seed {
    char host[GOSSIP_ADDR_MAX];  /* the name, or the numeric host without brackets */
    uint16_t port;
    bool is_name;
    gaddr_t addr;                /* !is_name: the address, port included */
};
int config_seed_parse(const char *text, uint16_t default_port, struct config_seed *out);

/* strerror() for a library: thread-safe, the text in `buf` or static. */
const char *config_strerror(int err, char *buf, size_t len);

/* gossip_config_add_key() whose short-passphrase warning starts with
 * `where` (e.g. "gossip.conf:5: "). */
int config_add_key(struct gossip_config *cfg, const char *key, const char *where);

/* gossip_config_add_key_file(): the file's key appended to the keyring.
 * A file that other users may read or write is refused when `strict`,
 * else accepted with a warning starting with `where`.  On error the reason
 * (without the path) is in `why`; returns GOSSIP_EIO (errno kept),
 * GOSSIP_EINVAL, GOSSIP_EFULL or GOSSIP_ECRYPTO. */
int config_add_key_file(struct gossip_config *cfg, const char *path, bool strict,
                        const char *where, char *why, size_t whylen);

/* printf-style line to cfg->cb.log (nothing when there is no callback). */
void config_log(const struct gossip_config *cfg, enum gossip_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
