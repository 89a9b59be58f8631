/*
 * The swarm runner: randomized fault schedules over many seeds on the
 * deterministic simulator, with the cluster's promises checked while it
 * runs (FoundationDB-style simulation testing for libgossip).
 *
 * Each seed draws a cluster and a schedule (swarm_sched.c): 3..64 nodes,
 * heartbeat and tuning inside their documented ranges, roles (some with
 * node lists, some QUORUM, some NO_FAILOVER), and fault windows followed
 * by quiet periods.  Faults: crashes, restarts (with the wall clock an
 * hour behind or a little behind or ahead, twice within one millisecond),
 * pauses (the process stalls; its datagrams queue and are read on wake),
 * partitions into 2 or 3 groups, one-way cuts, loss on one link or all,
 * slow or reordering links, duplicated datagrams, graceful leaves and
 * returns.  Beside them, things that must change nothing or only what they
 * say: metadata changes, cluster events, key rotation steps (install, use,
 * remove, each on every node at once, as the docs prescribe), restored
 * member records (gossip_member_restore(): a fake member nobody runs, or a
 * node's record from an earlier life), and replays of recorded datagrams
 * (the last ones sent, or any one sampled from the whole run) to any node
 * at any later time, from the original sender's address or a spoofed one.
 *
 * The invariants and where their bounds come from (sw_bounds() derives
 * every bound from the configuration; the derivation is written there):
 *
 *  convergence      at the end of every quiet period, every pair of
 *                   running nodes agrees: each sees the other alive, at its
 *                   current generation and version, with its metadata; and
 *                   they agreed within B_conv of the quiet start.  Roles
 *                   agree too (role-agreement): every running node names
 *                   the same holders, and holds a role exactly when it is
 *                   one of them.
 *  detection        a node down for B_det is failed, left or forgotten at
 *                   every running node at the end of a quiet period.
 *  false-failure    no node is declared failed (at its current generation)
 *                   while it and every link to and from it were healthy
 *                   through the W before.
 *  false-failure-by-peer  no node declares a peer failed that it reached
 *                   both ways through the W before (both processes running,
 *                   both links healthy), whatever hearsay arrives.
 *  left-reported-failed  a node that left is never reported failed by a
 *                   node it could tell (running, reachable, alive in the
 *                   leaver's view when it left).
 *  event-twice / event-missing / event-after-replay / event-corrupt  every
 *                   cluster event is delivered at most once per node life,
 *                   with its origin and bytes; to every node that was
 *                   running through [broadcast, broadcast + B_ev] on a
 *                   healthy network while its origin ran; and never by a
 *                   replayed datagram.
 *  replay-changed-state  a replayed datagram causes no callback at all.
 *  restore-spread   a restored record stays where it was restored: no
 *                   other node ever reports a restored fake member.
 *  quorum-two-holders  a QUORUM role never has two holders (running, not
 *                   stalled) at two consecutive virtual instants.
 *  callback-query   in every role callback gossip_role_held() says the
 *                   same; no role callback repeats the state; in every
 *                   member callback gossip_member_get() knows the member
 *                   at that incarnation or a newer one (or no longer, for
 *                   "removed"); and between calls the state last reported
 *                   by the callbacks is what the queries return, for every
 *                   member and role of every node.
 *  busy-loop        gossip_next_timeout_ms() never returns 0 after two
 *                   calls in a row with no work done between them (work:
 *                   a datagram sent or received, any stats counter or the
 *                   awareness changed, a callback).
 *  memory-bound / leak  a node's heap (every byte its handle allocated and
 *                   still holds, libcrypto's included) stays below
 *                   base + members * (1 KiB + 2 max-meta) + 3 pending *
 *                   (max-event + 96) + 64 KiB, base being what it held
 *                   right after gossip_create(); and it is 0 again after
 *                   gossip_destroy().  Under sanitizers: member counts.
 *
 * Known bugs.  Each open bug that an invariant finds is tolerated by a
 * named flag (the table `kb` below, with its issue), narrowly: only the
 * situation that bug produces is let through, the invariant still holds
 * everywhere else.  `make test-swarm` runs with the flags of open bugs set,
 * so it passes on the library as it is; `--strict` (and `make swarm-known`,
 * which replays the minimised schedules in test/swarm-regress/known/)
 * turns them off.  When a fix lands, clear its flag's `tolerated` and
 * move its schedule up to test/swarm-regress/.
 *
 * A violation prints the seed, the invariant, what was seen, the bound,
 * the trace lines of the nodes involved in the window before it, and how
 * to replay it (`make swarm SEED=n`).  `--minimise` shrinks a failing
 * schedule (delta debugging over its actions) and writes it as a
 * regression case.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "gossip.h"
#include "sim.h"
#include "swarm.h"

/* ------------------------------------------------------------------ known bugs */

enum kb {
    KB_ZERO_TIMEOUT,    /* busy loop under raised awareness */
    KB_RESTORE_SPREAD,  /* a restored record spreads */
    KB_QUORUM_HANDBACK, /* two QUORUM holders at hand-back */
    KB_CLOCK_BEHIND,    /* a restart whose generation is below its previous life's is locked out */
    KB_REPLAY_RESTART,  /* replays accepted by a receiver that restarted since */
    KB_HEARSAY_FAILED,  /* "failed" from hearsay by nodes that reached the member all along */
    KB_COLD_START,      /* two failover holders that do not know each other while views form */
    KB_REPLAY_CROSS,    /* a datagram recorded on its way to one node is accepted by another */
    KB_FORGETS_FAILED,  /* a (re)started node never learns the failed members: smaller QUORUM majority */
    KB_LEASE_RTT,       /* the QUORUM lease is lost on a healthy network whose round trip exceeds hb/2 */
    KB_QUORUM_ALONE,    /* a node holds its listed QUORUM roles at its first tick, alone in its view */
    KB_LEAVING_ACCUSES, /* a leaving node declares a suspect failed without the verification ping */
    KB_VERIFY_CUT,      /* a confirmation during the verification ping pulls the deadline back */
    KB_N
};

struct kb_info {
    const char *name;
    const char *issue;
    const char *what;
    bool tolerated; /* open: let through in the default run */
};

static struct kb_info kb[KB_N] = {
    [KB_ZERO_TIMEOUT] = {"zero-timeout", "12",
                         "gossip_next_timeout_ms() returns 0 again after a tick that did nothing while a "
                         "probe outlasts the probe period (awareness raised, probe + 2 indirect timeouts "
                         ">= heartbeat, or a stall through the next probe time)", false},
    [KB_RESTORE_SPREAD] = {"restore-spread", "12",
                           "a record given to gossip_member_restore() reaches other nodes", false},
    [KB_QUORUM_HANDBACK] = {"quorum-handback", "12",
                            "a QUORUM role has two holders for a few ms after a heal, while one of them still "
                            "holds the other failed (hand-back, or a take-over from a stale view) (fixed: a stall past the lease "
                            "lets go, a take waits for the holder that replaced a suspect; 36cb729; and for the one "
                            "that replaced a listed partner we hear but it may not, seed 1012)", false},
    [KB_CLOCK_BEHIND] = {"clock-behind", "11",
                         "a node restarted with a generation below its previous life's (wall clock "
                         "behind, two starts in one ms) is locked out, or, as a listed QUORUM node, holds "
                         "its role beside the failover holder for a few ms while it moves past its earlier "
                         "life (fixed: wire format 2 moves past; a COOKIE is no hand-back ack, seed 148; a "
                         "member failed in our view may have left in the holder's, seed 270; an event broadcast "
                         "before the first view waits for its id until the generation has moved past, seed 2618)",
                         false},
    [KB_REPLAY_RESTART] = {"replay-restarted", "11",
                           "a datagram recorded before the receiver restarted is accepted by it", false},
    [KB_HEARSAY_FAILED] = {"hearsay-failed", "15",
                           "a gossiped \"failed\" is applied at once, also by nodes that reach the member",
                           false},
    [KB_COLD_START] = {"cold-start-failover", "12",
                       "while views still form (cold start, restart) a node fails a QUORUM role over to "
                       "itself without knowing the node that holds it (no longer seen: QUORUM roles wait for a view "
                       "that is not a fragment, listed nodes count in the majority; a view is no fragment when a "
                       "settled member says so, not by generations: a clock ahead made every member look "
                       "established, seed 1939)", false},
    [KB_REPLAY_CROSS] = {"replay-cross", "11",
                         "a datagram recorded on its way to one node, replayed to another, is accepted "
                         "(the destination is not authenticated; one counter covers all destinations)", false},
    [KB_FORGETS_FAILED] = {"forgets-failed", "new",
                           "a node that (re)starts never learns the members the others hold failed or left: "
                           "its QUORUM majority counts fewer members, and a stale alive record of a member "
                           "that left is taken later (then reported failed) (fixed: listed nodes count in the "
                           "majority, 8ef5f41; seed 730 passes since; a goodbye of a member we did not know is "
                           "kept, lives.c, and a leaving node sends it to lives it learns of meanwhile, seed 433; "
                           "the failed members a full view names count against a restarted node's QUORUM "
                           "majority, seed 1667)",
                           false},
    [KB_QUORUM_ALONE] = {"quorum-alone", "new",
                         "a listed node holds its QUORUM roles from its first tick, alone in its view (a "
                         "majority of one): beside the failover holder, and on the minority side of a partition "
                         "(fixed: no QUORUM role before a view, deliver.c)",
                         false},
    [KB_LEAVING_ACCUSES] = {"leaving-accuses", "new",
                            "a node that is leaving declares a member failed when a suspicion it only heard "
                            "of expires (suspicion_expire() skips the verification ping while leaving and "
                            "falls through to failed)", false},
    [KB_VERIFY_CUT] = {"verify-cut", "new",
                       "a suspicion heard from others expires, the verification ping goes out, and a "
                       "confirmation arriving before its answer recomputes the deadline from the start "
                       "(suspicion_confirm() -> suspicion_deadline()): declared failed at the next tick", false},
    [KB_LEASE_RTT] = {"lease-rtt", "new",
                      "the QUORUM lease (heard from a majority within one heartbeat, pinged at half of it) "
                      "is lost on a healthy network whose round trip exceeds half a heartbeat (fixed: lease pings "
                      "timed by the probe timeout, an answer rechecks, the lease end has its own timer)", false},
};

/* ------------------------------------------------------------------ invariants */

enum inv {
    INV_NONE = 0,
    INV_CONVERGE,
    INV_ROLE_AGREE,
    INV_DETECT,
    INV_FALSE_FAILURE,
    INV_FALSE_FAILURE_PEER,
    INV_LEFT_FAILED,
    INV_EVENT_TWICE,
    INV_EVENT_MISSING,
    INV_EVENT_REPLAY,
    INV_EVENT_CORRUPT,
    INV_REPLAY_CHANGE,
    INV_RESTORE_SPREAD,
    INV_QUORUM,
    INV_CB_QUERY,
    INV_BUSY_LOOP,
    INV_MEMORY,
    INV_LEAK,
    INV_SIM,
    INV_N
};

static const char *const inv_names[INV_N] = {
    "none", "convergence", "role-agreement", "detection", "false-failure", "false-failure-by-peer",
    "left-reported-failed", "event-twice", "event-missing", "event-after-replay", "event-corrupt",
    "replay-changed-state", "restore-spread", "quorum-two-holders", "callback-query", "busy-loop",
    "memory-bound", "leak", "sim",
};

/* ------------------------------------------------------------------ state */

#define MAX_EVENTS 64
#define MAX_FAULTS 128
#define REC_POOL 128
#define REC_BYTES 1400
#define MAX_KEYS 12

typedef void (*member_fn)(void *, enum gossip_event, const struct gossip_member *);
typedef void (*log_fn)(void *, enum gossip_log_level, const char *);

struct node_rt {
    unsigned idx;
    /* the simulator's callbacks and hooks, which ours forward to */
    void *sim_ud;
    member_fn sim_member;
    log_fn sim_log;
    void *sim_ctx;
    uint64_t (*sim_now)(void *);
    uint64_t (*sim_wall)(void *);
    void (*sim_random)(void *, void *, size_t);
    int (*sim_send)(void *, const struct sockaddr *, socklen_t, const void *, size_t);

    unsigned life;           /* lives started */
    unsigned life_seen;      /* the life health_update() last saw */
    int64_t wall_offset;     /* this life's wall clock offset */
    int64_t next_wall;       /* the next life's */
    bool gen_known;
    uint64_t gen;            /* this life's generation */
    uint64_t max_prev_gen;   /* highest generation of an earlier life */
    uint64_t life_start;
    uint64_t down_since;
    uint64_t pause_until;    /* as we asked the simulator */
    uint64_t woke_at;        /* the end of the last pause */
    /* health */
    bool nbad, pbad_proc;
    uint64_t ngood_since, proc_good_since;
    /* roles, as this life's role callbacks said */
    bool held[GOSSIP_MAX_ROLES];
    /* leave */
    bool left;
    uint64_t left_gen, left_t;
    bool left_behind;        /* it left from a life locked out by its generation */
    uint64_t accused_t;      /* last suspect/failed event about this life anywhere */
    bool left_accused;       /* accused within W before it left */
    uint64_t informed;       /* bit i: node i had to learn of the leave */
    uint64_t informed_blind; /* ... although it did not know the leaver yet */
    unsigned informed_life[SW_MAX_NODES];
    /* the loop contract */
    bool zero;
    uint64_t zsig, work;
    uint64_t zero_t;
    /* cluster events delivered to this life */
    uint8_t evc[MAX_EVENTS];
    /* metadata this life published */
    uint8_t meta[255];
    unsigned meta_len;
    /* an earlier life's record, for restores of stale records */
    bool have_prev;
    struct gossip_member prev;
    uint8_t prev_meta[255];
    /* heap */
    int64_t mem_base, mem_peak;
    bool mem_base_known;
};

struct fault {
    uint8_t kind;
    uint16_t a, b;
    double p;
    uint32_t x, y;
    uint64_t until;
    uint8_t groups[SW_MAX_NODES];
};

struct ev_rec {
    uint64_t t0;
    unsigned origin, origin_life;
    size_t len;
    bool live;    /* broadcast accepted */
    bool checked; /* delivery checked */
};

struct rec {
    uint64_t t;
    uint16_t from, to;
    uint16_t len;
    bool delivered; /* the network did not drop it on the way (it may still find its node down) */
    uint64_t sender_gen; /* the generation of the life that sent it */
    uint8_t data[REC_BYTES];
};

struct run_stats {
    unsigned quiet_checked;
    double conv_ratio_max;   /* time to converge / B_conv */
    unsigned events, events_checked;
    unsigned replays, faults;
    uint64_t tolerated[KB_N];
    uint64_t sim_events, virt_ms;
    unsigned n;
    int64_t mem_peak;        /* over nodes */
    double mem_ratio_max;    /* heap / bound */
};

struct violation {
    enum inv inv;
    uint64_t t, ws;
    int n1, n2;
    char msg[600];
};

struct swarm {
    const struct sw_schedule *sched;
    struct sw_config cfg;
    struct sw_bounds b;
    sim_t *sim;
    unsigned n;
    bool verbose;
    struct node_rt nd[SW_MAX_NODES];
    /* roles as every node was configured */
    unsigned n_roles;
    char role_name[GOSSIP_MAX_ROLES][GOSSIP_ROLE_NAME_MAX];
    unsigned role_flags[GOSSIP_MAX_ROLES];
    uint64_t role_listed[GOSSIP_MAX_ROLES]; /* bit i: node i listed */
    uint64_t hearsay[SW_MAX_NODES]; /* bit j of [i]: i holds j failed from tolerated hearsay */
    uint64_t susp_heard[SW_MAX_NODES]; /* bit j of [i]: i's suspicion of j came from a datagram */
    /* network model */
    struct fault faults[MAX_FAULTS];
    unsigned n_faults;
    bool partitioned;
    unsigned groups_applied[SW_MAX_NODES];
    double loss_applied;
    uint32_t lat_applied, jit_applied;
    unsigned n_links_applied;
    double dup_p;
    uint64_t max_delay; /* the longest one-way delay the network ever had */
    bool linkbad[SW_MAX_NODES][SW_MAX_NODES];
    bool unreach[SW_MAX_NODES][SW_MAX_NODES]; /* partitioned apart or cut */
    bool pbad[SW_MAX_NODES][SW_MAX_NODES];
    uint64_t pgood[SW_MAX_NODES][SW_MAX_NODES];
    bool net_bad;
    uint64_t net_good_since;
    uint64_t last_process_change;
    /* quiet periods */
    bool in_quiet;
    uint64_t q_start, q_end;
    int64_t q_conv_at;
    /* cluster events */
    struct ev_rec ev[MAX_EVENTS];
    unsigned n_ev;
    /* restored fakes: bit i = restored at node i */
    uint64_t fake_at[SW_MAX_FAKES];
    /* restored records of real nodes: generation and where */
    struct restored_rec { unsigned node; uint64_t gen, at; } restored[16];
    unsigned n_restored;
    /* keys: the ring a new life gets (indices into keys[]) */
    uint8_t keys[MAX_KEYS][GOSSIP_KEY_LEN];
    bool have_k0;
    unsigned ring[GOSSIP_MAX_KEYS];
    unsigned n_ring;
    /* recorded datagrams */
    struct rec recent[REC_POOL], old[REC_POOL];
    unsigned n_recent, recent_pos, n_old;
    uint64_t n_recorded;
    struct sim_rng rng; /* the runner's own choices at run time */
    bool in_replay;
    bool feeding; /* inside one of our own gossip_feed() calls */
    uint64_t replay_t, replay_gen;
    unsigned replay_src;
    unsigned replay_dst;
    /* allocation attribution */
    int excluded;
    int override_owner;
    /* results */
    struct violation v;
    struct run_stats st;
};

static struct swarm *S;

static bool tolerate(enum kb k)
{
    if (!kb[k].tolerated)
        return false;
    S->st.tolerated[k]++;
    return true;
}

/* ------------------------------------------------------------------ helpers */

static uint64_t now_ms(void)
{
    return sim_now(S->sim);
}

static gossip_t *H(unsigned i)
{
    return sim_handle(S->sim, i);
}

static bool running(unsigned i)
{
    return sim_node_state(S->sim, i) == SIM_NODE_UP && !sim_is_paused(S->sim, i);
}

static int subject_of(uint64_t id)
{
    if (id < (uint64_t)S->n)
        return (int)id;
    return -1;
}

static int fake_of(uint64_t id)
{
    if (id >= (uint64_t)S->n && id < (uint64_t)S->n + SW_MAX_FAKES)
        return (int)(id - S->n);
    return -1;
}

static void node_addr(unsigned index, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(GOSSIP_DEFAULT_PORT);
    sa->sin_addr.s_addr = htonl(0x0a000000u | ((index + 1) & 0xffffffu));
}

static int addr_to_index(const struct sockaddr *sa, socklen_t len)
{
    if (sa->sa_family != AF_INET || len < (socklen_t)sizeof(struct sockaddr_in))
        return -1;
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    uint32_t a = ntohl(in->sin_addr.s_addr) & 0xffffffu;
    return a >= 1 && a <= SW_MAX_NODES + SW_MAX_FAKES ? (int)a - 1 : -1;
}

static uint64_t gen_of(unsigned i)
{
    struct gossip_member m;
    gossip_t *g = H(i);
    if (!g || gossip_member_get(g, sim_node_id(S->sim, i), &m) != 0)
        return 0;
    return m.generation;
}

static bool clock_behind(unsigned i)
{
    struct node_rt *r = &S->nd[i];
    return r->life > 1 && r->gen_known && r->gen <= r->max_prev_gen;
}

static int incarnation_cmp(uint64_t ga, uint32_t va, uint64_t gb, uint32_t vb)
{
    if (ga != gb)
        return ga < gb ? -1 : 1;
    if (va != vb)
        return va < vb ? -1 : 1;
    return 0;
}

static int role_index(const char *name)
{
    for (unsigned r = 0; r < S->n_roles; r++)
        if (strcmp(S->role_name[r], name) == 0)
            return (int)r;
    return -1;
}

/* ------------------------------------------------------------------ violations */

static void violate(enum inv inv, int n1, int n2, uint64_t ws, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void violate(enum inv inv, int n1, int n2, uint64_t ws, const char *fmt, ...)
{
    if (S->v.inv != INV_NONE)
        return; /* the first one is the one reported */
    S->v.inv = inv;
    S->v.t = now_ms();
    S->v.ws = ws;
    S->v.n1 = n1;
    S->v.n2 = n2;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(S->v.msg, sizeof S->v.msg, fmt, ap);
    va_end(ap);
    S->excluded++;
    sim_note(S->sim, "swarm VIOLATION %s", inv_names[inv]);
    S->excluded--;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    S->excluded++; /* the trace grows: not the node's heap */
    sim_note(S->sim, "swarm %s", buf);
    S->excluded--;
    if (S->verbose)
        printf("t=%" PRIu64 " %s\n", now_ms(), buf);
}

/* Does a trace line mention node k (as observer, subject or sim target)? */
static bool line_mentions(const char *line, size_t len, int k)
{
    if (k < 0)
        return false;
    char pat[3][24];
    snprintf(pat[0], sizeof pat[0], "node=%d", k);
    snprintf(pat[1], sizeof pat[1], "member=%d", k);
    snprintf(pat[2], sizeof pat[2], " %d->", k);
    for (int p = 0; p < 3; p++) {
        size_t pl = strlen(pat[p]);
        for (const char *s = line; s + pl <= line + len; s++) {
            if (memcmp(s, pat[p], pl) == 0) {
                char c = s + pl < line + len ? s[pl] : ' ';
                if (c < '0' || c > '9')
                    return true;
            }
        }
    }
    if (k >= 0) { /* "->k " of a link note */
        char pat2[24];
        snprintf(pat2, sizeof pat2, "->%d ", k);
        size_t pl = strlen(pat2);
        for (const char *s = line; s + pl <= line + len; s++)
            if (memcmp(s, pat2, pl) == 0)
                return true;
    }
    return false;
}

static bool line_global(const char *line, size_t len)
{
    static const char *const g[] = {" sim partition", " sim heal", " sim loss", " sim latency",
                                    " sim links cleared", "swarm key", "swarm quiet", "swarm dup",
                                    "VIOLATION"};
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
        size_t gl = strlen(g[k]);
        for (const char *s = line; s + gl <= line + len; s++)
            if (memcmp(s, g[k], gl) == 0)
                return true;
    }
    return false;
}

/* The trace lines around a violation: those of the nodes involved and the
 * network changes, from the start of the window the invariant looks at. */
static void print_trace_excerpt(FILE *f, size_t max_lines)
{
    size_t len;
    const char *tr = sim_trace(S->sim, &len);
    if (!tr)
        return;
    uint64_t from = S->v.ws;
    const char *p = tr, *end = tr + len;
    /* first the lives of the nodes involved, from the start */
    static const char *const life_words[] = {"swarm crash", "swarm start", "swarm restart", "swarm leave",
                                             "generation", "swarm pause"};
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        uint64_t t = ll > 2 && p[0] == 't' && p[1] == '=' ? strtoull(p + 2, NULL, 10) : 0;
        if (t >= from)
            break;
        bool lw = false;
        for (size_t k = 0; k < sizeof life_words / sizeof life_words[0] && !lw; k++) {
            size_t wl = strlen(life_words[k]);
            for (const char *q = p; q + wl <= p + ll && !lw; q++)
                lw = memcmp(q, life_words[k], wl) == 0;
        }
        if (lw && strstr(p, " sim swarm") && strstr(p, " sim swarm") < p + ll &&
            (line_mentions(p, ll, S->v.n1) || line_mentions(p, ll, S->v.n2)))
            fprintf(f, "    %.*s\n", (int)ll, p);
        p = nl ? nl + 1 : end;
    }
    fprintf(f, "    ...\n");
    p = tr;
    /* two passes: count, then print the last max_lines */
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t seen = 0;
        p = tr;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
            uint64_t t = 0;
            if (ll > 2 && p[0] == 't' && p[1] == '=')
                t = strtoull(p + 2, NULL, 10);
            if (t >= from && t <= S->v.t &&
                (line_mentions(p, ll, S->v.n1) || line_mentions(p, ll, S->v.n2) || line_global(p, ll))) {
                if (pass == 0)
                    total++;
                else if (max_lines == 0 || seen + max_lines >= total)
                    fprintf(f, "    %.*s\n", (int)ll, p);
                seen++;
            }
            p = nl ? nl + 1 : end;
        }
        if (pass == 0 && max_lines && total > max_lines)
            fprintf(f, "    (%zu earlier lines left out; -v prints them)\n", total - max_lines);
    }
}

/* ------------------------------------------------------------------ health */

static bool unhealthy_delay(uint32_t lat, uint32_t jit)
{
    /* a probe's ack must be back strictly before the probe timeout */
    return 2ull * (lat + jit) + 1 > S->cfg.pt;
}

static bool proc_bad(unsigned i)
{
    enum sim_node_state st = sim_node_state(S->sim, i);
    return st != SIM_NODE_UP || sim_is_paused(S->sim, i);
}

/* Recompute who is healthy now, and since when (only when a process or
 * the network changed since the last time: it is O(n^2)). */
static bool net_dirty = true;

static void health_update(void)
{
    unsigned n = S->n;
    uint64_t now = now_ms();
    static uint32_t seen[SW_MAX_NODES];
    bool changed = net_dirty;
    for (unsigned i = 0; i < n; i++) {
        uint32_t sig = (uint32_t)sim_node_state(S->sim, i) | (sim_is_paused(S->sim, i) ? 4u : 0u) |
                       (S->nd[i].life << 3);
        if (sig != seen[i]) {
            seen[i] = sig;
            changed = true;
        }
    }
    if (!changed)
        return;
    net_dirty = false;
    bool pb[SW_MAX_NODES], fresh[SW_MAX_NODES];
    for (unsigned i = 0; i < n; i++) {
        struct node_rt *r = &S->nd[i];
        pb[i] = proc_bad(i);
        fresh[i] = r->life != r->life_seen;
        r->life_seen = r->life;
        if (pb[i])
            r->pbad_proc = true;
        else if (r->pbad_proc || fresh[i]) {
            r->pbad_proc = false;
            r->proc_good_since = now;
        }
    }
    bool any = false;
    for (unsigned a = 0; a < n; a++)
        for (unsigned b = 0; b < n; b++)
            any |= a != b && S->linkbad[a][b];
    if (any)
        S->net_bad = true;
    else if (S->net_bad) {
        S->net_bad = false;
        S->net_good_since = now;
    }
    for (unsigned j = 0; j < n; j++) {
        struct node_rt *r = &S->nd[j];
        bool bad = pb[j];
        for (unsigned k = 0; k < n && !bad; k++)
            bad = k != j && (S->linkbad[j][k] || S->linkbad[k][j]);
        if (bad)
            r->nbad = true;
        else if (r->nbad || fresh[j]) {
            r->nbad = false;
            r->ngood_since = now;
        }
    }
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = i + 1; j < n; j++) {
            bool bad = pb[i] || pb[j] || S->linkbad[i][j] || S->linkbad[j][i];
            if (bad)
                S->pbad[i][j] = S->pbad[j][i] = true;
            else if (S->pbad[i][j] || fresh[i] || fresh[j]) {
                S->pbad[i][j] = S->pbad[j][i] = false;
                S->pgood[i][j] = S->pgood[j][i] = now;
            }
        }
}

/* The network faults in force now, applied to the simulator. */
static void apply_network(void)
{
    unsigned n = S->n;
    uint64_t now = now_ms();
    /* expire */
    for (unsigned k = 0; k < S->n_faults;) {
        if (S->faults[k].until <= now) {
            S->faults[k] = S->faults[--S->n_faults];
            continue;
        }
        k++;
    }
    unsigned groups[SW_MAX_NODES];
    bool part = false;
    double loss = 0, dup = 0;
    uint32_t lat = S->cfg.lat, jit = S->cfg.jit;
    bool delayed = false;
    static double link[SW_MAX_NODES][SW_MAX_NODES];
    memset(link, 0, sizeof link);
    for (unsigned i = 0; i < n; i++)
        groups[i] = 0;
    for (unsigned k = 0; k < S->n_faults; k++) {
        const struct fault *f = &S->faults[k];
        switch (f->kind) {
        case SW_PARTITION:
            part = true;
            for (unsigned i = 0; i < n; i++)
                groups[i] = groups[i] * 3 + f->groups[i];
            break;
        case SW_CUT:
            link[f->a][f->b] = 1.0;
            break;
        case SW_LINKLOSS:
            if (f->p > link[f->a][f->b])
                link[f->a][f->b] = f->p;
            break;
        case SW_LOSS:
            if (f->p > loss)
                loss = f->p;
            break;
        case SW_DELAY:
            if (!delayed || f->x > lat)
                lat = f->x;
            if (!delayed || f->y > jit)
                jit = f->y;
            delayed = true;
            break;
        case SW_DUP:
            if (f->p > dup)
                dup = f->p;
            break;
        default:
            break;
        }
    }
    /* partition */
    bool same = part == S->partitioned;
    for (unsigned i = 0; i < n && same && part; i++)
        same = groups[i] == S->groups_applied[i];
    if (!same) {
        if (part)
            sim_partition(S->sim, groups);
        else
            sim_heal(S->sim);
        S->partitioned = part;
        memcpy(S->groups_applied, groups, sizeof groups);
    }
    /* per-link: rebuilt whenever anything is in force or was */
    unsigned nl = 0;
    for (unsigned a = 0; a < n; a++)
        for (unsigned b = 0; b < n; b++)
            nl += link[a][b] > 0;
    if (nl || S->n_links_applied) {
        sim_links_clear(S->sim);
        for (unsigned a = 0; a < n; a++)
            for (unsigned b = 0; b < n; b++)
                if (link[a][b] > 0)
                    sim_link_set(S->sim, a, b, link[a][b], -1, -1);
        S->n_links_applied = nl;
    }
    if (loss != S->loss_applied) {
        sim_set_loss(S->sim, loss);
        S->loss_applied = loss;
    }
    if ((uint64_t)lat + jit > S->max_delay)
        S->max_delay = (uint64_t)lat + jit;
    if (lat != S->lat_applied || jit != S->jit_applied) {
        sim_set_latency(S->sim, lat, jit);
        S->lat_applied = lat;
        S->jit_applied = jit;
    }
    if (dup != S->dup_p)
        note("dup %.2f", dup);
    S->dup_p = dup;
    bool slow = unhealthy_delay(lat, jit);
    net_dirty = true;
    for (unsigned a = 0; a < n; a++)
        for (unsigned b = 0; b < n; b++)
            S->linkbad[a][b] = a != b && ((part && groups[a] != groups[b]) || link[a][b] > 0 || loss > 0 || slow);
    for (unsigned a = 0; a < n; a++)
        for (unsigned b = 0; b < n; b++)
            S->unreach[a][b] = a != b && ((part && groups[a] != groups[b]) || link[a][b] >= 1.0);
}

/* ------------------------------------------------------------------ roles */

static bool holder_counts(unsigned i)
{
    return sim_node_state(S->sim, i) != SIM_NODE_DOWN && !sim_is_paused(S->sim, i);
}

/*
 * QUORUM roles.  A QUORUM role with a node list is a singleton duty
 * whenever a node that is not listed holds it (the failover holder must be
 * alone), and always when one node is listed; with no list every node
 * holds it by design.  An overlap is two such holders (running, not
 * stalled); it is a violation once it lasts past the instant it began.
 * What caused it is read off the holders' views when it begins:
 *   behind   a holder runs a life locked out by its generation (issue 11)
 *   hearsay  a holder holds the other failed from tolerated hearsay (15)
 *   alone    a holder took the role while alone in its view, a majority of
 *            one (found here)
 *   blind    a holder does not know the other holder at all: a view that
 *            is still forming (cold start, restart; issue 12), unless they
 *            are partitioned apart
 *   forgets  a holder never heard of a member the other holds failed (a
 *            restarted node does not learn the failed: found here)
 *   stale    a holder still holds the other failed or suspect: the views
 *            of a healed partition converge at different moments (the
 *            hand-back of issue 12, in either direction)
 */
struct overlap {
    bool active, judged;
    uint64_t t;
    int a, b; /* the two holders: a is the later one */
    bool behind, hearsay, alone, blind, stale, forgets, split;
};

static struct overlap ovl[GOSSIP_MAX_ROLES];
static bool took_alone[SW_MAX_NODES][GOSSIP_MAX_ROLES]; /* holding since a tick alone in its view */

static void quorum_check(unsigned r)
{
    struct overlap *o = &ovl[r];
    if (!o->active || o->judged || now_ms() <= o->t)
        return;
    o->judged = true; /* one verdict per overlap */
    /* one cause, the most specific that applies, and only its flag can let
     * the overlap through (so that each flag, turned off, shows its bug) */
    int cause = o->behind ? KB_CLOCK_BEHIND : o->forgets ? KB_FORGETS_FAILED : o->hearsay ? KB_HEARSAY_FAILED
              : o->alone ? KB_QUORUM_ALONE
              /* across a partition a view that is still forming excuses
               * nothing: that is what QUORUM is for */
              : o->blind && !o->split ? KB_COLD_START : o->stale ? KB_QUORUM_HANDBACK : -1;
    if (cause >= 0 && tolerate((enum kb)cause))
        return;
    violate(INV_QUORUM, o->a, o->b, o->t > 10ull * S->cfg.hb ? o->t - 10ull * S->cfg.hb : 0,
            "QUORUM role %s held by nodes %d and %d from t=%" PRIu64 " to at least t=%" PRIu64
            " (node %d, %s, took it last%s; each knows the other alive: %s%s)",
            S->role_name[r], o->a, o->b, o->t, now_ms(), o->a, ((S->role_listed[r] >> o->a) & 1) ? "listed" : "not listed",
            o->alone ? "; one of them took it alone in its view" : "", o->blind || o->stale ? "no" : "yes",
            o->split ? "; they cannot reach each other" : "");
}

/* What holder x's view says about holder y. */
static void judge_pair(struct overlap *o, unsigned r, int x, int y)
{
    gossip_t *g = H((unsigned)x);
    struct gossip_member m;
    o->behind |= clock_behind((unsigned)x);
    o->hearsay |= (S->hearsay[x] >> y) & 1;
    o->alone |= took_alone[x][r];
    o->split |= S->unreach[x][y];
    /* does some node hold failed a member that x never heard of?  (then
     * x counts its majority over fewer members) */
    for (unsigned k = 0; g && k < S->n && !o->forgets; k++) {
        struct gossip_member mx, mz;
        if (k == (unsigned)x || gossip_member_get(g, sim_node_id(S->sim, k), &mx) == 0)
            continue;
        for (unsigned z = 0; z < S->n && !o->forgets; z++)
            if (z != (unsigned)x && z != k && H(z) && gossip_member_get(H(z), sim_node_id(S->sim, k), &mz) == 0 &&
                mz.state == GOSSIP_FAILED)
                o->forgets = true;
    }
    if (!g || gossip_member_get(g, sim_node_id(S->sim, (unsigned)y), &m) != 0)
        o->blind = true;
    else if (m.state != GOSSIP_ALIVE || m.generation != S->nd[y].gen)
        o->stale = true;
}

static void quorum_recount(unsigned r, int changed)
{
    if (!(S->role_flags[r] & GOSSIP_ROLE_QUORUM) || !S->role_listed[r])
        return;
    int holders[SW_MAX_NODES];
    unsigned c = 0;
    bool stranger = false;
    for (unsigned i = 0; i < S->n; i++)
        if (S->nd[i].held[r] && holder_counts(i)) {
            holders[c++] = (int)i;
            stranger |= !((S->role_listed[r] >> i) & 1);
        }
    struct overlap *o = &ovl[r];
    if (c < 2 || !stranger) {
        o->active = false;
        return;
    }
    if (o->active)
        return;
    memset(o, 0, sizeof *o);
    o->active = true;
    o->t = now_ms();
    o->a = changed >= 0 ? changed : holders[c - 1];
    o->b = holders[0] == o->a ? holders[1] : holders[0];
    for (unsigned k = 0; k < c; k++)
        for (unsigned l = 0; l < c; l++)
            if (k != l)
                judge_pair(o, r, holders[k], holders[l]);
}

static void quorum_all(int changed)
{
    for (unsigned r = 0; r < S->n_roles; r++) {
        quorum_check(r);
        quorum_recount(r, changed);
    }
}

/* ------------------------------------------------------------------ callbacks */

/* Lives a tolerated replay brought back: what follows from them (they are
 * probed, suspected, declared failed) is that bug's, not another's. */
struct ghost {
    unsigned node;
    uint64_t gen;
    enum kb flag;
};
static struct ghost ghosts[64];
static unsigned n_ghosts;
static int replay_flag = -1; /* the flag that let the replay in progress through */

static bool ghost_of(unsigned j, uint64_t gen)
{
    for (unsigned k = 0; k < n_ghosts; k++)
        if (ghosts[k].node == j && ghosts[k].gen == gen) {
            (void)tolerate(ghosts[k].flag);
            return true;
        }
    return false;
}

static void check_failed(unsigned i, int j, const struct gossip_member *m)
{
    struct node_rt *sj = &S->nd[j];
    uint64_t now = now_ms();
    /* a life that a host gave back with gossip_member_restore(): the node
     * that restored it probes it and declares it failed, as documented;
     * anywhere else it came by the restore spreading (issue 12) */
    for (unsigned k = 0; k < S->n_restored; k++)
        if (S->restored[k].node == (unsigned)j && S->restored[k].gen == m->generation) {
            if (!((S->restored[k].at >> i) & 1))
                (void)tolerate(KB_RESTORE_SPREAD);
            return;
        }
    if (ghost_of((unsigned)j, m->generation))
        return;
    bool leaving = sim_node_state(S->sim, i) == SIM_NODE_LEAVING;
    bool hearsay = S->in_replay || S->feeding || sim_current_call(S->sim) == SIM_CALL_FEED;
    /* a life that left */
    if (sj->left && m->generation == sj->left_gen && ((sj->informed >> i) & 1) &&
        sj->informed_life[i] == S->nd[i].life && ((sj->informed_blind >> i) & 1) && tolerate(KB_FORGETS_FAILED))
        return; /* the leave of a member it did not know yet was dropped; a stale record came later */
    if (sj->left && m->generation == sj->left_gen && ((sj->informed >> i) & 1) &&
        sj->informed_life[i] == S->nd[i].life && (sj->left_behind || clock_behind(i)) && tolerate(KB_CLOCK_BEHIND))
        return; /* a leave sealed by a locked-out life is dropped like the rest (issue 11) */
    /* a verdict under way when it left (it was unreachable, or accused by
     * someone who could not reach it) may still arrive before the leave */
    if (sj->left && m->generation == sj->left_gen && sj->left_accused && now <= sj->left_t + S->b.window)
        return;
    if (sj->left && m->generation == sj->left_gen && ((sj->informed >> i) & 1) &&
        sj->informed_life[i] == S->nd[i].life) {
        violate(INV_LEFT_FAILED, (int)i, j, sj->left_t > S->cfg.hb ? sj->left_t - S->cfg.hb : 0,
                "node %u reports node %d failed (generation %" PRIu64 "), which left at t=%" PRIu64
                " while node %u was running, reachable and alive in its view",
                i, j, m->generation, sj->left_t, i);
        return;
    }
    if (sim_node_state(S->sim, (unsigned)j) != SIM_NODE_UP || !sj->gen_known || m->generation != sj->gen)
        return; /* a crashed node, a leaving one, or an earlier life: a fair verdict */
    uint64_t W = S->b.window;
    uint64_t ws = now > W ? now - W : 0;
    if (now < W)
        return;
    /* a node locked out by a generation below its previous life's cannot
     * reach anyone, nor be reached (issue 11) */
    if ((clock_behind(i) || clock_behind((unsigned)j)) && kb[KB_CLOCK_BEHIND].tolerated) {
        if ((!sj->nbad && sj->ngood_since <= ws) || (!S->pbad[i][j] && S->pgood[i][j] <= ws))
            (void)tolerate(KB_CLOCK_BEHIND);
        return;
    }
    if (!sj->nbad && sj->ngood_since <= ws) {
        if (leaving && !hearsay && tolerate(KB_LEAVING_ACCUSES))
            return;
        if (hearsay && tolerate(KB_HEARSAY_FAILED)) {
            S->hearsay[i] |= 1ull << j;
            return;
        }
        violate(INV_FALSE_FAILURE, (int)i, j, ws,
                "node %u declares node %d failed at t=%" PRIu64 " (%s); node %d and all its links were "
                "healthy since t=%" PRIu64 ", W=%" PRIu64 " ms",
                i, j, now, hearsay ? "from a received datagram" : "its own verdict", j, sj->ngood_since, W);
        return;
    }
    if (!S->pbad[i][j] && S->pgood[i][j] <= ws && S->nd[i].life_start <= ws) {
        if (leaving && !hearsay && tolerate(KB_LEAVING_ACCUSES))
            return;
        /* its own probes of j succeed: a verdict of its own can only come
         * from a heard suspicion whose verification was cut short */
        if (!hearsay && ((S->susp_heard[i] >> j) & 1) && tolerate(KB_VERIFY_CUT))
            return;
        if (hearsay && tolerate(KB_HEARSAY_FAILED)) {
            S->hearsay[i] |= 1ull << j;
            return;
        }
        violate(INV_FALSE_FAILURE_PEER, (int)i, j, ws,
                "node %u declares node %d failed at t=%" PRIu64 " (%s) although both ran and the links "
                "between them were healthy since t=%" PRIu64 ", W=%" PRIu64 " ms",
                i, j, now, hearsay ? "from a received datagram" : "its own verdict", S->pgood[i][j], W);
    }
}

static bool replay_tolerated(unsigned receiver)
{
    /* the sender runs a life whose generation is below the recorded one's:
     * its old traffic outranks its new life (issue 11) */
    if (S->replay_src < S->n && S->nd[S->replay_src].gen < S->replay_gen)
        replay_flag = KB_CLOCK_BEHIND;
    /* the receiver restarted after the datagram was recorded (issue 11) */
    else if (S->replay_t < S->nd[receiver].life_start)
        replay_flag = KB_REPLAY_RESTART;
    /* it was on its way to another node (issue 11) */
    else if (receiver != S->replay_dst)
        replay_flag = KB_REPLAY_CROSS;
    else
        return false;
    return tolerate((enum kb)replay_flag);
}

static void wrap_member(void *ud, enum gossip_event ev, const struct gossip_member *m)
{
    struct node_rt *r = ud;
    unsigned i = r->idx;
    S->excluded++;
    r->sim_member(r->sim_ud, ev, m);
    S->excluded--;
    r->work++;
    if (S->v.inv != INV_NONE)
        return;
    int j = subject_of(m->id), fk = fake_of(m->id);
    if (S->in_replay && replay_tolerated(i)) {
        if (j >= 0 && (ev == GOSSIP_EVENT_JOIN || ev == GOSSIP_EVENT_ALIVE) && n_ghosts < 64 &&
            !(sim_node_state(S->sim, (unsigned)j) != SIM_NODE_DOWN && S->nd[j].gen == m->generation))
            ghosts[n_ghosts++] = (struct ghost){(unsigned)j, m->generation, (enum kb)replay_flag};
    } else if (S->in_replay) {
        violate(INV_REPLAY_CHANGE, (int)i, j, now_ms() > 2ull * S->cfg.hb ? now_ms() - 2ull * S->cfg.hb : 0,
                "a datagram recorded at t=%" PRIu64 " (to node %u) and replayed to node %u made it report "
                "%s for member %" PRIu64,
                S->replay_t, S->replay_dst, i, gossip_event_name(ev), m->id);
        return;
    }
    if (fk >= 0 && !((S->fake_at[fk] >> i) & 1)) {
        if (!tolerate(KB_RESTORE_SPREAD))
            violate(INV_RESTORE_SPREAD, (int)i, -1, now_ms() > 20ull * S->cfg.hb ? now_ms() - 20ull * S->cfg.hb : 0,
                    "node %u reports %s for member %" PRIu64 ", a record restored only at node(s) %#" PRIx64,
                    i, gossip_event_name(ev), m->id, S->fake_at[fk]);
        return;
    }
    /* the snapshot says what the event says */
    static const int want[] = {[GOSSIP_EVENT_JOIN] = GOSSIP_ALIVE, [GOSSIP_EVENT_ALIVE] = GOSSIP_ALIVE,
                               [GOSSIP_EVENT_SUSPECT] = GOSSIP_SUSPECT, [GOSSIP_EVENT_FAILED] = GOSSIP_FAILED,
                               [GOSSIP_EVENT_LEFT] = GOSSIP_LEFT};
    gossip_t *g = H(i);
    if (ev == GOSSIP_EVENT_CONFLICT || !g)
        return;
    if (ev <= GOSSIP_EVENT_LEFT && (int)m->state != want[ev]) {
        violate(INV_CB_QUERY, (int)i, j, now_ms(), "node %u: %s callback for member %" PRIu64 " with state %s",
                i, gossip_event_name(ev), m->id, gossip_state_name((int)m->state));
        return;
    }
    struct gossip_member q;
    int rc = gossip_member_get(g, m->id, &q);
    if (ev == GOSSIP_EVENT_REMOVED) {
        if (rc != GOSSIP_ENOTFOUND)
            violate(INV_CB_QUERY, (int)i, j, now_ms(),
                    "node %u: removed callback for member %" PRIu64 " but gossip_member_get() finds it", i, m->id);
        return;
    }
    if (rc != 0) {
        violate(INV_CB_QUERY, (int)i, j, now_ms(),
                "node %u: %s callback for member %" PRIu64 " that gossip_member_get() does not know", i,
                gossip_event_name(ev), m->id);
        return;
    }
    int c = incarnation_cmp(q.generation, q.version, m->generation, m->version);
    if (c < 0 || (c == 0 && q.state < m->state)) {
        violate(INV_CB_QUERY, (int)i, j, now_ms(),
                "node %u: %s callback for member %" PRIu64 " at (%" PRIu64 ", %u, %s) while "
                "gossip_member_get() says (%" PRIu64 ", %u, %s)",
                i, gossip_event_name(ev), m->id, m->generation, m->version, gossip_state_name((int)m->state),
                q.generation, q.version, gossip_state_name((int)q.state));
        return;
    }
    if (j >= 0 && (ev == GOSSIP_EVENT_ALIVE || ev == GOSSIP_EVENT_JOIN || ev == GOSSIP_EVENT_REMOVED))
        S->hearsay[i] &= ~(1ull << j);
    if (j >= 0 && (ev == GOSSIP_EVENT_SUSPECT || ev == GOSSIP_EVENT_FAILED) && S->nd[j].gen_known &&
        m->generation == S->nd[j].gen)
        S->nd[j].accused_t = now_ms();
    if (j >= 0 && ev == GOSSIP_EVENT_SUSPECT) {
        bool heard = S->in_replay || S->feeding || sim_current_call(S->sim) == SIM_CALL_FEED;
        if (heard)
            S->susp_heard[i] |= 1ull << j;
        else
            S->susp_heard[i] &= ~(1ull << j);
    }
    if (ev == GOSSIP_EVENT_FAILED && j >= 0 && (unsigned)j != i)
        check_failed(i, j, m);
}

static void wrap_role(void *ud, const char *role, bool held)
{
    struct node_rt *r = ud;
    unsigned i = r->idx;
    r->work++;
    if (S->v.inv != INV_NONE)
        return;
    int ri = role_index(role);
    if (ri < 0) {
        violate(INV_CB_QUERY, (int)i, -1, now_ms(), "node %u: role callback for an undeclared role %s", i, role);
        return;
    }
    if (S->in_replay && !replay_tolerated(i)) {
        violate(INV_REPLAY_CHANGE, (int)i, -1, now_ms() > 2ull * S->cfg.hb ? now_ms() - 2ull * S->cfg.hb : 0,
                "a datagram recorded at t=%" PRIu64 " replayed to node %u made it %s role %s", S->replay_t, i,
                held ? "take" : "give up", role);
    }
    gossip_t *g = H(i);
    int q = g ? gossip_role_held(g, role) : -1;
    if (q != (int)held) {
        violate(INV_CB_QUERY, (int)i, -1, now_ms(),
                "node %u: role callback %s held=%d while gossip_role_held() returns %d", i, role, (int)held, q);
        return;
    }
    if (r->held[ri] == held) {
        violate(INV_CB_QUERY, (int)i, -1, now_ms(), "node %u: role callback %s held=%d repeats the last one", i,
                role, (int)held);
        return;
    }
    quorum_check((unsigned)ri);
    r->held[ri] = held;
    took_alone[i][ri] = held && g && gossip_member_count(g, GOSSIP_STATES_ALL) <= 1;
    quorum_recount((unsigned)ri, held ? (int)i : -1);
    S->excluded++;
    sim_note(S->sim, "swarm role node=%u %s held=%d", i, role, (int)held);
    S->excluded--;
}

static void event_payload(unsigned idx, size_t len, uint8_t *out)
{
    for (size_t k = 0; k < len; k++)
        out[k] = (uint8_t)(idx * 131u + k * 7u + 3u);
    if (len >= 4) {
        out[0] = 'S';
        out[1] = 'W';
        out[2] = (uint8_t)idx;
        out[3] = (uint8_t)(idx >> 8);
    }
}

static void wrap_user(void *ud, uint64_t origin, const void *data, size_t len)
{
    struct node_rt *r = ud;
    unsigned i = r->idx;
    r->work++;
    if (S->v.inv != INV_NONE)
        return;
    const uint8_t *d = data;
    if (len < 4 || d[0] != 'S' || d[1] != 'W') {
        violate(INV_EVENT_CORRUPT, (int)i, -1, now_ms(), "node %u: a cluster event of %zu bytes nobody sent", i, len);
        return;
    }
    unsigned idx = d[2] | (unsigned)d[3] << 8;
    if (idx >= S->n_ev || !S->ev[idx].live) {
        violate(INV_EVENT_CORRUPT, (int)i, -1, now_ms(), "node %u: cluster event %u that was never broadcast", i, idx);
        return;
    }
    struct ev_rec *e = &S->ev[idx];
    uint8_t want[512];
    event_payload(idx, e->len, want);
    if (len != e->len || memcmp(want, data, len) != 0 || origin != sim_node_id(S->sim, e->origin)) {
        violate(INV_EVENT_CORRUPT, (int)i, (int)e->origin, e->t0,
                "node %u: cluster event %u delivered with origin %" PRIu64 " and %zu bytes, sent by node %u with %zu",
                i, idx, origin, len, e->origin, e->len);
        return;
    }
    if (S->in_replay && !replay_tolerated(i)) {
        violate(INV_EVENT_REPLAY, (int)i, (int)e->origin, e->t0,
                "node %u: cluster event %u (broadcast by node %u at t=%" PRIu64 ") delivered by a datagram "
                "recorded at t=%" PRIu64 " and replayed",
                i, idx, e->origin, e->t0, S->replay_t);
        return;
    }
    if (++r->evc[idx] > 1)
        violate(INV_EVENT_TWICE, (int)i, (int)e->origin, e->t0,
                "node %u: cluster event %u (broadcast by node %u at t=%" PRIu64 ") delivered %u times to one life",
                i, idx, e->origin, e->t0, r->evc[idx]);
}

static void wrap_log(void *ud, enum gossip_log_level level, const char *msg)
{
    struct node_rt *r = ud;
    S->excluded++;
    if (r->sim_log)
        r->sim_log(r->sim_ud, level, msg);
    S->excluded--;
}

/* ------------------------------------------------------------------ hooks */

static uint64_t wrap_now(void *ctx)
{
    struct node_rt *r = ctx;
    return r->sim_now(r->sim_ctx);
}

static uint64_t wrap_wall(void *ctx)
{
    struct node_rt *r = ctx;
    return (uint64_t)((int64_t)r->sim_wall(r->sim_ctx) + r->wall_offset);
}

static void wrap_random(void *ctx, void *buf, size_t len)
{
    struct node_rt *r = ctx;
    r->sim_random(r->sim_ctx, buf, len);
}

static void record(unsigned from, int to, const void *buf, size_t len, bool delivered)
{
    if (len > REC_BYTES || to < 0)
        return;
    struct rec *x = &S->recent[S->recent_pos];
    S->recent_pos = (S->recent_pos + 1) % REC_POOL;
    if (S->n_recent < REC_POOL)
        S->n_recent++;
    x->t = now_ms();
    x->from = (uint16_t)from;
    x->to = (uint16_t)to;
    x->len = (uint16_t)len;
    x->delivered = delivered;
    x->sender_gen = S->nd[from].gen;
    memcpy(x->data, buf, len);
    /* and a uniform sample of the whole run (reservoir) */
    S->n_recorded++;
    struct rec *y = NULL;
    if (S->n_old < REC_POOL)
        y = &S->old[S->n_old++];
    else {
        uint64_t k = sim_rng_below(&S->rng, S->n_recorded);
        if (k < REC_POOL)
            y = &S->old[k];
    }
    if (y)
        *y = *x;
}

static int wrap_send(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf, size_t len)
{
    struct node_rt *r = ctx;
    struct sim_stats a, b;
    sim_stats_get(S->sim, &a);
    S->excluded++;
    int rc = r->sim_send(r->sim_ctx, to, to_len, buf, len);
    if (S->dup_p > 0 && sim_rng_double(&S->rng) < S->dup_p)
        (void)r->sim_send(r->sim_ctx, to, to_len, buf, len);
    S->excluded--;
    sim_stats_get(S->sim, &b);
    /* routed at least once: fewer drops than copies sent */
    uint64_t sent = b.sent - a.sent;
    uint64_t dropped = (b.dropped_loss - a.dropped_loss) + (b.dropped_cut - a.dropped_cut) +
                       (b.dropped_down - a.dropped_down);
    record(r->idx, addr_to_index(to, to_len), buf, len, dropped < sent);
    return rc;
}

/* A signature of everything the stats say a node did (sum of the
 * monotonic counters, and the awareness). */
static uint64_t work_sig(const struct gossip_stats *s)
{
    const uint64_t c[] = {
        s->sent_datagrams, s->sent_bytes, s->send_errors, s->recv_datagrams, s->recv_bytes, s->drop_short,
        s->drop_oversize, s->drop_version, s->drop_key, s->drop_auth, s->drop_replay, s->drop_malformed,
        s->drop_self, s->drop_full, s->probes, s->indirect_probes, s->indirect_requests, s->nacks_sent,
        s->nacks_received, s->suspicions, s->refutations, s->failures, s->joins, s->leaves, s->syncs,
        s->events_delivered, s->conflicts, s->over_limit,
    };
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        h ^= c[k];
        h *= 0x100000001b3ULL;
    }
    h ^= s->awareness;
    h *= 0x100000001b3ULL;
    return h;
}

static void on_timeout(void *ud, sim_t *sim, unsigned i, int d, bool after_tick)
{
    (void)ud;
    struct node_rt *r = &S->nd[i];
    gossip_t *g = sim_handle(sim, i);
    if (!g)
        return;
    if (!r->gen_known) { /* right after gossip_create() */
        r->gen = gen_of(i);
        r->gen_known = true;
        if (r->life > 1)
            note("node=%u life %u generation %" PRIu64 "%s", i, r->life, r->gen,
                 r->gen <= r->max_prev_gen ? " (below an earlier life's)" : "");
    }
    if (!r->mem_base_known && sw_alloc_available()) {
        r->mem_base = sw_alloc_live(i);
        r->mem_base_known = true;
    }
    if (d != 0 || sim_is_paused(sim, i)) {
        /* (a stalled process asks nothing; the runner's own calls into it,
         * key steps, do not count) */
        r->zero = false;
        return;
    }
    struct gossip_stats st;
    gossip_stats_get(g, &st);
    uint64_t sig = work_sig(&st) ^ (r->work * 0x9e3779b97f4a7c15ULL);
    /* the host ticked on the first 0 (the simulator ticks when the timer
     * fires), and the tick did nothing: it would spin */
    if (after_tick && r->zero && sig == r->zsig && S->v.inv == INV_NONE) {
        /* the known mechanism (issue 12): probe_next_deadline() reports the
         * next probe while the current one still runs, and probe_tick()
         * waits for that probe's own deadline.  A probe outlasts the probe
         * period when awareness stretched its later phases, when its three
         * phases add up to a heartbeat or more, or when the process stalled
         * through the next probe time and resumes the probe on wake. */
        uint64_t probe_len = (S->cfg.pt + 2ull * S->cfg.it) * S->b.stretch;
        uint64_t woke = r->pause_until && sim_now(sim) >= r->pause_until ? r->pause_until : r->woke_at;
        bool known = st.awareness > 0 || S->cfg.pt + 2ull * S->cfg.it >= S->cfg.hb ||
                     (woke && sim_now(sim) < woke + probe_len);
        if (!(known && tolerate(KB_ZERO_TIMEOUT)))
            violate(INV_BUSY_LOOP, (int)i, -1, r->zero_t > S->cfg.hb ? r->zero_t - S->cfg.hb : 0,
                    "node %u: gossip_next_timeout_ms() returned 0 after the call at t=%" PRIu64
                    " and again after the next one at t=%" PRIu64 ", which did no work (awareness %u)",
                    i, r->zero_t, sim_now(sim), st.awareness);
    }
    r->zero = true;
    r->zsig = sig;
    r->zero_t = sim_now(sim);
}

static void configure(void *ud, sim_t *sim, unsigned i, struct gossip_config *cfg)
{
    (void)ud;
    struct node_rt *r = &S->nd[i];
    const struct sw_config *c = &S->cfg;
    /* the previous life, if any */
    if (r->life > 0) {
        if (r->gen_known && r->gen > r->max_prev_gen)
            r->max_prev_gen = r->gen;
    }
    r->idx = i;
    r->sim_ud = cfg->cb.ud;
    r->sim_member = cfg->cb.member;
    r->sim_log = cfg->cb.log;
    r->sim_ctx = cfg->hooks.ctx;
    r->sim_now = cfg->hooks.now_ms;
    r->sim_wall = cfg->hooks.wall_ms;
    r->sim_random = cfg->hooks.random;
    r->sim_send = cfg->hooks.send;
    cfg->cb.ud = r;
    cfg->cb.member = wrap_member;
    cfg->cb.role = wrap_role;
    cfg->cb.user_event = wrap_user;
    cfg->cb.log = wrap_log;
    cfg->hooks.ctx = r;
    cfg->hooks.now_ms = wrap_now;
    cfg->hooks.wall_ms = wrap_wall;
    cfg->hooks.random = wrap_random;
    cfg->hooks.send = wrap_send;
    cfg->probe_timeout_ms = c->pt;
    cfg->indirect_timeout_ms = c->it;
    cfg->indirect_checks = c->ichecks;
    cfg->suspicion_mult = c->smult;
    cfg->suspicion_max_mult = c->smax;
    cfg->suspicion_confirmations = c->sconf;
    cfg->retransmit_mult = c->rmult;
    cfg->gossip_interval_ms = c->gi;
    cfg->gossip_fanout = c->fanout;
    cfg->sync_interval_ms = c->sync_ms;
    cfg->ae_records = c->ae;
    cfg->reconnect_interval_ms = c->ri;
    cfg->reap_ms = c->reap_ms;
    cfg->awareness_max = c->aw;
    cfg->max_datagram = c->max_dgram;
    cfg->max_meta = c->max_meta;
    cfg->max_event = c->max_event;
    cfg->max_pending_events = c->max_pending;
    if ((c->wall_gen >> i) & 1)
        cfg->generation = 0; /* from the wall clock, as by default */
    if (!c->default_roles) {
        cfg->n_roles = 0;
        for (unsigned k = 0; k < c->n_roles; k++) {
            uint64_t ids[SW_MAX_ROLE_NODES];
            for (unsigned m = 0; m < c->roles[k].n; m++)
                ids[m] = sim_node_id(sim, c->roles[k].nodes[m]);
            (void)gossip_config_set_role(cfg, c->roles[k].name, ids, c->roles[k].n, c->roles[k].flags);
        }
    }
    if (S->n_roles == 0) { /* the role table, as the first node got it */
        S->n_roles = cfg->n_roles;
        for (unsigned k = 0; k < cfg->n_roles; k++) {
            snprintf(S->role_name[k], sizeof S->role_name[k], "%s", cfg->roles[k].name);
            S->role_flags[k] = cfg->roles[k].flags;
            for (unsigned m = 0; m < cfg->roles[k].n_nodes; m++)
                if (cfg->roles[k].nodes[m] < SW_MAX_NODES)
                    S->role_listed[k] |= 1ull << cfg->roles[k].nodes[m];
        }
    }
    /* the keyring of the cluster as it stands */
    if (!S->have_k0) {
        memcpy(S->keys[0], cfg->keys[0], GOSSIP_KEY_LEN);
        S->have_k0 = true;
    }
    cfg->n_keys = 0;
    for (unsigned k = 0; k < S->n_ring; k++)
        (void)gossip_config_add_raw_key(cfg, S->keys[S->ring[k]]);
    /* this life's bookkeeping */
    r->life++;
    r->wall_offset = r->next_wall;
    r->next_wall = 0;
    r->gen_known = false;
    r->life_start = sim_now(sim);
    memset(r->held, 0, sizeof r->held);
    memset(r->evc, 0, sizeof r->evc);
    r->meta_len = 0;
    r->zero = false;
    r->work = 0;
    r->mem_base_known = false;
    r->left = false;
    r->accused_t = 0;
    S->hearsay[i] = 0;
    S->susp_heard[i] = 0;
    S->last_process_change = sim_now(sim);
}

/* ------------------------------------------------------------------ actions */

static void save_prev(unsigned i)
{
    struct node_rt *r = &S->nd[i];
    gossip_t *g = H(i);
    struct gossip_member m;
    if (!g || gossip_member_get(g, sim_node_id(S->sim, i), &m) != 0)
        return;
    r->prev = m;
    r->prev.state = GOSSIP_ALIVE;
    r->prev.is_self = false;
    memcpy(r->prev_meta, m.meta ? m.meta : (const uint8_t *)"", m.meta_len);
    r->prev.meta = m.meta_len ? r->prev_meta : NULL;
    r->have_prev = true;
}

static void leak_check(unsigned i)
{
    if (!sw_alloc_available())
        return;
    int64_t live = sw_alloc_live(i);
    if (live != 0 && S->v.inv == INV_NONE)
        violate(INV_LEAK, (int)i, -1, now_ms(), "node %u: %" PRId64 " bytes in %" PRId64
                " blocks still allocated after gossip_destroy() (life %u)",
                i, live, sw_alloc_blocks(i), S->nd[i].life);
    if (live != 0)
        sw_alloc_reset(); /* one report is enough */
}

static void node_down(unsigned i)
{
    struct node_rt *r = &S->nd[i];
    save_prev(i);
    sim_crash(S->sim, i);
    r->down_since = now_ms();
    memset(r->held, 0, sizeof r->held);
    leak_check(i);
    S->last_process_change = now_ms();
}

static void do_start(unsigned i, int64_t wall)
{
    if (sim_node_state(S->sim, i) != SIM_NODE_DOWN)
        return;
    S->nd[i].next_wall = wall;
    int rc = sim_start(S->sim, i);
    if (rc != 0)
        violate(INV_SIM, (int)i, -1, now_ms(), "node %u: sim_start() failed: %s", i, gossip_strerror(rc));
}

static void with_owner(unsigned i)
{
    S->override_owner = (int)i;
}

static void without_owner(void)
{
    S->override_owner = -1;
}

static void act_key(unsigned step)
{
    unsigned rot = step / 3, ph = step % 3;
    if (rot + 1 >= MAX_KEYS)
        return;
    for (unsigned k = rot + 1; k < MAX_KEYS && k <= rot + 1; k++)
        for (unsigned b = 0; b < GOSSIP_KEY_LEN; b++)
            S->keys[k][b] = (uint8_t)(S->cfg.seed * 0x9e3779b97f4a7c15ULL >> (b % 8 * 8)) ^ (uint8_t)(k * 37 + b);
    const uint8_t *knew = S->keys[rot + 1], *kold = S->keys[rot];
    static const char *const what[] = {"install", "use", "remove"};
    note("key step %u: %s key %u", step, what[ph], ph == 2 ? rot : rot + 1);
    for (unsigned i = 0; i < S->n; i++) {
        gossip_t *g = H(i);
        if (!g)
            continue;
        with_owner(i);
        if (ph == 0)
            (void)gossip_key_install(g, knew);
        else if (ph == 1)
            (void)gossip_key_use(g, gossip_key_id(knew));
        else
            (void)gossip_key_remove(g, gossip_key_id(kold));
        without_owner();
        sim_rearm(S->sim, i);
    }
    /* the ring a new life gets */
    int pos_new = -1, pos_old = -1;
    for (unsigned k = 0; k < S->n_ring; k++) {
        if (S->ring[k] == rot + 1)
            pos_new = (int)k;
        if (S->ring[k] == rot)
            pos_old = (int)k;
    }
    if (ph == 0 && pos_new < 0 && S->n_ring < GOSSIP_MAX_KEYS) {
        S->ring[S->n_ring++] = rot + 1;
    } else if (ph == 1 && pos_new > 0) {
        unsigned x = S->ring[pos_new];
        memmove(&S->ring[1], &S->ring[0], (size_t)pos_new * sizeof S->ring[0]);
        S->ring[0] = x;
    } else if (ph == 2 && pos_old > 0) {
        memmove(&S->ring[pos_old], &S->ring[pos_old + 1], (S->n_ring - (unsigned)pos_old - 1) * sizeof S->ring[0]);
        S->n_ring--;
    }
}

static void act_restore(unsigned a, unsigned x)
{
    gossip_t *g = H(a);
    if (!g || !running(a))
        return;
    struct gossip_member m;
    memset(&m, 0, sizeof m);
    struct sockaddr_in sa;
    if (x < SW_MAX_FAKES) {
        m.id = sim_node_id(S->sim, S->n + x);
        m.generation = 1000 + x;
        node_addr(S->n + x, &sa);
        memcpy(&m.addr, &sa, sizeof sa);
        m.addr_len = sizeof sa;
        S->fake_at[x] |= 1ull << a;
        note("restore node=%u fake member %" PRIu64, a, m.id);
    } else {
        unsigned b = x - 100;
        if (b >= S->n || b == a)
            return;
        if (S->nd[b].have_prev) {
            m = S->nd[b].prev;
        } else {
            gossip_t *gb = H(b);
            if (!gb || gossip_member_get(gb, sim_node_id(S->sim, b), &m) != 0)
                return;
            m.version = 0;
            m.meta = NULL;
            m.meta_len = 0;
        }
        m.state = GOSSIP_ALIVE;
        m.is_self = false;
        unsigned k = 0;
        while (k < S->n_restored && !(S->restored[k].node == b && S->restored[k].gen == m.generation))
            k++;
        if (k == S->n_restored && k < 16)
            S->restored[S->n_restored++] = (struct restored_rec){b, m.generation, 0};
        if (k < 16)
            S->restored[k].at |= 1ull << a;
        note("restore node=%u record of node %u (generation %" PRIu64 ", version %u)", a, b, m.generation,
             m.version);
    }
    with_owner(a);
    int rc = gossip_member_restore(g, &m);
    without_owner();
    if (rc != 0)
        note("restore node=%u: %s", a, gossip_strerror(rc));
    sim_rearm(S->sim, a);
}

static void act_replay(const struct sw_action *a)
{
    unsigned to = a->a;
    if (to >= S->n || !H(to) || sim_is_paused(S->sim, to))
        return;
    struct rec *pool = (a->y & 1) ? S->old : S->recent;
    unsigned n = (a->y & 1) ? S->n_old : S->n_recent;
    if (n == 0)
        return;
    const struct rec *x = &pool[a->x % n];
    unsigned from = (a->y & 2) && a->b < S->n ? a->b : x->from;
    struct sockaddr_in sa;
    node_addr(from, &sa);
    static uint8_t buf[REC_BYTES];
    memcpy(buf, x->data, x->len);
    /* one its destination never got (dropped, or still in flight), to the
     * same life: a late (or early) copy, not a replay: the network may
     * delay and duplicate what it did not drop */
    bool late = (!x->delivered || now_ms() <= x->t + S->max_delay) && to == x->to && S->nd[to].life_start <= x->t;
    note("replay to node=%u: datagram of t=%" PRIu64 " from node=%u to node=%u (%u bytes)%s%s", to, x->t, x->from,
         x->to, x->len, from != x->from ? " from a spoofed source" : "", late ? " (never delivered: a late one)" : "");
    S->st.replays++;
    S->in_replay = !late;
    S->replay_t = x->t;
    S->replay_dst = x->to;
    S->replay_src = x->from;
    S->replay_gen = x->sender_gen;
    with_owner(to);
    S->feeding = true;
    (void)gossip_feed(H(to), (const struct sockaddr *)&sa, sizeof sa, buf, x->len);
    S->feeding = false;
    without_owner();
    S->in_replay = false;
    sim_rearm(S->sim, to);
}

static void add_fault(const struct sw_action *a)
{
    if (S->n_faults >= MAX_FAULTS)
        return;
    struct fault *f = &S->faults[S->n_faults++];
    memset(f, 0, sizeof *f);
    f->kind = a->kind;
    f->a = a->a < S->n ? a->a : 0;
    f->b = a->b < S->n ? a->b : 0;
    if (f->a == f->b && (a->kind == SW_CUT || a->kind == SW_LINKLOSS))
        f->b = (uint16_t)((f->a + 1) % S->n);
    f->p = a->p;
    f->x = a->x;
    f->y = a->y;
    f->until = now_ms() + (a->dur ? a->dur : 1);
    for (unsigned i = 0; i < S->n; i++)
        f->groups[i] = a->groups[i] % 3;
    S->st.faults++;
    if (a->kind == SW_PARTITION) {
        char g[SW_MAX_NODES + 1];
        for (unsigned i = 0; i < S->n; i++)
            g[i] = (char)('0' + f->groups[i]);
        g[S->n] = '\0';
        note("partition %s for %u ms", g, a->dur);
    } else if (a->kind == SW_CUT || a->kind == SW_LINKLOSS) {
        note("%s %u->%u p=%.2f for %u ms", sw_kind_name(a->kind), f->a, f->b, a->kind == SW_CUT ? 1.0 : a->p, a->dur);
    } else if (a->kind == SW_LOSS || a->kind == SW_DUP) {
        note("%s p=%.2f for %u ms", sw_kind_name(a->kind), a->p, a->dur);
    } else if (a->kind == SW_DELAY) {
        note("delay %u+%u for %u ms%s", a->x, a->y, a->dur, unhealthy_delay(a->x, a->y) ? " (slow)" : " (reorders)");
    }
    apply_network();
}

static void do_action(const struct sw_action *a)
{
    unsigned i = a->a < S->n ? a->a : 0;
    uint64_t now = now_ms();
    switch (a->kind) {
    case SW_CRASH:
        if (sim_node_state(S->sim, i) == SIM_NODE_DOWN)
            break;
        note("crash node=%u", i);
        node_down(i);
        quorum_all(-1);
        break;
    case SW_START:
        if (sim_node_state(S->sim, i) != SIM_NODE_DOWN)
            break;
        note("start node=%u wall%+" PRId64, i, a->wall);
        do_start(i, a->wall);
        break;
    case SW_RESTART:
        note("restart node=%u wall%+" PRId64 "%s", i, a->wall, (a->x & 1) ? " twice in one ms" : "");
        if (sim_node_state(S->sim, i) != SIM_NODE_DOWN)
            node_down(i);
        quorum_all(-1);
        do_start(i, a->wall);
        if (a->x & 1) {
            /* let the first of the two lives run its first tick (it sends its
             * joins), then start the second in the same millisecond */
            (void)sim_run_until(S->sim, now);
            node_down(i);
            quorum_all(-1);
            do_start(i, a->wall);
        }
        break;
    case SW_PAUSE:
        if (!H(i) || sim_is_paused(S->sim, i))
            break;
        note("pause node=%u for %u ms", i, a->dur);
        sim_pause(S->sim, i, a->dur);
        S->nd[i].pause_until = now + a->dur;
        S->last_process_change = now + a->dur;
        quorum_all(-1);
        break;
    case SW_LEAVE: {
        if (sim_node_state(S->sim, i) != SIM_NODE_UP || sim_is_paused(S->sim, i))
            break;
        struct node_rt *r = &S->nd[i];
        r->informed = 0;
        r->informed_blind = 0;
        gossip_t *g = H(i);
        for (unsigned k = 0; k < S->n; k++) {
            struct gossip_member m;
            /* (a stalled node reads the leave after the news queued before it) */
            if (k == i || sim_node_state(S->sim, k) == SIM_NODE_DOWN || sim_is_paused(S->sim, k) || S->linkbad[i][k] ||
                gossip_member_get(g, sim_node_id(S->sim, k), &m) != 0 || m.state > GOSSIP_SUSPECT)
                continue;
            r->informed |= 1ull << k;
            r->informed_life[k] = S->nd[k].life;
            struct gossip_member mk;
            if (H(k) && gossip_member_get(H(k), sim_node_id(S->sim, i), &mk) != 0)
                r->informed_blind |= 1ull << k;
        }
        r->left = true;
        r->left_gen = r->gen;
        r->left_behind = clock_behind(i);
        r->left_accused = r->accused_t && r->accused_t + S->b.window >= now;
        r->left_t = now;
        save_prev(i);
        note("leave node=%u grace %u ms", i, a->dur);
        (void)sim_leave(S->sim, i, a->dur ? a->dur : S->cfg.hb);
        r->down_since = now + a->dur;
        S->last_process_change = now + a->dur;
        break;
    }
    case SW_META: {
        gossip_t *g = H(i);
        if (!g || !running(i))
            break;
        struct node_rt *r = &S->nd[i];
        unsigned len = a->x <= S->cfg.max_meta ? a->x : S->cfg.max_meta;
        for (unsigned k = 0; k < len; k++)
            r->meta[k] = (uint8_t)(i * 17u + k + (unsigned)now);
        with_owner(i);
        int rc = gossip_set_meta(g, r->meta, len);
        without_owner();
        if (rc == 0)
            r->meta_len = len;
        note("meta node=%u %u bytes rc=%d", i, len, rc);
        sim_rearm(S->sim, i);
        break;
    }
    case SW_EVENT: {
        gossip_t *g = H(i);
        if (!g || !running(i) || S->n_ev >= MAX_EVENTS)
            break;
        unsigned idx = S->n_ev++;
        struct ev_rec *e = &S->ev[idx];
        size_t len = a->x < 4 ? 4 : a->x > S->cfg.max_event ? S->cfg.max_event : a->x;
        if (len > 512)
            len = 512;
        *e = (struct ev_rec){.t0 = now, .origin = i, .origin_life = S->nd[i].life, .len = len, .live = true};
        uint8_t payload[512];
        event_payload(idx, len, payload);
        with_owner(i);
        int rc = gossip_broadcast(g, payload, len);
        without_owner();
        if (rc != 0)
            e->live = false;
        else
            S->st.events++;
        note("event %u node=%u %zu bytes rc=%d", idx, i, len, rc);
        sim_rearm(S->sim, i);
        break;
    }
    case SW_KEY:
        act_key(a->x);
        break;
    case SW_RESTORE:
        act_restore(i, a->x);
        break;
    case SW_REPLAY:
        act_replay(a);
        break;
    case SW_QUIET:
        S->in_quiet = true;
        S->q_start = now;
        S->q_end = now + a->dur;
        S->q_conv_at = -1;
        note("quiet for %u ms (convergence bound %" PRIu64 ")", a->dur, S->b.converge);
        break;
    default:
        add_fault(a);
        break;
    }
}

/* ------------------------------------------------------------------ checks */

/* Does every running node see every other running node as it is?  On
 * failure, *why says which pair and what. */
static int conv_i = -1, conv_j = -1; /* the pair that disagrees */

static bool any_behind(void)
{
    for (unsigned i = 0; i < S->n; i++)
        if (running(i) && clock_behind(i))
            return true;
    return false;
}

static bool converged(char *why, size_t wl)
{
    conv_i = conv_j = -1;
    /* a seed locked out by its generation cannot let anyone in (issue 11) */
    for (unsigned k = 0; k < S->cfg.n_seeds; k++)
        if (S->cfg.seeds[k] < S->n && running(S->cfg.seeds[k]) && clock_behind(S->cfg.seeds[k]) &&
            kb[KB_CLOCK_BEHIND].tolerated)
            return true;
    for (unsigned i = 0; i < S->n; i++) {
        if (!running(i) || (clock_behind(i) && kb[KB_CLOCK_BEHIND].tolerated))
            continue;
        gossip_t *g = H(i);
        for (unsigned j = 0; j < S->n; j++) {
            if (j == i || !running(j) || (clock_behind(j) && kb[KB_CLOCK_BEHIND].tolerated))
                continue;
            struct node_rt *rj = &S->nd[j];
            struct gossip_member q, self;
            if (gossip_member_get(H(j), sim_node_id(S->sim, j), &self) != 0)
                continue;
            if (gossip_member_get(g, sim_node_id(S->sim, j), &q) != 0) {
                snprintf(why, wl, "node %u does not know node %u", i, j);
                conv_i = (int)i;
                conv_j = (int)j;
                return false;
            }
            if (q.state == GOSSIP_FAILED && ((S->hearsay[i] >> j) & 1) && kb[KB_HEARSAY_FAILED].tolerated) {
                (void)tolerate(KB_HEARSAY_FAILED); /* a late stale verdict restarts the clock (issue 15) */
                continue;
            }
            if (q.state != GOSSIP_ALIVE || q.generation != self.generation || q.version != self.version) {
                snprintf(why, wl, "node %u sees node %u %s at (%" PRIu64 ", %u); it runs at (%" PRIu64 ", %u)", i, j,
                         gossip_state_name((int)q.state), q.generation, q.version, self.generation, self.version);
                conv_i = (int)i;
                conv_j = (int)j;
                return false;
            }
            if (q.meta_len != rj->meta_len || (q.meta_len && memcmp(q.meta, rj->meta, q.meta_len) != 0)) {
                snprintf(why, wl, "node %u has %zu bytes of metadata for node %u, which published %u", i, q.meta_len,
                         j, rj->meta_len);
                conv_i = (int)i;
                conv_j = (int)j;
                return false;
            }
            if (sim_view(S->sim, i, j) != SIM_ALIVE) {
                snprintf(why, wl, "node %u's callbacks last said node %u is %s", i, j,
                         sim_view_name(sim_view(S->sim, i, j)));
                conv_i = (int)i;
                conv_j = (int)j;
                return false;
            }
        }
    }
    return true;
}

static int dump_member(void *ud, const struct gossip_member *m)
{
    (void)ud;
    fprintf(stderr, "    member %" PRIu64 " %s gen %" PRIu64 " ver %u%s\n", m->id, gossip_state_name((int)m->state),
            m->generation, m->version, m->is_self ? " (self)" : "");
    return 0;
}

static void dump_views(void)
{
    for (unsigned i = 0; i < S->n; i++) {
        if (!H(i))
            continue;
        struct gossip_stats st;
        gossip_stats_get(H(i), &st);
        uint32_t keys[8];
        int nk = gossip_key_list(H(i), keys, 8);
        fprintf(stderr, "  node %u's view (sent %" PRIu64 " recv %" PRIu64 " drop: key %" PRIu64 " auth %" PRIu64
                " replay %" PRIu64 " self %" PRIu64 " malformed %" PRIu64 "; awareness %u; keys", i,
                st.sent_datagrams, st.recv_datagrams, st.drop_key, st.drop_auth, st.drop_replay, st.drop_self,
                st.drop_malformed, st.awareness);
        for (int k = 0; k < nk && k < 8; k++)
            fprintf(stderr, " %08x", keys[k]);
        fprintf(stderr, "):\n");
        gossip_member_foreach(H(i), dump_member, NULL);
    }
}

/* A record of a life of node j from before a locked-out life of it that
 * left (issue 11).  That leave is dropped by the nodes that hold the
 * earlier life (its failure or suspicion outranks the lower generation) and
 * taken by a node that started since, which may take the earlier life's
 * record later -- a failure softened by a full-view exchange into a
 * suspicion -- and hold j suspect for a suspicion's time, whatever the
 * others hold. */
static bool before_locked_leave(unsigned j, uint64_t gen)
{
    const struct node_rt *sj = &S->nd[j];
    return !running(j) && sj->left && sj->left_behind && gen != sj->left_gen;
}

static void role_agreement(void)
{
    uint64_t ids[SW_MAX_NODES + 8], first[SW_MAX_NODES + 8];
    /* a node locked out by its generation splits every view (issue 11);
     * a restored record nobody runs counts in a QUORUM majority until it is
     * reaped (restored on purpose, or spread: issue 12) */
    for (unsigned i = 0; i < S->n; i++) {
        if (!running(i))
            continue;
        if (clock_behind(i) && kb[KB_CLOCK_BEHIND].tolerated)
            return;
        for (unsigned f = 0; f < SW_MAX_FAKES; f++) {
            struct gossip_member m;
            if (gossip_member_get(H(i), sim_node_id(S->sim, S->n + f), &m) == 0)
                return;
        }
    }
    for (unsigned j = 0; j < S->n && kb[KB_CLOCK_BEHIND].tolerated; j++)
        for (unsigned i = 0; i < S->n; i++) {
            struct gossip_member m;
            if (running(i) && gossip_member_get(H(i), sim_node_id(S->sim, j), &m) == 0 &&
                m.state <= GOSSIP_SUSPECT && before_locked_leave(j, m.generation)) {
                (void)tolerate(KB_CLOCK_BEHIND);
                return;
            }
        }
    /* the members each node counts: alive, suspect and failed (not left) */
    size_t counted[SW_MAX_NODES];
    for (unsigned i = 0; i < S->n; i++)
        counted[i] = running(i) ? gossip_member_count(H(i), (1u << GOSSIP_ALIVE) | (1u << GOSSIP_SUSPECT) |
                                                                (1u << GOSSIP_FAILED)) : 0;
    for (unsigned r = 0; r < S->n_roles; r++) {
        int nfirst = -1;
        int who = -1;
        for (unsigned i = 0; i < S->n; i++) {
            if (!running(i) || clock_behind(i))
                continue;
            gossip_t *g = H(i);
            int c = gossip_role_holders(g, S->role_name[r], ids, SW_MAX_NODES + 8);
            if (c < 0)
                continue;
            bool in = false;
            for (int k = 0; k < c && k < SW_MAX_NODES + 8; k++)
                in |= ids[k] == sim_node_id(S->sim, i);
            int held = gossip_role_held(g, S->role_name[r]);
            if (held != (int)in && (S->role_flags[r] & GOSSIP_ROLE_QUORUM) && in && !held &&
                4ull * (S->cfg.lat + S->cfg.jit) >= S->cfg.hb && tolerate(KB_LEASE_RTT))
                continue;
            if (held != (int)in) {
                violate(INV_ROLE_AGREE, (int)i, -1, S->q_start,
                        "node %u: gossip_role_held(%s) = %d but the holders it names %s it", i, S->role_name[r], held,
                        in ? "include" : "do not include");
                return;
            }
            if (nfirst < 0) {
                nfirst = c;
                who = (int)i;
                memcpy(first, ids, sizeof ids);
            } else if ((c != nfirst || memcmp(first, ids, (size_t)(c < SW_MAX_NODES + 8 ? c : SW_MAX_NODES + 8) * sizeof ids[0]) != 0) &&
                       (S->role_flags[r] & GOSSIP_ROLE_QUORUM) && counted[i] != counted[who] &&
                       tolerate(KB_FORGETS_FAILED)) {
                continue;
            } else if (c != nfirst || memcmp(first, ids, (size_t)(c < SW_MAX_NODES + 8 ? c : SW_MAX_NODES + 8) * sizeof ids[0]) != 0) {
                char la[200], lb[200];
                size_t pa = 0, pb = 0;
                la[0] = lb[0] = '\0';
                for (int k = 0; k < nfirst && k < 16 && pa < sizeof la - 24; k++)
                    pa += (size_t)snprintf(la + pa, sizeof la - pa, " %" PRIu64, first[k]);
                for (int k = 0; k < c && k < 16 && pb < sizeof lb - 24; k++)
                    pb += (size_t)snprintf(lb + pb, sizeof lb - pb, " %" PRIu64, ids[k]);
                violate(INV_ROLE_AGREE, who, (int)i, S->q_start,
                        "after convergence nodes %d and %u name different holders of %s:%s and%s", who, i,
                        S->role_name[r], la, lb);
                return;
            }
        }
    }
}

static void quiet_end(void)
{
    S->in_quiet = false;
    uint64_t now = now_ms();
    uint64_t start = S->q_start;
    if (S->last_process_change > start)
        start = S->last_process_change;
    if (S->net_bad || S->net_good_since > start)
        start = S->net_bad ? now : S->net_good_since;
    if (start + S->b.converge > now) {
        note("quiet period too short after its last fault (from t=%" PRIu64 "): not checked", start);
        return;
    }
    S->st.quiet_checked++;
    char why[256];
    bool conv = converged(why, sizeof why);
    /* a node locked out by its generation accuses everyone, and its
     * accusations spread (issue 11) */
    if ((!conv || S->q_conv_at < 0 || (uint64_t)S->q_conv_at > start + S->b.converge) && any_behind() &&
        tolerate(KB_CLOCK_BEHIND))
        return;
    if (!conv) {
        violate(INV_CONVERGE, conv_i, conv_j, start,
                "not converged at the end of the quiet period [t=%" PRIu64 ", t=%" PRIu64 "], bound %" PRIu64 " ms: %s",
                start, now, S->b.converge, why);
        return;
    }
    if (S->q_conv_at < 0 || (uint64_t)S->q_conv_at > start + S->b.converge) {
        violate(INV_CONVERGE, -1, -1, start,
                "converged only at t=%" PRId64 ", %" PRId64 " ms after the quiet start t=%" PRIu64 " (bound %" PRIu64 ")",
                S->q_conv_at, S->q_conv_at - (int64_t)start, start, S->b.converge);
        return;
    }
    double ratio = (double)((uint64_t)S->q_conv_at - (S->q_conv_at >= (int64_t)start ? start : (uint64_t)S->q_conv_at)) /
                   (double)S->b.converge;
    if (ratio > S->st.conv_ratio_max)
        S->st.conv_ratio_max = ratio;
    if (S->verbose)
        printf("t=%" PRIu64 " quiet period from t=%" PRIu64 ": converged at +%" PRId64 " ms (bound %" PRIu64 ")\n", now,
               start, S->q_conv_at - (int64_t)start, S->b.converge);
    role_agreement();
    /* crashed nodes, long enough ago */
    for (unsigned j = 0; j < S->n && S->v.inv == INV_NONE; j++) {
        if (sim_node_state(S->sim, j) != SIM_NODE_DOWN || S->nd[j].life == 0 || S->nd[j].down_since + S->b.detect > now)
            continue;
        for (unsigned i = 0; i < S->n; i++) {
            struct gossip_member q;
            if (!running(i) || gossip_member_get(H(i), sim_node_id(S->sim, j), &q) != 0)
                continue;
            if (q.state <= GOSSIP_SUSPECT && ghost_of(j, q.generation))
                continue;
            if (q.state <= GOSSIP_SUSPECT && clock_behind(i) && tolerate(KB_CLOCK_BEHIND))
                continue; /* locked out, it hears nothing (issue 11) */
            if (q.state <= GOSSIP_SUSPECT && before_locked_leave(j, q.generation) && tolerate(KB_CLOCK_BEHIND))
                continue;
            if (q.state <= GOSSIP_SUSPECT) {
                violate(INV_DETECT, (int)i, (int)j, S->nd[j].down_since,
                        "node %u still sees node %u %s at t=%" PRIu64 ", down since t=%" PRIu64 " (bound %" PRIu64 ")", i,
                        j, gossip_state_name((int)q.state), now, S->nd[j].down_since, S->b.detect);
                break;
            }
        }
    }
}

/* Between calls, what the callbacks said is what the queries say. */
static void agreement_check(void)
{
    for (unsigned i = 0; i < S->n && S->v.inv == INV_NONE; i++) {
        gossip_t *g = H(i);
        if (!g)
            continue;
        for (unsigned j = 0; j < S->n; j++) {
            if (j == i)
                continue;
            struct gossip_member q;
            int rc = gossip_member_get(g, sim_node_id(S->sim, j), &q);
            enum sim_view_state v = sim_view(S->sim, i, j);
            enum sim_view_state want = rc == 0 ? (enum sim_view_state)(q.state + 1) : SIM_UNKNOWN;
            if (v != want) {
                violate(INV_CB_QUERY, (int)i, (int)j, now_ms() > 10ull * S->cfg.hb ? now_ms() - 10ull * S->cfg.hb : 0,
                        "node %u: the callbacks last said node %u is %s, gossip_member_get() says %s", i, j,
                        sim_view_name(v), sim_view_name(want));
                return;
            }
        }
        for (unsigned r = 0; r < S->n_roles; r++) {
            int held = gossip_role_held(g, S->role_name[r]);
            if (held != (int)S->nd[i].held[r]) {
                violate(INV_CB_QUERY, (int)i, -1, now_ms() > 10ull * S->cfg.hb ? now_ms() - 10ull * S->cfg.hb : 0,
                        "node %u: the role callbacks last said %s held=%d, gossip_role_held() says %d", i,
                        S->role_name[r], (int)S->nd[i].held[r], held);
                return;
            }
        }
    }
}

static void memory_check(void)
{
    const struct sw_config *c = &S->cfg;
    uint64_t members = (uint64_t)S->n + SW_MAX_FAKES;
    for (unsigned i = 0; i < S->n && S->v.inv == INV_NONE; i++) {
        gossip_t *g = H(i);
        if (!g) {
            if (sw_alloc_available() && sw_alloc_live(i) != 0)
                leak_check(i); /* destroyed by the simulator (end of a leave) */
            continue;
        }
        size_t count = gossip_member_count(g, GOSSIP_STATES_ALL);
        if (count > members + 1) {
            violate(INV_MEMORY, (int)i, -1, 0, "node %u: %zu members in a cluster of %u (+%u restored)", i, count, S->n,
                    SW_MAX_FAKES);
            return;
        }
        if (!sw_alloc_available() || !S->nd[i].mem_base_known)
            continue;
        int64_t live = sw_alloc_live(i);
        int64_t bound = S->nd[i].mem_base + (int64_t)(members * (1024 + 2ull * c->max_meta)) +
                        3 * (int64_t)c->max_pending * ((int64_t)c->max_event + 96) + 65536;
        if (live > S->nd[i].mem_peak)
            S->nd[i].mem_peak = live;
        if (live > S->st.mem_peak)
            S->st.mem_peak = live;
        double ratio = (double)live / (double)bound;
        if (ratio > S->st.mem_ratio_max)
            S->st.mem_ratio_max = ratio;
        if (live > bound)
            violate(INV_MEMORY, (int)i, -1, 0,
                    "node %u holds %" PRId64 " bytes of heap (%" PRId64 " blocks), bound %" PRId64 " (base %" PRId64 ")", i,
                    live, sw_alloc_blocks(i), bound, S->nd[i].mem_base);
    }
}

static void events_due(void)
{
    uint64_t now = now_ms();
    for (unsigned k = 0; k < S->n_ev; k++) {
        struct ev_rec *e = &S->ev[k];
        if (!e->live || e->checked || e->t0 + S->b.event > now)
            continue;
        e->checked = true;
        /* only on a network healthy through the whole window, with the
         * origin running through it */
        struct node_rt *o = &S->nd[e->origin];
        if (S->net_bad || S->net_good_since > e->t0 || o->life != e->origin_life || o->pbad_proc ||
            o->proc_good_since > e->t0)
            continue;
        S->st.events_checked++;
        for (unsigned i = 0; i < S->n; i++) {
            struct node_rt *r = &S->nd[i];
            if (proc_bad(i) || r->proc_good_since > e->t0 || r->life_start > e->t0)
                continue;
            if ((clock_behind(i) || clock_behind(e->origin)) && kb[KB_CLOCK_BEHIND].tolerated) {
                if (r->evc[k] == 0)
                    (void)tolerate(KB_CLOCK_BEHIND);
                continue;
            }
            if (r->evc[k] == 0 && any_behind() && tolerate(KB_CLOCK_BEHIND))
                continue; /* a locked-out node splits the cluster (issue 11) */
            if (r->evc[k] == 0) {
                violate(INV_EVENT_MISSING, (int)i, (int)e->origin, e->t0,
                        "node %u never got cluster event %u, broadcast by node %u at t=%" PRIu64
                        " (bound %" PRIu64 " ms), running on a healthy network all along",
                        i, k, e->origin, e->t0, S->b.event);
                return;
            }
        }
    }
}

/* ------------------------------------------------------------------ one run */

struct run_opts {
    bool verbose;
    size_t trace_lines; /* in a violation report; 0 = all */
    bool report;        /* print a violation */
};

static int owner_now(void)
{
    if (!S || !S->sim || S->excluded)
        return -1;
    if (S->override_owner >= 0)
        return S->override_owner;
    return sim_current_node(S->sim);
}

static void print_config(const struct sw_schedule *sc, FILE *f)
{
    const struct sw_config *c = &sc->cfg;
    const struct sw_bounds *b = &S->b;
    fprintf(f, "  cluster: %u nodes, heartbeat %u ms, probe %u/%u ms, %u helpers, suspicion x%.2f..x%.2f (%u "
               "confirmations), retransmit x%.2f, gossip %u ms fanout %u, sync %u ms, reconnect %u ms, reap %u ms, "
               "ae %u, awareness-max %u, datagram %u, meta %u, event %u, pending %u, network %u+%u ms, %u seed(s)\n",
            c->n, c->hb, c->pt, c->it, c->ichecks, c->smult, c->smax, c->sconf, c->rmult, c->gi, c->fanout, c->sync_ms,
            c->ri, c->reap_ms, c->ae, c->aw, c->max_dgram, c->max_meta, c->max_event, c->max_pending, c->lat, c->jit,
            c->n_seeds);
    fprintf(f, "  bounds: W %" PRIu64 " ms, convergence %" PRIu64 " ms, detection %" PRIu64 " ms, events %" PRIu64
               " ms (P %" PRIu64 ", S %" PRIu64 ", D %" PRIu64 ", R %" PRIu64 ", L %u)\n",
            b->window, b->converge, b->detect, b->event, b->probe, b->susp, b->spread, b->reconnect, b->limit);
}

static enum inv run_schedule(const struct sw_schedule *sc, const struct run_opts *o, struct run_stats *st_out,
                             struct violation *v_out)
{
    static struct swarm state;
    memset(&state, 0, sizeof state);
    memset(ovl, 0, sizeof ovl);
    n_ghosts = 0;
    net_dirty = true;
    memset(took_alone, 0, sizeof took_alone);
    S = &state;
    S->sched = sc;
    S->cfg = sc->cfg;
    S->n = sc->cfg.n;
    S->verbose = o->verbose;
    S->override_owner = -1;
    S->ring[0] = 0;
    S->n_ring = 1;
    sw_bounds(&S->cfg, &S->b);
    sim_rng_seed(&S->rng, sc->cfg.seed, 0x52756e74696d65ull /* "Runtime" */, 0);
    sw_alloc_reset();

    struct sim_options opt;
    sim_options_init(&opt);
    opt.n_nodes = S->n;
    opt.seed = sc->cfg.seed;
    opt.heartbeat_ms = sc->cfg.hb;
    opt.n_seeds = sc->cfg.n_seeds;
    for (unsigned k = 0; k < sc->cfg.n_seeds; k++)
        opt.seeds[k] = sc->cfg.seeds[k] < S->n ? sc->cfg.seeds[k] : 0;
    opt.latency_ms = sc->cfg.lat;
    opt.jitter_ms = sc->cfg.jit;
    opt.stagger_ms = sc->cfg.stagger;
    opt.keep_events = false;
    opt.max_events = 50000000ULL;
    opt.configure = configure;
    opt.on_timeout = on_timeout;
    opt.ud = S;
    S->lat_applied = sc->cfg.lat;
    S->jit_applied = sc->cfg.jit;
    S->max_delay = (uint64_t)sc->cfg.lat + sc->cfg.jit;
    S->sim = sim_create(&opt);
    if (!S->sim) {
        fprintf(stderr, "swarm: sim_create failed\n");
        exit(2);
    }
    sw_alloc_set_owner(owner_now);
    if (o->verbose) {
        printf("swarm: %s\n", sc->name[0] ? sc->name : "schedule");
        print_config(sc, stdout);
    }
    uint64_t step = sc->cfg.hb / 2;
    if (step < 5)
        step = 5;
    if (step > 250)
        step = 250;
    uint64_t next_check = step, checks = 0;
    unsigned ai = 0;
    uint64_t end = sc->cfg.end_ms;
    for (uint64_t guard = 0; S->v.inv == INV_NONE && guard < 10000000; guard++) {
        uint64_t now = now_ms();
        /* the next thing to do */
        uint64_t t = end;
        if (ai < sc->n_act && sc->act[ai].t < t)
            t = sc->act[ai].t;
        if (next_check < t)
            t = next_check;
        for (unsigned k = 0; k < S->n_faults; k++)
            if (S->faults[k].until < t)
                t = S->faults[k].until;
        for (unsigned i = 0; i < S->n; i++)
            if (S->nd[i].pause_until > now && S->nd[i].pause_until < t)
                t = S->nd[i].pause_until;
        if (S->in_quiet && S->q_end < t)
            t = S->q_end;
        if (t < now)
            t = now;
        if (sim_run_until(S->sim, t) != 0) {
            violate(INV_SIM, -1, -1, t > 1000 ? t - 1000 : 0, "the simulator's event budget ran out before t=%" PRIu64
                    " (a storm of datagrams or timers)", t);
            break;
        }
        now = now_ms();
        bool changed = false;
        for (unsigned k = 0; k < S->n_faults; k++)
            changed |= S->faults[k].until <= now;
        if (changed)
            apply_network();
        for (unsigned i = 0; i < S->n; i++)
            if (S->nd[i].pause_until && S->nd[i].pause_until <= now) {
                S->nd[i].woke_at = S->nd[i].pause_until;
                S->nd[i].pause_until = 0;
                changed = true;
            }
        health_update();
        if (changed)
            quorum_all(-1);
        if (S->in_quiet && now >= S->q_end)
            quiet_end(); /* before the actions of the same millisecond */
        while (ai < sc->n_act && sc->act[ai].t <= now && S->v.inv == INV_NONE) {
            do_action(&sc->act[ai++]);
            apply_network();
            health_update();
        }
        if (now >= next_check) {
            checks++;
            quorum_all(-1);
            if (S->in_quiet && S->q_conv_at < 0) {
                char why[256];
                uint64_t start = S->q_start > S->last_process_change ? S->q_start : S->last_process_change;
                if (now >= start && !S->net_bad && converged(why, sizeof why))
                    S->q_conv_at = (int64_t)now;
            }
            events_due();
            if (checks % 8 == 0)
                agreement_check();
            if (checks % 8 == 0)
                memory_check();
            next_check = now + step;
        }
        if (S->in_quiet && now >= S->q_end)
            quiet_end();
        if (now >= end)
            break;
    }
    if (S->v.inv == INV_NONE) {
        agreement_check();
        memory_check();
    }
    struct sim_stats ss;
    sim_stats_get(S->sim, &ss);
    S->st.sim_events = ss.events;
    S->st.virt_ms = now_ms();
    S->st.n = S->n;
    if (S->v.inv != INV_NONE && o->report) {
        FILE *f = stdout;
        if (getenv("SWARM_DUMP"))
            dump_views();
        if (getenv("SWARM_DUMP") && S->v.n1 >= 0)
            sw_alloc_dump((unsigned)S->v.n1, stderr);
        fprintf(f, "swarm: VIOLATION %s, %s, t=%" PRIu64 " ms\n  %s\n", inv_names[S->v.inv], sc->name, S->v.t, S->v.msg);
        print_config(sc, f);
        fprintf(f, "  trace (nodes %d and %d, network changes; from t=%" PRIu64 "):\n", S->v.n1, S->v.n2, S->v.ws);
        print_trace_excerpt(f, o->trace_lines);
        fprintf(f, "  replay: make swarm SEED=%" PRIu64 "   (or build/test/swarm --seed %" PRIu64 " -v)\n",
                sc->cfg.seed, sc->cfg.seed);
    }
    enum inv result = S->v.inv;
    if (st_out)
        *st_out = S->st;
    if (v_out)
        *v_out = S->v;
    sw_alloc_set_owner(NULL);
    sim_t *sim = S->sim;
    S->sim = NULL;
    sim_destroy(sim);
    return result;
}

/* ------------------------------------------------------------------ minimising */

static enum inv try_schedule(const struct sw_schedule *sc)
{
    struct run_opts o = {.verbose = false, .trace_lines = 0, .report = false};
    return run_schedule(sc, &o, NULL, NULL);
}

/* Delta debugging (Zeller's ddmin) over the actions: the smallest set that
 * still violates the same invariant.  Quiet periods are actions like the
 * others (without one, nothing checks convergence). */
static void minimise(struct sw_schedule *sc, enum inv target)
{
    static struct sw_schedule cand;
    unsigned chunks = 2, runs = 0;
    while (sc->n_act >= 1 && runs < 3000) {
        unsigned len = sc->n_act, size = (len + chunks - 1) / chunks;
        bool reduced = false;
        for (unsigned c = 0; c < chunks && !reduced; c++) {
            unsigned lo = c * size, hi = lo + size > len ? len : lo + size;
            if (lo >= hi)
                continue;
            cand = *sc;
            cand.n_act = 0;
            for (unsigned k = 0; k < len; k++)
                if (k < lo || k >= hi)
                    cand.act[cand.n_act++] = sc->act[k];
            runs++;
            if (try_schedule(&cand) == target) {
                *sc = cand;
                chunks = chunks > 2 ? chunks - 1 : 2;
                reduced = true;
            }
        }
        if (!reduced) {
            if (chunks >= len)
                break; /* (len 1: its one action was tried away above) */
            chunks = chunks * 2 > len ? len : chunks * 2;
        }
    }
    /* and end the run soon after the violation */
    struct violation v;
    struct run_opts o = {.report = false};
    if (run_schedule(sc, &o, NULL, &v) == target) {
        uint64_t end = v.t + 1;
        cand = *sc;
        cand.cfg.end_ms = end;
        cand.n_act = 0;
        for (unsigned k = 0; k < sc->n_act; k++) /* what comes after the end never runs */
            if (sc->act[k].t <= end)
                cand.act[cand.n_act++] = sc->act[k];
        if (try_schedule(&cand) == target)
            *sc = cand;
    }
    fprintf(stderr, "swarm: minimised to %u actions in %u runs\n", sc->n_act, runs);
}

/* ------------------------------------------------------------------ many runs */

struct totals {
    uint64_t seeds, failures, events, quiet, replays, faults, virt_ms, node_ms, sim_events;
    uint64_t tolerated[KB_N];
    uint64_t by_inv[INV_N];
    double conv_ratio_max, mem_ratio_max;
};

static void add_totals(struct totals *t, const struct run_stats *st, enum inv inv)
{
    t->seeds++;
    t->failures += inv != INV_NONE;
    t->by_inv[inv]++;
    t->events += st->events_checked;
    t->quiet += st->quiet_checked;
    t->replays += st->replays;
    t->faults += st->faults;
    t->virt_ms += st->virt_ms;
    t->node_ms += st->virt_ms * st->n;
    t->sim_events += st->sim_events;
    for (unsigned k = 0; k < KB_N; k++)
        t->tolerated[k] += st->tolerated[k];
    if (st->conv_ratio_max > t->conv_ratio_max)
        t->conv_ratio_max = st->conv_ratio_max;
    if (st->mem_ratio_max > t->mem_ratio_max)
        t->mem_ratio_max = st->mem_ratio_max;
}

static void merge_totals(struct totals *a, const struct totals *b)
{
    a->seeds += b->seeds;
    a->failures += b->failures;
    a->events += b->events;
    a->quiet += b->quiet;
    a->replays += b->replays;
    a->faults += b->faults;
    a->virt_ms += b->virt_ms;
    a->node_ms += b->node_ms;
    a->sim_events += b->sim_events;
    for (unsigned k = 0; k < KB_N; k++)
        a->tolerated[k] += b->tolerated[k];
    for (unsigned k = 0; k < INV_N; k++)
        a->by_inv[k] += b->by_inv[k];
    if (b->conv_ratio_max > a->conv_ratio_max)
        a->conv_ratio_max = b->conv_ratio_max;
    if (b->mem_ratio_max > a->mem_ratio_max)
        a->mem_ratio_max = b->mem_ratio_max;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Seeds lo..hi, those with (seed - lo) % jobs == worker. */
static void run_seeds(uint64_t lo, uint64_t hi, unsigned jobs, unsigned worker, bool progress, struct totals *t)
{
    static struct sw_schedule sc;
    struct run_opts o = {.verbose = false, .trace_lines = 40, .report = true};
    double t0 = wall_s(), last = t0;
    for (uint64_t s = lo + worker; s <= hi && s >= lo; s += jobs) {
        sw_generate(s, &sc);
        struct run_stats st;
        enum inv inv = run_schedule(&sc, &o, &st, NULL);
        add_totals(t, &st, inv);
        fflush(stdout);
        if (progress && worker == 0 && wall_s() - last >= 10) {
            last = wall_s();
            fprintf(stderr, "swarm: %" PRIu64 " seeds (worker 0), %.1f seeds/s per worker\n", t->seeds,
                    (double)t->seeds / (last - t0));
        }
    }
}

static int run_parallel(uint64_t lo, uint64_t hi, unsigned jobs, bool progress, struct totals *total)
{
    if (jobs <= 1) {
        run_seeds(lo, hi, 1, 0, progress, total);
        return 0;
    }
    pid_t pids[64];
    int fds[64];
    fflush(stdout);
    for (unsigned w = 0; w < jobs; w++) {
        int p[2];
        if (pipe(p) != 0) {
            perror("pipe");
            exit(2);
        }
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            exit(2);
        }
        if (pid == 0) {
            close(p[0]);
            struct totals t;
            memset(&t, 0, sizeof t);
            setvbuf(stdout, NULL, _IOLBF, 0);
            run_seeds(lo, hi, jobs, w, progress, &t);
            fflush(stdout);
            ssize_t wr = write(p[1], &t, sizeof t);
            _exit(wr == (ssize_t)sizeof t ? 0 : 3);
        }
        close(p[1]);
        pids[w] = pid;
        fds[w] = p[0];
    }
    int rc = 0;
    for (unsigned w = 0; w < jobs; w++) {
        struct totals t;
        ssize_t rd = read(fds[w], &t, sizeof t);
        close(fds[w]);
        int status;
        waitpid(pids[w], &status, 0);
        if (rd != (ssize_t)sizeof t || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "swarm: worker %u died (status %d)\n", w, status);
            rc = 1;
            continue;
        }
        merge_totals(total, &t);
    }
    return rc;
}

/* ------------------------------------------------------------------ files */

static bool set_flags(const char *list, bool tolerated);

static int run_file(const char *path, bool verbose, bool expect_fail, bool *still_fails)
{
    static struct sw_schedule sc;
    char err[256];
    if (sw_read(path, &sc, err, sizeof err) != 0) {
        fprintf(stderr, "swarm: %s\n", err);
        return 2;
    }
    struct run_opts o = {.verbose = verbose, .trace_lines = verbose ? 0 : 40, .report = verbose || !expect_fail};
    struct violation v;
    /* a file names the flags it is about: those are off while it runs */
    bool saved[KB_N];
    for (unsigned k = 0; k < KB_N; k++)
        saved[k] = kb[k].tolerated;
    /* with the known-bug flags as they are (make check), a file about an
     * open bug passes: nothing but that bug is in it; replayed for that bug
     * (make swarm-known), its flags are off */
    if (expect_fail && sc.strict[0] && !set_flags(sc.strict, false))
        return 2;
    if (expect_fail && !sc.strict[0])
        set_flags(NULL, false);
    enum inv inv = run_schedule(&sc, &o, NULL, &v);
    for (unsigned k = 0; k < KB_N; k++)
        kb[k].tolerated = saved[k];
    *still_fails = inv != INV_NONE;
    if (expect_fail) {
        if (inv == INV_NONE)
            printf("swarm: %s: passes now (expected %s with flag %s off): clear the flag's `tolerated` in "
                   "test/swarm.c and move the file up to test/swarm-regress/\n",
                   path, sc.expect, sc.strict[0] ? sc.strict : "(all)");
        else
            printf("swarm: %s: still fails: %s (%s)%s\n", path, inv_names[inv], v.msg,
                   sc.expect[0] && strcmp(sc.expect, inv_names[inv]) != 0 ? " [expected another invariant]" : "");
    } else {
        printf("swarm: %s: %s\n", path, inv == INV_NONE ? "ok" : inv_names[inv]);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.swarm file in dir, in name order. */
static int run_dir(const char *dir, bool expect_fail, unsigned *n_files, unsigned *n_fail)
{
    DIR *d = opendir(dir);
    *n_files = *n_fail = 0;
    if (!d)
        return errno == ENOENT ? 0 : -1;
    char *names[512];
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512) {
        size_t l = strlen(e->d_name);
        if (l > 6 && strcmp(e->d_name + l - 6, ".swarm") == 0) {
            names[n] = malloc(strlen(dir) + l + 2);
            if (!names[n])
                break;
            sprintf(names[n], "%s/%s", dir, e->d_name);
            n++;
        }
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    for (unsigned k = 0; k < n; k++) {
        bool fails = false;
        if (run_file(names[k], false, expect_fail, &fails) == 0) {
            (*n_files)++;
            *n_fail += fails;
        }
        free(names[k]);
    }
    return 0;
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
    fprintf(stderr,
            "usage: swarm [options]\n"
            "  (no option)         the fixed set of make check: seeds 1-500, 2 jobs, then test/swarm-regress/\n"
            "  --seed N            one seed (add -v for its whole story)\n"
            "  --seeds A-B         seeds A to B\n"
            "  --soak N            N seeds from --base (default: from the clock), with progress and seeds/s\n"
            "  --base B            first seed of --soak\n"
            "  --file F            one schedule file\n"
            "  --regress DIR       every DIR/*.swarm must pass\n"
            "  --known DIR         every DIR/*.swarm with all known-bug flags off: which still fail\n"
            "  --jobs J            worker processes (default 1, 2 for the default set)\n"
            "  --strict[=a,b]      turn the known-bug flags off (all, or the named ones)\n"
            "  --tolerate=a,b      turn them on\n"
            "  --list-known        the known-bug flags\n"
            "  --minimise --out F  with --seed or --file: shrink the failing schedule and write it to F\n"
            "  --write F           with --seed: write its schedule to F\n"
            "  -v                  verbose\n");
}

static bool set_flags(const char *list, bool tolerated)
{
    if (!list || !*list) {
        for (unsigned k = 0; k < KB_N; k++)
            kb[k].tolerated = tolerated;
        return true;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned k;
        for (k = 0; k < KB_N; k++)
            if (strcmp(kb[k].name, tok) == 0)
                break;
        if (k == KB_N) {
            fprintf(stderr, "swarm: no known-bug flag %s (--list-known)\n", tok);
            return false;
        }
        kb[k].tolerated = tolerated;
    }
    return true;
}

static bool parse_range(const char *s, uint64_t *lo, uint64_t *hi)
{
    char *end;
    *lo = strtoull(s, &end, 0);
    if (*end == '\0') {
        *hi = *lo;
        return true;
    }
    if (*end != '-')
        return false;
    *hi = strtoull(end + 1, &end, 0);
    return *end == '\0' && *hi >= *lo;
}

/* libcrypto and glibc set up some process-wide state at first use; run one
 * small cluster before counting, so that it is not charged to a node. */
static void warm_up(void)
{
    static struct sw_schedule sc;
    sw_generate(3, &sc);
    sc.cfg.n = 3;
    sc.n_act = 0;
    sc.cfg.end_ms = 20ull * sc.cfg.hb;
    struct run_opts o = {.report = false};
    bool saved[KB_N];
    for (unsigned k = 0; k < KB_N; k++) {
        saved[k] = kb[k].tolerated;
        kb[k].tolerated = true;
    }
    (void)run_schedule(&sc, &o, NULL, NULL);
    for (unsigned k = 0; k < KB_N; k++)
        kb[k].tolerated = saved[k];
}

int main(int argc, char **argv)
{
    uint64_t lo = 0, hi = 0, soak = 0, base = 0, one = 0;
    bool have_range = false, have_one = false, verbose = false, do_min = false, list = false, have_base = false;
    const char *file = NULL, *regress = NULL, *known = NULL, *out = NULL, *write_to = NULL;
    unsigned jobs = 1;
    bool jobs_set = false;
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        const char *val = k + 1 < argc ? argv[k + 1] : NULL;
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            verbose = true;
        } else if (strcmp(a, "--seed") == 0 && val) {
            one = strtoull(val, NULL, 0);
            have_one = true;
            k++;
        } else if (strcmp(a, "--seeds") == 0 && val) {
            if (!parse_range(val, &lo, &hi)) {
                usage();
                return 2;
            }
            have_range = true;
            k++;
        } else if (strcmp(a, "--soak") == 0 && val) {
            soak = strtoull(val, NULL, 0);
            k++;
        } else if (strcmp(a, "--base") == 0 && val) {
            base = strtoull(val, NULL, 0);
            have_base = true;
            k++;
        } else if (strcmp(a, "--file") == 0 && val) {
            file = val;
            k++;
        } else if (strcmp(a, "--regress") == 0 && val) {
            regress = val;
            k++;
        } else if (strcmp(a, "--known") == 0 && val) {
            known = val;
            k++;
        } else if (strcmp(a, "--jobs") == 0 && val) {
            jobs = (unsigned)strtoul(val, NULL, 0);
            if (jobs < 1)
                jobs = 1;
            if (jobs > 64)
                jobs = 64;
            jobs_set = true;
            k++;
        } else if (strcmp(a, "--strict") == 0) {
            set_flags(NULL, false);
        } else if (strncmp(a, "--strict=", 9) == 0) {
            if (!set_flags(a + 9, false))
                return 2;
        } else if (strncmp(a, "--tolerate=", 11) == 0) {
            if (!set_flags(a + 11, true))
                return 2;
        } else if (strcmp(a, "--list-known") == 0) {
            list = true;
        } else if (strcmp(a, "--minimise") == 0 || strcmp(a, "--minimize") == 0) {
            do_min = true;
        } else if (strcmp(a, "--out") == 0 && val) {
            out = val;
            k++;
        } else if (strcmp(a, "--write") == 0 && val) {
            write_to = val;
            k++;
        } else {
            usage();
            return 2;
        }
    }
    if (list) {
        for (unsigned k = 0; k < KB_N; k++)
            printf("%-18s issue %-3s %s  %s\n", kb[k].name, kb[k].issue, kb[k].tolerated ? "tolerated" : "checked  ",
                   kb[k].what);
        return 0;
    }
    warm_up();
    if (write_to && have_one) {
        static struct sw_schedule sc;
        sw_generate(one, &sc);
        FILE *f = fopen(write_to, "w");
        if (!f) {
            perror(write_to);
            return 2;
        }
        sw_write(&sc, f);
        fclose(f);
        return 0;
    }
    if (have_one || file) {
        static struct sw_schedule sc;
        if (file) {
            char err[256];
            if (sw_read(file, &sc, err, sizeof err) != 0) {
                fprintf(stderr, "swarm: %s\n", err);
                return 2;
            }
        } else {
            sw_generate(one, &sc);
        }
        struct run_opts o = {.verbose = verbose, .trace_lines = verbose ? 0 : 60, .report = true};
        struct run_stats st;
        struct violation v;
        double t0 = wall_s();
        enum inv inv = run_schedule(&sc, &o, &st, &v);
        double secs = wall_s() - t0;
        printf("swarm: %s: %s (%u nodes, %.1f virtual s, %" PRIu64 " sim events, %u quiet periods checked, "
               "%u events checked, %u replays, %.3f s)\n",
               sc.name, inv == INV_NONE ? "ok" : inv_names[inv], sc.cfg.n, (double)st.virt_ms / 1000.0,
               st.sim_events, st.quiet_checked, st.events_checked, st.replays, secs);
        for (unsigned k = 0; k < KB_N; k++)
            if (st.tolerated[k])
                printf("  let through by flag %s (issue %s): %" PRIu64 " time(s)\n", kb[k].name, kb[k].issue,
                       st.tolerated[k]);
        if (inv != INV_NONE && do_min) {
            snprintf(sc.expect, sizeof sc.expect, "%s", inv_names[inv]);
            /* the flags that were off: the file turns them off again */
            size_t sl = 0;
            sc.strict[0] = '\0';
            for (unsigned k = 0; k < KB_N && sl < sizeof sc.strict - 24; k++)
                if (!kb[k].tolerated)
                    sl += (size_t)snprintf(sc.strict + sl, sizeof sc.strict - sl, "%s%s", sl ? "," : "", kb[k].name);
            minimise(&sc, inv);
            const char *dst = out ? out : "/dev/stdout";
            FILE *f = fopen(dst, "w");
            if (!f) {
                perror(dst);
                return 2;
            }
            char from[48];
            if (have_one)
                snprintf(from, sizeof from, "seed %" PRIu64, one);
            else
                snprintf(from, sizeof from, "%.40s", sc.name);
            snprintf(sc.name, sizeof sc.name, "%s minimised (%s)", from, inv_names[inv]);
            sw_write(&sc, f);
            if (f != stdout)
                fclose(f);
            fprintf(stderr, "swarm: wrote %s\n", dst);
        }
        return inv == INV_NONE ? 0 : 1;
    }
    if (known) {
        /* each file turns off the flags it names (all, if it names none) */
        unsigned nf = 0, nfail = 0;
        run_dir(known, true, &nf, &nfail);
        printf("swarm: %u of %u known-bug schedules still fail\n", nfail, nf);
        return nfail ? 1 : 0;
    }
    bool default_set = !have_range && !soak && !regress;
    if (default_set) {
        lo = 1;
        hi = 500;
        have_range = true;
        regress = "test/swarm-regress";
        if (!jobs_set)
            jobs = 2;
    }
    int rc = 0;
    struct totals t;
    memset(&t, 0, sizeof t);
    double t0 = wall_s();
    if (soak) {
        if (!have_base)
            base = (uint64_t)time(NULL) * 1000;
        lo = base;
        hi = base + soak - 1;
        have_range = true;
    }
    if (have_range) {
        rc |= run_parallel(lo, hi, jobs, soak > 0, &t);
        double secs = wall_s() - t0;
        printf("swarm: seeds %" PRIu64 "-%" PRIu64 ": %" PRIu64 " seeds, %" PRIu64 " with a violation; %.1f s wall, "
               "%.1f seeds/s (%u jobs)\n",
               lo, hi, t.seeds, t.failures, secs, secs > 0 ? (double)t.seeds / secs : 0.0, jobs);
        printf("  %.1f virtual node-hours, %" PRIu64 " simulator events\n", (double)t.node_ms / 3.6e6, t.sim_events);
        for (unsigned k = 1; k < INV_N; k++)
            if (t.by_inv[k])
                printf("  %-22s %" PRIu64 " seed(s)\n", inv_names[k], t.by_inv[k]);
        for (unsigned k = 0; k < KB_N; k++)
            if (t.tolerated[k])
                printf("  let through by flag %-16s (issue %s): %" PRIu64 " time(s)\n", kb[k].name, kb[k].issue,
                       t.tolerated[k]);
        printf("  checked: %" PRIu64 " quiet periods (slowest convergence %.0f%% of its bound), %" PRIu64
               " event deliveries, %" PRIu64 " faults, %" PRIu64 " replays; heap at most %.0f%% of its bound\n",
               t.quiet, 100 * t.conv_ratio_max, t.events, t.faults, t.replays, 100 * t.mem_ratio_max);
        if (t.failures)
            rc = 1;
    }
    if (regress) {
        /* the regression cases, and the cases of open bugs with their flags
         * as they are (nothing else may show in them) */
        unsigned nf = 0, nfail = 0, nk = 0, nkfail = 0;
        char kdir[512];
        snprintf(kdir, sizeof kdir, "%s/known", regress);
        if (run_dir(regress, false, &nf, &nfail) != 0 || run_dir(kdir, false, &nk, &nkfail) != 0) {
            fprintf(stderr, "swarm: cannot read %s\n", regress);
            rc = 1;
        }
        printf("swarm: %u regression schedule(s) and %u of open bugs (flags as set), %u failing\n", nf, nk,
               nfail + nkfail);
        if (nfail + nkfail)
            rc = 1;
    }
    return rc;
}
