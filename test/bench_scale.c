/*
 * Scale report for one cluster size (run by bench/scale.sh, `make bench`).
 *
 *   bench_scale -n N [-c crashes] [-i idle_s] [-l loss_s] [-L loss20_s] [-j json] [-k curve.csv]
 *               [-d deadline_s] [-s stagger_ms] [-r]
 *
 * N real handles in the deterministic simulator (test/sim.h) at the default
 * heartbeat (1000 ms = one protocol period), with the simulator's O(N^2)
 * observation (views, trace, event log) switched off: what is measured here
 * comes from the member / user-event callbacks and gossip_stats.
 *
 * Phases, in virtual time:
 *   1. start N nodes, staggered, each joining through one of up to 16 seed
 *      nodes (node i uses seed i % S); run until every node sees N alive.
 *      With -r the nodes start instead from a restored view (no seeds; one
 *      second after the first start every handle gets every other node's
 *      record through gossip_member_restore()), the way a cluster restarts
 *      from saved views: forming by N joins costs every node about
 *      N * retransmit-limit record receipts (1.8 * 10^9 in all at
 *      N = 10,000), which the simulator cannot do in minutes on 2 cores;
 *   2. settle, then an idle window: datagrams and bytes sent per node per
 *      second, anti-entropy syncs, RSS per member record;
 *   3. a join: one more node starts; protocol periods until every live node
 *      has its JOIN event;
 *   4. a cluster event (gossip_broadcast) from one node: periods until every
 *      live node has delivered it;
 *   5. crashes, one after the other: first suspicion anywhere, and the time
 *      until 99% / 100% of the live nodes report the victim FAILED (plus the
 *      infection curve of the first crash);
 *   6. loss windows at 0%, 5% (-l seconds) and 20% (-L seconds): live nodes
 *      declared FAILED (false failures), per node-hour (extrapolated from
 *      the window length).
 *
 * The JSON object for this N goes to -j (stdout by default); progress lines
 * go to stderr.  A real-time deadline (-d) skips the remaining phases and
 * says so in the JSON ("skipped") rather than running over.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "internal.h" /* sizeof(struct member) only */
#include "sim.h"

#define HB_MS GOSSIP_DEFAULT_HEARTBEAT_MS
#define MAX_CRASHES 64

struct crash {
    unsigned victim;
    unsigned live;        /* live nodes other than the victim at the crash */
    int64_t first_suspect; /* ms after the crash, -1 = never */
    int64_t first_failed;
    int64_t t99, t100;
};

static struct {
    unsigned n;            /* cluster nodes; index n is the late joiner */
    uint8_t *down;         /* crashed (not counted live) */
    /* crash under observation */
    int victim;
    uint64_t t_crash;
    int64_t first_suspect, first_failed;
    uint8_t *knows;        /* observer reported the victim failed */
    uint64_t *fail_t;
    unsigned n_failed;
    /* join under observation */
    int joiner;
    uint8_t *saw_join;
    unsigned n_joined;
    /* cluster event */
    unsigned n_delivered;
    uint64_t last_delivery;
    bool event_watch;
    /* false failures: live subjects reported failed / suspect */
    uint64_t *last_false;  /* per subject: last FAILED time + 1 */
    uint64_t false_events, false_episodes, false_suspects;
    uint64_t subject_failed_total;
} B;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static double t_start_real, deadline_s;
#define LOGN(...) (fprintf(stderr, "[N=%u %6.1fs] ", B.n, now_s() - t_start_real), fprintf(stderr, __VA_ARGS__))

static void on_event(void *ud, sim_t *sim, const struct sim_event *ev)
{
    (void)ud;
    (void)sim;
    uint32_t s = ev->subject, o = ev->observer;
    if (s == UINT32_MAX || s > B.n)
        return;
    if (B.victim >= 0 && s == (uint32_t)B.victim && ev->t >= B.t_crash) {
        if (ev->event == GOSSIP_EVENT_SUSPECT && B.first_suspect < 0)
            B.first_suspect = (int64_t)(ev->t - B.t_crash);
        if (ev->event == GOSSIP_EVENT_FAILED && !B.knows[o]) {
            if (B.first_failed < 0)
                B.first_failed = (int64_t)(ev->t - B.t_crash);
            B.knows[o] = 1;
            B.fail_t[B.n_failed++] = ev->t - B.t_crash;
        }
    }
    if (B.joiner >= 0 && s == (uint32_t)B.joiner && ev->event == GOSSIP_EVENT_JOIN && !B.saw_join[o]) {
        B.saw_join[o] = 1;
        B.n_joined++;
    }
    if (!B.down[s] && (int)s != B.victim) {
        if (ev->event == GOSSIP_EVENT_FAILED) {
            B.false_events++;
            if (B.last_false[s] == 0 || ev->t + 1 > B.last_false[s] + 60000)
                B.false_episodes++;
            B.last_false[s] = ev->t + 1;
        } else if (ev->event == GOSSIP_EVENT_SUSPECT) {
            B.false_suspects++;
        }
    }
}

static void on_user_event(void *ud, uint64_t origin, const void *data, size_t len)
{
    (void)ud;
    (void)origin;
    (void)data;
    (void)len;
    if (B.event_watch)
        B.n_delivered++;
}

/* Seed pool: nodes 0..S-1 start first; node i joins through seed i % S. */
static unsigned n_seed_pool;
static unsigned joiner_seed;
static bool restored_start; /* -r */

static void seed_addr(unsigned node, char *buf, size_t len)
{
    uint32_t v = node + 1;
    snprintf(buf, len, "10.%u.%u.%u:%u", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff, GOSSIP_DEFAULT_PORT);
}

static void configure(void *ud, sim_t *sim, unsigned node, struct gossip_config *cfg)
{
    (void)ud;
    (void)sim;
    cfg->cb.user_event = on_user_event;
    cfg->n_roles = 0; /* roles are not measured here; they cost a view walk per change */
    unsigned seed = node == B.n ? joiner_seed : (node < n_seed_pool ? 0 : node % n_seed_pool);
    cfg->n_seeds = 0;
    if (seed != node && (node == B.n || !restored_start))
        seed_addr(seed, cfg->seeds[cfg->n_seeds++], GOSSIP_ADDR_MAX);
}

static unsigned *node_index; /* ud for the start calls */

/* -r: every node learns every other node from the host, as if each had
 * restored a saved view; nothing is gossiped about it. */
static void restore_all(sim_t *sim, void *ud)
{
    (void)ud;
    struct gossip_member *self = calloc(B.n, sizeof *self);
    if (!self) {
        fprintf(stderr, "bench_scale: out of memory for the restored view\n");
        exit(1);
    }
    for (unsigned j = 0; j < B.n; j++) {
        gossip_t *h = sim_handle(sim, j);
        if (!h || gossip_member_get(h, gossip_self_id(h), &self[j]) != 0) {
            fprintf(stderr, "bench_scale: node %u is not up for the restore\n", j);
            exit(1);
        }
    }
    for (unsigned i = 0; i < B.n; i++) {
        gossip_t *h = sim_handle(sim, i);
        for (unsigned j = 0; j < B.n; j++) {
            int rc = j == i ? 0 : gossip_member_restore(h, &self[j]);
            if (rc != 0) {
                fprintf(stderr, "bench_scale: restore of node %u into node %u: %s\n", j, i, gossip_strerror(rc));
                exit(1);
            }
        }
    }
    free(self);
}

static void start_call(sim_t *sim, void *ud)
{
    sim_start(sim, *(unsigned *)ud);
}

static unsigned live_count(sim_t *sim)
{
    unsigned c = 0;
    for (unsigned i = 0; i <= B.n; i++)
        c += sim_node_state(sim, i) == SIM_NODE_UP;
    return c;
}

/* Every up node sees exactly the up nodes alive. */
static bool converged(sim_t *sim)
{
    unsigned live = live_count(sim);
    for (unsigned i = 0; i <= B.n; i++) {
        gossip_t *h = sim_handle(sim, i);
        if (h && gossip_member_count(h, 1u << GOSSIP_ALIVE) != live)
            return false;
    }
    return true;
}

struct totals {
    uint64_t dgrams, bytes, syncs;
};

static struct totals totals(sim_t *sim)
{
    struct totals t = {0};
    for (unsigned i = 0; i <= B.n; i++) {
        gossip_t *h = sim_handle(sim, i);
        struct gossip_stats st;
        if (h && gossip_stats_get(h, &st) == 0) {
            t.dgrams += st.sent_datagrams;
            t.bytes += st.sent_bytes;
            t.syncs += st.syncs;
        }
    }
    return t;
}

static bool out_of_time(void)
{
    return deadline_s > 0 && now_s() - t_start_real > deadline_s;
}

/* Run in 100 ms steps until cond() or timeout; the virtual ms at which
 * cond first held (to 100 ms) or -1. */
typedef bool (*cond_fn)(sim_t *sim);
static int64_t run_until(sim_t *sim, cond_fn cond, uint64_t timeout_ms, uint64_t step)
{
    uint64_t t0 = sim_now(sim);
    while (sim_now(sim) - t0 < timeout_ms) {
        if (cond(sim))
            return (int64_t)(sim_now(sim) - t0);
        if (out_of_time())
            return -1;
        sim_run_for(sim, step);
    }
    return cond(sim) ? (int64_t)(sim_now(sim) - t0) : -1;
}

static unsigned live_others;
static bool all_joined(sim_t *sim)
{
    (void)sim;
    return B.n_joined >= live_others;
}
static bool all_delivered(sim_t *sim)
{
    (void)sim;
    return B.n_delivered >= live_others + 1;
}
static bool all_know_failed(sim_t *sim)
{
    (void)sim;
    return B.n_failed >= live_others;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the non-negative samples; -1 when none. */
static double pct(const int64_t *v, unsigned n, double p)
{
    int64_t s[MAX_CRASHES];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++)
        if (v[i] >= 0)
            s[k++] = v[i];
    if (k == 0)
        return -1;
    qsort(s, k, sizeof s[0], cmp_i64);
    unsigned r = (unsigned)ceil(p / 100.0 * k);
    if (r < 1)
        r = 1;
    return (double)s[r - 1];
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_scale -n N [-c crashes] [-i idle_s] [-l loss_s] [-L loss20_s] [-j out.json] "
                    "[-k curve.csv] [-d deadline_s] [-s stagger_ms] [-r]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    unsigned n = 100, n_crashes = 5;
    double idle_s = 120, loss_s = 600, loss20_s = 60;
    const char *json_path = NULL, *curve_path = NULL;
    int stagger = -1;
    int opt;
    while ((opt = getopt(argc, argv, "n:c:i:l:L:j:k:d:s:r")) != -1) {
        switch (opt) {
        case 'n': n = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'c': n_crashes = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'i': idle_s = atof(optarg); break;
        case 'l': loss_s = atof(optarg); break;
        case 'L': loss20_s = atof(optarg); break;
        case 'j': json_path = optarg; break;
        case 'k': curve_path = optarg; break;
        case 'd': deadline_s = atof(optarg); break;
        case 's': stagger = atoi(optarg); break;
        case 'r': restored_start = true; break;
        default: usage();
        }
    }
    if (n < 8 || n_crashes > MAX_CRASHES || n_crashes >= n / 2)
        usage();
    t_start_real = now_s();
    long rss0 = rss_kib();

    B.n = n;
    B.victim = -1;
    B.joiner = -1;
    B.first_suspect = B.first_failed = -1;
    B.down = calloc(n + 1, 1);
    B.knows = calloc(n + 1, 1);
    B.saw_join = calloc(n + 1, 1);
    B.fail_t = calloc(n + 1, sizeof *B.fail_t);
    B.last_false = calloc(n + 1, sizeof *B.last_false);
    node_index = calloc(n + 1, sizeof *node_index);
    if (!B.down || !B.knows || !B.saw_join || !B.fail_t || !B.last_false || !node_index)
        return 1;
    B.down[n] = 1; /* the joiner is not live until phase 3 */

    n_seed_pool = n >= 1000 ? 16 : n >= 100 ? 4 : 1;
    if (stagger < 0)
        stagger = restored_start ? 0 : n >= 5000 ? 4 : 10; /* a join every few ms */

    struct sim_options o;
    sim_options_init(&o);
    o.n_nodes = n + 1;
    o.heartbeat_ms = HB_MS;
    o.autostart = false;
    o.track_views = false;
    o.keep_trace = false;
    o.keep_events = false;
    o.on_event = on_event;
    o.configure = configure;
    o.max_events = UINT64_MAX;
    sim_t *sim = sim_create(&o);
    if (!sim) {
        fprintf(stderr, "sim_create failed\n");
        return 1;
    }
    /* the seed pool first, then everybody else; or (-r) everybody within
     * the first second, then the restore */
    for (unsigned i = 0; i < n; i++) {
        node_index[i] = i;
        uint64_t at = i < n_seed_pool ? (uint64_t)i * 50 : (uint64_t)n_seed_pool * 50 + 1000 + (uint64_t)i * stagger;
        if (restored_start)
            at = i % 1000;
        sim_at(sim, at, start_call, &node_index[i]);
    }
    if (restored_start)
        sim_at(sim, 1000, restore_all, NULL);
    node_index[n] = n;
    const char *skipped = NULL;

    /* ---- 1. start and converge ---- */
    uint64_t start_span = restored_start ? 1001 : (uint64_t)n_seed_pool * 50 + 1000 + (uint64_t)n * stagger;
    /* in virtual seconds, so that the deadline and progress apply here too */
    for (double last = now_s(); sim_now(sim) < start_span && !out_of_time();) {
        sim_run_until(sim, sim_now(sim) + 1000 < start_span ? sim_now(sim) + 1000 : start_span);
        if (now_s() - last > 30) {
            last = now_s();
            struct sim_stats p;
            sim_stats_get(sim, &p);
            LOGN("starting: virtual t=%" PRIu64 " ms of %" PRIu64 ", %u up, %" PRIu64 " datagrams so far, RSS %ld MiB\n",
                 sim_now(sim), start_span, live_count(sim), p.sent, rss_kib() / 1024);
        }
    }
    int64_t t_conv = -1;
    {
        double last_print = now_s();
        for (uint64_t t = 0;; t += 1000) {
            if (converged(sim)) {
                t_conv = (int64_t)t;
                break;
            }
            if (t >= 600000 || out_of_time())
                break;
            if (now_s() - last_print > 30) {
                last_print = now_s();
                unsigned long long known = 0, up = 0;
                for (unsigned i = 0; i <= n; i++)
                    if (sim_handle(sim, i)) {
                        known += gossip_member_count(sim_handle(sim, i), 1u << GOSSIP_ALIVE);
                        up++;
                    }
                struct sim_stats p;
                sim_stats_get(sim, &p);
                LOGN("starting: virtual t=%" PRIu64 " ms, %llu up, mean view %.0f alive, %" PRIu64
                     " datagrams so far, RSS %ld MiB\n", sim_now(sim), up, up ? (double)known / up : 0.0, p.sent,
                     rss_kib() / 1024);
            }
            sim_run_for(sim, 1000);
        }
    }
    struct sim_stats s_conv;
    sim_stats_get(sim, &s_conv);
    uint64_t startup_bytes = totals(sim).bytes;
    double wall_conv = now_s() - t_start_real;
    long rss_conv = rss_kib();
    LOGN("converged (-1 = not) at +%" PRId64 " ms after the last start (at %" PRIu64 " ms, now %" PRIu64 " ms), %.1f s real, RSS %ld MiB\n",
            t_conv, start_span, sim_now(sim), wall_conv, rss_conv / 1024);
    if (t_conv < 0)
        skipped = out_of_time() ? "deadline during start-up" : "no convergence within 600 s";

    /* ---- 2. settle, idle window ---- */
    double dg_ps = -1, by_ps = -1, sync_ps = -1, nsps_idle = -1;
    long rss_idle = -1;
    if (!skipped) {
        uint64_t settle = idle_s >= 60 ? 60000 : 20000;
        for (uint64_t t = 0; t < settle && !out_of_time(); t += 1000)
            sim_run_for(sim, 1000);
        struct totals a = totals(sim);
        double r0 = now_s();
        uint64_t v0 = sim_now(sim);
        uint64_t w = (uint64_t)(idle_s * 1000);
        for (uint64_t t = 0; t < w && !out_of_time(); t += 1000)
            sim_run_for(sim, 1000);
        struct totals b = totals(sim);
        double secs = (double)(sim_now(sim) - v0) / 1000.0;
        dg_ps = (double)(b.dgrams - a.dgrams) / n / secs;
        by_ps = (double)(b.bytes - a.bytes) / n / secs;
        sync_ps = (double)(b.syncs - a.syncs) / n / secs;
        nsps_idle = n * secs / (now_s() - r0);
        rss_idle = rss_kib();
        LOGN("idle %.0f s: %.2f datagrams/node/s, %.0f bytes/node/s, %.4f syncs/node/s, "
                "%.0f node-s/s, RSS %ld MiB\n", secs, dg_ps, by_ps, sync_ps, nsps_idle, rss_idle / 1024);
        if (out_of_time())
            skipped = "deadline during the idle window";
    }
    if (!skipped && !converged(sim))
        LOGN("warning: not converged after the idle window\n");

    /* ---- 3. a join ---- */
    int64_t t_join = -1;
    if (!skipped) {
        live_others = live_count(sim);
        joiner_seed = n / 2;
        B.joiner = (int)n;
        B.down[n] = 0;
        sim_start(sim, n);
        t_join = run_until(sim, all_joined, 120000, 100);
        LOGN("join seen by all %u in %" PRId64 " ms\n", live_others, t_join);
        B.joiner = -1;
        if (out_of_time())
            skipped = "deadline during the join";
        for (uint64_t t = 0; t < 10000 && !skipped; t += 1000)
            sim_run_for(sim, 1000);
    }

    /* ---- 4. a cluster event ---- */
    int64_t t_event = -1;
    if (!skipped) {
        live_others = live_count(sim) - 1;
        B.n_delivered = 0;
        B.event_watch = true;
        char payload[32] = "bench: cluster event";
        int rc = gossip_broadcast(sim_handle(sim, 1), payload, sizeof payload);
        if (rc != 0)
            LOGN("gossip_broadcast: %s\n", gossip_strerror(rc));
        t_event = run_until(sim, all_delivered, 120000, 100);
        B.event_watch = false;
        LOGN("event delivered to all %u in %" PRId64 " ms\n", live_others + 1, t_event);
        if (out_of_time())
            skipped = "deadline during the cluster event";
    }

    /* ---- 5. crashes ---- */
    struct crash cr[MAX_CRASHES];
    unsigned done = 0;
    uint64_t *curve_t = NULL;
    unsigned curve_n = 0, curve_live = 0;
    /* min suspicion as the library computes it, for the target */
    double susp_min_ms = 1.0 * log10((double)n + 1) * HB_MS; /* suspicion-mult default */
    if (susp_min_ms < HB_MS)
        susp_min_ms = HB_MS;
    if (susp_min_ms < HB_MS)
        susp_min_ms = HB_MS;
    struct sim_rng rng;
    sim_rng_seed(&rng, sim_seed(sim), 0xbe7c4, n);
    for (unsigned c = 0; c < n_crashes && !skipped; c++) {
        unsigned v;
        do
            v = n_seed_pool + (unsigned)sim_rng_below(&rng, n - n_seed_pool);
        while (B.down[v]);
        memset(B.knows, 0, n + 1);
        B.n_failed = 0;
        B.first_suspect = B.first_failed = -1;
        live_others = live_count(sim) - 1;
        B.t_crash = sim_now(sim);
        B.victim = (int)v;
        B.down[v] = 1;
        sim_crash(sim, v);
        int64_t t_all = run_until(sim, all_know_failed, 120000, 10);
        struct crash *k = &cr[done++];
        k->victim = v;
        k->live = live_others;
        k->first_suspect = B.first_suspect;
        k->first_failed = B.first_failed;
        unsigned need99 = (unsigned)ceil(0.99 * live_others);
        k->t99 = B.n_failed >= need99 ? (int64_t)B.fail_t[need99 - 1] : -1;
        k->t100 = t_all >= 0 && B.n_failed >= live_others ? (int64_t)B.fail_t[live_others - 1] : -1;
        LOGN("crash %u (node %u): first suspect +%" PRId64 " ms, first failed +%" PRId64
                " ms, 99%% +%" PRId64 " ms, 100%% +%" PRId64 " ms (%u/%u know)\n", c, v, k->first_suspect,
                k->first_failed, k->t99, k->t100, B.n_failed, live_others);
        if (c == 0) {
            curve_n = B.n_failed;
            curve_live = live_others;
            curve_t = malloc((curve_n + 1) * sizeof *curve_t);
            if (curve_t)
                memcpy(curve_t, B.fail_t, curve_n * sizeof *curve_t);
        }
        B.victim = -1;
        if (out_of_time()) {
            skipped = "deadline during the crashes";
            break;
        }
        /* let the news settle before the next crash */
        for (uint64_t t = 0; t < 10000; t += 1000)
            sim_run_for(sim, 1000);
    }

    /* ---- 6. loss windows ---- */
    static const double losses[3] = {0.0, 0.05, 0.20};
    double ff_ep[3] = {-1, -1, -1}, ff_ev[3] = {-1, -1, -1}, fs[3] = {-1, -1, -1}, lw[3] = {0, 0, 0};
    double loss_dg[3] = {-1, -1, -1}; /* datagrams sent per node per second in the window */
    for (unsigned li = 0; li < 3 && !skipped; li++) {
        uint64_t w = (uint64_t)((losses[li] >= 0.2 ? loss20_s : loss_s) * 1000);
        if (w == 0) {
            LOGN("loss %.0f%%: not run (window 0)\n", losses[li] * 100);
            continue;
        }
        sim_set_loss(sim, losses[li]);
        for (uint64_t t = 0; t < 5000; t += 1000)
            sim_run_for(sim, 1000); /* the new loss rate takes hold */
        B.false_events = B.false_episodes = B.false_suspects = 0;
        uint64_t v0 = sim_now(sim);
        struct totals tr0 = totals(sim);
        for (uint64_t t = 0; t < w && !out_of_time(); t += 1000)
            sim_run_for(sim, 1000);
        double hours = (double)(sim_now(sim) - v0) / 3600000.0;
        unsigned live = live_count(sim);
        loss_dg[li] = (double)(totals(sim).dgrams - tr0.dgrams) / (live * hours * 3600);
        lw[li] = hours * 3600;
        ff_ep[li] = (double)B.false_episodes / (live * hours);
        ff_ev[li] = (double)B.false_events / (live * hours);
        fs[li] = (double)B.false_suspects / (live * hours);
        LOGN("loss %.0f%% for %.0f s: %" PRIu64 " false failure episodes (%" PRIu64
                " observer events), %" PRIu64 " false suspicions => %.4f per node-hour; %.1f datagrams/node/s\n",
                losses[li] * 100, lw[li], B.false_episodes, B.false_events, B.false_suspects, ff_ep[li], loss_dg[li]);
        if (out_of_time())
            skipped = "deadline during the loss windows";
    }
    sim_set_loss(sim, 0);

    /* ---- report ---- */
    struct sim_stats ss;
    sim_stats_get(sim, &ss);
    double wall = now_s() - t_start_real;
    double vsec = (double)sim_now(sim) / 1000.0;
    double node_s_per_s = n * vsec / wall; /* approximate: nodes up most of the run */
    long peak = peak_rss_kib();
    double rss_member = rss_idle > 0 ? (double)(rss_idle - rss0) * 1024.0 / ((double)n * (n - 1)) : -1;

    int64_t v_fs[MAX_CRASHES], v_ff[MAX_CRASHES], v_99[MAX_CRASHES], v_100[MAX_CRASHES];
    for (unsigned i = 0; i < done; i++) {
        v_fs[i] = cr[i].first_suspect;
        v_ff[i] = cr[i].first_failed;
        v_99[i] = cr[i].t99;
        v_100[i] = cr[i].t100;
    }
    FILE *out = json_path ? fopen(json_path, "w") : stdout;
    if (!out) {
        perror(json_path);
        return 1;
    }
    fprintf(out, "{\n  \"n\": %u,\n  \"heartbeat_ms\": %u,\n  \"seed\": %" PRIu64 ",\n", n, HB_MS, sim_seed(sim));
    fprintf(out, "  \"start\": \"%s\",\n", restored_start ? "restored view" : "joins");
    fprintf(out, "  \"seed_nodes\": %u,\n  \"stagger_ms\": %d,\n", n_seed_pool, stagger);
    fprintf(out, "  \"skipped\": %s%s%s,\n", skipped ? "\"" : "", skipped ? skipped : "null", skipped ? "\"" : "");
    fprintf(out, "  \"converge_ms_after_last_start\": %" PRId64 ",\n", t_conv);
    fprintf(out, "  \"startup_datagrams_per_node\": %.0f,\n  \"startup_bytes_per_node\": %.0f,\n",
            (double)s_conv.sent / n, (double)startup_bytes / n);
    fprintf(out, "  \"suspicion_min_ms\": %.0f,\n", susp_min_ms);
    fprintf(out, "  \"crashes\": [");
    for (unsigned i = 0; i < done; i++)
        fprintf(out, "%s\n    {\"victim\": %u, \"live\": %u, \"first_suspect_ms\": %" PRId64
                ", \"first_failed_ms\": %" PRId64 ", \"t99_ms\": %" PRId64 ", \"t100_ms\": %" PRId64 "}",
                i ? "," : "", cr[i].victim, cr[i].live, cr[i].first_suspect, cr[i].first_failed, cr[i].t99,
                cr[i].t100);
    fprintf(out, "\n  ],\n");
    fprintf(out, "  \"first_detect_periods\": {\"median\": %.3f, \"p99\": %.3f},\n",
            pct(v_fs, done, 50) / HB_MS, pct(v_fs, done, 99) / HB_MS);
    fprintf(out, "  \"first_failed_periods\": {\"median\": %.3f, \"p99\": %.3f},\n",
            pct(v_ff, done, 50) / HB_MS, pct(v_ff, done, 99) / HB_MS);
    fprintf(out, "  \"all99_periods\": {\"median\": %.3f, \"p99\": %.3f},\n", pct(v_99, done, 50) / HB_MS,
            pct(v_99, done, 99) / HB_MS);
    fprintf(out, "  \"all100_periods\": {\"median\": %.3f, \"p99\": %.3f},\n", pct(v_100, done, 50) / HB_MS,
            pct(v_100, done, 99) / HB_MS);
    fprintf(out, "  \"join_periods\": %.3f,\n", t_join >= 0 ? (double)t_join / HB_MS : -1.0);
    fprintf(out, "  \"event_periods\": %.3f,\n", t_event >= 0 ? (double)t_event / HB_MS : -1.0);
    fprintf(out, "  \"false_failures\": [");
    for (unsigned li = 0; li < 3; li++)
        fprintf(out, "%s\n    {\"loss\": %.2f, \"window_s\": %.0f, \"per_node_hour\": %.6f, "
                "\"observer_events_per_node_hour\": %.6f, \"false_suspicions_per_node_hour\": %.4f, "
                "\"datagrams_per_node_s\": %.2f}",
                li ? "," : "", losses[li], lw[li], ff_ep[li], ff_ev[li], fs[li], loss_dg[li]);
    fprintf(out, "\n  ],\n");
    fprintf(out, "  \"idle_datagrams_per_node_s\": %.4f,\n  \"idle_bytes_per_node_s\": %.1f,\n", dg_ps, by_ps);
    fprintf(out, "  \"idle_syncs_per_node_s\": %.5f,\n", sync_ps);
    fprintf(out, "  \"sizeof_member\": %zu,\n  \"sizeof_gossip\": %zu,\n", sizeof(struct member),
            sizeof(struct gossip));
    fprintf(out, "  \"rss_bytes_per_member_record\": %.1f,\n", rss_member);
    fprintf(out, "  \"rss_converged_mib\": %.1f,\n  \"peak_rss_mib\": %.1f,\n", rss_conv / 1024.0, peak / 1024.0);
    fprintf(out, "  \"wall_s\": %.1f,\n  \"wall_converge_s\": %.1f,\n  \"virtual_s\": %.1f,\n", wall, wall_conv, vsec);
    fprintf(out, "  \"node_s_per_real_s\": %.0f,\n  \"node_s_per_real_s_idle\": %.0f,\n", node_s_per_s, nsps_idle);
    fprintf(out, "  \"sim_datagrams\": %" PRIu64 ",\n  \"sim_events\": %" PRIu64 ",\n", ss.sent, ss.events);
    fprintf(out, "  \"curve_live\": %u\n}\n", curve_live);
    if (out != stdout)
        fclose(out);

    if (curve_path && curve_t) {
        FILE *cf = fopen(curve_path, "w");
        if (cf) {
            /* the fraction that knows, every 100 ms from the crash until all do */
            fprintf(cf, "# N=%u crash of node %u: periods_since_crash fraction_knowing_failed\n", n, cr[0].victim);
            uint64_t end = curve_n ? curve_t[curve_n - 1] + 1000 : 0;
            unsigned k = 0;
            for (uint64_t t = 0; t <= end; t += 100) {
                while (k < curve_n && curve_t[k] <= t)
                    k++;
                fprintf(cf, "%.2f %.5f\n", t / (double)HB_MS, (double)k / curve_live);
            }
            fclose(cf);
        }
    }
    free(curve_t);
    sim_destroy(sim);
    free(B.down);
    free(B.knows);
    free(B.saw_join);
    free(B.fail_t);
    free(B.last_false);
    free(node_index);
    LOGN("done in %.1f s real, %.0f virtual s, peak RSS %ld MiB%s%s\n", wall, vsec, peak / 1024,
            skipped ? ", skipped: " : "", skipped ? skipped : "");
    return 0;
}
