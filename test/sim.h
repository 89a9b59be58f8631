/*
 * A deterministic cluster simulator for libgossip, built only on the public
 * hooks of gossip.h: N real gossip_t handles in one process, a virtual clock
 * that jumps from one event to the next, and a virtual network with loss,
 * latency, jitter (hence reordering), one-way cuts, partitions, paused,
 * crashed, restarted and leaving nodes.
 *
 * Everything that varies comes from one 64-bit seed (env GOSSIP_SIM_SEED, or
 * a fixed default), so the same seed yields the same trace byte for byte and
 * every failure replays.  Nothing reads the wall clock or a real random
 * source, and nothing sleeps.
 *
 * Node i has id (id_base + i) and the virtual address 10.a.b.c:1179 where
 * a.b.c encodes i + 1 (so node 0 is 10.0.0.1).
 */
#ifndef GOSSIP_TEST_SIM_H
#define GOSSIP_TEST_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gossip.h"

typedef struct sim sim_t;

/* What an observer last heard about a subject through its member callback. */
enum sim_view_state {
    SIM_UNKNOWN = 0,
    SIM_ALIVE,
    SIM_SUSPECT,
    SIM_FAILED,
    SIM_LEFT,
};

/* Life cycle of a simulated process. */
enum sim_node_state {
    SIM_NODE_DOWN = 0, /* never started, crashed, or left and destroyed */
    SIM_NODE_UP,
    SIM_NODE_LEAVING,  /* gossip_leave() called, destroyed after the grace period */
};

#define SIM_DEFAULT_SEED 0x5eed5eedULL
#define SIM_MAX_SEEDS GOSSIP_MAX_SEEDS
#define SIM_EPOCH_MS 1767225600000ULL /* 2026-01-01T00:00:00Z, the virtual wall clock at t=0 */

/* A member event as recorded (when keep_events is set). */
struct sim_event {
    uint64_t t;
    uint32_t observer; /* node index */
    uint32_t subject;  /* node index, or UINT32_MAX for an id outside the cluster */
    uint8_t event;     /* enum gossip_event */
};

struct sim_options {
    unsigned n_nodes;
    uint64_t seed;               /* the run's seed; sim_options_init() takes it from the env */
    uint64_t id_base;            /* node i has id id_base + i; default 0 */
    uint32_t heartbeat_ms;       /* default 1000 */
    /* Seeds, as node indices, given to every other node; default {0}. */
    unsigned seeds[SIM_MAX_SEEDS];
    unsigned n_seeds;
    /* Network defaults; per-link overrides with sim_link_set(). */
    double loss;                 /* probability a datagram is dropped; default 0 */
    uint32_t latency_ms;         /* one-way base latency; default 1 */
    uint32_t jitter_ms;          /* plus uniform [0, jitter]; default 2 */
    /* Start node i at t = i * stagger_ms (when autostart). */
    bool autostart;              /* default true */
    uint32_t stagger_ms;         /* default 0 */
    /* Observation; large benches switch these off (memory is O(N^2) for views). */
    bool track_views;            /* default true */
    bool keep_trace;             /* keep the trace text (its hash is always kept); default true */
    bool keep_events;            /* keep struct sim_event records; default true */
    /* Bound of every run call; a run that exceeds it stops and reports. */
    uint64_t max_events;         /* default 200,000,000 */
    /* Adjust a node's config just before gossip_create() (roles, tuning). */
    void (*configure)(void *ud, sim_t *sim, unsigned node, struct gossip_config *cfg);
    /* Called for every member event after it is recorded. */
    void (*on_event)(void *ud, sim_t *sim, const struct sim_event *ev);
    void *ud;
    /* Print library log lines (with t and node) at or below this level to
     * stderr; -1 = none (default; env GOSSIP_SIM_LOG=<level> overrides). */
    int log_level;
    /* How a paused node's loop wakes: false (default) reads its backlog,
     * then ticks; true ticks first, then reads the backlog and ticks again
     * (a host whose loop runs timers before reading the socket). */
    bool wake_ticks_first;
    /* Called every time the simulator asks a node for its deadline, that is
     * after every call it made into the node (create, feed, tick, leave, or
     * sim_rearm()), with what gossip_next_timeout_ms() returned and whether
     * that call was a gossip_tick(); before the simulator acts on it.
     * NULL = none (test/swarm.c checks the loop contract with it). */
    void (*on_timeout)(void *ud, sim_t *sim, unsigned node, int timeout_ms, bool after_tick);
};

/* Network and event counters of the whole run. */
struct sim_stats {
    uint64_t events;         /* events processed */
    uint64_t sent;           /* datagrams handed to the send hook */
    uint64_t delivered;      /* fed to a live node */
    uint64_t dropped_loss;   /* random loss */
    uint64_t dropped_cut;    /* partition or one-way cut */
    uint64_t dropped_down;   /* destination down on arrival, or no such address */
    uint64_t backlogged;     /* arrived while the destination was paused */
    uint64_t zero_timeouts;  /* gossip_next_timeout_ms() was 0 right after a tick */
    uint64_t member_events[8];
};

/* The seed from env GOSSIP_SIM_SEED (decimal or 0x hex), else `dflt`. */
uint64_t sim_seed_from_env(uint64_t dflt);

void sim_options_init(struct sim_options *opt);

/* Create the simulator (and, with autostart, schedule the node starts).
 * NULL on allocation failure or bad options. */
sim_t *sim_create(const struct sim_options *opt);
void sim_destroy(sim_t *sim);

uint64_t sim_seed(const sim_t *sim);
uint64_t sim_now(const sim_t *sim);
unsigned sim_n_nodes(const sim_t *sim);
gossip_t *sim_handle(sim_t *sim, unsigned node); /* NULL when down */
uint64_t sim_node_id(const sim_t *sim, unsigned node);
enum sim_node_state sim_node_state(const sim_t *sim, unsigned node);
bool sim_is_paused(const sim_t *sim, unsigned node);
unsigned sim_restarts(const sim_t *sim, unsigned node);
void sim_stats_get(const sim_t *sim, struct sim_stats *out);

/* --- running ---------------------------------------------------------- */

/* Process every event due at or before t_ms, then set the clock to t_ms.
 * 0, or -1 when the event budget (max_events per call) ran out. */
int sim_run_until(sim_t *sim, uint64_t t_ms);
int sim_run_for(sim_t *sim, uint64_t ms);
/* Run until pred() is true, evaluated once at the start and after all the
 * events of each virtual millisecond; give up after timeout_ms.  Returns
 * the virtual time at which it became true, or -1. */
typedef bool (*sim_pred_fn)(sim_t *sim, void *ud);
int64_t sim_run_until_cond(sim_t *sim, sim_pred_fn pred, void *ud, uint64_t timeout_ms);

/* Call fn(sim, ud) at virtual time t (ordered with every other event). */
typedef void (*sim_call_fn)(sim_t *sim, void *ud);
void sim_at(sim_t *sim, uint64_t t_ms, sim_call_fn fn, void *ud);

/* --- processes -------------------------------------------------------- */

/* Start a node that is down (first start or restart: a restart gets a new
 * handle, the same id, a higher generation and a fresh PRNG stream).
 * 0 or the gossip_create() error. */
int sim_start(sim_t *sim, unsigned node);
/* Crash: destroy the handle at once, send nothing; datagrams in flight to
 * it are dropped on arrival. */
void sim_crash(sim_t *sim, unsigned node);
int sim_restart(sim_t *sim, unsigned node); /* crash if up, then start */
/* Graceful leave: gossip_leave() now, gossip_destroy() after grace_ms (the
 * node keeps running meanwhile). */
int sim_leave(sim_t *sim, unsigned node, uint64_t grace_ms);
/* Stall the process for ms: no ticks, arrivals queue up; on wake it gets
 * the backlog in arrival order, then a tick. */
void sim_pause(sim_t *sim, unsigned node, uint64_t ms);

/* --- network ---------------------------------------------------------- */

void sim_set_loss(sim_t *sim, double loss);   /* default loss of every link */
void sim_set_latency(sim_t *sim, uint32_t latency_ms, uint32_t jitter_ms);
/* Directed link from -> to: loss (1.0 = one-way cut), latency, jitter.
 * Negative loss / latency clears that override. */
void sim_link_set(sim_t *sim, unsigned from, unsigned to, double loss,
                  int64_t latency_ms, int64_t jitter_ms);
void sim_cut(sim_t *sim, unsigned from, unsigned to);  /* one-way */
void sim_uncut(sim_t *sim, unsigned from, unsigned to);
void sim_links_clear(sim_t *sim);
/* group_of_node[i] for each node; datagrams between groups are dropped. */
void sim_partition(sim_t *sim, const unsigned *group_of_node);
void sim_heal(sim_t *sim);
/* The network's decision for one datagram (consumes network randomness;
 * exposed for tests of the loss model): true and *delay_ms when it is
 * delivered, false when dropped. */
bool sim_route(sim_t *sim, unsigned from, unsigned to, uint64_t *delay_ms);

/* --- observation ------------------------------------------------------ */

enum sim_view_state sim_view(const sim_t *sim, unsigned observer, unsigned subject);
const char *sim_view_name(enum sim_view_state s);
/* Every live node (up or leaving, paused included) other than subject
 * sees it in `state`. */
bool sim_all_see(const sim_t *sim, unsigned subject, enum sim_view_state state);
/* How many live nodes other than subject see it in `state`. */
unsigned sim_count_seeing(const sim_t *sim, unsigned subject, enum sim_view_state state);
/* Every up node sees every other up node alive (leaving nodes ignored);
 * false while autostarts are still pending. */
bool sim_converged(const sim_t *sim);
bool sim_pred_converged(sim_t *sim, void *ud); /* the same as a sim_pred_fn */

/* Recorded member events matching (observer, subject, event), -1 = any,
 * with from_ms <= t < to_ms (to_ms = UINT64_MAX: no end). */
#define SIM_ANY (-1)
size_t sim_count_events(const sim_t *sim, int observer, int subject, int event);
size_t sim_count_events_between(const sim_t *sim, int observer, int subject, int event,
                                uint64_t from_ms, uint64_t to_ms);
/* Time of the first / last matching event at or after from_ms, or -1. */
int64_t sim_first_event(const sim_t *sim, int observer, int subject, int event, uint64_t from_ms);
int64_t sim_last_event(const sim_t *sim, int observer, int subject, int event, uint64_t from_ms);
const struct sim_event *sim_events(const sim_t *sim, size_t *n);

/* The trace: one line "t=<ms> node=<i> member=<j> event=<name>" per member
 * event, and "t=<ms> sim ..." lines for what the simulator did (crash,
 * restart, partition...).  Hash = FNV-1a 64 of all of it, and of every
 * datagram sent (time, sender, destination, bytes) and every role and
 * cluster-event callback, in the order they happen: the byte-exact oracle
 * of test/oracle.sh.  Log callbacks are hashed apart (their order relative
 * to datagrams is not behaviour). */
const char *sim_trace(const sim_t *sim, size_t *len); /* NULL unless keep_trace */
uint64_t sim_trace_hash(const sim_t *sim);
/* Append a free-form note to the trace (it enters the hash). */
void sim_note(sim_t *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the last `lines` trace lines (0 = all) to f. */
void sim_dump_trace(const sim_t *sim, FILE *f, size_t lines);

/* --- deterministic PRNG (xoshiro256**, seeded through splitmix64) ----- */

struct sim_rng {
    uint64_t s[4];
};
void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream, uint64_t sub);
uint64_t sim_rng_next(struct sim_rng *r);
double sim_rng_double(struct sim_rng *r);            /* [0, 1) */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n); /* [0, n), n > 0 */

/* A failed check in a scenario: print where, the seed and the virtual time
 * (and the trace tail when GOSSIP_SIM_TRACE is set), then fail the cmocka
 * test.  Needs <cmocka.h> in the including file. */
void sim_report_failure(const sim_t *sim, const char *file, int line, const char *what);
#define SIM_ASSERT(sim, cond)                                        \
    do {                                                             \
        if (!(cond)) {                                               \
            sim_report_failure((sim), __FILE__, __LINE__, #cond);    \
            fail();                                                  \
        }                                                            \
    } while (0)

/* --- additions for the swarm runner (test/swarm.c) --------------------- */

/* Which call into a library handle the simulator is making right now (for
 * attributing callbacks and allocations to a node and to a kind of call). */
enum sim_call {
    SIM_CALL_NONE = 0,
    SIM_CALL_CREATE,
    SIM_CALL_FEED,
    SIM_CALL_TICK,
    SIM_CALL_LEAVE,
    SIM_CALL_DESTROY,
};
/* The node whose handle the simulator is inside of, or -1. */
int sim_current_node(const sim_t *sim);
enum sim_call sim_current_call(const sim_t *sim);
/* After a direct call into a node's handle (gossip_set_meta(),
 * gossip_broadcast(), gossip_key_use(), gossip_feed() of a datagram the
 * test made up...): ask it for its deadline again and re-arm its timer, as
 * a host recomputes gossip_next_timeout_ms() after every call.  No-op for a
 * node that is down; a paused node's timer is re-armed too (it runs no
 * timers until it wakes). */
void sim_rearm(sim_t *sim, unsigned node);
/* Virtual time at which a paused node wakes, 0 when it is not paused. */
uint64_t sim_paused_until(const sim_t *sim, unsigned node);

#endif /* GOSSIP_TEST_SIM_H */
