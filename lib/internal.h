/*
 * The handle and the pieces of the protocol core that share it: member
 * table (members.c), dissemination queue (dissem.c), failure detector
 * (probe.c), message handling (proto.c), transport (udp.c) and the public
 * entry points with event delivery (gossip.c).
 */
#ifndef GOSSIP_INTERNAL_H
#define GOSSIP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto.h"
#include "gossip.h"
#include "wire.h"

/* A peer address in one comparable form: IPv4 as family 4 with the address
 * in ip[0..3] and the rest zero. */
typedef struct wire_addr gaddr_t;

/* One member record.  Kept compact (it is multiplied by the cluster size on
 * every node): 104 bytes on LP64, metadata outside. */
struct member {
    uint64_t id;
    uint64_t generation;
    uint64_t from;            /* accuser of a suspect/failed state */
    uint64_t state_ms;        /* local time of the last state change */
    uint64_t rx_session;      /* sender session whose counters rx tracks */
    uint64_t heard_ms;        /* last authentic datagram from it (quorum lease) */
    struct replay_window rx;
    uint32_t version;
    uint32_t susp;            /* index + 1 in the suspicion pool, 0 = none */
    gaddr_t addr;             /* 20 bytes */
    uint8_t state;
    uint8_t meta_len;
    uint8_t *meta;
};


/* Member table: dense array (iteration, random choice) plus an
 * open-addressing index by id. */
struct members {
    struct member *v;
    uint32_t n, cap;
    uint32_t *slot;           /* 0 = empty, else tag and index + 1 (below); power-of-two size */
    uint32_t slot_mask;
    uint32_t n_dead;          /* failed + left, for the reaper */
};

/* A slot holds index + 1 in its low 25 bits (max-members is at most 2^24)
 * and 7 bits of the id's hash above them, so a probe that meets another
 * id's slot is rejected from the slot alone, without touching that record's
 * cache line.  The position comes from the low bits of the hash, the tag
 * from the top, so the two never overlap (at most 2^25 slots). */
#define MEMBER_SLOT_INDEX_BITS 25
#define MEMBER_SLOT_INDEX(s) ((s) & ((1u << MEMBER_SLOT_INDEX_BITS) - 1))
#define MEMBER_SLOT_TAG(h) ((h) >> MEMBER_SLOT_INDEX_BITS)

int members_init(struct members *t);
void members_free(struct members *t);
struct member *members_get(const struct members *t, uint64_t id);
/* Adds a zeroed record with this id; NULL on allocation failure.  Pointers
 * into the table are invalidated by add and remove. */
struct member *members_add(struct members *t, uint64_t id);
void members_remove(struct members *t, uint64_t id);

/* Incarnation order: <0, 0, >0. */
int incarnation_cmp(uint64_t gen_a, uint32_t ver_a, uint64_t gen_b, uint32_t ver_b);
/* Does an update (state, gen, ver) override the current (state, gen, ver)?
 * Higher incarnation wins; at equal incarnation left > failed > suspect > alive. */
bool update_overrides(uint8_t new_state, uint64_t new_gen, uint32_t new_ver,
                      uint8_t cur_state, uint64_t cur_gen, uint32_t cur_ver);

/* Dissemination queue: what to piggyback next.  Member items name a member
 * (its current record is encoded at send time, so a newer update replaces an
 * older one by construction); event items carry a copy of the payload. */
struct dq_item {
    uint64_t id;              /* member id, or event origin */
    uint64_t event_id;        /* events only */
    uint64_t order;           /* enqueue order: newer first among equals */
    uint8_t *data;            /* events only */
    uint16_t len;
    uint16_t transmits;
    bool is_event;
};

struct dissem {
    struct dq_item *v;
    uint32_t n, cap;
    uint32_t *pick;           /* scratch: the candidates of one pack */
    uint32_t pick_cap;
    uint32_t n_events;
    uint64_t order;
};

void dissem_free(struct dissem *d);
/* Queue (or re-queue with a fresh transmit budget) member `id`. */
int dissem_member(struct dissem *d, uint64_t id);
int dissem_event(struct dissem *d, uint64_t origin, uint64_t event_id, const void *data, size_t len);
void dissem_forget_member(struct dissem *d, uint64_t id);
/* How many times `id` has been sent since it was queued (-1: not queued). */
int dissem_transmits(const struct dissem *d, uint64_t id);
struct gossip;
/* Pack as many queued items as fit into w, fewest transmits first,
 * membership first but leaving events a quarter of the room; items that
 * reach `limit` transmits are dropped.  skip_id: a member already written. */
void dissem_pack(struct gossip *g, struct wire_writer *w, unsigned limit, uint64_t skip_id);

/* Suspicion timer (Lifeguard): starts at max, shrinks as independent
 * confirmations arrive. */
#define SUSP_MAX_CONFIRM 8
struct suspicion {
    uint64_t member;
    uint64_t start_ms;
    uint64_t deadline_ms;
    uint32_t min_ms, max_ms;
    uint8_t n_confirm;        /* accusers beyond the first */
    uint8_t k;                /* confirmations that reach min_ms */
    uint64_t accusers[SUSP_MAX_CONFIRM];
    bool verified;            /* this node probed the member itself */
    bool used;
};

/* An indirect probe this node runs for somebody else. */
struct relay {
    uint32_t seq;             /* our ping to the target */
    uint32_t their_seq;       /* the requester's seq */
    uint64_t deadline_ms;
    gaddr_t requester;
    bool used;
};
#define MAX_RELAYS 32

struct probe_state {
    uint64_t target;
    uint32_t seq;
    uint64_t sent_ms;
    uint64_t deadline_ms;
    unsigned expected_nacks, nacks;
    bool second_round;        /* the indirect phase runs again before an accusation */
    enum { PROBE_IDLE, PROBE_DIRECT, PROBE_INDIRECT } phase;
};

/* Event waiting for delivery to the host's callbacks. */
struct pending_event {
    enum { PE_MEMBER, PE_ROLE, PE_USER } kind;
    enum gossip_event event;
    struct gossip_member m;   /* snapshot; meta resolved at delivery */
    uint64_t origin;          /* PE_USER */
    uint8_t *data;            /* PE_USER, owned */
    size_t len;
    unsigned role;            /* PE_ROLE: index in cfg.roles */
    bool held;
};

/* Event ids seen from one origin: ids only grow per origin, so a window
 * like the datagram replay window decides "seen" however many are in
 * flight.  Kept for the few members that broadcast, not in every record. */
#define MAX_EVENT_ORIGINS 64
struct event_origin {
    uint64_t origin;
    uint64_t used_ms;         /* for replacing the least recently used */
    struct replay_window w;
};

/* Remembered cluster events, for exactly-once delivery. */
struct seen_event {
    uint64_t origin, event_id;
    uint64_t at_ms;           /* first seen */
    uint8_t *data;            /* kept while young, for the full-view exchange */
    uint16_t len;
};

struct gossip {
    struct gossip_config cfg;  /* effective: every derived default filled */
    uint64_t self_id;
    uint64_t generation;
    uint32_t version;
    uint8_t self_state;
    uint64_t self_changed_ms;  /* our record last changed (start, refutation, metadata) */
/* longer than the longest suspicion a refutation has to beat in clusters of
 * thousands (4 x 1 x log10(n+1) heartbeats) */
#define SELF_NEWS_HEARTBEATS 16
    uint8_t self_meta[255];
    uint8_t self_meta_len;
    gaddr_t self_addr;         /* advertised; ip all zero = "use my source address" */

    int fd;                    /* -1 with a send hook */
    int sock_family;           /* AF_INET or AF_INET6 */
    struct crypto crypto;
    struct members members;
    struct dissem dq;
    uint64_t rng[4];

    /* failure detector */
    uint64_t *probe_order;     /* member ids, shuffled round robin */
    uint32_t probe_n, probe_cap, probe_pos, gossip_pos;
    struct probe_state probe;
    uint32_t seq;
#define MAX_URGENT 4
    uint64_t urgent[MAX_URGENT];   /* suspects to probe out of turn */
    unsigned urgent_n;
    struct relay relays[MAX_RELAYS];
    struct suspicion *susp;
    uint32_t n_susp, cap_susp;
    unsigned awareness;

    /* timers (monotonic ms) */
    uint64_t now;
    uint64_t next_probe, next_gossip, next_sync, next_reconnect, next_join, next_reap;
    uint64_t last_gossip;
    bool joined;               /* a seed or member has answered */
    unsigned join_attempts;
    bool have_view;            /* a full view (SYNC) arrived, or we started the cluster */
    uint64_t view_deadline;    /* no seeds: when silence means we are the first */
    bool early_sync;           /* the next full-view exchange is the one after joining */
    uint64_t view_ms;          /* when the first full view arrived */
    uint64_t last_sync_ms;     /* the last regular full-view exchange (or the start) */
    uint64_t who_next_ms;      /* rate limit of ask_who() */
    uint64_t absorb_until;     /* taking in our first full view: do not re-announce it */
    bool leaving;
    unsigned leave_sends;

    /* cluster events */
    struct event_origin origins[MAX_EVENT_ORIGINS];
    struct seen_event *seen;
    uint32_t seen_n, seen_pos;
    uint64_t event_seq;

    /* roles */
    uint32_t roles_held;       /* bit i: cfg.roles[i] held */
    bool roles_dirty, roles_started;
    bool quorum_candidate;     /* a QUORUM role is ours if the lease holds */
    uint64_t next_quorum;

    /* host delivery */
    struct pending_event *pe;
    uint32_t pe_n, pe_cap;
    bool delivering;

    /* duplicate-id detection (proto.c) */
    uint32_t conflict_seq;
    uint64_t conflict_next_ms, conflict_reported;
    bool superseded;           /* a newer process with our id runs: stop accusing */

    /* members back from failed: push-pull with them once */
#define MAX_RECOVER 8
    uint64_t recover[MAX_RECOVER];
    unsigned n_recover;
    unsigned seed_pos;

    /* sessions of reaped members: their old datagrams stay replays */
#define MAX_TOMBS 64
    struct { uint64_t id, session, next_ms; uint32_t seq; } tombs[MAX_TOMBS];
    unsigned tomb_pos;

    struct wire_msg rxmsg;     /* decoded datagram; too large for the stack of an embedder */

    /* rate-limited warnings per drop reason */
    uint64_t warn_ms[16];
    uint64_t warn_suppressed[16];

    struct gossip_stats stats;
    uint64_t over_limit_warned; /* g_drop's counter for over-limit warnings */
    struct gossip_stats rate_base; /* counters at the start of the rate window */
    uint64_t rate_start_ms;
    uint8_t *txbuf, *rxbuf;
    size_t buf_len;
    void *udp;                 /* recvmmsg batch (udp.c) */
};

/* Drop reasons (rate-limited warnings), as counted in struct gossip_stats. */
enum drop_reason { DR_SHORT, DR_OVERSIZE, DR_VERSION, DR_KEY, DR_AUTH, DR_REPLAY, DR_MALFORMED, DR_FULL, DR_LIMIT };

/* gossip.c: chance (the random hook or a per-handle PRNG) */
uint64_t g_random(struct gossip *g);
uint32_t g_random_below(struct gossip *g, uint32_t n);

/* deliver.c: what reaches the host, delivered at the end of each entry point */
void g_log(struct gossip *g, enum gossip_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Count a dropped datagram (or refused record); true when a warning for
 * this reason is due (one per reason every ten seconds).  Callers build the
 * message, addresses included, only then: under a flood nearly every drop
 * is silent and must cost no formatting. */
bool g_drop(struct gossip *g, uint64_t *counter, unsigned reason);
void g_drop_log(struct gossip *g, unsigned reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void g_emit_member(struct gossip *g, enum gossip_event ev, const struct member *m);
void g_emit_user(struct gossip *g, uint64_t origin, const void *data, size_t len);
size_t g_alive_count(const struct gossip *g); /* alive + suspect, self included */
void g_deliver(struct gossip *g);
void roles_quorum_tick(struct gossip *g);
void addr_fill_member(const gaddr_t *a, struct gossip_member *out);

/* maintain.c: the timers of gossip_tick() beside the failure detector */
void maintain_run(struct gossip *g);
uint64_t maintain_next_deadline(const struct gossip *g);

/* proto.c: cluster events remembered (false if already seen) for
 * exactly-once delivery and the repair of nodes that missed one */
bool event_remember(struct gossip *g, uint64_t origin, uint64_t event_id, const void *data, size_t len);
void events_expire(struct gossip *g);

/* udp.c */
int udp_open(struct gossip *g);
void udp_close(struct gossip *g);
int udp_send(struct gossip *g, const gaddr_t *to, const uint8_t *buf, size_t len);
int udp_drain(struct gossip *g);
#include "addr.h"

/* proto.c: receive path and message sending */
void proto_receive(struct gossip *g, const gaddr_t *from, uint8_t *buf, size_t len);
/* Send one message with piggybacked updates.  `first` (may be NULL) is a
 * member record written before the queue (e.g. the target's suspicion). */
void proto_send(struct gossip *g, const gaddr_t *to, const struct wire_msg *hdr,
                const struct member *first, bool self_record);
/* Our view in SYNC chunks, asking for the peer's in return if reply_wanted;
 * recent_ms > 0 limits both to the records that changed in the last
 * recent_ms milliseconds (the exchange after joining). */
void proto_send_sync(struct gossip *g, const gaddr_t *to, bool reply_wanted, uint32_t recent_ms);
void proto_gossip_round(struct gossip *g);
/* gossip_member_restore(): apply an alive record from the host, as a view
 * record that is never relayed.  GOSSIP_EFULL at max-members. */
int proto_restore_record(struct gossip *g, const struct wire_member *r);
void member_to_wire(const struct gossip *g, const struct member *m, struct wire_member *w);
void self_to_wire(const struct gossip *g, struct wire_member *w);
unsigned retransmit_limit(const struct gossip *g);

/* probe.c: failure detector and suspicion */
void probe_tick(struct gossip *g);
void probe_on_ack(struct gossip *g, uint32_t seq);
void probe_on_nack(struct gossip *g, uint32_t seq);
void probe_on_ping_req(struct gossip *g, const gaddr_t *from, const struct wire_msg *msg);
bool relay_on_ack(struct gossip *g, uint32_t seq);
void probe_add_member(struct gossip *g, uint64_t id);
void probe_on_suspicion(struct gossip *g, uint64_t id);
void suspicion_start(struct gossip *g, struct member *m, uint64_t accuser);
void suspicion_confirm(struct gossip *g, struct member *m, uint64_t accuser);
void suspicion_stop(struct gossip *g, struct member *m);
uint64_t probe_next_deadline(const struct gossip *g);
void awareness_apply(struct gossip *g, int delta);
void member_set_state(struct gossip *g, struct member *m, uint8_t state, uint64_t from);

#endif
