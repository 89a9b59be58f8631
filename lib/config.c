/*
 * struct gossip_config: defaults, builders, validation, effective values
 * and the human-readable dump.  The INI loader is in config_ini.c.
 *
 * Nothing here keeps state between calls: the config is a plain value the
 * host owns.
 */
#include "config_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "abi.h"
#include "addr.h"
#include "crypto.h"
#include "roles.h"

/* The five duties of the mail server, declared by default so a config file
 * only has to list nodes for them (and a host can query them without
 * declaring them first). */
static const char *const default_roles[] = {
    "purge.stores", "purge.accounts", "acme.renew", "metrics.calculate", "metrics.push",
};

#define MIN_HEARTBEAT_MS 10u
#define MAX_HEARTBEAT_MS 3600000u
#define MIN_PASSPHRASE 16u
/* Room kept in a datagram around an event or metadata record: envelope
 * (46) + payload header, target and counts (~20) + record header (~60). */
#define DATAGRAM_HEADROOM 128u
#define MIN_DATAGRAM 512u
#define MAX_DATAGRAM 65507u /* largest UDP payload over IPv4 */

void config_log(const struct gossip_config *cfg, enum gossip_log_level level, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (!cfg || !cfg->cb.log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cfg->cb.log(cfg->cb.ud, level, line);
}

/* --- the caller's struct and the library's (doc/abi.md) -------------------- */

static void config_defaults(struct gossip_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->size = (uint32_t)sizeof *cfg;
    cfg->bind_port = GOSSIP_DEFAULT_PORT;
    cfg->heartbeat_ms = GOSSIP_DEFAULT_HEARTBEAT_MS;
    for (size_t i = 0; i < sizeof default_roles / sizeof default_roles[0]; i++) {
        struct gossip_role *r = &cfg->roles[cfg->n_roles++];
        snprintf(r->name, sizeof r->name, "%s", default_roles[i]);
    }
}

/* The caller's struct is `size` bytes: the defaults of the fields it has
 * (every field that ends within it), zero for what this library does not
 * know, and size itself.  Nothing beyond. */
void gossip_config_init_sized(struct gossip_config *cfg, size_t size)
{
    struct gossip_config d;

    if (!cfg || size < sizeof cfg->size)
        return;
    config_defaults(&d);
    if (size > UINT32_MAX)
        size = UINT32_MAX; /* no such struct; refused by every reader anyway */
    memcpy(cfg, &d, size < sizeof d ? size : sizeof d);
    if (size > sizeof d)
        memset((unsigned char *)cfg + sizeof d, 0, size - sizeof d);
    cfg->size = (uint32_t)size;
}

/* The 0.1.0 entry point: binaries built before gossip_config_init became a
 * macro call this, with a 0.1.0 struct. */
void (gossip_config_init)(struct gossip_config *cfg)
{
    gossip_config_init_sized(cfg, ABI_CONFIG_SIZE_0_1);
}

int config_widen(const struct gossip_config *user, struct gossip_config *out, char *err,
                 size_t errlen)
{
    config_defaults(out);
    if (!user) {
        if (err && errlen > 0)
            snprintf(err, errlen, "no configuration");
        return GOSSIP_EINVAL;
    }
    if (user->size < ABI_CONFIG_SIZE_0_1) {
        if (err && errlen > 0)
            snprintf(err, errlen,
                     "configuration not initialised with gossip_config_init() (its size, %lu "
                     "bytes, is below the %lu bytes of the smallest layout, libgossip 0.1.0)",
                     (unsigned long)user->size, (unsigned long)ABI_CONFIG_SIZE_0_1);
        return GOSSIP_EINVAL;
    }
    /* A larger struct comes from a program built against a newer header;
     * the fields this library does not know are not read. */
    memcpy(out, user, user->size < sizeof *out ? user->size : sizeof *out);
    out->size = (uint32_t)sizeof *out;
    return GOSSIP_OK;
}

void config_narrow(const struct gossip_config *full, struct gossip_config *user)
{
    uint32_t size = user->size;

    memcpy(user, full, size < sizeof *full ? size : sizeof *full);
    user->size = size;
}

/* Standard base64 of exactly 32 bytes (44 characters, one '='), the form
 * serf and memberlist use for generated keys.  Such a key already has 256
 * bits of entropy: stretching it buys nothing and costs every process
 * ~0.4 s and 128 MiB at start. */
static bool base64_key(const char *s, size_t len, uint8_t out[GOSSIP_KEY_LEN])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (len != 44 || s[43] != '=' || s[42] == '=')
        return false;
    uint8_t buf[33];
    size_t n = 0;
    uint32_t acc = 0;
    for (int i = 0; i < 43; i++) {
        const char *p = strchr(alphabet, s[i]);
        if (!p || !s[i])
            return false;
        acc = (acc << 6) | (uint32_t)(p - alphabet);
        if (i % 4 == 3) {
            buf[n++] = (uint8_t)(acc >> 16);
            buf[n++] = (uint8_t)(acc >> 8);
            buf[n++] = (uint8_t)acc;
            acc = 0;
        }
    }
    /* 43 symbols = 10 groups of 4 + 3 symbols = 30 + 2 bytes; the unused
     * low bits of the last symbol must be zero (canonical encoding) */
    if (acc & 0x3u)
        return false;
    buf[n++] = (uint8_t)(acc >> 10);
    buf[n++] = (uint8_t)(acc >> 2);
    memcpy(out, buf, GOSSIP_KEY_LEN);
    explicit_bzero(buf, sizeof buf);
    return n == GOSSIP_KEY_LEN;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* --- passphrase keys and their cache ----------------------------------------- */

/* Passphrases printed in the documentation and the examples (and the most
 * famous one of all): a cluster keyed with one is open to anyone who has
 * read them. */
static const char *const example_passphrases[] = {
    "my-secret-key",                     /* the mail server's gossip.conf, README */
    "my-long-random-cluster-passphrase", /* gossip_config_load_file(3) */
    "correct horse battery staple",      /* gossip_config_init(3), xkcd 936 */
    "an example passphrase, change me",  /* examples/select-loop.c, epoll-et.c */
};

static bool is_example_passphrase(const char *b, size_t len)
{
    for (size_t i = 0; i < sizeof example_passphrases / sizeof example_passphrases[0]; i++)
        if (strlen(example_passphrases[i]) == len && strncasecmp(example_passphrases[i], b, len) == 0)
            return true;
    return false;
}

/* The cache is the caller's only when its struct has room for it (a
 * program built against an older gossip.h has a smaller one). */
static struct gossip_key_cache *key_cache_of(struct gossip_config *cfg)
{
    if (cfg->size < offsetof(struct gossip_config, key_cache) + sizeof cfg->key_cache)
        return NULL;
    return &cfg->key_cache;
}

static uint32_t cache_next_stamp(struct gossip_key_cache *kc)
{
    uint32_t max = 0;
    for (unsigned i = 0; i < GOSSIP_MAX_KEYS; i++)
        if (kc->entry[i].stamp > max)
            max = kc->entry[i].stamp;
    if (max < UINT32_MAX)
        return max + 1;
    /* 4 billion derivations later: renumber 1..n in the same order */
    uint32_t next = 1;
    for (uint32_t floor = 0;;) {
        unsigned lo = GOSSIP_MAX_KEYS;
        for (unsigned i = 0; i < GOSSIP_MAX_KEYS; i++)
            if (kc->entry[i].stamp > floor &&
                (lo == GOSSIP_MAX_KEYS || kc->entry[i].stamp < kc->entry[lo].stamp))
                lo = i;
        if (lo == GOSSIP_MAX_KEYS)
            return next;
        floor = kc->entry[lo].stamp;
        kc->entry[lo].stamp = next++;
    }
}

/* The key of `pass` under the config's cluster label: from the cache when
 * it holds that very derivation (same KDF, label and passphrase), else by
 * scrypt, then remembered in place of the least recently used entry. */
static int derive_cached(struct gossip_config *cfg, const char *pass, uint8_t out[GOSSIP_KEY_LEN])
{
    struct gossip_key_cache *kc = key_cache_of(cfg);
    const char *label = cfg->cluster_label;
    uint8_t tag[CRYPTO_PASS_TAG_LEN];

    if (!memchr(cfg->cluster_label, '\0', sizeof cfg->cluster_label))
        return GOSSIP_EINVAL;
    for (unsigned i = 0; kc && i < GOSSIP_MAX_KEYS; i++) {
        struct gossip_key_cache_entry *e = &kc->entry[i];
        if (!e->stamp || crypto_passphrase_tag(e->key, label, pass, tag) != 0)
            continue;
        bool hit = CRYPTO_memcmp(tag, e->tag, sizeof tag) == 0;
        explicit_bzero(tag, sizeof tag);
        if (hit) {
            memcpy(out, e->key, GOSSIP_KEY_LEN);
            e->stamp = cache_next_stamp(kc);
            kc->reused++;
            return GOSSIP_OK;
        }
    }
    if (crypto_derive_passphrase(pass, label, out) != 0)
        return GOSSIP_ECRYPTO;
    if (!kc)
        return GOSSIP_OK;
    kc->derived++;
    unsigned victim = 0;
    for (unsigned i = 1; i < GOSSIP_MAX_KEYS; i++)
        if (kc->entry[i].stamp < kc->entry[victim].stamp)
            victim = i;
    struct gossip_key_cache_entry *e = &kc->entry[victim];
    explicit_bzero(e, sizeof *e);
    if (crypto_passphrase_tag(out, label, pass, e->tag) != 0 ||
        crypto_salt_tag(out, label, e->salt_tag) != 0) {
        explicit_bzero(e, sizeof *e); /* not remembered; the key itself is good */
        return GOSSIP_OK;
    }
    memcpy(e->key, out, GOSSIP_KEY_LEN);
    e->stamp = cache_next_stamp(kc);
    return GOSSIP_OK;
}

/* 0, or the 1-based position of the first key of the keyring that the
 * cache knows as derived under another cluster label than the config's:
 * the label was set (or changed) after the passphrase was added, so this
 * node's key is not the cluster's. */
static unsigned key_label_mismatch(const struct gossip_config *cfg)
{
    uint8_t st[CRYPTO_SALT_TAG_LEN];

    if (cfg->size < offsetof(struct gossip_config, key_cache) + sizeof cfg->key_cache)
        return 0;
    for (unsigned i = 0; i < cfg->n_keys && i < GOSSIP_MAX_KEYS; i++)
        for (unsigned j = 0; j < GOSSIP_MAX_KEYS; j++) {
            const struct gossip_key_cache_entry *e = &cfg->key_cache.entry[j];
            if (!e->stamp || CRYPTO_memcmp(e->key, cfg->keys[i], GOSSIP_KEY_LEN) != 0)
                continue;
            if (crypto_salt_tag(e->key, cfg->cluster_label, st) == 0 &&
                CRYPTO_memcmp(st, e->salt_tag, sizeof st) != 0)
                return i + 1;
            break;
        }
    return 0;
}

int config_add_key(struct gossip_config *cfg, const char *key, const char *where)
{
    if (!cfg || !key || !*key)
        return GOSSIP_EINVAL;
    if (cfg->n_keys >= GOSSIP_MAX_KEYS)
        return GOSSIP_EFULL;
    if (!where)
        where = "";
    /* A base64 key pasted or read with a newline (or blanks) around it is
     * still that key: base64 has no blanks, so none of them is part of
     * it.  Unstripped, it became a passphrase, another key id, and nodes
     * that could not talk.  Such a key is used as it is: no KDF. */
    const char *b = key, *e = key + strlen(key);
    while (is_space(*b))
        b++;
    while (e > b && is_space(e[-1]))
        e--;
    if (base64_key(b, (size_t)(e - b), cfg->keys[cfg->n_keys])) {
        cfg->n_keys++;
        return GOSSIP_OK;
    }
    /* A passphrase is taken as it is (stripping would change the key of
     * a cluster that uses it), but blanks at its ends are pointed at. */
    if (b != key || *e)
        config_log(cfg, GOSSIP_LOG_WARN,
                   "%scluster.key: the passphrase begins or ends with a blank or a newline, "
                   "which is part of it",
                   where);
    if (is_example_passphrase(b, (size_t)(e - b)))
        config_log(cfg, GOSSIP_LOG_ERROR,
                   "%scluster.key: \"%.*s\" is an example passphrase printed in the "
                   "documentation: anyone can read this cluster's traffic and join it; use a key "
                   "of your own (head -c 32 /dev/urandom | base64)",
                   where, (int)(e - b), b);
    if (strlen(key) < MIN_PASSPHRASE)
        config_log(cfg, GOSSIP_LOG_WARN,
                   "%scluster.key: the passphrase is shorter than %u bytes; "
                   "anyone who captures a datagram can try to guess it offline: use a long "
                   "random passphrase or a generated key (head -c 32 /dev/urandom | base64)",
                   where, MIN_PASSPHRASE);
    int rc = derive_cached(cfg, key, cfg->keys[cfg->n_keys]);
    if (rc != GOSSIP_OK) {
        explicit_bzero(cfg->keys[cfg->n_keys], GOSSIP_KEY_LEN);
        return rc;
    }
    cfg->n_keys++;
    return GOSSIP_OK;
}

int gossip_config_add_key(struct gossip_config *cfg, const char *key)
{
    return config_add_key(cfg, key, "");
}

#define MAX_KEY_FILE 4096u

static int key_file_fail(char *why, size_t whylen, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int key_file_fail(char *why, size_t whylen, int code, const char *fmt, ...)
{
    if (why && whylen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static bool printable_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return false;
    return true;
}

int config_add_key_file(struct gossip_config *cfg, const char *path, bool strict,
                        const char *where, char *why, size_t whylen)
{
    uint8_t buf[MAX_KEY_FILE + 1];
    struct stat st;
    size_t len = 0;
    int fd, rc, saved;

    if (why && whylen > 0)
        why[0] = '\0';
    if (!cfg || !path || !*path)
        return key_file_fail(why, whylen, GOSSIP_EINVAL, "no file name");
    if (cfg->n_keys >= GOSSIP_MAX_KEYS)
        return key_file_fail(why, whylen, GOSSIP_EFULL, "the keyring is full (%d keys)",
                             GOSSIP_MAX_KEYS);
    if (!where)
        where = "";
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        goto io_error;
    if (fstat(fd, &st) != 0) {
        saved = errno;
        close(fd);
        errno = saved;
        goto io_error;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return key_file_fail(why, whylen, GOSSIP_EINVAL, "not a regular file");
    }
    /* Anyone who can read the key can join the cluster and forge its
     * membership.  Refused in strict mode; only a warning by default, as
     * containers commonly mount secrets 0644 where no other user exists. */
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        if (strict) {
            close(fd);
            return key_file_fail(why, whylen, GOSSIP_EINVAL,
                                 "other users may %s it (mode %04o); chmod o-rwx it",
                                 (st.st_mode & S_IROTH) ? "read" : "write",
                                 (unsigned)(st.st_mode & 07777));
        }
        config_log(cfg, GOSSIP_LOG_WARN,
                   "%scluster.key-file: %s: other users may %s it (mode %04o); chmod o-rwx it",
                   where, path, (st.st_mode & S_IROTH) ? "read" : "write",
                   (unsigned)(st.st_mode & 07777));
    }
    for (;;) {
        ssize_t got = read(fd, buf + len, sizeof buf - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            saved = errno;
            close(fd);
            explicit_bzero(buf, sizeof buf);
            errno = saved;
            goto io_error;
        }
        if (got == 0)
            break;
        len += (size_t)got;
        if (len == sizeof buf)
            break;
    }
    close(fd);
    if (len > MAX_KEY_FILE) {
        rc = key_file_fail(why, whylen, GOSSIP_EINVAL, "larger than %u bytes: not a key file",
                           MAX_KEY_FILE);
    } else if (len == GOSSIP_KEY_LEN && !printable_text(buf, len)) {
        /* `head -c 32 /dev/urandom > key`: the key itself.  (32 random
         * bytes are all printable text once in 10^14.) */
        rc = gossip_config_add_raw_key(cfg, buf);
    } else {
        /* Text: a base64 key or a passphrase, on one line; the file's
         * final newline (and any blank before it) is not part of it. */
        while (len > 0 && is_space((char)buf[len - 1]))
            len--;
        buf[len] = '\0';
        if (len == 0)
            rc = key_file_fail(why, whylen, GOSSIP_EINVAL, "empty");
        else if (memchr(buf, '\0', len))
            rc = key_file_fail(why, whylen, GOSSIP_EINVAL,
                               "holds a NUL byte: neither 32 raw bytes nor one line of text");
        else if (memchr(buf, '\n', len) || memchr(buf, '\r', len))
            rc = key_file_fail(why, whylen, GOSSIP_EINVAL,
                               "more than one line (one key per file; list several files for a "
                               "keyring)");
        else if ((rc = config_add_key(cfg, (const char *)buf, where)) != 0)
            key_file_fail(why, whylen, rc, "key derivation failed (%s)", gossip_strerror(rc));
    }
    explicit_bzero(buf, sizeof buf);
    return rc;

io_error:
    saved = errno;
    {
        char ebuf[128];
        key_file_fail(why, whylen, GOSSIP_EIO, "%s", config_strerror(saved, ebuf, sizeof ebuf));
    }
    errno = saved;
    return GOSSIP_EIO;
}

int gossip_config_add_key_file(struct gossip_config *cfg, const char *path)
{
    char why[256];
    int rc = config_add_key_file(cfg, path, false, "", why, sizeof why);
    if (rc != 0 && cfg) {
        int saved = errno;
        config_log(cfg, GOSSIP_LOG_ERROR, "cluster.key-file: %s: %s", path ? path : "(null)", why);
        errno = saved;
    }
    return rc;
}

int gossip_config_add_raw_key(struct gossip_config *cfg, const uint8_t key[GOSSIP_KEY_LEN])
{
    if (!cfg || !key)
        return GOSSIP_EINVAL;
    if (cfg->n_keys >= GOSSIP_MAX_KEYS)
        return GOSSIP_EFULL;
    memcpy(cfg->keys[cfg->n_keys++], key, GOSSIP_KEY_LEN);
    return GOSSIP_OK;
}

/* --- addresses ----------------------------------------------------------- */

/* Addresses are parsed by addr.c, the same parser the core binds and
 * sends with; this only says, for a message, why one is refused.  A seed
 * may also be a host name (config_seed_parse()). */
const char *config_addr_problem(const char *text, enum config_addr kind, uint16_t default_port)
{
    bool endpoint = kind == CONFIG_ADDR_SEED;
    struct config_seed seed;
    gaddr_t a;
    int rc;

    if (!text || !*text)
        return "is empty";
    if (strchr(text, '%'))
        return "has an IPv6 zone (%...), which is not supported: addresses are kept and "
               "gossiped without one; use a global or unique-local address, or \"::\"";
    rc = endpoint ? config_seed_parse(text, default_port, &seed) : addr_parse_host(text, 0, &a);
    if (rc == GOSSIP_ERANGE)
        return "has a bad port (1..65535)";
    if (rc != 0)
        return endpoint ? "is neither a numeric address[:port] nor a host name[:port] (labels of "
                          "letters, digits, '-' and '_' joined by dots, the last not all digits)"
                        : "is not a numeric IPv4 or IPv6 address";
    if (endpoint)
        return NULL;
    /* bind() refuses a link-local address without its zone (EINVAL), and
     * zones are not kept: say so now rather than fail in gossip_create().
     * Sending to one (a seed, an advertised address) is left to the
     * kernel's choice of interface. */
    if (kind == CONFIG_ADDR_BIND && addr_is_link_local(&a))
        return "is an IPv6 link-local address (fe80::/10), which can be bound only with an "
               "interface zone, and zones are not supported; bind to \"::\" (and advertise "
               "the link-local address if you must) or to a global or unique-local address";
    return NULL;
}

/* --- seeds ------------------------------------------------------------------ */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* A host name: labels of 1..63 letters, digits, '-' and '_' (DNS names
 * carry '_', as in service labels), not beginning or ending with '-',
 * joined by single dots, one final dot allowed (an absolute name), at
 * most 253 characters; the last label is not all digits (RFC 3696 2.), so
 * "10.1" or "10.0.0.256" is a mistyped address, not a name. */
static bool host_name_valid(const char *s)
{
    size_t n = strlen(s), label = 0;
    bool digits = true;

    if (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            if (i == n)
                break;
            label = 0;
            digits = true;
            continue;
        }
        if (!name_char(s[i]) || (label == 0 && s[i] == '-') || ++label > 63)
            return false;
        if (s[i] < '0' || s[i] > '9')
            digits = false;
    }
    return !digits;
}

int config_seed_parse(const char *text, uint16_t default_port, struct config_seed *out)
{
    const char *p;
    int rc;

    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return GOSSIP_EINVAL;
    out->port = default_port;
    if ((rc = addr_split(text, out->host, sizeof out->host, &p)) != 0)
        return rc;
    if (p && (rc = addr_parse_port(p, &out->port)) != 0)
        return rc;
    /* A zone cannot be kept; a name never has one either. */
    if (strchr(out->host, '%'))
        return GOSSIP_EADDR;
    if (addr_parse_host(out->host, out->port, &out->addr) == 0)
        return 0;
    /* Brackets hold an IPv6 address, never a name. */
    if (text[0] == '[' || !host_name_valid(out->host))
        return GOSSIP_EADDR;
    out->is_name = true;
    return 0;
}

int gossip_config_add_seed(struct gossip_config *cfg, const char *seed)
{
    char out[GOSSIP_ADDR_MAX];
    struct config_seed s;
    int rc;

    if (!cfg || !seed || !*seed)
        return GOSSIP_EINVAL;
    /* Syntax only: a name is kept as text and resolved by the running node
     * (resolve.c), so that adding a seed never blocks and never fails
     * because a resolver is slow or a name does not resolve yet. */
    if ((rc = config_seed_parse(seed, cfg->bind_port ? cfg->bind_port : GOSSIP_DEFAULT_PORT, &s)) != 0)
        return rc;
    if (!s.is_name)
        addr_format(&s.addr, out, sizeof out);
    else if ((size_t)snprintf(out, sizeof out, "%s:%u", s.host, s.port) >= sizeof out)
        return GOSSIP_EADDR; /* "name:port" does not fit GOSSIP_ADDR_MAX */
    /* Already there (the same address and port, however written; a name
     * in any case): a seed listed twice is one seed, and adding it again
     * succeeds, full list or not. */
    for (unsigned i = 0; i < cfg->n_seeds && i < GOSSIP_MAX_SEEDS; i++)
        if (strncasecmp(cfg->seeds[i], out, sizeof out) == 0)
            return GOSSIP_OK;
    if (cfg->n_seeds >= GOSSIP_MAX_SEEDS)
        return GOSSIP_EFULL;
    memcpy(cfg->seeds[cfg->n_seeds++], out, sizeof out);
    return GOSSIP_OK;
}

/* --- roles --------------------------------------------------------------- */

static bool has_duplicate(const uint64_t *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (nodes[i] == nodes[j])
                return true;
    return false;
}

int gossip_config_set_role(struct gossip_config *cfg, const char *name, const uint64_t *nodes,
                           size_t n, unsigned flags)
{
    struct gossip_role *r = NULL;

    if (!cfg || !roles_name_valid(name) || (n > 0 && !nodes))
        return GOSSIP_EINVAL;
    if (flags & ~(GOSSIP_ROLE_NO_FAILOVER | GOSSIP_ROLE_QUORUM))
        return GOSSIP_EINVAL;
    if (n > GOSSIP_ROLE_MAX_NODES)
        return GOSSIP_EFULL;
    if (has_duplicate(nodes, n))
        return GOSSIP_EINVAL;
    for (unsigned i = 0; i < cfg->n_roles && i < GOSSIP_MAX_ROLES; i++)
        if (strcmp(cfg->roles[i].name, name) == 0)
            r = &cfg->roles[i];
    if (!r) {
        if (cfg->n_roles >= GOSSIP_MAX_ROLES)
            return GOSSIP_EFULL;
        r = &cfg->roles[cfg->n_roles++];
    }
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    if (n > 0)
        memcpy(r->nodes, nodes, n * sizeof *nodes);
    r->n_nodes = (unsigned)n;
    r->flags = flags;
    return GOSSIP_OK;
}

/* --- effective values ---------------------------------------------------- */

static uint32_t sat_mul(uint32_t a, uint32_t b)
{
    uint64_t v = (uint64_t)a * b;
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void config_effective(const struct gossip_config *in, struct gossip_config *out)
{
    if (out != in)
        memcpy(out, in, sizeof *out);
    uint32_t hb = out->heartbeat_ms ? out->heartbeat_ms : GOSSIP_DEFAULT_HEARTBEAT_MS;

    out->heartbeat_ms = hb;
    if (!out->advertise_port)
        out->advertise_port = out->bind_port;
    if (!out->probe_timeout_ms)
        out->probe_timeout_ms = hb / 5 < 10 ? 10 : hb / 5;
    if (!out->indirect_timeout_ms)
        out->indirect_timeout_ms = sat_mul(out->probe_timeout_ms, 2);
    if (!out->indirect_checks)
        out->indirect_checks = 3;
    /* Only an exact 0 means "derived": a negative or NaN value stays, so
     * gossip_config_validate() can refuse it. */
    if (out->suspicion_mult == 0)
        out->suspicion_mult = 1.0;
    if (out->suspicion_max_mult == 0)
        out->suspicion_max_mult = 4;
    if (!out->suspicion_confirmations)
        out->suspicion_confirmations = 2;
    if (out->retransmit_mult == 0)
        out->retransmit_mult = 4;
    if (!out->gossip_interval_ms)
        out->gossip_interval_ms = hb / 5 ? hb / 5 : 1;
    if (!out->gossip_fanout)
        out->gossip_fanout = 3;
    if (!out->sync_interval_ms)
        out->sync_interval_ms = sat_mul(hb, 60);
    if (!out->ae_records)
        out->ae_records = 2;
    if (!out->reconnect_interval_ms)
        out->reconnect_interval_ms = sat_mul(hb, 5);
    if (!out->reap_ms)
        out->reap_ms = sat_mul(hb, 3600);
    if (!out->awareness_max)
        out->awareness_max = 8;
    if (!out->max_clock_skew_ms)
        out->max_clock_skew_ms = 86400000u;
    if (!out->max_datagram)
        out->max_datagram = 1232;
    if (!out->max_members)
        out->max_members = 65536;
    if (!out->max_meta)
        out->max_meta = 128;
    if (!out->max_event)
        out->max_event = 512;
    if (!out->max_pending_events)
        out->max_pending_events = 256;
}

/* --- validation ---------------------------------------------------------- */

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* The fixed string fields are set by hand by hosts: refuse an array that
 * lost its terminator rather than read past it. */
static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

struct urange {
    const char *key;
    unsigned long long value, min, max;
};

struct drange {
    const char *key;
    double value, min, max;
};

static int validate_full(const struct gossip_config *cfg, char *err, size_t errlen);

int gossip_config_validate(const struct gossip_config *user, char *err, size_t errlen)
{
    struct gossip_config cfg;
    int rc;

    if (err && errlen > 0)
        err[0] = '\0';
    if ((rc = config_widen(user, &cfg, err, errlen)) != 0)
        return rc;
    return validate_full(&cfg, err, errlen);
}

/* A config in the library's layout (config_widen()). */
static int validate_full(const struct gossip_config *cfg, char *err, size_t errlen)
{
    struct gossip_config e;
    const char *why;
    gaddr_t a;

    if (!terminated(cfg->bind_addr, sizeof cfg->bind_addr))
        return fail(err, errlen, GOSSIP_EINVAL, "cluster.bind-addr: not NUL-terminated");
    if (!terminated(cfg->advertise_addr, sizeof cfg->advertise_addr))
        return fail(err, errlen, GOSSIP_EINVAL, "cluster.advertise-addr: not NUL-terminated");
    if (!terminated(cfg->cluster_label, sizeof cfg->cluster_label))
        return fail(err, errlen, GOSSIP_EINVAL, "cluster.cluster-label: not NUL-terminated");

    if (!cfg->bind_addr[0])
        return fail(err, errlen, GOSSIP_ENOBIND,
                    "cluster.bind-addr is not set: the gossip service will not start");
    if ((why = config_addr_problem(cfg->bind_addr, CONFIG_ADDR_BIND, 0)) != NULL)
        return fail(err, errlen, GOSSIP_EADDR, "cluster.bind-addr: \"%s\" %s", cfg->bind_addr,
                    why);
    if (cfg->n_keys == 0)
        return fail(err, errlen, GOSSIP_ENOKEY,
                    "cluster.key is not set: the gossip service will not start");
    if (cfg->n_keys > GOSSIP_MAX_KEYS)
        return fail(err, errlen, GOSSIP_EINVAL, "cluster.key: more than %d keys",
                    GOSSIP_MAX_KEYS);
    /* the key id picks the key for every datagram: it must be unambiguous */
    for (unsigned i = 0; i < cfg->n_keys; i++)
        for (unsigned j = i + 1; j < cfg->n_keys; j++)
            if (crypto_key_id(cfg->keys[i]) == crypto_key_id(cfg->keys[j]))
                return fail(err, errlen, GOSSIP_EINVAL,
                            "cluster.key: keys %u and %u have the same key id %08x (the same key twice?)",
                            i + 1, j + 1, crypto_key_id(cfg->keys[i]));
    /* a passphrase key is salted with the label: one derived under another
     * label is not the cluster's key (gossip_config_add_key() before the
     * label was set) */
    unsigned bad_label = key_label_mismatch(cfg);
    if (bad_label)
        return fail(err, errlen, GOSSIP_EINVAL,
                    "cluster.key: key %u (%08lx) was derived from its passphrase under another "
                    "cluster label than \"%s\": set cluster_label before adding passphrase keys",
                    bad_label, (unsigned long)crypto_key_id(cfg->keys[bad_label - 1]),
                    cfg->cluster_label);
    /* A wildcard bind without advertise-addr is allowed: the node then
     * advertises "my source address" (all-zero), and every receiver puts
     * in the address the datagram came from. */
    if (cfg->advertise_addr[0]) {
        if ((why = config_addr_problem(cfg->advertise_addr, CONFIG_ADDR_ADVERTISE, 0)) != NULL)
            return fail(err, errlen, GOSSIP_EADDR, "cluster.advertise-addr: \"%s\" %s",
                        cfg->advertise_addr, why);
        if (addr_parse_host(cfg->advertise_addr, 0, &a) == 0 && addr_is_unspecified(&a))
            return fail(err, errlen, GOSSIP_EADDR,
                        "cluster.advertise-addr: \"%s\" is a wildcard address; other nodes "
                        "cannot reach it",
                        cfg->advertise_addr);
    }
    if (cfg->bind_port == 0)
        return fail(err, errlen, GOSSIP_ERANGE, "cluster.bind-port: 0 is out of range (1..65535)");
    if (cfg->heartbeat_ms < MIN_HEARTBEAT_MS || cfg->heartbeat_ms > MAX_HEARTBEAT_MS)
        return fail(err, errlen, GOSSIP_ERANGE,
                    "cluster.heartbeat: %lums is out of range (%ums..%ums)",
                    (unsigned long)cfg->heartbeat_ms, MIN_HEARTBEAT_MS, MAX_HEARTBEAT_MS);
    if (cfg->n_seeds > GOSSIP_MAX_SEEDS)
        return fail(err, errlen, GOSSIP_EINVAL, "cluster.seed-nodes: more than %d seeds",
                    GOSSIP_MAX_SEEDS);
    for (unsigned i = 0; i < cfg->n_seeds; i++) {
        if (!terminated(cfg->seeds[i], sizeof cfg->seeds[i]))
            return fail(err, errlen, GOSSIP_EINVAL, "cluster.seed-nodes: seed %u is not "
                        "NUL-terminated", i + 1);
        if ((why = config_addr_problem(cfg->seeds[i], CONFIG_ADDR_SEED, cfg->bind_port)) != NULL)
            return fail(err, errlen, GOSSIP_EADDR, "cluster.seed-nodes: seed %u (\"%s\") %s",
                        i + 1, cfg->seeds[i], why);
    }
    for (const char *c = cfg->cluster_label; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return fail(err, errlen, GOSSIP_EINVAL,
                        "cluster.cluster-label: control characters are not allowed");

    if (cfg->n_roles > GOSSIP_MAX_ROLES)
        return fail(err, errlen, GOSSIP_EINVAL, "cluster.roles: more than %d roles",
                    GOSSIP_MAX_ROLES);
    for (unsigned i = 0; i < cfg->n_roles; i++) {
        const struct gossip_role *r = &cfg->roles[i];
        if (!terminated(r->name, sizeof r->name) || !roles_name_valid(r->name))
            return fail(err, errlen, GOSSIP_EINVAL,
                        "cluster.roles: role %u has an invalid name (a-z, 0-9, '.', '_', '-', "
                        "starting with a letter)",
                        i + 1);
        for (unsigned j = 0; j < i; j++)
            if (strcmp(cfg->roles[j].name, r->name) == 0)
                return fail(err, errlen, GOSSIP_EINVAL, "cluster.roles.%s: declared twice",
                            r->name);
        if (r->n_nodes > GOSSIP_ROLE_MAX_NODES)
            return fail(err, errlen, GOSSIP_EFULL, "cluster.roles.%s: more than %d nodes",
                        r->name, GOSSIP_ROLE_MAX_NODES);
        if (has_duplicate(r->nodes, r->n_nodes))
            return fail(err, errlen, GOSSIP_EINVAL, "cluster.roles.%s: a node id is listed twice",
                        r->name);
        if (r->flags & ~(GOSSIP_ROLE_NO_FAILOVER | GOSSIP_ROLE_QUORUM))
            return fail(err, errlen, GOSSIP_EINVAL, "cluster.roles.%s: unknown flags 0x%x",
                        r->name, r->flags);
    }

    /* Tuning: check the effective values, so a derived default that does
     * not fit an explicit neighbour (max-event vs max-datagram) is caught. */
    config_effective(cfg, &e);
    const struct urange u[] = {
        {"probe-timeout", e.probe_timeout_ms, 1, e.heartbeat_ms},
        {"indirect-timeout", e.indirect_timeout_ms, 1, MAX_HEARTBEAT_MS},
        {"indirect-checks", e.indirect_checks, 1, 16},
        {"suspicion-confirmations", e.suspicion_confirmations, 1, 64},
        {"gossip-interval", e.gossip_interval_ms, 1, MAX_HEARTBEAT_MS},
        {"gossip-fanout", e.gossip_fanout, 1, 64},
        {"sync-interval", e.sync_interval_ms, 1, UINT32_MAX},
        {"ae-records", e.ae_records, 1, 32},
        {"reconnect-interval", e.reconnect_interval_ms, 1, UINT32_MAX},
        {"reap-time", e.reap_ms, 1, UINT32_MAX},
        {"awareness-max", e.awareness_max, 1, 64},
        {"max-clock-skew", e.max_clock_skew_ms, 1000, UINT32_MAX},
        {"max-datagram", e.max_datagram, MIN_DATAGRAM, MAX_DATAGRAM},
        {"max-members", e.max_members, 2, 1u << 24},
        {"max-meta", e.max_meta, 1, 255},
        {"max-event", e.max_event, 1,
         e.max_datagram > DATAGRAM_HEADROOM ? e.max_datagram - DATAGRAM_HEADROOM : 1},
        {"max-pending-events", e.max_pending_events, 1, 65536},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (u[i].value < u[i].min || u[i].value > u[i].max)
            return fail(err, errlen, GOSSIP_ERANGE, "cluster.%s: %llu is out of range (%llu..%llu)",
                        u[i].key, u[i].value, u[i].min, u[i].max);
    const struct drange d[] = {
        {"suspicion-mult", e.suspicion_mult, 0.1, 100},
        {"suspicion-max-mult", e.suspicion_max_mult, 1, 100},
        {"retransmit-mult", e.retransmit_mult, 0.1, 100},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        if (!isfinite(d[i].value) || d[i].value < d[i].min || d[i].value > d[i].max)
            return fail(err, errlen, GOSSIP_ERANGE, "cluster.%s: out of range (%g..%g)", d[i].key,
                        d[i].min, d[i].max);
    return GOSSIP_OK;
}

/* --- formatting ---------------------------------------------------------- */

struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    char *dst = o->len < o->cap ? o->buf + o->len : NULL;
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void put_string(struct out *o, const char *key, const char *s)
{
    put(o, "%s = \"", key);
    for (; *s; s++)
        put(o, (*s == '"' || *s == '\\') ? "\\%c" : "%c", *s);
    put(o, "\"\n");
}

/* Decimal without the C locale: printf's %g would write "1,5" in a host
 * that called setlocale(), which the loader (rightly) would not read. */
static void put_decimal(struct out *o, const char *key, double v)
{
    if (!isfinite(v) || v < 0 || v > 1e12) {
        /* Not a value validate() accepts; say so rather than convert an
         * out-of-range double (undefined behaviour). */
        put(o, "%s = invalid\n", key);
        return;
    }
    unsigned long long milli = (unsigned long long)(v * 1000.0 + 0.5);
    unsigned long long ip = milli / 1000, frac = milli % 1000;

    if (frac == 0)
        put(o, "%s = %llu\n", key, ip);
    else if (frac % 100 == 0)
        put(o, "%s = %llu.%llu\n", key, ip, frac / 100);
    else if (frac % 10 == 0)
        put(o, "%s = %llu.%02llu\n", key, ip, frac / 10);
    else
        put(o, "%s = %llu.%03llu\n", key, ip, frac);
}

int gossip_config_format(const struct gossip_config *cfg, char *buf, size_t buflen)
{
    struct gossip_config e;
    struct out o = {buf, buflen, 0};

    if ((!buf && buflen > 0) || config_widen(cfg, &e, NULL, 0) != 0)
        return GOSSIP_EINVAL;
    config_effective(&e, &e);
    if (buflen > 0)
        buf[0] = '\0';

    put(&o, "node-id = %llu\n", (unsigned long long)e.node_id);
    put_string(&o, "bind-addr", e.bind_addr);
    put(&o, "bind-port = %u\n", (unsigned)e.bind_port);
    put_string(&o, "advertise-addr", e.advertise_addr);
    put(&o, "advertise-port = %u\n", (unsigned)e.advertise_port);
    put(&o, "heartbeat = \"%lums\"\n", (unsigned long)e.heartbeat_ms);
    put(&o, "seed-nodes = [");
    for (unsigned i = 0; i < e.n_seeds && i < GOSSIP_MAX_SEEDS; i++)
        put(&o, "%s\"%.*s\"", i ? ", " : "", GOSSIP_ADDR_MAX, e.seeds[i]);
    put(&o, "]\n");
    /* Key ids only: the dump goes to logs and bug reports. */
    put(&o, "key-ids = [");
    for (unsigned i = 0; i < e.n_keys && i < GOSSIP_MAX_KEYS; i++)
        put(&o, "%s0x%08lx", i ? ", " : "", (unsigned long)crypto_key_id(e.keys[i]));
    put(&o, "]\n");
    put_string(&o, "cluster-label", e.cluster_label);

    put(&o, "probe-timeout = \"%lums\"\n", (unsigned long)e.probe_timeout_ms);
    put(&o, "indirect-timeout = \"%lums\"\n", (unsigned long)e.indirect_timeout_ms);
    put(&o, "indirect-checks = %u\n", e.indirect_checks);
    put_decimal(&o, "suspicion-mult", e.suspicion_mult);
    put_decimal(&o, "suspicion-max-mult", e.suspicion_max_mult);
    put(&o, "suspicion-confirmations = %u\n", e.suspicion_confirmations);
    put_decimal(&o, "retransmit-mult", e.retransmit_mult);
    put(&o, "gossip-interval = \"%lums\"\n", (unsigned long)e.gossip_interval_ms);
    put(&o, "gossip-fanout = %u\n", e.gossip_fanout);
    put(&o, "sync-interval = \"%lums\"\n", (unsigned long)e.sync_interval_ms);
    put(&o, "ae-records = %u\n", e.ae_records);
    put(&o, "reconnect-interval = \"%lums\"\n", (unsigned long)e.reconnect_interval_ms);
    put(&o, "reap-time = \"%lums\"\n", (unsigned long)e.reap_ms);
    put(&o, "awareness-max = %u\n", e.awareness_max);
    put(&o, "max-clock-skew = \"%lums\"\n", (unsigned long)e.max_clock_skew_ms);
    put(&o, "max-datagram = %u\n", e.max_datagram);
    put(&o, "max-members = %u\n", e.max_members);
    put(&o, "max-meta = %u\n", e.max_meta);
    put(&o, "max-event = %u\n", e.max_event);
    put(&o, "max-pending-events = %u\n", e.max_pending_events);

    for (unsigned i = 0; i < e.n_roles && i < GOSSIP_MAX_ROLES; i++) {
        const struct gossip_role *r = &e.roles[i];
        put(&o, "roles.%.*s = [", GOSSIP_ROLE_NAME_MAX, r->name);
        for (unsigned j = 0; j < r->n_nodes && j < GOSSIP_ROLE_MAX_NODES; j++)
            put(&o, "%s%llu", j ? ", " : "", (unsigned long long)r->nodes[j]);
        put(&o, "]\n");
        if (r->flags & GOSSIP_ROLE_NO_FAILOVER)
            put(&o, "roles.%.*s.failover = false\n", GOSSIP_ROLE_NAME_MAX, r->name);
        if (r->flags & GOSSIP_ROLE_QUORUM)
            put(&o, "roles.%.*s.quorum = true\n", GOSSIP_ROLE_NAME_MAX, r->name);
    }
    return o.len > (size_t)INT32_MAX ? GOSSIP_ERANGE : (int)o.len;
}

/* strerror() may format into one buffer shared by all threads, and the
 * host may create nodes or load configs from several threads at once. */
const char *config_strerror(int err, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(err, buf, len); /* the GNU one: text in buf or static */
#else
    return strerror_r(err, buf, len) == 0 ? buf : "unknown error";
#endif
}
