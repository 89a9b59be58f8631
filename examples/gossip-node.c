/*
 * gossip-node: one libgossip cluster member as a stand-alone program.
 *
 * It follows the bench's "libgossip plugin contract (version 1)": every
 * membership change is one JSON object per line on stdout, flushed at once;
 * logs go to stderr; SIGTERM announces a graceful leave and exits 0;
 * SIGUSR1 drains the node (it keeps its membership and gives up its roles,
 * gossip_drain()), SIGUSR2 undrains it.
 *
 *   gossip-node --node-id ID --bind ADDR --port PORT [--seed HOST:PORT ...]
 *               --key KEY | --key-file PATH [--key OLDKEY ...] [--heartbeat-ms MS]
 *               [--config FILE] [--strict] [--advertise ADDR]
 *               [--label NAME] [--role NAME=ID,ID ...] [--view-file FILE] [-v]
 *   gossip-node --check-config [FILE] [--strict] [other options]
 *
 * --check-config prints the effective settings of the file (FILE, or the
 * one --config names) and the command line, and says whether they are
 * valid; --strict loads the file with GOSSIP_LOAD_STRICT, so unknown keys
 * and sections and misspelt names are errors rather than warnings.
 *
 * --key-file PATH reads a key from a file (32 raw bytes, or one line: a
 * base64 key or a passphrase), so that it stays off the command line;
 * --key and --key-file may be repeated and mixed, the first one seals.
 *
 * --view-file keeps the live members in FILE (one "id generation version
 * host port" line each, rewritten at most once a heartbeat after a change
 * and at exit) and restores them at the next start: a node that restarts
 * finds its cluster even when no seed is up.
 *
 * The loop is epoll on three fds: the gossip socket, a signalfd for
 * SIGTERM/SIGINT (leave) and SIGHUP (reload --config), and an eventfd by
 * which a reload says it is ready; the epoll timeout comes from
 * gossip_next_timeout_ms().  A reload builds its config on a thread of its
 * own (a new passphrase costs scrypt ~0.4 s, a seed name a DNS lookup),
 * which touches no handle: the loop keeps answering probes meanwhile and
 * applies the config with gossip_reconfigure() when it is ready.  Only the
 * public API is used.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gossip.h"

#define MAX_ARGS 32 /* repeated --seed, --key, --role */
#define LEAVE_MAX_MS 2000

/* Command-line settings; each one overrides the config file. */
struct options {
    const char *config_path;
    bool check_config, strict, verbose;
    const char *node_id, *bind, *port, *heartbeat, *advertise, *label, *view_file;
    const char *seeds[MAX_ARGS], *keys[MAX_ARGS], *roles[MAX_ARGS];
    bool key_is_file[MAX_ARGS]; /* keys[i] came from --key-file */
    unsigned n_seeds, n_keys, n_roles;
};

struct app {
    gossip_t *g;
    uint64_t node_id;
    bool verbose;
    bool view_dirty;       /* a member changed since the view file was written */
    uint64_t view_saved_ms;
    /* The passphrase keys derived so far, handed to every new config: a
     * reload with unchanged keys runs no KDF (scrypt, ~0.4 s). */
    struct gossip_key_cache key_cache;
};

/* ---- output ------------------------------------------------------------ */

static uint64_t clock_ms(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Start a JSON event line: {"ts_ms": ..., "node": ..., */
static void json_begin(const struct app *app)
{
    printf("{\"ts_ms\": %" PRIu64 ", \"node\": %" PRIu64 ", ",
           clock_ms(CLOCK_REALTIME), app->node_id);
}

static void json_end(void)
{
    fputs("}\n", stdout);
    fflush(stdout);
}

/* A JSON string from arbitrary bytes: bytes above 0x7f are written as
 * \u00XX (Latin-1), so the output is always valid UTF-8. */
static void json_string(const void *data, size_t len)
{
    const unsigned char *p = data;
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '"' || p[i] == '\\')
            printf("\\%c", p[i]);
        else if (p[i] < 0x20 || p[i] > 0x7e)
            printf("\\u%04x", p[i]);
        else
            putchar(p[i]);
    }
    putchar('"');
}

static void log_line(const struct app *app, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_line(const struct app *app, const char *level, const char *fmt, ...)
{
    char stamp[32];
    uint64_t now = clock_ms(CLOCK_REALTIME);
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    va_list ap;
    flockfile(stderr); /* one line at a time: a reload thread logs too */
    fprintf(stderr, "%s.%03uZ %s node %" PRIu64 ": ", stamp, (unsigned)(now % 1000), level,
            app->node_id);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}

/* ---- library callbacks --------------------------------------------------- */

static void on_member(void *ud, enum gossip_event ev, const struct gossip_member *m)
{
    struct app *app = ud;
    if (m->is_self && ev != GOSSIP_EVENT_CONFLICT)
        return;
    app->view_dirty = true;
    json_begin(app);
    printf("\"member\": %" PRIu64 ", \"event\": \"%s\"", m->id, gossip_event_name(ev));
    json_end();
}

static void on_role(void *ud, const char *role, bool held)
{
    struct app *app = ud;
    json_begin(app);
    fputs("\"event\": \"role\", \"role\": ", stdout);
    json_string(role, strlen(role));
    printf(", \"held\": %s", held ? "true" : "false");
    json_end();
}

static void on_user_event(void *ud, uint64_t origin, const void *data, size_t len)
{
    struct app *app = ud;
    json_begin(app);
    printf("\"event\": \"user\", \"origin\": %" PRIu64 ", \"data\": ", origin);
    json_string(data, len);
    json_end();
}

static void on_log(void *ud, enum gossip_log_level level, const char *msg)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    struct app *app = ud;
    if (level == GOSSIP_LOG_DEBUG && !app->verbose)
        return;
    log_line(app, level <= GOSSIP_LOG_DEBUG ? names[level] : "?", "%s", msg);
}

/* ---- configuration ------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: gossip-node --node-id ID --bind ADDR --port PORT [--seed HOST:PORT ...]\n"
          "                   --key KEY | --key-file PATH [...] [--heartbeat-ms MS]\n"
          "                   [--config FILE] [--strict] [--advertise ADDR] [--label NAME]\n"
          "                   [--role NAME=ID,ID ...] [--view-file FILE] [-v]\n"
          "       gossip-node --check-config [FILE] [--strict] [options]\n"
          "  --seed HOST:PORT       a node to join through: an address, or a name, resolved\n"
          "                         while running (a start never waits for DNS); every\n"
          "                         address of a name is a seed; GOSSIP_DNS_SERVERS=ip:port\n"
          "                         replaces the servers of /etc/resolv.conf\n"
          "  --key KEY              cluster key: base64 of 32 bytes, or a passphrase\n"
          "  --key-file PATH        the same from a file (32 raw bytes, or one line);\n"
          "                         --key/--key-file repeat for a keyring, the first seals\n"
          "  --check-config [FILE]  print the effective settings of FILE (or --config)\n"
          "                         and the other options, check them, exit 0 if valid\n"
          "  --strict               load the file strictly: unknown keys and sections,\n"
          "                         misspelt section names are errors, not warnings\n", f);
}

static int parse_args(int argc, char **argv, struct options *o)
{
    enum { O_ID = 256, O_BIND, O_PORT, O_SEED, O_KEY, O_HB, O_CONFIG, O_CHECK, O_ADV,
           O_LABEL, O_ROLE, O_VIEW, O_STRICT, O_KEYFILE };
    static const struct option longopts[] = {
        {"node-id", required_argument, NULL, O_ID}, {"bind", required_argument, NULL, O_BIND},
        {"port", required_argument, NULL, O_PORT}, {"seed", required_argument, NULL, O_SEED},
        {"key", required_argument, NULL, O_KEY}, {"heartbeat-ms", required_argument, NULL, O_HB},
        {"config", required_argument, NULL, O_CONFIG}, {"check-config", optional_argument, NULL, O_CHECK},
        {"advertise", required_argument, NULL, O_ADV}, {"label", required_argument, NULL, O_LABEL},
        {"role", required_argument, NULL, O_ROLE}, {"view-file", required_argument, NULL, O_VIEW},
        {"strict", no_argument, NULL, O_STRICT}, {"key-file", required_argument, NULL, O_KEYFILE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case O_ID: o->node_id = optarg; break;
        case O_BIND: o->bind = optarg; break;
        case O_PORT: o->port = optarg; break;
        case O_HB: o->heartbeat = optarg; break;
        case O_CONFIG: o->config_path = optarg; break;
        case O_CHECK:
            o->check_config = true;
            if (optarg)
                o->config_path = optarg;
            break;
        case O_STRICT: o->strict = true; break;
        case O_ADV: o->advertise = optarg; break;
        case O_LABEL: o->label = optarg; break;
        case O_VIEW: o->view_file = optarg; break;
        case 'v': o->verbose = true; break;
        case O_SEED: case O_KEY: case O_KEYFILE: case O_ROLE: {
            bool is_key = c == O_KEY || c == O_KEYFILE;
            const char **list = c == O_SEED ? o->seeds : is_key ? o->keys : o->roles;
            unsigned *n = c == O_SEED ? &o->n_seeds : is_key ? &o->n_keys : &o->n_roles;
            if (*n == MAX_ARGS) {
                fprintf(stderr, "gossip-node: more than %d --seed/--key/--role\n", MAX_ARGS);
                return -1;
            }
            if (is_key)
                o->key_is_file[*n] = c == O_KEYFILE;
            list[(*n)++] = optarg;
            break;
        }
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    /* gossip-node --check-config FILE */
    if (o->check_config && !o->config_path && optind + 1 == argc)
        o->config_path = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "gossip-node: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* A whole decimal number in [0, max], or -1. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || v > max)
        return -1;
    *out = v;
    return 0;
}

/* --role NAME=ID,ID (an empty list: every node holds it). */
static int apply_role(struct gossip_config *cfg, const char *spec, char *err, size_t errlen)
{
    char name[GOSSIP_ROLE_NAME_MAX];
    uint64_t ids[GOSSIP_ROLE_MAX_NODES];
    size_t n = 0;
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof name) {
        snprintf(err, errlen, "--role '%s': expected NAME=ID,ID", spec);
        return -1;
    }
    memcpy(name, spec, (size_t)(eq - spec));
    name[eq - spec] = '\0';
    for (const char *p = eq + 1; *p;) {
        char num[24];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof num || n == GOSSIP_ROLE_MAX_NODES) {
            snprintf(err, errlen, "--role '%s': bad node list", spec);
            return -1;
        }
        memcpy(num, p, len);
        num[len] = '\0';
        if (parse_u64(num, UINT64_MAX, &ids[n++]) < 0) {
            snprintf(err, errlen, "--role '%s': '%s' is not a node id", spec, num);
            return -1;
        }
        p += len + (p[len] == ',');
    }
    int rc = gossip_config_set_role(cfg, name, ids, n, 0);
    if (rc < 0)
        snprintf(err, errlen, "--role '%s': %s", spec, gossip_strerror(rc));
    return rc < 0 ? -1 : 0;
}

/* The command-line settings, on top of whatever cfg holds.  The --key and
 * --key-file keys are applied only when derive_keys is set (a passphrase
 * is salted with the cluster label, which must be final by then); without
 * it they are held by a stand-in raw key, so that a file without a key of
 * its own still validates. */
static int apply_flags(const struct options *o, struct gossip_config *cfg, bool derive_keys,
                       char *err, size_t errlen)
{
    uint64_t v;
    int rc;
    if (o->node_id) {
        if (parse_u64(o->node_id, UINT64_MAX, &v) < 0)
            return snprintf(err, errlen, "--node-id '%s': not a number", o->node_id), -1;
        cfg->node_id = v;
    }
    if (o->port) {
        if (parse_u64(o->port, 65535, &v) < 0)
            return snprintf(err, errlen, "--port '%s': not a port", o->port), -1;
        cfg->bind_port = (uint16_t)v;
    }
    if (o->heartbeat) {
        if (parse_u64(o->heartbeat, UINT32_MAX, &v) < 0)
            return snprintf(err, errlen, "--heartbeat-ms '%s': not a number", o->heartbeat), -1;
        cfg->heartbeat_ms = (uint32_t)v;
    }
    if (o->bind)
        snprintf(cfg->bind_addr, sizeof cfg->bind_addr, "%s", o->bind);
    if (o->advertise)
        snprintf(cfg->advertise_addr, sizeof cfg->advertise_addr, "%s", o->advertise);
    if (o->label)
        snprintf(cfg->cluster_label, sizeof cfg->cluster_label, "%s", o->label);
    if (o->n_seeds)
        cfg->n_seeds = 0; /* the command line replaces the file's list */
    for (unsigned i = 0; i < o->n_seeds; i++)
        if ((rc = gossip_config_add_seed(cfg, o->seeds[i])) < 0)
            return snprintf(err, errlen, "--seed '%s': %s", o->seeds[i], gossip_strerror(rc)), -1;
    if (o->n_keys)
        cfg->n_keys = 0;
    if (o->n_keys && !derive_keys) {
        static const uint8_t stand_in[GOSSIP_KEY_LEN] = {1};
        gossip_config_add_raw_key(cfg, stand_in);
    }
    for (unsigned i = 0; i < o->n_keys && derive_keys; i++) {
        if (o->key_is_file[i])
            rc = gossip_config_add_key_file(cfg, o->keys[i]); /* logs why it failed */
        else
            rc = gossip_config_add_key(cfg, o->keys[i]);
        if (rc < 0)
            return snprintf(err, errlen, "%s #%u: %s", o->key_is_file[i] ? "--key-file" : "--key",
                            i + 1, gossip_strerror(rc)), -1;
    }
    for (unsigned i = 0; i < o->n_roles; i++)
        if (apply_role(cfg, o->roles[i], err, errlen) < 0)
            return -1;
    return 0;
}

/* Fill cfg: defaults, then the --config file, then the command line.  The
 * keys derived by earlier builds come along (app->key_cache) and the new
 * ones go back there. */
static int build_config(const struct options *o, struct app *app, struct gossip_config *cfg,
                        char *err, size_t errlen)
{
    gossip_config_init(cfg);
    cfg->key_cache = app->key_cache;
    cfg->cb = (struct gossip_callbacks){.ud = app, .member = on_member, .role = on_role,
                                        .user_event = on_user_event, .log = on_log};
    /* gossip_config_load_file() validates what it loaded, so the flags go
     * under the file as well: the file may leave out what the command line
     * gives (the key, say).  Then they go on top, and the --key flags are
     * derived there, under the final cluster label. */
    int rc = 0;
    if (o->config_path) {
        rc = apply_flags(o, cfg, false, err, errlen);
        if (!app->g)
            app->node_id = cfg->node_id; /* for the log lines from here on */
        if (rc == 0 && gossip_config_load_file_ex(cfg, o->config_path,
                                                  o->strict ? GOSSIP_LOAD_STRICT : 0, err,
                                                  errlen) < 0)
            rc = -1;
    }
    if (rc == 0)
        rc = apply_flags(o, cfg, true, err, errlen);
    if (!app->g)
        app->node_id = cfg->node_id;
    app->key_cache = cfg->key_cache;
    return rc;
}

/* --check-config: print the effective settings, then the verdict. */
static int check_config(const struct gossip_config *cfg)
{
    char err[256];
    int need = gossip_config_format(cfg, NULL, 0);
    if (need >= 0) {
        char *buf = malloc((size_t)need + 1);
        if (buf && gossip_config_format(cfg, buf, (size_t)need + 1) >= 0)
            fputs(buf, stdout);
        free(buf);
        fflush(stdout);
    }
    if (gossip_config_validate(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "gossip-node: invalid configuration: %s\n", err);
        return 1;
    }
    fprintf(stderr, "gossip-node: configuration OK\n");
    return 0;
}

/* ---- event loop ------------------------------------------------------------ */

static int setup_fds(gossip_t *g, int efd, int *sfd_out)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || ep < 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = gossip_fd(g)};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
        return -1;
    ev.data.fd = sfd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
        return -1;
    ev.data.fd = efd;
    if (efd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0)
        return -1;
    *sfd_out = sfd;
    return ep;
}

static void print_ready(const struct app *app, const struct gossip_config *cfg)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    unsigned port = cfg->bind_port;
    if (getsockname(gossip_fd(app->g), (struct sockaddr *)&ss, &len) == 0)
        port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    json_begin(app);
    printf("\"event\": \"ready\", \"port\": %u", port);
    json_end();
}

/* The running keyring as "id id ...", sealing key first. */
static const char *key_ids(const gossip_t *g, char *buf, size_t len)
{
    uint32_t ids[GOSSIP_MAX_KEYS];
    int n = gossip_key_list(g, ids, GOSSIP_MAX_KEYS);
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && i < GOSSIP_MAX_KEYS && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%08" PRIx32, i ? " " : "", ids[i]);
    return buf;
}

/* SIGHUP: a fresh config from the file plus the same command line.  The
 * key list of the file (or the --key flags, which override it) replaces
 * the running keyring: rotate by reloading every node with the new key
 * added second, then first, then alone.  Passphrases that did not change
 * are not derived again (app->key_cache); a new one is, on the reload
 * thread, so that even a rotation does not stall the loop for scrypt's
 * ~0.4 s (a cluster-wide reload would otherwise stall every node at once).
 * One reload at a time: a SIGHUP during one asks for another after it. */
struct reload {
    pthread_t thread;
    bool running, again;
    int efd;                     /* eventfd: the thread is done */
    const struct options *o;
    struct app *app;
    struct gossip_config cfg;    /* built by the thread */
    char err[256];
    int rc;
    uint32_t derived, reused;    /* app->key_cache's counts before */
};

static struct reload reload_job = {.efd = -1};

/* The thread: only configuration calls, which touch no handle.  It reads
 * app (node id, verbosity, key cache) and writes app->key_cache, which
 * the loop leaves alone until it has joined the thread. */
static void *reload_thread(void *arg)
{
    struct reload *r = arg;
    uint64_t one = 1;
    r->rc = build_config(r->o, r->app, &r->cfg, r->err, sizeof r->err);
    if (write(r->efd, &one, sizeof one) != (ssize_t)sizeof one)
        abort(); /* an eventfd write of 1 cannot fail */
    return NULL;
}

static void reload_start(struct app *app, const struct options *o)
{
    struct reload *r = &reload_job;
    if (!o->config_path) {
        log_line(app, "info", "SIGHUP: no --config to reload");
        return;
    }
    if (r->running) {
        r->again = true;
        return;
    }
    r->o = o;
    r->app = app;
    r->err[0] = '\0';
    r->derived = app->key_cache.derived;
    r->reused = app->key_cache.reused;
    int e = pthread_create(&r->thread, NULL, reload_thread, r);
    if (e != 0) {
        log_line(app, "error", "reload of %s: no thread: %s", o->config_path, strerror(e));
        return;
    }
    r->running = true;
}

/* The eventfd fired: apply what the thread built, then the next reload
 * if a SIGHUP came meanwhile. */
static void reload_finish(struct app *app, const struct options *o)
{
    struct reload *r = &reload_job;
    uint64_t n;
    if (!r->running || read(r->efd, &n, sizeof n) != (ssize_t)sizeof n)
        return;
    pthread_join(r->thread, NULL);
    r->running = false;
    if (r->rc < 0) {
        log_line(app, "error", "reload of %s failed: %s", o->config_path, r->err);
    } else {
        int rc = gossip_reconfigure(app->g, &r->cfg);
        if (rc < 0) {
            log_line(app, "error", "reload of %s refused: %s", o->config_path, gossip_strerror(rc));
        } else {
            char ids[GOSSIP_MAX_KEYS * 9 + 1];
            log_line(app, "info",
                     "reloaded %s (key ids %s; the first seals; passphrases derived %" PRIu32
                     ", from the cache %" PRIu32 ")",
                     o->config_path, key_ids(app->g, ids, sizeof ids),
                     r->cfg.key_cache.derived - r->derived, r->cfg.key_cache.reused - r->reused);
        }
    }
    if (r->again) {
        r->again = false;
        reload_start(app, o);
    }
}

/* ---- the saved view (--view-file) ------------------------------------------ */

static int save_member(void *ud, const struct gossip_member *m)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (m->is_self || m->state != GOSSIP_ALIVE ||
        getnameinfo((const struct sockaddr *)&m->addr, m->addr_len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return 0;
    fprintf(ud, "%" PRIu64 " %" PRIu64 " %" PRIu32 " %s %s\n", m->id, m->generation, m->version, host, port);
    return 0;
}

/* Written beside and renamed over: a crash mid-write leaves the old view. */
static void view_save(struct app *app, const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        log_line(app, "warn", "cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    gossip_member_foreach(app->g, save_member, f);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        log_line(app, "warn", "cannot save the view to %s: %s", path, strerror(errno));
    app->view_dirty = false;
    app->view_saved_ms = clock_ms(CLOCK_MONOTONIC);
}

/* Every well-formed line becomes a restored member; the rest are counted. */
static void view_restore(struct app *app, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno != ENOENT)
            log_line(app, "warn", "cannot read %s: %s", path, strerror(errno));
        return;
    }
    char line[512], host[NI_MAXHOST], port[NI_MAXSERV];
    unsigned restored = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        struct gossip_member m = {.state = GOSSIP_ALIVE};
        struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_DGRAM}, *ai;
        if (sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNu32 " %1024s %31s", &m.id, &m.generation, &m.version,
                   host, port) != 5 ||
            getaddrinfo(host, port, &hints, &ai) != 0) {
            bad++;
            continue;
        }
        memcpy(&m.addr, ai->ai_addr, ai->ai_addrlen);
        m.addr_len = ai->ai_addrlen;
        freeaddrinfo(ai);
        int rc = gossip_member_restore(app->g, &m);
        if (rc == 0)
            restored++;
        else if (rc != GOSSIP_EINVAL) /* EINVAL: our own id, from an older run */
            bad++;
    }
    fclose(f);
    log_line(app, "info", "restored %u member(s) from %s%s", restored, path, bad ? " (some lines ignored)" : "");
}

static int run(struct app *app, const struct options *o, uint32_t heartbeat_ms)
{
    reload_job.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int sfd, ep = setup_fds(app->g, reload_job.efd, &sfd);
    uint64_t leave_deadline = 0; /* monotonic ms; 0 = not leaving */
    int status = 0;
    if (ep < 0) {
        log_line(app, "error", "epoll/signalfd/eventfd: %s", strerror(errno));
        return 1;
    }
    for (;;) {
        int timeout = gossip_next_timeout_ms(app->g);
        if (leave_deadline) {
            uint64_t now = clock_ms(CLOCK_MONOTONIC);
            if (gossip_leave_done(app->g) || now >= leave_deadline)
                break;
            if ((uint64_t)timeout > leave_deadline - now)
                timeout = (int)(leave_deadline - now);
        }
        struct epoll_event evs[3];
        int n = epoll_wait(ep, evs, 3, timeout);
        if (n < 0 && errno != EINTR) {
            log_line(app, "error", "epoll_wait: %s", strerror(errno));
            status = 1;
            break;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == reload_job.efd) {
                if (!leave_deadline)
                    reload_finish(app, o);
                continue;
            }
            if (evs[i].data.fd != sfd) {
                int rc = gossip_on_readable(app->g);
                if (rc < 0)
                    log_line(app, "warn", "receive: %s", gossip_strerror(rc));
                continue;
            }
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGHUP) {
                    if (!leave_deadline)
                        reload_start(app, o);
                } else if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2) {
                    /* drain before an upgrade, undrain after: the role
                     * lines show the duties moving */
                    bool on = si.ssi_signo == SIGUSR1;
                    int rc = gossip_drain(app->g, on);
                    log_line(app, rc < 0 ? "warn" : "info", "%s: %s", on ? "SIGUSR1: draining" : "SIGUSR2: undrained",
                             rc < 0 ? gossip_strerror(rc) : "ok");
                } else if (!leave_deadline) {
                    log_line(app, "info", "signal %u: leaving the cluster", si.ssi_signo);
                    if (o->view_file)
                        view_save(app, o->view_file); /* before the leave: the view still says who is up */
                    gossip_leave(app->g);
                    uint32_t grace = heartbeat_ms < LEAVE_MAX_MS ? heartbeat_ms : LEAVE_MAX_MS;
                    leave_deadline = clock_ms(CLOCK_MONOTONIC) + grace;
                }
            }
        }
        gossip_tick(app->g); /* harmless when nothing is due */
        if (o->view_file && app->view_dirty && !leave_deadline &&
            clock_ms(CLOCK_MONOTONIC) - app->view_saved_ms >= heartbeat_ms)
            view_save(app, o->view_file);
    }
    if (reload_job.running) /* a reload still building: let it end, drop it */
        pthread_join(reload_job.thread, NULL);
    close(ep);
    close(sfd);
    close(reload_job.efd);
    return status;
}

int main(int argc, char **argv)
{
    static struct options opts;
    static struct gossip_config cfg;
    static struct app app;
    char err[256] = "";

    if (parse_args(argc, argv, &opts) < 0)
        return 2;
    app.verbose = opts.verbose;
    if (build_config(&opts, &app, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "gossip-node: %s\n", err);
        return 1;
    }
    if (opts.check_config)
        return check_config(&cfg);

    int rc = gossip_create(&app.g, &cfg);
    if (rc < 0) {
        if (gossip_config_validate(&cfg, err, sizeof err) < 0)
            fprintf(stderr, "gossip-node: invalid configuration: %s\n", err);
        else
            fprintf(stderr, "gossip-node: cannot start: %s\n", gossip_strerror(rc));
        return 1;
    }
    print_ready(&app, &cfg);
    if (opts.view_file)
        view_restore(&app, opts.view_file);
    char ids[GOSSIP_MAX_KEYS * 9 + 1];
    log_line(&app, "info", "running (heartbeat %" PRIu32 " ms, %u seed(s), key ids %s; the first seals)",
             cfg.heartbeat_ms, cfg.n_seeds, key_ids(app.g, ids, sizeof ids));
    rc = run(&app, &opts, cfg.heartbeat_ms);
    gossip_destroy(app.g);
    log_line(&app, "info", "stopped");
    return rc;
}
