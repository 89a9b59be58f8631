/*
 * The released layouts of the public structs (doc/abi.md).
 *
 * A caller tells the library how large its struct is (cfg->size, or the
 * size argument of the *_sized calls); fields are only ever appended, each
 * release's new fields starting at or after the previous release's sizeof,
 * so a field is in the caller's struct exactly when it ends within that
 * size.  The smallest layout a caller can have is the first release's:
 * these frozen copies of the 0.1.0 structs give its size, and the
 * assertions below fail to compile when a change to gossip.h moves, resizes
 * or removes anything 0.1.0 programs use.  Never edit a frozen copy; a
 * release that appends fields adds nothing here unless a legacy entry point
 * must keep writing its size (as gossip_stats_get() keeps the 0.1.0 one).
 */
#ifndef GOSSIP_ABI_H
#define GOSSIP_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "gossip.h"

/* ---- libgossip 0.1.0 -------------------------------------------------------- */

struct abi_member_0_1 {
    uint64_t id;
    enum gossip_state state;
    uint64_t generation;
    uint32_t version;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    const uint8_t *meta;
    size_t meta_len;
    uint64_t state_since_ms;
    bool is_self;
};

struct abi_callbacks_0_1 {
    void *ud;
    void (*member)(void *ud, enum gossip_event event, const struct gossip_member *m);
    void (*role)(void *ud, const char *role, bool held);
    void (*user_event)(void *ud, uint64_t origin, const void *data, size_t len);
    void (*log)(void *ud, enum gossip_log_level level, const char *msg);
};

struct abi_hooks_0_1 {
    void *ctx;
    uint64_t (*now_ms)(void *ctx);
    uint64_t (*wall_ms)(void *ctx);
    void (*random)(void *ctx, void *buf, size_t len);
    int (*send)(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf, size_t len);
};

struct abi_role_0_1 {
    char name[48];
    uint64_t nodes[32];
    unsigned n_nodes;
    unsigned flags;
};

struct abi_config_0_1 {
    uint32_t size;
    uint64_t node_id;
    char bind_addr[64];
    char advertise_addr[64];
    uint16_t bind_port;
    uint16_t advertise_port;
    uint32_t heartbeat_ms;
    char seeds[16][64];
    unsigned n_seeds;
    uint8_t keys[8][32];
    unsigned n_keys;
    char cluster_label[64];
    struct abi_role_0_1 roles[16];
    unsigned n_roles;
    uint32_t probe_timeout_ms;
    uint32_t indirect_timeout_ms;
    unsigned indirect_checks;
    double suspicion_mult;
    double suspicion_max_mult;
    unsigned suspicion_confirmations;
    double retransmit_mult;
    uint32_t gossip_interval_ms;
    unsigned gossip_fanout;
    uint32_t sync_interval_ms;
    unsigned ae_records;
    uint32_t reconnect_interval_ms;
    uint32_t reap_ms;
    unsigned awareness_max;
    unsigned max_datagram;
    unsigned max_members;
    unsigned max_meta;
    unsigned max_event;
    unsigned max_pending_events;
    uint64_t generation;
    struct abi_callbacks_0_1 cb;
    struct abi_hooks_0_1 hooks;
};

struct abi_stats_0_1 {
    uint64_t sent_datagrams, sent_bytes, send_errors;
    uint64_t recv_datagrams, recv_bytes;
    uint64_t drop_short, drop_oversize, drop_version, drop_key, drop_auth, drop_replay;
    uint64_t drop_malformed, drop_self, drop_full;
    uint64_t probes, indirect_probes, indirect_requests, nacks_sent, nacks_received;
    uint64_t suspicions, refutations, failures, joins, leaves;
    uint64_t syncs;
    uint64_t events_delivered;
    uint64_t conflicts;
    unsigned awareness;
    uint32_t sent_bytes_per_s, recv_bytes_per_s;
    uint32_t sent_datagrams_per_s, recv_datagrams_per_s;
    uint64_t over_limit;
};

/* What the legacy entry points (the 0.1.0 symbols) write and read, and the
 * smallest size the *_sized calls accept. */
#define ABI_CONFIG_SIZE_0_1 sizeof(struct abi_config_0_1)
#define ABI_STATS_SIZE_0_1 sizeof(struct abi_stats_0_1)
#define ABI_MEMBER_SIZE_0_1 sizeof(struct abi_member_0_1)

/* Field f of struct gossip_config is in the caller's struct `cfg`.  Every
 * field up to hooks is (0.1.0); a builder or loader key that writes a field
 * appended later must check this first and refuse (GOSSIP_EINVAL) when the
 * caller's build has no such field. */
#define ABI_CONFIG_HAS(cfg, f) \
    ((cfg)->size >= offsetof(struct gossip_config, f) + sizeof(((struct gossip_config *)0)->f))

/* ---- the current header keeps every 0.1.0 field where 0.1.0 put it --------- */

#define ABI_SAME(cur, old, f)                                                              \
    _Static_assert(offsetof(struct cur, f) == offsetof(struct old, f) &&                   \
                       sizeof(((struct cur *)0)->f) == sizeof(((struct old *)0)->f),       \
                   "struct " #cur ": field " #f " moved or changed size since 0.1.0 "     \
                   "(an incompatible ABI change: see doc/abi.md)")

/* Embedded structs and arrays can never grow: they would move every field
 * after them. */
_Static_assert(sizeof(struct gossip_callbacks) == sizeof(struct abi_callbacks_0_1),
               "struct gossip_callbacks is embedded in gossip_config: it cannot grow");
_Static_assert(sizeof(struct gossip_hooks) == sizeof(struct abi_hooks_0_1),
               "struct gossip_hooks is embedded in gossip_config: it cannot grow");
_Static_assert(sizeof(struct gossip_role) == sizeof(struct abi_role_0_1),
               "struct gossip_role is embedded in gossip_config: it cannot grow");
ABI_SAME(gossip_callbacks, abi_callbacks_0_1, ud);
ABI_SAME(gossip_callbacks, abi_callbacks_0_1, member);
ABI_SAME(gossip_callbacks, abi_callbacks_0_1, role);
ABI_SAME(gossip_callbacks, abi_callbacks_0_1, user_event);
ABI_SAME(gossip_callbacks, abi_callbacks_0_1, log);
ABI_SAME(gossip_hooks, abi_hooks_0_1, ctx);
ABI_SAME(gossip_hooks, abi_hooks_0_1, now_ms);
ABI_SAME(gossip_hooks, abi_hooks_0_1, wall_ms);
ABI_SAME(gossip_hooks, abi_hooks_0_1, random);
ABI_SAME(gossip_hooks, abi_hooks_0_1, send);
ABI_SAME(gossip_role, abi_role_0_1, name);
ABI_SAME(gossip_role, abi_role_0_1, nodes);
ABI_SAME(gossip_role, abi_role_0_1, n_nodes);
ABI_SAME(gossip_role, abi_role_0_1, flags);

ABI_SAME(gossip_config, abi_config_0_1, size);
ABI_SAME(gossip_config, abi_config_0_1, node_id);
ABI_SAME(gossip_config, abi_config_0_1, bind_addr);
ABI_SAME(gossip_config, abi_config_0_1, advertise_addr);
ABI_SAME(gossip_config, abi_config_0_1, bind_port);
ABI_SAME(gossip_config, abi_config_0_1, advertise_port);
ABI_SAME(gossip_config, abi_config_0_1, heartbeat_ms);
ABI_SAME(gossip_config, abi_config_0_1, seeds);
ABI_SAME(gossip_config, abi_config_0_1, n_seeds);
ABI_SAME(gossip_config, abi_config_0_1, keys);
ABI_SAME(gossip_config, abi_config_0_1, n_keys);
ABI_SAME(gossip_config, abi_config_0_1, cluster_label);
ABI_SAME(gossip_config, abi_config_0_1, roles);
ABI_SAME(gossip_config, abi_config_0_1, n_roles);
ABI_SAME(gossip_config, abi_config_0_1, probe_timeout_ms);
ABI_SAME(gossip_config, abi_config_0_1, indirect_timeout_ms);
ABI_SAME(gossip_config, abi_config_0_1, indirect_checks);
ABI_SAME(gossip_config, abi_config_0_1, suspicion_mult);
ABI_SAME(gossip_config, abi_config_0_1, suspicion_max_mult);
ABI_SAME(gossip_config, abi_config_0_1, suspicion_confirmations);
ABI_SAME(gossip_config, abi_config_0_1, retransmit_mult);
ABI_SAME(gossip_config, abi_config_0_1, gossip_interval_ms);
ABI_SAME(gossip_config, abi_config_0_1, gossip_fanout);
ABI_SAME(gossip_config, abi_config_0_1, sync_interval_ms);
ABI_SAME(gossip_config, abi_config_0_1, ae_records);
ABI_SAME(gossip_config, abi_config_0_1, reconnect_interval_ms);
ABI_SAME(gossip_config, abi_config_0_1, reap_ms);
ABI_SAME(gossip_config, abi_config_0_1, awareness_max);
ABI_SAME(gossip_config, abi_config_0_1, max_datagram);
ABI_SAME(gossip_config, abi_config_0_1, max_members);
ABI_SAME(gossip_config, abi_config_0_1, max_meta);
ABI_SAME(gossip_config, abi_config_0_1, max_event);
ABI_SAME(gossip_config, abi_config_0_1, max_pending_events);
ABI_SAME(gossip_config, abi_config_0_1, generation);
ABI_SAME(gossip_config, abi_config_0_1, cb);
ABI_SAME(gossip_config, abi_config_0_1, hooks);

ABI_SAME(gossip_member, abi_member_0_1, id);
ABI_SAME(gossip_member, abi_member_0_1, state);
ABI_SAME(gossip_member, abi_member_0_1, generation);
ABI_SAME(gossip_member, abi_member_0_1, version);
ABI_SAME(gossip_member, abi_member_0_1, addr);
ABI_SAME(gossip_member, abi_member_0_1, addr_len);
ABI_SAME(gossip_member, abi_member_0_1, meta);
ABI_SAME(gossip_member, abi_member_0_1, meta_len);
ABI_SAME(gossip_member, abi_member_0_1, state_since_ms);
ABI_SAME(gossip_member, abi_member_0_1, is_self);

ABI_SAME(gossip_stats, abi_stats_0_1, sent_datagrams);
ABI_SAME(gossip_stats, abi_stats_0_1, sent_bytes);
ABI_SAME(gossip_stats, abi_stats_0_1, send_errors);
ABI_SAME(gossip_stats, abi_stats_0_1, recv_datagrams);
ABI_SAME(gossip_stats, abi_stats_0_1, recv_bytes);
ABI_SAME(gossip_stats, abi_stats_0_1, drop_short);
ABI_SAME(gossip_stats, abi_stats_0_1, drop_oversize);
ABI_SAME(gossip_stats, abi_stats_0_1, drop_version);
ABI_SAME(gossip_stats, abi_stats_0_1, drop_key);
ABI_SAME(gossip_stats, abi_stats_0_1, drop_auth);
ABI_SAME(gossip_stats, abi_stats_0_1, drop_replay);
ABI_SAME(gossip_stats, abi_stats_0_1, drop_malformed);
ABI_SAME(gossip_stats, abi_stats_0_1, drop_self);
ABI_SAME(gossip_stats, abi_stats_0_1, drop_full);
ABI_SAME(gossip_stats, abi_stats_0_1, probes);
ABI_SAME(gossip_stats, abi_stats_0_1, indirect_probes);
ABI_SAME(gossip_stats, abi_stats_0_1, indirect_requests);
ABI_SAME(gossip_stats, abi_stats_0_1, nacks_sent);
ABI_SAME(gossip_stats, abi_stats_0_1, nacks_received);
ABI_SAME(gossip_stats, abi_stats_0_1, suspicions);
ABI_SAME(gossip_stats, abi_stats_0_1, refutations);
ABI_SAME(gossip_stats, abi_stats_0_1, failures);
ABI_SAME(gossip_stats, abi_stats_0_1, joins);
ABI_SAME(gossip_stats, abi_stats_0_1, leaves);
ABI_SAME(gossip_stats, abi_stats_0_1, syncs);
ABI_SAME(gossip_stats, abi_stats_0_1, events_delivered);
ABI_SAME(gossip_stats, abi_stats_0_1, conflicts);
ABI_SAME(gossip_stats, abi_stats_0_1, awareness);
ABI_SAME(gossip_stats, abi_stats_0_1, sent_bytes_per_s);
ABI_SAME(gossip_stats, abi_stats_0_1, recv_bytes_per_s);
ABI_SAME(gossip_stats, abi_stats_0_1, sent_datagrams_per_s);
ABI_SAME(gossip_stats, abi_stats_0_1, recv_datagrams_per_s);
ABI_SAME(gossip_stats, abi_stats_0_1, over_limit);

/* 0.2.0 appended events_lost where a 0.1.0 struct ends: no field may start
 * inside a released layout's tail padding (a 0.1.0 caller's sizeof covers
 * it, so the field would look present in its struct). */
_Static_assert(offsetof(struct gossip_stats, events_lost) >= ABI_STATS_SIZE_0_1,
               "gossip_stats.events_lost starts inside the 0.1.0 struct");

_Static_assert(offsetof(struct gossip_member, draining) >= ABI_MEMBER_SIZE_0_1,
               "gossip_member.draining starts inside the 0.1.0 struct");
_Static_assert(offsetof(struct gossip_stats, loop_stalls) > offsetof(struct gossip_stats, events_lost),
               "gossip_stats: 0.2.0 fields are appended in order");

#undef ABI_SAME

#endif
