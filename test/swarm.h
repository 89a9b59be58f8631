/*
 * The swarm runner (test/swarm.c): randomized fault schedules over many
 * seeds on the deterministic simulator (test/sim.c), with invariants
 * checked while they run.  This header is shared by its three files:
 *
 *   swarm.c        the runner: applies a schedule to a simulated cluster,
 *                  checks the invariants, reports, minimises; main()
 *   swarm_sched.c  schedules: drawn from a seed, written to and read from
 *                  the text files kept in test/swarm-regress/; the bounds
 *                  every invariant derives from a configuration
 *   swarm_alloc.c  per-node heap accounting (malloc and friends counted by
 *                  the node whose handle is running; off under sanitizers)
 */
#ifndef GOSSIP_TEST_SWARM_H
#define GOSSIP_TEST_SWARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SW_MAX_NODES 64
#define SW_MAX_ROLES 6
#define SW_MAX_ROLE_NODES 4
#define SW_MAX_ACTIONS 512
#define SW_MAX_SEEDS 4
#define SW_MAX_FAKES 4
#define SW_ROLE_NAME 24

/* ------------------------------------------------------------------ config */

struct sw_role {
    char name[SW_ROLE_NAME];
    unsigned nodes[SW_MAX_ROLE_NODES]; /* node indices */
    unsigned n;
    unsigned flags;                    /* GOSSIP_ROLE_* */
};

/* One cluster: every field is explicit (never 0 = "derived"), so the
 * bounds below are computed from exactly what the library runs with. */
struct sw_config {
    uint64_t seed;          /* the simulator's seed (network, node PRNGs) */
    unsigned n;             /* nodes, 3..64 */
    uint32_t hb;            /* heartbeat */
    uint32_t pt, it;        /* probe and indirect timeouts */
    uint32_t ichecks;       /* indirect helpers */
    double smult, smax;     /* suspicion multiplier and max multiplier */
    uint32_t sconf;         /* suspicion confirmations */
    double rmult;           /* retransmit multiplier */
    uint32_t gi;            /* gossip interval */
    uint32_t fanout;
    uint32_t sync_ms, ri, reap_ms;
    uint32_t ae, aw;        /* ae-records, awareness-max */
    uint32_t max_dgram, max_meta, max_event, max_pending;
    uint32_t lat, jit;      /* the healthy network: one-way latency + jitter */
    unsigned seeds[SW_MAX_SEEDS];
    unsigned n_seeds;
    uint32_t stagger;       /* node i starts at i * stagger */
    uint64_t wall_gen;      /* bit i: node i's generation comes from its wall clock */
    bool default_roles;     /* keep the five built-in roles (no lists) */
    unsigned n_roles;
    struct sw_role roles[SW_MAX_ROLES];
    uint64_t end_ms;        /* the run ends here */
};

/* ------------------------------------------------------------------ actions */

enum sw_kind {
    SW_CRASH = 0, /* a: crash (destroy, nothing sent) */
    SW_START,     /* a: start a node that is down (wall: its clock offset) */
    SW_RESTART,   /* a: crash and start at once (x & 1: again in the same ms) */
    SW_PAUSE,     /* a: stall for dur (backlog on wake) */
    SW_PARTITION, /* groups[], for dur */
    SW_CUT,       /* a -> b one-way cut, for dur */
    SW_LINKLOSS,  /* a -> b loss p, for dur */
    SW_LOSS,      /* every link loss p, for dur */
    SW_DELAY,     /* every link latency x + jitter y (reordering), for dur */
    SW_DUP,       /* every datagram sent twice with probability p, for dur */
    SW_LEAVE,     /* a: gossip_leave(), destroyed after dur */
    SW_META,      /* a: gossip_set_meta() of x bytes */
    SW_EVENT,     /* a: gossip_broadcast() of x bytes */
    SW_KEY,       /* key rotation step x (x/3 = rotation, x%3: install, use, remove) */
    SW_RESTORE,   /* a: gossip_member_restore(): x < 100 fake member x, else node x-100's old record */
    SW_REPLAY,    /* recorded datagram x (y & 1: from the old pool; y & 2: spoof b) to node a */
    SW_QUIET,     /* a quiet period of dur starts: convergence is checked at its end */
    SW_N_KINDS
};

struct sw_action {
    uint64_t t;
    uint8_t kind;           /* enum sw_kind */
    uint16_t a, b;
    uint32_t dur;
    uint32_t x, y;
    int64_t wall;           /* START/RESTART: wall clock offset of the new life, ms */
    double p;
    uint8_t groups[SW_MAX_NODES];
};

struct sw_schedule {
    struct sw_config cfg;
    struct sw_action act[SW_MAX_ACTIONS];
    unsigned n_act;
    char name[128];         /* regression files: what it shows */
    char expect[32];        /* regression files: the invariant it violates (or "") */
    char strict[128];       /* regression files: the known-bug flags turned off for it ("" = none) */
};

const char *sw_kind_name(unsigned kind);

/* Draw a cluster and a fault schedule from `seed` (the same seed, the same
 * schedule, on every host). */
void sw_generate(uint64_t seed, struct sw_schedule *s);

/* Write / read the text form (test/swarm-regress/ *.swarm).  Read returns
 * 0, or -1 with a message in err. */
void sw_write(const struct sw_schedule *s, FILE *f);
int sw_read(const char *path, struct sw_schedule *s, char *err, size_t errlen);
void sw_sort_actions(struct sw_schedule *s);

/* ------------------------------------------------------------------ bounds */

/* Every bound an invariant uses, in ms, derived from the configuration
 * (see the derivation in swarm_sched.c, sw_bounds()). */
struct sw_bounds {
    uint32_t stretch;   /* 1 + awareness-max: Lifeguard's longest stretch */
    uint64_t probe;     /* P: a probe start to its accusation */
    uint64_t susp_min, susp_max;
    uint64_t susp;      /* S: a suspicion's whole life, verification ping included */
    unsigned limit;     /* L: transmissions of one update per holder */
    uint64_t spread;    /* D: one update through the cluster by gossip */
    uint64_t sync_iv;   /* longest gap between two full-view exchanges of one node */
    uint64_t reconnect; /* R: a healed side knocks on the other */
    uint64_t window;    /* W: the healthy window before a failure that makes it false */
    uint64_t converge;  /* B_conv: quiet start to agreement */
    uint64_t detect;    /* B_det: a crash to "failed" at every running node */
    uint64_t event;     /* B_ev: a broadcast to delivery at every healthy node */
    uint32_t healthy_rtt; /* a link is healthy while its round trip stays below this */
};

void sw_bounds(const struct sw_config *c, struct sw_bounds *b);

/* ------------------------------------------------------------------ heap accounting */

/* Returns the node (index) an allocation made now belongs to, or -1. */
typedef int (*sw_owner_fn)(void);
/* False when the allocator is not ours (sanitizers own malloc). */
bool sw_alloc_available(void);
void sw_alloc_set_owner(sw_owner_fn fn);
/* Live bytes and blocks allocated by node i (still allocated). */
int64_t sw_alloc_live(unsigned node);
int64_t sw_alloc_blocks(unsigned node);
/* Print node i's blocks (debugging). */
void sw_alloc_dump(unsigned node, FILE *f);
/* Forget every attribution (between runs). */
void sw_alloc_reset(void);

#endif /* GOSSIP_TEST_SWARM_H */
