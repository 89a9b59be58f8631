/*
 * The handle: the state the protocol core shares (struct gossip and the
 * records it holds).  Every module of the core and the shell includes it;
 * what each module does with it is declared in that module's own header.
 * Pure value types (members, dissemination queue, outbox, wire, crypto,
 * addresses, chance) live in headers of their own, below this one.
 */
#ifndef GOSSIP_CORE_H
#define GOSSIP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "crypto.h"
#include "window.h"
#include "dissem.h"
#include "gossip.h"
#include "lives.h"
#include "members.h"
#include "outbox.h"
#include "rng.h"
#include "wire.h"

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
    /* The verification ping of a heard suspicion is out: no confirmation
     * brings the deadline back before its answer can arrive. */
    uint64_t verify_until;
};

/* An indirect probe this node runs for somebody else. */
struct relay {
    uint32_t seq;             /* our ping to the target */
    uint32_t their_seq;       /* the requester's seq */
    uint64_t deadline_ms;
    gaddr_t requester;
    uint64_t requester_id;
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
    enum { PE_MEMBER, PE_ROLE, PE_USER, PE_QUERY, PE_ANSWER, PE_QUERY_DONE, PE_DELIVERED } kind;
    enum gossip_event event;
    struct gossip_member m;   /* snapshot; meta resolved at delivery */
    uint64_t origin;          /* PE_USER; PE_QUERY: the asker; PE_ANSWER: the responder */
    uint64_t id;              /* PE_QUERY, PE_ANSWER, PE_QUERY_DONE: the query id */
    uint8_t *data;            /* PE_USER, PE_QUERY, PE_ANSWER, owned */
    size_t len;
    unsigned role;            /* PE_ROLE: index in cfg.roles */
    bool held;
};

/* Event ids seen from one origin: ids only grow per origin, so a window
 * like the datagram replay window decides "seen" however many are in
 * flight.  Kept for the few members that broadcast, not in every record. */
#define MAX_EVENT_ORIGINS 64
/* Event ids of one life lie within this much above its generation. */
#define EVENT_SEQ_SPAN (UINT64_C(1) << 32)
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

/* Queries (query.c). */
#define QUERY_MAX_PENDING 16      /* our own queries awaiting answers */
#define QUERY_MAX_ANSWERS 1024    /* answers taken per query */
#define QUERY_ASKED 64            /* questions we may still answer */
struct query_pending {
    uint64_t id, deadline_ms;
    uint64_t *responders;     /* who answered, for deduplication */
    uint32_t n, cap;
    bool used;
};
struct query_asked {
    uint64_t id, asker, deadline_ms;
    bool answered, used;
};

/* Taking back a QUORUM role that another node holds by failover in our
 * view (deliver.c).  Our version is raised first, so that our next record
 * overrides any failure of us the other node may hold; then the role is
 * taken only once that node has acked a ping that carried the raised
 * record: processing it made the node let go (its release is decided in
 * the call that answers), so the two never hold the role at once.  The
 * failover holder is the one our view names once it is current (below). */
struct handback {
    uint64_t peer;            /* the failover holder we wait for, if active */
    bool active;
    uint32_t seq;             /* our last gate ping to it */
    uint64_t generation;      /* ours when the gate started */
    uint32_t min_version;     /* our version after the raise */
    uint32_t sent_version;    /* our version in that ping */
    uint32_t acked_version;   /* our version in the ping it acked */
    bool acked;
    uint64_t next_ms;         /* when to ping again */
    /* Before anything else our view must be current: members we hold
     * failed are asked once (a live one refutes) and answers awaited until
     * verify_until, so that a view still stale from a partition does not
     * name the wrong failover holder, or none. */
    uint64_t verify_until;
    bool verified;
};

/* How far this node is into the cluster; it only moves forward. */
enum join_phase {
    PHASE_JOINING,  /* asking the seeds every heartbeat; nobody has answered */
    PHASE_JOINED,   /* somebody answered (or no seeds: we may be the first); no full view yet */
    PHASE_VIEW_NEW, /* the first full view arrived; the early exchange after joining is due */
    PHASE_MEMBER,   /* a view and that exchange done, or we started the cluster */
};

/* Whether the node is on its way out.  Leaving outranks superseded. */
enum ending {
    END_NONE,
    END_SUPERSEDED, /* a newer process with our id runs: stop probing and accusing */
    END_LEAVING,    /* gossip_leave(): announce, answer, probe nobody; a
                     * suspicion heard of is verified (probe.c) like anywhere */
};

/* The lifecycle in one place, instead of six flags and timestamps. */
struct lifecycle {
    enum join_phase phase;
    enum ending end;
    unsigned join_attempts;
    uint64_t view_deadline;   /* PHASE_JOINED without seeds: silence until then means we are first */
    uint64_t view_ms;         /* when the first full view arrived */
    uint64_t absorb_until;    /* taking in that view: do not re-announce it */
    uint64_t early_sync_ms;   /* PHASE_VIEW_NEW: when the early exchange runs */
    bool ticked;              /* gossip_tick() has run: roles are reported from then on */
    uint64_t start_ms;        /* maintain_start(): how long a node alone has waited for the others */
    /* Roles a node holds only by failover (not listed) wait until its view
     * has settled: a heartbeat after the early exchange after joining
     * (whose answer repairs what the first view missed), so a cold start
     * never takes a duty to hand it back a moment later. */
    uint64_t failover_ms;
    bool failover_open;       /* failover_ms passed (maintain.c's timer) */
    /* A member told us its view has settled (WIRE_F_SETTLED): our view
     * comes from a cluster that ran before us, not a fragment. */
    bool established;
};

struct gossip {
    struct gossip_config cfg;  /* effective: every derived default filled */
    uint64_t self_id;
    uint64_t generation;
    uint64_t gen_at_start;     /* our event ids lie above it (merge_event) */
    uint32_t version;
    uint8_t self_state;
    bool self_draining;        /* gossip_drain(): we hold no role, and say so in our record */
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
    struct rng rng;

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
    uint64_t due_at;           /* the deadline reported at the end of the last call (gossip.c) */
    struct lifecycle life;
    uint64_t last_sync_ms;     /* the last regular full-view exchange (or the start) */
    uint64_t who_next_ms;      /* rate limit of ask_who() */
    unsigned leave_sends;
    unsigned late_goodbyes;    /* to lives learned while leaving (merge.c), at most 64 */

    /* queries (query.c) */
    struct gossip_query_handlers qh;
    struct query_pending queries[QUERY_MAX_PENDING];
    struct query_asked asked[QUERY_ASKED];
    unsigned asked_pos;

    /* cluster events */
    struct event_origin origins[MAX_EVENT_ORIGINS];
    struct seen_event *seen;
    uint32_t seen_n, seen_pos;
    uint64_t event_seq;
    /* Broadcasts made before our generation is settled (gossip.c
     * mint_held()): their ids are minted once it is. */
    struct held_broadcast {
        uint8_t *data;
        uint16_t len;
    } *held;
    uint32_t n_held, held_cap;

    /* roles */
    uint32_t roles_held;       /* bit i: cfg.roles[i] held */
    bool roles_dirty, roles_started;
    bool quorum_candidate;     /* a QUORUM role is ours if the lease holds */
    uint32_t quorum_waiting;   /* bit i: cfg.roles[i] is ours but for the lease (an ack rechecks) */
    uint64_t quorum_lease_until; /* the lease end as of the last role decision (deliver.c) */
    struct handback handback[GOSSIP_MAX_ROLES];
    uint64_t next_quorum;

    /* host delivery */
    struct pending_event *pe;
    uint32_t pe_n, pe_cap;
    bool delivering;           /* g_deliver() runs callbacks */
    bool busy;                 /* an entry point works (gossip.c enter()/finish()) */
    long pid;                  /* the process that created the handle: a forked copy never seals */
    bool fork_logged;
    bool destroy_requested;    /* gossip_destroy() from a callback: freed at the end of the call */

    /* duplicate-id detection (merge.c) */
    uint32_t conflict_seq;
    uint64_t conflict_next_ms, conflict_reported;
    uint64_t show_next_ms;     /* rate limit of showing our record to another life of a member */
    /* END_SUPERSEDED: the newer process with our id, asked now and then
     * whether it still runs (merge.c superseded_tick()) */
    gaddr_t superseded_addr;
    uint64_t superseded_gen, superseded_next_ms;
    uint64_t tell_next_ms;     /* rate limit of telling a member its life before (merge.c) */
    uint64_t tell_member;      /* ...and whom, while tell_pending (answered by dispatch.c) */
    bool tell_pending;

    /* members back from failed: push-pull with them once */
#define MAX_RECOVER 8
    uint64_t recover[MAX_RECOVER];
    unsigned n_recover;
    unsigned seed_pos;

    /* Seed addresses, what joining and reconnecting (maintain.c) send to,
     * in the order of cfg.seeds: a numeric seed's address, a seed name's
     * addresses once it has resolved (an address already listed is not
     * listed again).  resolve.c writes them; the core only reads them.
     * seeds_unresolved: the names that have no address yet. */
    gaddr_t *seed_addr;
    unsigned n_seed_addr, seed_addr_cap;
    unsigned seeds_unresolved;
    struct resolver *resolver; /* resolve.c's; NULL when cfg.seeds holds no name */

    /* Peers' lives outside the member table, reply budgets and payloads
     * waiting for a handshake (wire format 2; lives.h, handshake.h). */
    struct lives lives;
    struct departed departed;
    struct hs_budget hs;
    struct park park;
    /* While one datagram is acted on: what may still be sent back to its
     * source (anti-amplification: 3x what it sent while its address is not
     * validated; SIZE_MAX otherwise or outside a receive). */
    gaddr_t reply_to;
    size_t reply_limit;
    /* Full views sent, per address and life, this heartbeat (dispatch.c). */
#define VIEW_REPLY_SLOTS 16
    struct { gaddr_t to; uint64_t life, at_ms; } view_replies[VIEW_REPLY_SLOTS];

    /* Incarnation plausibility (merge.c): the wall clock at create, and
     * the monotonic time then, give "now" on the generation's scale. */
    uint64_t wall0_ms, now0_ms;
    /* A record of ours from an older life claims a higher generation at
     * another address: challenged; unanswered by move_past_ms, we move
     * past it (merge.c). */
    uint64_t move_past_ms, move_past_gen;

    struct wire_msg rxmsg;     /* decoded datagram; too large for the stack of an embedder */

    /* rate-limited warnings per drop reason */
    uint64_t warn_ms[16];
    uint64_t warn_suppressed[16];

    struct gossip_stats stats;
    uint64_t over_limit_warned; /* g_drop's counter for over-limit warnings */
    struct gossip_stats rate_base; /* counters at the start of the rate window */
    uint64_t rate_start_ms;
    struct outbox out;         /* plaintext waiting for the transmit step (send.c) */
    uint8_t *rxbuf;
    size_t buf_len;
    void *udp;                 /* recvmmsg batch (udp.c) */
};

/* Drop reasons (rate-limited warnings), as counted in struct gossip_stats. */
enum drop_reason {
    DR_SHORT, DR_OVERSIZE, DR_VERSION, DR_KEY, DR_AUTH, DR_REPLAY, DR_MALFORMED, DR_FULL, DR_LIMIT,
    DR_LIFE,        /* an unknown or older life (of the sender, or of ours) */
    DR_IMPLAUSIBLE, /* a record's incarnation */
};

/* Generations are wall-clock ms << 16 | 16 random bits (gossip.c).  A
 * record whose generation lies beyond this node's clock plus
 * cfg.max_clock_skew_ms is refused (a hostile, corrupt or far-future
 * record would otherwise hold that node's id above every life it can
 * start); a version this close to the top could not be raised by a
 * refutation without wrapping. */
#define VERSION_MAX (UINT32_MAX - 0xffffu)
/* A life that moves past an older record raises the generation by this
 * much: above the record, and still far below the skew bound. */
#define GEN_MOVE_STEP (UINT64_C(1) << 20)

/* The life we know of peer `id`: its member record's, or a stranger's;
 * NULL when there is none. */
static inline struct life *life_of(struct gossip *g, uint64_t id)
{
    struct member *m = members_get(&g->members, id);
    return m ? &m->life : lives_find(&g->lives, id);
}

/* This node's own record as it goes on the wire. */
static inline void self_to_wire(const struct gossip *g, struct wire_member *w)
{
    memset(w, 0, sizeof(*w));
    w->id = g->self_id;
    w->generation = g->generation;
    w->version = g->version;
    w->state = g->self_state;
    w->flags = g->self_draining ? WIRE_M_DRAINING : 0;
    w->from = g->self_id;
    w->addr = g->self_addr;
    w->meta_len = g->self_meta_len;
    w->meta = g->self_meta_len ? g->self_meta : NULL;
}

static inline bool lc_joined(const struct gossip *g)
{
    return g->life.phase >= PHASE_JOINED;
}

static inline bool lc_has_view(const struct gossip *g)
{
    return g->life.phase >= PHASE_VIEW_NEW;
}

/* Is our view no fragment?  Established (a settled member's view reached
 * us), or a reconnect interval and a heartbeat have passed since our start
 * with a view: time for a running cluster to find a seed that restarted
 * (its members ask each seed they lack once per reconnect interval).
 * Until then a node that restarted as the seed of a running cluster, and
 * whoever joined through it, would see a cluster of two or three that is
 * a majority of itself.  Told to others in our full views (message.c). */
static inline bool lc_settled(const struct gossip *g)
{
    return lc_has_view(g) && (g->life.established || g->now - g->life.start_ms >=
                                                         (uint64_t)g->cfg.reconnect_interval_ms + g->cfg.heartbeat_ms);
}

/* May this node take a role by failover (its listed holders not live)? */
static inline bool lc_may_fail_over(const struct gossip *g)
{
    return g->life.failover_open;
}

static inline bool lc_leaving(const struct gossip *g)
{
    return g->life.end == END_LEAVING;
}

/* Probing and accusing: neither leaving nor superseded. */
static inline bool lc_active(const struct gossip *g)
{
    return g->life.end == END_NONE;
}

/*
 * A table of timers (maintain.c's, and probe.c's own).  `due` is the one
 * guard: a tick runs a timer when now has reached its due time, and the
 * deadline reported to the host is the earliest due time, so a deadline
 * the host is told about is always one a tick acts on.  `every_tick`
 * timers run at each tick and check their own state; their due time still
 * wakes the loop.  Run in table order: a later timer sees what an earlier
 * one changed.
 */
struct timer {
    uint64_t (*due)(const struct gossip *g); /* UINT64_MAX: not armed */
    void (*run)(struct gossip *g);
    bool every_tick;
};

static inline void timers_run(struct gossip *g, const struct timer *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].every_tick || g->now >= t[i].due(g))
            t[i].run(g);
}

/* Only the timers due now (a second pass of a tick, see gossip_tick()). */
static inline void timers_run_due(struct gossip *g, const struct timer *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (g->now >= t[i].due(g))
            t[i].run(g);
}

static inline uint64_t timers_next(const struct gossip *g, const struct timer *t, size_t n)
{
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = t[i].due(g);
        if (d < next)
            next = d;
    }
    return next;
}

/* Members that count as live (alive + suspect), self included. */
static inline size_t g_alive_count(const struct gossip *g)
{
    return (size_t)(g->members.n - g->members.n_dead) + (g->self_state <= GOSSIP_SUSPECT);
}

#endif
