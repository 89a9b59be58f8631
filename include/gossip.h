/*
 * libgossip: cluster membership by infection-style gossip (SWIM + Lifeguard)
 * over authenticated, encrypted UDP.  One header, one opaque handle.
 *
 * The host owns the event loop.  The library never blocks, never starts a
 * thread, never reads a clock or a random source except through the hooks in
 * struct gossip_config, and never calls back into the host from inside a
 * callback: callbacks run at the end of gossip_tick(), gossip_on_readable(),
 * gossip_feed() and the other calls that change state, after the library's
 * state is consistent.  A member, role or event callback may call any query
 * function and gossip_set_meta(), gossip_broadcast(), gossip_leave(),
 * gossip_member_restore() and gossip_reconfigure(); events those cause are
 * delivered before the outer call returns.  gossip_tick(),
 * gossip_on_readable() and gossip_feed() from a callback return
 * GOSSIP_EBUSY and do nothing.  gossip_destroy() from a callback takes
 * effect when the callback returns: no callback runs after it and the
 * outer call returns without touching the handle.  A log callback may call
 * the query functions only (anything else returns GOSSIP_EBUSY: the
 * library is in the middle of its work).
 *
 * Two handles in one process share nothing.  A handle belongs to one
 * thread at a time (no locks inside: calls on one handle must not overlap);
 * different handles may be used from different threads at once.  After
 * fork() a handle works only in the process that created it: elsewhere its
 * calls return GOSSIP_EFORKED and nothing is sealed (nonces never repeat);
 * after restoring a VM or process snapshot, re-create every handle (see
 * libgossip(7)).
 *
 * Errors are negative GOSSIP_E* codes; gossip_strerror() names them.
 * Problems with single datagrams (wrong key, truncated, replayed, unknown
 * format version) are never returned: they are counted in struct
 * gossip_stats and reported through the log callback.
 */
#ifndef GOSSIP_H
#define GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; what this header declares is
 * its whole exported interface. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* The opaque node handle. */
typedef struct gossip gossip_t;

/* The version of this header.  GOSSIP_VERSION_NUMBER is
 * (major << 16) | (minor << 8) | patch, for #if and for comparing with
 * gossip_version_number(), the version of the library actually running. */
#define GOSSIP_VERSION_MAJOR 0
#define GOSSIP_VERSION_MINOR 2
#define GOSSIP_VERSION_PATCH 0
#define GOSSIP_VERSION_STRING "0.2.0"
#define GOSSIP_VERSION_NUMBER \
    ((GOSSIP_VERSION_MAJOR << 16) | (GOSSIP_VERSION_MINOR << 8) | GOSSIP_VERSION_PATCH)

/*
 * The ABI (doc/abi.md).  Within one soname (libgossip.so.0) a program keeps
 * working with every later library: struct fields are only appended, and
 * every call that takes a struct the caller allocated is told its size, so
 * the library writes and reads only the fields the caller's build knows.
 * That size comes from the caller's sizeof through the macros below
 * (gossip_config_init(), gossip_stats_get(), gossip_member_get(),
 * gossip_member_restore() expand to their *_sized function), or from
 * cfg->size, which gossip_config_init() sets.  The names without _sized
 * are also real functions, the entry points of binaries built against
 * 0.1.0: they use the 0.1.0 sizes.  Structs the library hands to callbacks
 * (struct gossip_member) are the library's own, at least as large as the
 * caller's: read the fields you know.  A program must not run on a library
 * older than its header (gossip_version_number() < GOSSIP_VERSION_NUMBER):
 * the packaging dependencies see to it.
 */

/* "0.2.0": the version of the library actually running. */
const char *gossip_version(void);

/* The same as a number, (major << 16) | (minor << 8) | patch, to compare
 * with GOSSIP_VERSION_NUMBER (the header the program was built with). */
uint32_t gossip_version_number(void);

/* Sizes of the fixed arrays in struct gossip_config.  Fixed arrays keep the
 * config a plain value: it can be copied, reloaded and compared, and nobody
 * has to free it. */
#define GOSSIP_ADDR_MAX 64        /* "[ipv6]:port" with room to spare */
#define GOSSIP_MAX_SEEDS 16
#define GOSSIP_MAX_KEYS 8
#define GOSSIP_KEY_LEN 32         /* AES-256 */
#define GOSSIP_LABEL_MAX 64
#define GOSSIP_MAX_ROLES 16
#define GOSSIP_ROLE_NAME_MAX 48
#define GOSSIP_ROLE_MAX_NODES 32
#define GOSSIP_DEFAULT_PORT 1179
#define GOSSIP_DEFAULT_HEARTBEAT_MS 1000

/* Error codes: 0 is success, every error is negative. */
enum gossip_error {
    GOSSIP_OK = 0,
    GOSSIP_EINVAL = -1,    /* bad argument */
    GOSSIP_ENOMEM = -2,    /* allocation failed */
    GOSSIP_ENOBIND = -3,   /* no bind address configured */
    GOSSIP_ENOKEY = -4,    /* no cluster key configured */
    GOSSIP_EADDR = -5,     /* address cannot be parsed or resolved */
    GOSSIP_ESOCKET = -6,   /* socket(), bind() or setsockopt() failed; errno is kept */
    GOSSIP_ECRYPTO = -7,   /* libcrypto failed */
    GOSSIP_ENOTFOUND = -8, /* no such member, role or key */
    GOSSIP_ETOOBIG = -9,   /* payload larger than the configured limit */
    GOSSIP_ESTATE = -10,   /* not allowed now (e.g. after gossip_leave()) */
    GOSSIP_EFULL = -11,    /* a configured bound is reached */
    GOSSIP_ECONFIG = -12,  /* configuration text is invalid; see the error message */
    GOSSIP_EIO = -13,      /* a file could not be read; errno is kept */
    GOSSIP_ERANGE = -14,   /* value out of range */
    GOSSIP_EBUSY = -15,    /* called from inside a callback where that is not allowed */
    GOSSIP_EFORKED = -16,  /* the handle was created in another process (fork()): it never seals there */
};

/* A static, human-readable name for an error code; never NULL. */
const char *gossip_strerror(int err);

/* Member states.  At equal incarnation: left > failed > suspect > alive. */
enum gossip_state {
    GOSSIP_ALIVE = 0,
    GOSSIP_SUSPECT = 1,
    GOSSIP_FAILED = 2,
    GOSSIP_LEFT = 3,
};

/* "alive", "suspect", "failed", "left"; "unknown" for anything else. */
const char *gossip_state_name(int state);

/* One member as the local node sees it.  Pointers (meta) stay valid until the
 * next call into the library with this handle. */
struct gossip_member {
    uint64_t id;
    enum gossip_state state;
    uint64_t generation;      /* chosen by the member at start-up */
    uint32_t version;         /* grows on refutation and metadata change */
    struct sockaddr_storage addr; /* advertised address and port */
    socklen_t addr_len;
    const uint8_t *meta;      /* metadata blob, NULL when meta_len is 0 */
    size_t meta_len;
    uint64_t state_since_ms;  /* local monotonic time (hooks.now_ms) of the last state change */
    bool is_self;
    /* since 0.2.0, after the 0.1.0 struct's end (its tail padding is the
     * old callers', see doc/abi.md) */
    uint8_t reserved_[sizeof(uint64_t) - sizeof(bool)];
    bool draining;            /* the member drains: alive, but given no role (gossip_drain()) */
};

/* Member events delivered through callbacks.member. */
enum gossip_event {
    GOSSIP_EVENT_JOIN = 0,     /* first time this member is known, alive */
    GOSSIP_EVENT_ALIVE = 1,    /* alive again after suspect/failed/left (refuted, recovered, restarted) */
    GOSSIP_EVENT_SUSPECT = 2,
    GOSSIP_EVENT_FAILED = 3,
    GOSSIP_EVENT_LEFT = 4,     /* graceful leave; never reported as failed */
    GOSSIP_EVENT_REMOVED = 5,  /* forgotten after the reap time */
    GOSSIP_EVENT_UPDATE = 6,   /* metadata or address changed, state unchanged */
    GOSSIP_EVENT_CONFLICT = 7, /* another live process claims this id (member may be self) */
};

/* "join", "alive", "suspect", "failed", "left", "removed", "update",
 * "conflict"; "unknown" for anything else. */
const char *gossip_event_name(int event);

enum gossip_log_level {
    GOSSIP_LOG_ERROR = 0,
    GOSSIP_LOG_WARN = 1,
    GOSSIP_LOG_INFO = 2,
    GOSSIP_LOG_DEBUG = 3,
};

/* Callbacks; any may be NULL.  `ud` is passed back unchanged. */
struct gossip_callbacks {
    void *ud;
    void (*member)(void *ud, enum gossip_event event, const struct gossip_member *m);
    /* This node gained (held = true) or lost a role.  Also called once per
     * held role right after gossip_create(), at the first tick.  A loss is
     * reported before the call that decided it sends anything (so the node
     * that takes a QUORUM role over hears of it only after the host was
     * told to stop); every other callback runs after the sending. */
    void (*role)(void *ud, const char *role, bool held);
    /* A cluster event broadcast by `origin` (possibly this node).  Delivered
     * exactly once per event per handle. */
    void (*user_event)(void *ud, uint64_t origin, const void *data, size_t len);
    /* A log line without trailing newline.  Bad datagrams are logged at
     * WARN, rate-limited per reason. */
    void (*log)(void *ud, enum gossip_log_level level, const char *msg);
};

/* Replaceable clock, randomness and transport.  Any may be NULL for the
 * default.  With a `send` hook the library opens no socket: gossip_fd()
 * returns -1 and datagrams come in through gossip_feed(). */
struct gossip_hooks {
    void *ctx;
    uint64_t (*now_ms)(void *ctx);   /* monotonic milliseconds; default CLOCK_MONOTONIC */
    uint64_t (*wall_ms)(void *ctx);  /* Unix milliseconds, for the default generation; default CLOCK_REALTIME */
    void (*random)(void *ctx, void *buf, size_t len); /* default: PRNG seeded by RAND_bytes */
    /* Send one datagram; return 0, or a negative value when it was not sent
     * (counted as a send error, never fatal). */
    int (*send)(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf, size_t len);
};

/* Role flags (struct gossip_role.flags). */
#define GOSSIP_ROLE_NO_FAILOVER 0x1u /* hold only on listed nodes, never fail over */
/* Hold only while this node sees a strict majority of the (not left)
 * members alive (every node a role lists counts as a member, also before
 * this node has heard of it: a restarted node learns only the live) AND has heard from a strict majority within one heartbeat
 * (a lease, kept fresh by pings while the role is held or would be, early
 * enough for any round trip below the probe timeout; the role is let go
 * the moment the lease runs out, and taken back at the answer; after a
 * stall past the lease it is let go and taken back only through the
 * hand-back handshake with whoever holds it meanwhile).  The
 * lease is shorter than the time the majority needs to declare a silent
 * holder failed, so two sides of a partition never hold the role at once.
 * A node that starts holds none before it has a view of the cluster (a
 * full view from a member; without seeds, five quiet heartbeats, after
 * which it is the cluster): alone it would be a majority of one.  Unless
 * the view names a live member whose (wall-clock) generation is older by a
 * reconnect interval and a heartbeat, it also waits that long from its
 * start: a seed restarted without seeds and a node joining through it
 * would be a majority of two until the running cluster finds the seed. */
#define GOSSIP_ROLE_QUORUM 0x2u

/* A role (duty).  With no nodes listed every node holds it.  With a list
 * the listed nodes that are alive (or merely suspect) hold it; when none is,
 * one live node chosen by rendezvous hashing of (role, node id) holds it
 * until a listed node is alive again.  A node that just started takes a
 * role by failover once its view has settled, or at once from a live
 * holder named by a view of a cluster that ran before it (a restart): the
 * holder gives it up when it sees the node, so no moment goes unheld. */
struct gossip_role {
    char name[GOSSIP_ROLE_NAME_MAX];
    uint64_t nodes[GOSSIP_ROLE_MAX_NODES];
    unsigned n_nodes;
    unsigned flags;
};

/* One remembered passphrase key (struct gossip_key_cache). */
struct gossip_key_cache_entry {
    uint8_t key[GOSSIP_KEY_LEN]; /* the derived key */
    uint8_t tag[32];             /* HMAC-SHA-256 under key of the KDF, label and passphrase hash */
    uint8_t salt_tag[16];        /* the same without the passphrase (checks the label) */
    uint32_t stamp;              /* 0: empty; larger: derived or reused later */
};

/* Passphrase keys already derived, kept in the config (the library keeps
 * no cache of its own) so that the same passphrase under the same cluster
 * label is stretched once per process, not at every reload: scrypt costs
 * ~0.4 s and 128 MiB.  gossip_config_add_key(), gossip_config_add_key_file()
 * and the loaders look here before they run the KDF and remember what they
 * derive (the least recently used entry makes room).  It travels with the
 * config: a file loaded on top of this config, or a fresh config given
 * this member right after gossip_config_init() (fresh.key_cache =
 * running.key_cache), reuses the keys of unchanged passphrases.  It holds
 * derived keys, as secret as the keyring, and never a passphrase; an entry
 * is only used for the very passphrase, label and KDF it was made of.
 * Copy it whole or zero it; do not edit it. */
struct gossip_key_cache {
    struct gossip_key_cache_entry entry[GOSSIP_MAX_KEYS];
    uint32_t derived;            /* passphrases stretched (KDF runs) through this config */
    uint32_t reused;             /* passphrases found here instead */
};

/*
 * Configuration.  Always start with gossip_config_init(), which sets every
 * default; then set fields, or load an INI file.  Fields are only ever
 * appended in later versions, and a field appended later is 0 by default
 * with 0 meaning the behaviour from before it existed; `size` (the
 * caller's sizeof, set by gossip_config_init()) tells the library which
 * fields the caller's build knows.  Every call taking a config reads and
 * writes only those; fields it does not cover take their defaults.
 * Durations in milliseconds; 0 in a tuning field means "derive from
 * heartbeat_ms" as documented.
 */
struct gossip_config {
    uint32_t size;                       /* set by gossip_config_init(); never by hand */

    /* The seed's keys (cluster.*). */
    uint64_t node_id;                    /* node-id, unique in the cluster */
    char bind_addr[GOSSIP_ADDR_MAX];     /* bind-addr: "0.0.0.0", "10.0.0.1", "::", "[::]" (dual stack); required; no IPv6 zone, not link-local */
    char advertise_addr[GOSSIP_ADDR_MAX];/* advertise-addr; "" = bind-addr (a wildcard bind advertises the source address peers see) */
    uint16_t bind_port;                  /* bind-port, default 1179 */
    uint16_t advertise_port;             /* 0 = bind_port */
    uint32_t heartbeat_ms;               /* heartbeat, default 1000 */
    /* seed-nodes as numeric "addr", "addr:port", "[v6]:port", or host
     * names "name", "name:port" (at most 63 characters); without a port,
     * bind_port is used.  Names are kept as text and resolved by the
     * running node (gossip_config_add_seed()). */
    char seeds[GOSSIP_MAX_SEEDS][GOSSIP_ADDR_MAX];
    unsigned n_seeds;
    /* Keyring: derived keys (gossip_config_add_key()).  keys[0] seals,
     * all of them open.  At least one is required. */
    uint8_t keys[GOSSIP_MAX_KEYS][GOSSIP_KEY_LEN];
    unsigned n_keys;
    /* Optional cluster label, authenticated with every datagram: clusters
     * with different labels never accept each other's datagrams. */
    char cluster_label[GOSSIP_LABEL_MAX];
    struct gossip_role roles[GOSSIP_MAX_ROLES];
    unsigned n_roles;

    /* Protocol tuning (0 = default derived from heartbeat_ms). */
    uint32_t probe_timeout_ms;           /* direct ack timeout; default heartbeat/5, min 10 */
    uint32_t indirect_timeout_ms;        /* indirect phase; default 2 x probe timeout */
    unsigned indirect_checks;            /* k helpers for indirect probes; default 3 */
    double suspicion_mult;               /* min suspicion = mult * log10(n+1) * heartbeat (floor 1 heartbeat); default 1 */
    double suspicion_max_mult;           /* max suspicion = this * min; default 4 */
    unsigned suspicion_confirmations;    /* confirmations to reach the min; default 2, at most 7 count, and
                                          * at most live members - 2 (2 nodes: the min at once) */
    double retransmit_mult;              /* each update sent ~ mult * log10(n+1) + 1 times; default 4 */
    uint32_t gossip_interval_ms;         /* gossip rounds while updates are queued; default heartbeat/5 */
    unsigned gossip_fanout;              /* peers per gossip round; default 3 */
    uint32_t sync_interval_ms;           /* full-view exchange, per datagram the view takes; default 60 x heartbeat */
    unsigned ae_records;                 /* random member records carried in each ping; default 2 */
    uint32_t reconnect_interval_ms;      /* re-probe one failed member or seed; default 5 x heartbeat */
    uint32_t reap_ms;                    /* forget failed/left members after (swept every 10 heartbeats);
                                          * default 3600 x heartbeat */
    unsigned awareness_max;              /* local health: probe period stretches up to (1+this)x; default 8 */
    unsigned max_datagram;               /* sealed datagram bytes; default 1232 (1280-byte IPv6 path) */
    unsigned max_members;                /* bound of the member table; default 65536 */
    unsigned max_meta;                   /* metadata bytes per member; default 128, at most 255 */
    unsigned max_event;                  /* cluster event payload bytes; default 512 */
    unsigned max_pending_events;         /* queued + remembered cluster events; default 256 */
    uint64_t generation;                 /* 0 = at create: hooks.wall_ms << 16 | 16 random bits (grows
                                          * over restarts while the wall clock does) */

    struct gossip_callbacks cb;
    struct gossip_hooks hooks;

    /* Appended after 0.1.0: the passphrase keys this config derived (see
     * struct gossip_key_cache); gossip_config_init() empties it. */
    struct gossip_key_cache key_cache;
    /* max-clock-skew: how far ahead of this node's wall clock a member
     * record's generation (wall ms << 16 at its start) may lie; records
     * beyond are refused (stats drop_implausible), so a corrupt or hostile
     * record cannot hold an id above every life it can start.  0 = one day
     * (86400000); at least 1000. */
    uint32_t max_clock_skew_ms;
};

/* Fill `cfg` with every default: bind_port 1179, heartbeat 1000 ms, the
 * five roles of the mail server (purge.stores, purge.accounts, acme.renew,
 * metrics.calculate, metrics.push) with no node list, everything else 0/"",
 * and cfg->size.  Never fails.  A macro passing this header's
 * sizeof(struct gossip_config) to gossip_config_init_sized(); the function
 * of that name is the 0.1.0 entry point and fills the 0.1.0 layout. */
void gossip_config_init(struct gossip_config *cfg);

/* gossip_config_init() for a struct of `size` bytes (the caller's sizeof):
 * writes exactly `size` bytes (fields this library does not know are
 * zeroed) and sets cfg->size = size.  A size below the 0.1.0 layout is
 * written all the same but refused by every call that takes the config
 * (GOSSIP_EINVAL); below 4 bytes nothing is written.  NULL: no-op. */
void gossip_config_init_sized(struct gossip_config *cfg, size_t size);
#define gossip_config_init(cfg) gossip_config_init_sized((cfg), sizeof(struct gossip_config))

/* Append a key to the keyring; the first key added seals.  A key written
 * as standard base64 of exactly 32 bytes (44 characters ending in one '=',
 * e.g. `head -c 32 /dev/urandom | base64`) is used as it is, with no KDF:
 * it already has full entropy; blanks and newlines around it are ignored.
 * Anything else is a passphrase, taken exactly as given (a warning through
 * cfg->cb.log when it begins or ends with a blank or newline), stretched
 * with scrypt (N=2^17, r=8, p=1) salted with cfg->cluster_label: set the
 * label first (a key derived under another label is not the cluster's;
 * gossip_config_validate() refuses one that cfg->key_cache knows).  The
 * KDF takes ~0.4 s and 128 MiB once per passphrase and label: the key is
 * remembered in cfg->key_cache, and adding the same passphrase again to a
 * config that carries the cache costs no KDF.  A passphrase shorter than
 * 16 bytes is accepted with a warning, one printed in the documentation
 * (my-secret-key) with an ERROR line, both through cfg->cb.log.  (Keys of
 * passphrases differ from libgossip 0.1.0's: N=2^14, no label in the salt.)
 * GOSSIP_EFULL when the keyring is full, GOSSIP_EINVAL for an empty
 * passphrase, GOSSIP_ECRYPTO when libcrypto fails (no memory for scrypt). */
int gossip_config_add_key(struct gossip_config *cfg, const char *key);

/* Append an already derived 32-byte key as it is (no KDF). */
int gossip_config_add_raw_key(struct gossip_config *cfg, const uint8_t key[GOSSIP_KEY_LEN]);

/* Append the key kept in the file `path` (the key-file setting of
 * gossip.conf(5)), so that secrets stay off command lines and out of
 * config files.  Exactly 32 bytes that are not all printable ASCII are the
 * raw key; anything else is one line of text, its trailing blanks and
 * newline removed: a base64 key or a passphrase, as for
 * gossip_config_add_key().  A file that other users may read or write is
 * accepted with a warning through cfg->cb.log (refused by the strict
 * loader).  GOSSIP_EIO when it cannot be read (errno kept), GOSSIP_EINVAL
 * when it is not a key file (empty, several lines, NUL bytes, not a
 * regular file, over 4 KiB), GOSSIP_EFULL, GOSSIP_ECRYPTO; the reason is
 * also logged at ERROR. */
int gossip_config_add_key_file(struct gossip_config *cfg, const char *path);

/* Append a seed "host", "host:port", "[v6]" or "[v6]:port".  Never blocks:
 * a host name is checked for syntax and kept as "name:port"; the node
 * resolves it with c-ares without blocking the host's loop (at create,
 * every 30 s, a failure retried after 1, 2, 4 ... 30 s and logged as a
 * warning with the resolver's reason), and every address it stands for
 * is a seed.  GOSSIP_DNS_SERVERS="ip[:port],..." in the environment
 * names the DNS servers instead of /etc/resolv.conf.  With hooks.send
 * names are not resolved.  A seed already listed (same address and port,
 * or the same name in any case) is kept once: 0, nothing appended.
 * GOSSIP_EINVAL for NULL or "", GOSSIP_EADDR when it is neither an
 * address nor a name (or has an IPv6 zone, or is too long), GOSSIP_ERANGE
 * for a bad port, GOSSIP_EFULL when the list is full. */
int gossip_config_add_seed(struct gossip_config *cfg, const char *seed);

/* Declare or replace role `name` with the given node list (n = 0: every
 * node holds it) and GOSSIP_ROLE_* flags.  GOSSIP_EINVAL for a bad name,
 * GOSSIP_EFULL when GOSSIP_MAX_ROLES or GOSSIP_ROLE_MAX_NODES is exceeded. */
int gossip_config_set_role(struct gossip_config *cfg, const char *name,
                           const uint64_t *nodes, size_t n, unsigned flags);

/* Check a config the way gossip_create() will.  On error writes a one-line
 * reason to err (if errlen > 0) and returns the error code
 * (GOSSIP_ENOBIND, GOSSIP_ENOKEY, GOSSIP_EADDR, GOSSIP_ERANGE, ...). */
int gossip_config_validate(const struct gossip_config *cfg, char *err, size_t errlen);

/* Load the cluster settings of an INI file (the [cluster] and
 * [cluster.roles.*] sections; see gossip.conf(5)) on top of `cfg`, which
 * should come from gossip_config_init().  Other sections are ignored.
 * Warnings (unknown keys with a "did you mean", misspelt section names)
 * go to cfg->cb.log; an evidently misspelt role section
 * ([cluste.roles.purge]) is read as the role section it means, with a
 * warning.  Passphrase keys are derived at the end, under the file's
 * final cluster-label, or taken from cfg->key_cache when it holds them
 * (loading on top of the running config, or into a fresh one given its
 * key_cache, runs no KDF for unchanged keys).  The file is applied to a
 * copy: on error `cfg` is left unchanged and `err` names the file, line
 * and key; returns
 * GOSSIP_ECONFIG (bad content), GOSSIP_EIO (unreadable file) or a
 * validation error. */
int gossip_config_load_file(struct gossip_config *cfg, const char *path, char *err, size_t errlen);

/* The same from a NUL-terminated string; `name` is used in messages. */
int gossip_config_load_string(struct gossip_config *cfg, const char *text, const char *name,
                              char *err, size_t errlen);

/* Flags of the _ex loaders. */
/* Strict: what the default mode only warns about is an error
 * (GOSSIP_ECONFIG, with the "did you mean" in `err`): an unknown key or
 * an unknown section under cluster, a misspelt section name (cluster or
 * role sections alike), a new role one letter away from a declared one,
 * a key file that others may read.  For checking a file before use
 * (gossip-node --check-config --strict). */
#define GOSSIP_LOAD_STRICT 0x1u

/* gossip_config_load_file() and gossip_config_load_string() with flags
 * (GOSSIP_LOAD_*; GOSSIP_EINVAL for an unknown one); flags 0 is the same
 * as the plain calls. */
int gossip_config_load_file_ex(struct gossip_config *cfg, const char *path, unsigned flags,
                               char *err, size_t errlen);
int gossip_config_load_string_ex(struct gossip_config *cfg, const char *text, const char *name,
                                 unsigned flags, char *err, size_t errlen);

/* Write the effective settings as "key = value" lines (the names of
 * gossip.conf(5), derived defaults resolved, keys shown by key id only) to
 * `buf`.  Returns the length it needed (snprintf-style), or a negative
 * error. */
int gossip_config_format(const struct gossip_config *cfg, char *buf, size_t buflen);

/* Create a node: validate the config, bind the socket (unless hooks.send is
 * set), and start joining through the seeds at the first gossip_tick().
 * On error *out is NULL and the reason was logged through cfg->cb.log
 * (GOSSIP_EINVAL and nothing logged for a config whose size shows it did
 * not come from gossip_config_init()). */
int gossip_create(gossip_t **out, const struct gossip_config *cfg);

/* Close the socket and free everything.  Sends nothing: call
 * gossip_leave() first for a graceful exit.  NULL is a no-op. */
void gossip_destroy(gossip_t *g);

/* The UDP socket to watch for readability, or -1 with a send hook.  The
 * only descriptor to watch: the seed-name resolver's sockets are polled by
 * gossip_tick() at the times gossip_next_timeout_ms() includes. */
int gossip_fd(const gossip_t *g);

/* Read the socket until it is empty (EAGAIN) or a budget of 128 datagrams
 * is used up, and process what arrived.  Returns 0 when the socket was
 * drained, 1 when the budget ran out and more may be waiting (an
 * edge-triggered loop, EPOLLET, must call again: no new wakeup comes for
 * those), or a negative error only for a socket failure that is not
 * per-datagram (EAGAIN, EINTR and ICMP errors are absorbed). */
int gossip_on_readable(gossip_t *g);

/* Run every timer that is due.  Call it when gossip_next_timeout_ms()
 * has elapsed (calling it early is harmless). */
int gossip_tick(gossip_t *g);

/* Tell the library that the host's loop was stalled for lag_ms (a blocking
 * disk write, a burst of work it measured itself).  A stall longer than a
 * probe timeout is treated as this node's own trouble: local health
 * (awareness) is raised, so the node probes more patiently instead of
 * blaming peers, and probe and suspicion deadlines that came due while it
 * was not listening get the lost time back.  The library notices a late
 * gossip_tick() by itself (more than a probe timeout after the deadline
 * it reported); this call covers lag it cannot see.  Counted in
 * stats.loop_stalls.  0, GOSSIP_EINVAL, GOSSIP_EBUSY from a log callback. */
int gossip_report_lag(gossip_t *g, uint32_t lag_ms);

/* Milliseconds until the next timer is due (0 if one is due now); never
 * negative.  Includes the seed-name resolver's polls and retransmissions
 * while a lookup is in flight.  Recompute after every call into the
 * library. */
int gossip_next_timeout_ms(const gossip_t *g);

/* Feed one received datagram (for hosts and simulators that own the
 * transport).  Returns 0 whether or not the datagram was accepted: drops
 * are counted in the stats. */
int gossip_feed(gossip_t *g, const struct sockaddr *from, socklen_t from_len,
                const void *buf, size_t len);

/* Announce a graceful leave to the cluster.  The node keeps answering
 * probes so the news spreads; keep calling gossip_tick() until
 * gossip_leave_done() or for a short grace period (one heartbeat is
 * enough), then gossip_destroy().  Idempotent. */
int gossip_leave(gossip_t *g);

/* True once the leave has been handed to enough peers (or there are none). */
bool gossip_leave_done(const gossip_t *g);

/* This node's id. */
uint64_t gossip_self_id(const gossip_t *g);

/* Look up one member (or self).  GOSSIP_ENOTFOUND if unknown.  A macro
 * for gossip_member_get_sized() with this header's sizeof; the function of
 * that name writes the 0.1.0 struct. */
int gossip_member_get(const gossip_t *g, uint64_t id, struct gossip_member *out);

/* gossip_member_get() into a struct of `size` bytes (the caller's sizeof):
 * writes exactly `size` bytes, zero beyond the fields this library has.
 * GOSSIP_EINVAL (nothing written) below the 0.1.0 size. */
int gossip_member_get_sized(const gossip_t *g, uint64_t id, struct gossip_member *out, size_t size);
#define gossip_member_get(g, id, out) gossip_member_get_sized((g), (id), (out), sizeof(struct gossip_member))

/* Number of members (self included) whose state bit (1 << state) is in
 * `state_mask`; GOSSIP_STATES_ALL counts everyone. */
#define GOSSIP_STATES_ALL 0xfu
size_t gossip_member_count(const gossip_t *g, unsigned state_mask);

/* Call fn for every member, self included, in no particular order; stops
 * early and returns fn's value when it returns non-zero.  `m` is the
 * library's struct, as for callbacks.member: at least as large as the one
 * the program was built with, so it reads the fields it knows. */
int gossip_member_foreach(const gossip_t *g,
                          int (*fn)(void *ud, const struct gossip_member *m), void *ud);

/* Learn a member from outside the protocol: a view saved before a restart
 * (what gossip_member_foreach() reported), or the host's inventory of the
 * cluster.  Only an ALIVE record of another member is taken, by the same
 * rule as gossip (a newer generation or version wins; an older or equal
 * record changes nothing and still returns 0).  It is reported through
 * the member callback like a gossiped one (JOIN for a new member) but kept
 * local (not gossiped, sampled or sent in a full view, nor its suspicion or
 * failure) until the network confirms it: an authentic datagram from the
 * member, or a record of it from another member.  The member is probed
 * like any other, so a stale record ends in a local FAILED event after a
 * suspicion, and a live one spreads once it has answered.
 * Seeds are still asked while the node has not heard from anybody.
 * GOSSIP_EINVAL (own id, not ALIVE, meta NULL with a length, an
 * incarnation no clock explains: a generation beyond this node's wall clock
 * plus a day, or a version of 2^32 - 2^16 or more), GOSSIP_EADDR
 * (no usable address and port), GOSSIP_ETOOBIG (meta above max_meta),
 * GOSSIP_EFULL (max_members reached), GOSSIP_ESTATE (after gossip_leave()).
 * A macro for gossip_member_restore_sized() with this header's sizeof; the
 * function of that name reads the 0.1.0 struct. */
int gossip_member_restore(gossip_t *g, const struct gossip_member *m);

/* gossip_member_restore() from a struct of `size` bytes (the caller's
 * sizeof): reads exactly `size` bytes; fields beyond them count as 0.
 * GOSSIP_EINVAL below the 0.1.0 size. */
int gossip_member_restore_sized(gossip_t *g, const struct gossip_member *m, size_t size);
#define gossip_member_restore(g, m) gossip_member_restore_sized((g), (m), sizeof(struct gossip_member))

/* Publish this node's metadata (at most max_meta bytes); disseminated with a
 * new incarnation.  GOSSIP_ETOOBIG above the limit. */
int gossip_set_meta(gossip_t *g, const void *data, size_t len);

/* Drain (on = true) or undrain this node.  A draining node stays a member,
 * keeps probing and answering, and holds no role: each role it held moves
 * at once to the node that would hold it without this one (no failure
 * timeout in between; its own role callbacks report the loss at the end of
 * this call).  Every node sees the flag in gossip_member.draining and gets
 * a GOSSIP_EVENT_UPDATE when it changes; it spreads like any update (a new
 * version) and survives the full-view exchange.  Undraining gives the roles
 * back under the normal rules.  A gossip_leave() after a drain moves no
 * role again.  Draining twice is a no-op.  GOSSIP_ESTATE after
 * gossip_leave(). */
int gossip_drain(gossip_t *g, bool on);

/* True while this node drains. */
bool gossip_draining(const gossip_t *g);

/* Broadcast a cluster event to every live node, this one included (its
 * callback runs too).  Before this node's first view it is held, and sent
 * once the view is in (its id depends on a generation that first exchange
 * may move).  GOSSIP_ETOOBIG above max_event, GOSSIP_EFULL when
 * max_pending_events are queued. */
int gossip_broadcast(gossip_t *g, const void *data, size_t len);

/* 1 if this node holds `role` now, 0 if not (also before the first
 * gossip_tick()), GOSSIP_ENOTFOUND for an undeclared role, GOSSIP_EINVAL
 * for a NULL handle or name. */
int gossip_role_held(const gossip_t *g, const char *role);

/* Who holds `role` in this node's view: writes up to `max` ids to `ids`
 * (ascending) and returns how many hold it, or GOSSIP_ENOTFOUND. */
int gossip_role_holders(const gossip_t *g, const char *role, uint64_t *ids, size_t max);

/* Apply the run-time changeable parts of a new config: roles, seeds,
 * heartbeat and tuning (limits included), keyring, callbacks.  Fixed while
 * the node runs: node_id, bind_addr, advertise_addr, bind_port,
 * advertise_port, cluster_label, max_datagram and the five hooks; a config
 * that changes one of them is refused with GOSSIP_EINVAL, nothing applied,
 * and the log line names the field.  generation is read by gossip_create()
 * only.  Role changes are reported through callbacks.role. */
int gossip_reconfigure(gossip_t *g, const struct gossip_config *cfg);

/* gossip_reconfigure() with flags (none defined yet: 0, else GOSSIP_EINVAL)
 * and, on error, a one-line reason naming the field in `err` (if
 * errlen > 0), as gossip_config_validate() writes it; "" on success. */
int gossip_reconfigure_ex(gossip_t *g, const struct gossip_config *cfg, unsigned flags, char *err,
                          size_t errlen);

/* Counters since gossip_create(). */
struct gossip_stats {
    uint64_t sent_datagrams, sent_bytes, send_errors;
    uint64_t recv_datagrams, recv_bytes;
    uint64_t drop_short;       /* shorter than an envelope */
    uint64_t drop_oversize;    /* larger than max_datagram */
    uint64_t drop_version;     /* unknown format version */
    uint64_t drop_key;         /* key id not in the keyring */
    uint64_t drop_auth;        /* failed authentication (forged, corrupted, wrong key or label) */
    uint64_t drop_replay;      /* counter already seen or below the window, or an older session */
    uint64_t drop_malformed;   /* authentic but malformed content, dropped whole */
    uint64_t drop_self;        /* claims to come from this node's own id */
    uint64_t drop_full;        /* a new member refused at max_members */
    uint64_t probes, indirect_probes, indirect_requests, nacks_sent, nacks_received;
    uint64_t suspicions, refutations, failures, joins, leaves;
    uint64_t syncs;            /* anti-entropy exchanges started */
    uint64_t events_delivered;
    uint64_t conflicts;
    unsigned awareness;        /* current local health score, 0 = healthy */
    /* Rates over the last complete 10-second window (0 until one has
     * passed): what this node costs the network right now. */
    uint32_t sent_bytes_per_s, recv_bytes_per_s;
    uint32_t sent_datagrams_per_s, recv_datagrams_per_s;
    /* Metadata above max_meta (the record is kept without it) and cluster
     * events above max_event (not delivered) from peers configured with
     * larger limits: a configuration mismatch, logged, never a reason to
     * lose the membership news in the same datagram. */
    uint64_t over_limit;
    /* Callbacks that could not be queued for lack of memory (member and
     * cluster events; a role change is retried instead, and
     * gossip_role_held() keeps agreeing with what was reported).  Non-zero:
     * the host's picture may be behind; gossip_member_foreach() reads the
     * view afresh.  Since 0.2.0: the 0.1.0 struct ends before it. */
    uint64_t events_lost;
    /* The host's loop was late: gossip_tick() called more than a probe
     * timeout after the deadline it was told, or gossip_report_lag().
     * Each raises local health (awareness) instead of blaming peers. */
    uint64_t loop_stalls;
    /* Queries (gossip_query()): asked by this node; answers this node sent;
     * answers it received for its own queries; answers that came after the
     * deadline or for a query it does not know (dropped); duplicate answers
     * and answers over the per-query bound (dropped). */
    uint64_t queries, query_answers_sent, query_answers, query_answers_late, query_answers_dropped;
    /* First contact (wire format 2): handshakes this node completed (a
     * COOKIE answered its HELLO); HELLOs it answered (each with a COOKIE no
     * larger than the HELLO); authentic-looking datagrams of a peer's life
     * this node does not know and that carried no fresh token (dropped, and
     * answered at most by a small HELLO); datagrams sealed for another life
     * of this node (one before a restart: dropped, likewise); replies
     * withheld by the anti-amplification rules (3x the bytes received from
     * an address not yet validated, the per-source and the total budget of
     * handshake replies, one full view per address per heartbeat); records
     * refused as implausible (a generation beyond this node's clock plus a
     * day, a version that could not be raised any more). */
    uint64_t handshakes, hellos_answered, drop_unknown_life, drop_stale_life, replies_limited,
        drop_implausible;
};

/* Copy the counters into `out`.  A macro for gossip_stats_get_sized() with
 * this header's sizeof; the function of that name writes the 0.1.0 struct
 * (up to over_limit). */
int gossip_stats_get(const gossip_t *g, struct gossip_stats *out);

/* gossip_stats_get() into a struct of `size` bytes (the caller's sizeof):
 * writes exactly `size` bytes, zero beyond the counters this library has.
 * GOSSIP_EINVAL (nothing written) below the 0.1.0 size. */
int gossip_stats_get_sized(const gossip_t *g, struct gossip_stats *out, size_t size);
#define gossip_stats_get(g, out) gossip_stats_get_sized((g), (out), sizeof(struct gossip_stats))

/*
 * Queries, as `serf query`: ask every live node (or only those holding a
 * role, or whose metadata starts with given bytes) a small question; each
 * may answer once; the answers come back to the asker until a deadline.
 * The question spreads like a cluster event (sealed, exactly once per
 * node); answers go straight to the asker.
 */

/* Who answers and for how long.  Zero-initialise and set `size`; NULL
 * means every live node and the default timeout. */
struct gossip_query_params {
    size_t size;                 /* sizeof(struct gossip_query_params) */
    const char *role;            /* only holders of this role (NULL: every live node) */
    const void *meta_prefix;     /* only nodes whose metadata starts with these bytes */
    size_t meta_prefix_len;      /* 0: no metadata filter; at most max_meta */
    uint32_t timeout_ms;         /* answers awaited this long; 0: 4 x heartbeat */
};

/* What happens with queries, delivered like the other callbacks (at the end
 * of the call that caused them).  Any may be NULL. */
struct gossip_query_handlers {
    size_t size;                 /* sizeof(struct gossip_query_handlers) */
    void *ud;
    /* A query this node is asked (it matched the filter).  Answer with
     * gossip_query_respond(), now (from the callback) or later, until the
     * asker's timeout; or not at all. */
    void (*query)(void *ud, uint64_t query_id, uint64_t asker, const void *data, size_t len);
    /* An answer to one of this node's queries, once per responder. */
    void (*response)(void *ud, uint64_t query_id, uint64_t responder, const void *data, size_t len);
    /* The deadline of one of this node's queries passed; later answers are
     * dropped (stats.query_answers_late). */
    void (*done)(void *ud, uint64_t query_id, size_t answers);
};

/* Install (or, with NULL, remove) the query handlers.  GOSSIP_EINVAL for a
 * size smaller than the first version of the struct. */
int gossip_set_query_handlers(gossip_t *g, const struct gossip_query_handlers *h);

/* Ask the cluster.  data (1..max_event minus the filter's bytes) is the
 * question; *query_id (may be NULL) names it in the answers.  This node is
 * asked too when it matches.  GOSSIP_ETOOBIG, GOSSIP_EFULL (16 queries of
 * this node pending, or max_pending_events queued), GOSSIP_ENOTFOUND (an
 * undeclared role), GOSSIP_ESTATE after gossip_leave(), GOSSIP_EINVAL. */
int gossip_query(gossip_t *g, const void *data, size_t len, const struct gossip_query_params *p,
                 uint64_t *query_id);

/* Answer query `query_id` of node `asker` (as the query callback gave
 * them) with data (1..max_event bytes), once.  GOSSIP_ENOTFOUND (no such
 * query asked of this node, or its timeout passed), GOSSIP_ESTATE (already
 * answered), GOSSIP_ETOOBIG, GOSSIP_EINVAL. */
int gossip_query_respond(gossip_t *g, uint64_t query_id, uint64_t asker, const void *data, size_t len);

/*
 * Run-time keyring.  Every sealed datagram names its key by a 32-bit key id
 * in the clear header; the receiver opens it with the installed key of that
 * id (no trial decryption) or drops it, counted in drop_key and logged with
 * the id.  keys[0] seals, every installed key opens.  Rotation with no
 * false failure: install the new key on every node, then gossip_key_use()
 * it on every node, then gossip_key_remove() the old one on every node
 * (see gossip_key_install(3)).  These calls change the running keyring and
 * the effective config together; a later gossip_reconfigure() replaces the
 * keyring with the one its config holds.
 */

/* The key id of a derived key, as carried in envelope headers and shown by
 * gossip_config_format() and the logs (as 8 hex digits). */
uint32_t gossip_key_id(const uint8_t key[GOSSIP_KEY_LEN]);

/* Add a derived key (gossip_config_add_key() derives one from a passphrase)
 * to the keyring as a key that opens but does not seal.  Installing a key
 * that is already there is a no-op.  GOSSIP_EFULL at GOSSIP_MAX_KEYS,
 * GOSSIP_EINVAL when a different key with the same key id is installed. */
int gossip_key_install(gossip_t *g, const uint8_t key[GOSSIP_KEY_LEN]);

/* Seal with the installed key `key_id` from now on (it becomes keys[0];
 * the others keep opening).  GOSSIP_ENOTFOUND if it is not installed. */
int gossip_key_use(gossip_t *g, uint32_t key_id);

/* Remove key `key_id`: datagrams sealed with it are dropped from now on.
 * GOSSIP_ENOTFOUND if it is not installed, GOSSIP_ESTATE if it is the key
 * that seals (gossip_key_use() another one first). */
int gossip_key_remove(gossip_t *g, uint32_t key_id);

/* Write up to `max` installed key ids to `ids`, the sealing one first, and
 * return how many are installed (which may exceed max). */
int gossip_key_list(const gossip_t *g, uint32_t *ids, size_t max);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* GOSSIP_H */
