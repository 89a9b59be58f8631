/*
 * mailserver: how a mail server uses libgossip to share out its duties.
 *
 *   mailserver --config FILE
 *   mailserver --node-id ID --bind ADDR --port PORT [--seed ADDR:PORT ...]
 *              --key KEY [--heartbeat-ms MS] [--role NAME=ID,ID ...]
 *              [--every-ms MS]
 *
 * The five duties of the mail server are roles: every few seconds the node
 * runs the ones it holds now, and it logs each role it gains or loses (when
 * a holder fails, another live node takes its duties over).  Every fourth
 * round it also asks the cluster who holds the lock on a mailbox (a query:
 * only the holder answers).  SIGTERM or SIGINT: graceful leave, then exit
 * 0.
 *
 * The loop is ppoll(): signals are blocked except while waiting, so a
 * signal can never slip in between checking the flag and going to sleep.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gossip.h"

static const struct {
    const char *role, *task;
} duties[] = {
    {"acme.renew", "acme renewal"},
    {"purge.stores", "store purge"},
    {"purge.accounts", "account purge"},
    {"metrics.calculate", "metrics calculation"},
    {"metrics.push", "metrics push"},
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_role(void *ud, const char *role, bool held)
{
    printf("node %" PRIu64 ": %s role %s\n", *(const uint64_t *)ud, held ? "gained" : "lost", role);
    fflush(stdout);
}

static void on_member(void *ud, enum gossip_event ev, const struct gossip_member *m)
{
    if (!m->is_self && ev != GOSSIP_EVENT_SUSPECT && ev != GOSSIP_EVENT_UPDATE)
        fprintf(stderr, "node %" PRIu64 ": node %" PRIu64 " %s\n", *(const uint64_t *)ud, m->id,
                gossip_event_name(ev));
}

static void on_log(void *ud, enum gossip_log_level level, const char *msg)
{
    if (level <= GOSSIP_LOG_INFO)
        fprintf(stderr, "node %" PRIu64 ": gossip: %s\n", *(const uint64_t *)ud, msg);
}

/* --role NAME=ID,ID */
static int add_role(struct gossip_config *cfg, char *spec)
{
    uint64_t ids[GOSSIP_ROLE_MAX_NODES];
    size_t n = 0;
    char *list = strchr(spec, '=');
    if (!list)
        return -1;
    *list++ = '\0';
    for (char *tok = strtok(list, ","); tok && n < GOSSIP_ROLE_MAX_NODES; tok = strtok(NULL, ","))
        ids[n++] = strtoull(tok, NULL, 10);
    return gossip_config_set_role(cfg, spec, ids, n, 0);
}

/* The config file first (if any), then the flags on top of it. */
static int configure(int argc, char **argv, struct gossip_config *cfg, unsigned *every_ms)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"node-id", required_argument, NULL, 'i'},
        {"bind", required_argument, NULL, 'b'}, {"port", required_argument, NULL, 'p'},
        {"seed", required_argument, NULL, 's'}, {"key", required_argument, NULL, 'k'},
        {"heartbeat-ms", required_argument, NULL, 'H'}, {"role", required_argument, NULL, 'r'},
        {"every-ms", required_argument, NULL, 'e'}, {NULL, 0, NULL, 0},
    };
    char err[256];
    int c, rc = 0;
    for (int pass = 0; pass < 2; pass++) { /* pass 0: only --config */
        optind = 0; /* glibc: rescan from the start */
        while (rc >= 0 && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
            if (c == '?')
                return -1;
            if ((pass == 0) != (c == 'c'))
                continue;
            switch (c) {
            case 'c':
                if ((rc = gossip_config_load_file(cfg, optarg, err, sizeof err)) < 0)
                    fprintf(stderr, "mailserver: %s\n", err);
                break;
            case 'i': cfg->node_id = strtoull(optarg, NULL, 10); break;
            case 'b': snprintf(cfg->bind_addr, sizeof cfg->bind_addr, "%s", optarg); break;
            case 'p': cfg->bind_port = (uint16_t)atoi(optarg); break;
            case 's': rc = gossip_config_add_seed(cfg, optarg); break;
            case 'k': rc = gossip_config_add_key(cfg, optarg); break;
            case 'H': cfg->heartbeat_ms = (uint32_t)atoi(optarg); break;
            case 'r': rc = add_role(cfg, optarg); break;
            case 'e': *every_ms = (unsigned)atoi(optarg); break;
            }
            if (rc < 0 && c != 'c')
                fprintf(stderr, "mailserver: bad option value '%s': %s\n", optarg,
                        gossip_strerror(rc));
        }
    }
    if (rc >= 0 && gossip_config_validate(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "mailserver: invalid configuration: %s\n", err);
        rc = -1;
    }
    return rc < 0 ? -1 : 0;
}

/* Mailbox locks: this node holds the lock on the mailboxes "box<id>" and
 * "box<id + 100>" (a stand-in for the real lock table).  Any node can ask
 * the cluster who holds the lock on a mailbox with a query; only the holder
 * answers. */
struct locks {
    gossip_t *g;
    uint64_t id;
};

static bool holds_lock(uint64_t id, const char *box, size_t len)
{
    char mine[32];
    for (uint64_t k = 0; k < 2; k++) {
        int n = snprintf(mine, sizeof mine, "box%" PRIu64, id + 100 * k);
        if ((size_t)n == len && memcmp(mine, box, len) == 0)
            return true;
    }
    return false;
}

static void on_query(void *ud, uint64_t query_id, uint64_t asker, const void *data, size_t len)
{
    struct locks *l = ud;
    if (!holds_lock(l->id, data, len))
        return; /* not ours: stay silent */
    char answer[64];
    int n = snprintf(answer, sizeof answer, "locked by node %" PRIu64, l->id);
    gossip_query_respond(l->g, query_id, asker, answer, (size_t)n);
}

static void on_answer(void *ud, uint64_t query_id, uint64_t responder, const void *data, size_t len)
{
    struct locks *l = ud;
    printf("node %" PRIu64 ": query %" PRIu64 ": node %" PRIu64 " says \"%.*s\"\n", l->id, query_id, responder,
           (int)len, (const char *)data);
    fflush(stdout);
}

static void on_query_done(void *ud, uint64_t query_id, size_t answers)
{
    struct locks *l = ud;
    printf("node %" PRIu64 ": query %" PRIu64 " done, %zu answer(s)\n", l->id, query_id, answers);
    fflush(stdout);
}

/* Who holds the lock on mailbox "box<k>"? */
static void ask_lock(gossip_t *g, uint64_t id, uint64_t k)
{
    char box[32];
    int n = snprintf(box, sizeof box, "box%" PRIu64, k);
    uint64_t qid;
    if (gossip_query(g, box, (size_t)n, NULL, &qid) == 0)
        printf("node %" PRIu64 ": query %" PRIu64 ": who holds the lock on %s?\n", id, qid, box);
    fflush(stdout);
}

static void run_duties(gossip_t *g, uint64_t id)
{
    for (size_t i = 0; i < sizeof duties / sizeof duties[0]; i++)
        if (gossip_role_held(g, duties[i].role) == 1)
            printf("node %" PRIu64 ": running %s\n", id, duties[i].task);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static struct gossip_config cfg;
    static uint64_t id;
    unsigned every_ms = 3000;
    gossip_t *g;

    gossip_config_init(&cfg);
    cfg.cb = (struct gossip_callbacks){.ud = &id, .role = on_role, .member = on_member,
                                       .log = on_log};
    if (configure(argc, argv, &cfg, &every_ms) < 0)
        return 1;
    id = cfg.node_id;
    if (gossip_create(&g, &cfg) < 0)
        return 1;
    static struct locks locks;
    locks = (struct locks){.g = g, .id = id};
    struct gossip_query_handlers qh = {.size = sizeof qh, .ud = &locks, .query = on_query,
                                       .response = on_answer, .done = on_query_done};
    gossip_set_query_handlers(g, &qh);
    unsigned rounds = 0;

    /* Block the stop signals; ppoll() unblocks them only while it waits. */
    sigset_t block, during_wait;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &during_wait);
    sigdelset(&during_wait, SIGTERM);
    sigdelset(&during_wait, SIGINT);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    printf("node %" PRIu64 ": mail server up, running duties every %u ms\n", id, every_ms);
    fflush(stdout);
    uint64_t next_duty = now_ms() + every_ms, leave_until = 0;
    while (!leave_until || (now_ms() < leave_until && !gossip_leave_done(g))) {
        if (stop_signal && !leave_until) {
            printf("node %" PRIu64 ": signal %d, leaving the cluster\n", id, (int)stop_signal);
            fflush(stdout);
            gossip_leave(g);
            leave_until = now_ms() + (cfg.heartbeat_ms < 2000 ? cfg.heartbeat_ms : 2000);
        }
        uint64_t now = now_ms(), wait = (uint64_t)gossip_next_timeout_ms(g);
        if (next_duty <= now) {
            if (!leave_until) {
                run_duties(g, id);
                if (++rounds % 4 == 0) /* now and then: where is the lock on another node's mailbox? */
                    ask_lock(g, id, (id + rounds / 4) % 5);
            }
            next_duty = now + every_ms;
        }
        if (wait > next_duty - now)
            wait = next_duty - now;
        struct timespec ts = {.tv_sec = (time_t)(wait / 1000), .tv_nsec = (long)(wait % 1000) * 1000000};
        struct pollfd pfd = {.fd = gossip_fd(g), .events = POLLIN};
        if (ppoll(&pfd, 1, &ts, &during_wait) > 0)
            gossip_on_readable(g);
        gossip_tick(g);
    }
    gossip_destroy(g);
    printf("node %" PRIu64 ": stopped\n", id);
    return 0;
}
