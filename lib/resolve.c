/*
 * Seed names resolved without blocking the host's loop (see resolve.h).
 *
 * Why c-ares, driven from the tick, with its sockets polled.
 *
 * getaddrinfo() blocks for as long as the resolver takes (seconds when a
 * server does not answer), and getaddrinfo_a() or a thread of our own
 * would put a thread in a library that promises none.  c-ares is a
 * maintained stub resolver made for event loops: it reads resolv.conf
 * (search list, ndots, several servers) and /etc/hosts, opens non-blocking
 * sockets, and tells us which ones it uses (ARES_OPT_SOCK_STATE_CB) and when
 * it next has to retransmit (ares_timeout()).
 *
 * The host watches one fd, gossip_fd(), and we keep that the UDP socket
 * itself.  The other way, an epoll fd holding the UDP socket and c-ares'
 * sockets, would hand DNS answers over the moment they arrive, but it
 * changes what gossip_fd() is for every host (no longer a socket: no
 * getsockname(), one more fd), for every handle (it must be an epoll fd
 * from create on, since a reconfigure may add a name later and the host
 * registered the fd once), and only Linux has it.  What it would buy is a
 * few milliseconds on an answer that seeds use on the heartbeat's scale
 * (join every heartbeat, reconnect every few).  So the resolver lives on
 * the one timeout instead: while a lookup is in flight,
 * gossip_next_timeout_ms() includes a poll of c-ares' sockets after 1, 2,
 * 4 ... ms (at most RESOLVE_POLL_MAX_MS apart) and c-ares' own retransmit
 * time; gossip_tick() polls them with a zero timeout (poll(2) never
 * waits) and hands what is readable or writable to ares_process_fd().  An
 * answer from a local cache is read within a millisecond or two, one from
 * afar within RESOLVE_POLL_MAX_MS of its arrival; a lookup costs a few
 * wakeups, one that times out some fifteen a second while it lasts
 * (RESOLVE_TIMEOUT_MS x RESOLVE_TRIES rounds).  No lookup in flight, no
 * wakeup: between lookups the channel is closed (its sockets with it), and
 * a fresh one reads resolv.conf again at the next round, so changes there
 * are seen without a restart.
 *
 * A name is looked up at create, again RESOLVE_REFRESH_MS after each
 * answer (a headless service's members come and go), and after a failure
 * in 1 s, 2 s, 4 s ... up to the same period.  Every address of an answer
 * is a seed (in the socket's families: an IPv4 socket asks for A records
 * only, one bound to an IPv6 address for AAAA only, a dual-stack wildcard
 * for both), with the port of the seed's text.  A failure is logged as a
 * warning with c-ares' reason (once, and again when the reason changes;
 * repeats go to debug); a name that timed out or whose server failed keeps
 * the addresses of its last answer, one that the DNS says does not exist
 * (NXDOMAIN, no records) has none until it resolves again.  Nothing here
 * makes creating a node fail: a node whose names do not resolve yet starts
 * and keeps trying.
 *
 * With a send hook the host owns the transport (and the simulator uses
 * one): names are not resolved there, with a warning; numeric seeds work
 * as always.  A handle whose seeds are all numeric allocates nothing here
 * but g->seed_addr and never reaches c-ares.
 */
#include <arpa/inet.h>
#include <ares.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "resolve.h"

#include "config_int.h"
#include "log.h"
#include "maintain.h"

#define RESOLVE_MAX_SOCKS 16

/* One seed name of cfg.seeds. */
struct rname {
    char text[GOSSIP_ADDR_MAX];  /* the seed as cfg.seeds holds it, "name:port" */
    char host[GOSSIP_ADDR_MAX];
    uint16_t port;
    bool pending;                /* a lookup is in flight */
    bool warned;                 /* the current run of failures was logged as a warning */
    unsigned failures;           /* in a row */
    int last_status;             /* the last failure's, to log a changed reason */
    uint32_t serial;             /* of the lookup in flight, matched by its answer */
    uint64_t next_ms;            /* next lookup (when not pending) */
    unsigned n_addr;
    gaddr_t addr[RESOLVE_MAX_ADDRS];
};

struct resolver {
    struct gossip *g;
    ares_channel channel;        /* open while lookups are in flight */
    struct rname *names;
    unsigned n_names;
    unsigned pending;            /* lookups in flight, of names gone by a reconfigure too */
    uint32_t serial;
    bool changed;                /* some name's addresses changed: rebuild g->seed_addr */
    int family;                  /* resolve_family() of the socket */
    unsigned polls;              /* of the lookups in flight */
    uint64_t poll_at;
    uint64_t due_ms;             /* resolve_next_deadline() */
    unsigned n_socks;
    ares_socket_t socks[RESOLVE_MAX_SOCKS];
    short events[RESOLVE_MAX_SOCKS];
};

/* A lookup's identity, handed to c-ares and back with the answer. */
struct lookup {
    struct resolver *r;
    uint32_t serial;
};

/* ---- the pure parts ------------------------------------------------------- */

uint32_t resolve_retry_ms(unsigned failures)
{
    if (failures == 0)
        return RESOLVE_REFRESH_MS;
    uint32_t ms = RESOLVE_RETRY_MS;
    for (unsigned i = 1; i < failures && ms < RESOLVE_REFRESH_MS; i++)
        ms *= 2;
    return ms < RESOLVE_REFRESH_MS ? ms : RESOLVE_REFRESH_MS;
}

uint32_t resolve_poll_ms(unsigned polls)
{
    uint32_t ms = 1;
    for (unsigned i = 0; i < polls && ms < RESOLVE_POLL_MAX_MS; i++)
        ms *= 2;
    return ms < RESOLVE_POLL_MAX_MS ? ms : RESOLVE_POLL_MAX_MS;
}

int resolve_family(int sock_family, const char *bind_addr)
{
    gaddr_t b;
    if (sock_family == AF_INET)
        return AF_INET;
    if (addr_parse_host(bind_addr, 0, &b) == 0 && b.family == 4)
        return AF_INET;
    if (addr_parse_host(bind_addr, 0, &b) == 0 && !addr_is_unspecified(&b))
        return AF_INET6;
    return AF_UNSPEC;
}

unsigned resolve_take(const struct ares_addrinfo_node *nodes, uint16_t port, int family, gaddr_t *out,
                      unsigned max)
{
    unsigned n = 0;
    for (const struct ares_addrinfo_node *ai = nodes; ai && n < max; ai = ai->ai_next) {
        gaddr_t a;
        if (!ai->ai_addr || (family != AF_UNSPEC && ai->ai_family != family) ||
            addr_from_sockaddr(ai->ai_addr, (socklen_t)ai->ai_addrlen, &a) != 0 || addr_is_unspecified(&a))
            continue;
        a.port = port;
        bool dup = false;
        for (unsigned k = 0; k < n && !dup; k++)
            dup = addr_equal(&out[k], &a);
        if (!dup)
            out[n++] = a;
    }
    return n;
}

/* ---- g->seed_addr ------------------------------------------------------------ */

static struct rname *find_name(struct resolver *r, const char *text)
{
    for (unsigned i = 0; r && i < r->n_names; i++)
        if (strcmp(r->names[i].text, text) == 0)
            return &r->names[i];
    return NULL;
}

static bool listed(const struct gossip *g, unsigned n, const gaddr_t *a)
{
    for (unsigned i = 0; i < n; i++)
        if (addr_equal(&g->seed_addr[i], a))
            return true;
    return false;
}

/* The seed list in the order of cfg.seeds, each address once: a numeric
 * seed's address, a name's addresses (a list of numeric seeds from
 * gossip_config_add_seed() has no duplicate: it joins as it always did). */
static int rebuild(struct gossip *g)
{
    struct resolver *r = g->resolver;
    unsigned need = 0, unresolved = 0;
    struct config_seed s;

    for (unsigned i = 0; i < g->cfg.n_seeds && i < GOSSIP_MAX_SEEDS; i++) {
        if (config_seed_parse(g->cfg.seeds[i], g->cfg.bind_port, &s) != 0)
            continue;
        const struct rname *nm = s.is_name ? find_name(r, g->cfg.seeds[i]) : NULL;
        need += s.is_name ? (nm ? nm->n_addr : 0) : 1;
        unresolved += s.is_name && (!nm || nm->n_addr == 0);
    }
    if (need > g->seed_addr_cap) {
        gaddr_t *v = realloc(g->seed_addr, (size_t)need * sizeof(*v));
        if (!v)
            return GOSSIP_ENOMEM; /* the old list stays: still seeds */
        g->seed_addr = v;
        g->seed_addr_cap = need;
    }
    unsigned n = 0;
    for (unsigned i = 0; i < g->cfg.n_seeds && i < GOSSIP_MAX_SEEDS; i++) {
        if (config_seed_parse(g->cfg.seeds[i], g->cfg.bind_port, &s) != 0)
            continue;
        if (!s.is_name) {
            if (!listed(g, n, &s.addr))
                g->seed_addr[n++] = s.addr;
            continue;
        }
        const struct rname *nm = find_name(r, g->cfg.seeds[i]);
        for (unsigned k = 0; nm && k < nm->n_addr && n < need; k++)
            if (!listed(g, n, &nm->addr[k]))
                g->seed_addr[n++] = nm->addr[k];
    }
    g->n_seed_addr = n;
    g->seeds_unresolved = unresolved;
    return 0;
}

/* ---- c-ares ------------------------------------------------------------------ */

static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct resolver *r = data;
    unsigned i = 0;
    while (i < r->n_socks && r->socks[i] != fd)
        i++;
    if (!readable && !writable) { /* closed */
        if (i < r->n_socks) {
            r->socks[i] = r->socks[r->n_socks - 1];
            r->events[i] = r->events[r->n_socks - 1];
            r->n_socks--;
        }
        return;
    }
    if (i == r->n_socks) {
        if (r->n_socks == RESOLVE_MAX_SOCKS)
            return; /* not watched: its query times out and c-ares tries another server */
        r->socks[r->n_socks++] = fd;
    }
    r->events[i] = (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
}

/* A channel for the next lookups: resolv.conf, or the servers the
 * environment names.  An ARES_* status. */
static int open_channel(struct resolver *r, const char **why)
{
    struct ares_options o;
    memset(&o, 0, sizeof o);
    o.timeout = RESOLVE_TIMEOUT_MS;
    o.tries = RESOLVE_TRIES;
    o.sock_state_cb = on_sock_state;
    o.sock_state_cb_data = r;
    *why = NULL;
    /* No ares_library_init(): it does something on Windows only, and
     * would be process-wide state in a library that keeps none. */
    int rc = ares_init_options(&r->channel, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB);
    if (rc != ARES_SUCCESS) {
        r->channel = NULL;
        *why = "cannot set up the resolver";
        return rc;
    }
    /* For operators (a discovery service's DNS on its own port, say) and
     * for the tests' DNS server.  secure_getenv(): not in a set-id program. */
    const char *servers = secure_getenv(RESOLVE_SERVERS_ENV);
    if (servers && *servers && (rc = ares_set_servers_ports_csv(r->channel, servers)) != ARES_SUCCESS) {
        ares_destroy(r->channel);
        r->channel = NULL;
        r->n_socks = 0;
        *why = RESOLVE_SERVERS_ENV " is not a list of ip[:port]";
        return rc;
    }
    return ARES_SUCCESS;
}

static void close_channel(struct resolver *r)
{
    if (r->channel)
        ares_destroy(r->channel); /* answers still due arrive as ARES_EDESTRUCTION */
    r->channel = NULL;
    r->n_socks = 0;
}

/* "a:p, b:p and 3 more" */
static void format_addrs(const struct rname *nm, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < nm->n_addr; i++) {
        char one[64];
        addr_format(&nm->addr[i], one, sizeof one);
        if (off + strlen(one) + 16 >= len) {
            snprintf(buf + off, len - off, " and %u more", nm->n_addr - i);
            return;
        }
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", one);
    }
}

static void failed(struct resolver *r, struct rname *nm, int status, const char *why)
{
    struct gossip *g = r->g;
    nm->failures++;
    nm->next_ms = g->now + resolve_retry_ms(nm->failures);
    /* the DNS says there is no such name (or no address of our family):
     * its old addresses are gone; a timeout or a failing server says
     * nothing about them, so they stay seeds */
    bool gone = status == ARES_ENOTFOUND || status == ARES_ENODATA;
    unsigned kept = gone ? 0 : nm->n_addr;
    if (gone && nm->n_addr) {
        nm->n_addr = 0;
        r->changed = true;
    }
    enum gossip_log_level lvl = !nm->warned || status != nm->last_status ? GOSSIP_LOG_WARN : GOSSIP_LOG_DEBUG;
    nm->warned = true;
    nm->last_status = status;
    char keep[48] = "";
    if (kept)
        snprintf(keep, sizeof keep, "; its %u earlier address(es) stay seeds", kept);
    g_log(g, lvl, "seed \"%s\": cannot resolve %s: %s%s; retrying in %u s (failure %u)", nm->text, nm->host,
          why ? why : ares_strerror(status), keep, resolve_retry_ms(nm->failures) / 1000u, nm->failures);
}

static void resolved(struct resolver *r, struct rname *nm, const gaddr_t *a, unsigned n)
{
    struct gossip *g = r->g;
    bool same = n == nm->n_addr;
    for (unsigned i = 0; i < n && same; i++) {
        bool found = false;
        for (unsigned k = 0; k < nm->n_addr && !found; k++)
            found = addr_equal(&a[i], &nm->addr[k]);
        same = found;
    }
    unsigned failures = nm->failures;
    nm->failures = 0;
    nm->warned = false;
    nm->next_ms = g->now + resolve_retry_ms(0);
    if (same && failures == 0)
        return;
    memcpy(nm->addr, a, (size_t)n * sizeof(*a));
    nm->n_addr = n;
    r->changed = r->changed || !same;
    char list[160];
    format_addrs(nm, list, sizeof list);
    if (failures)
        g_log(g, GOSSIP_LOG_INFO, "seed \"%s\": resolved after %u failure(s): %u address(es): %s", nm->text,
              failures, n, list);
    else
        g_log(g, GOSSIP_LOG_INFO, "seed \"%s\": %u address(es): %s", nm->text, n, list);
}

static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    struct lookup *lk = arg;
    (void)timeouts;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        /* the channel is being closed (destroy, reconfigure): nothing to do */
        ares_freeaddrinfo(res);
        free(lk);
        return;
    }
    struct resolver *r = lk->r;
    uint32_t serial = lk->serial;
    free(lk);
    if (r->pending)
        r->pending--;
    struct rname *nm = NULL;
    for (unsigned i = 0; i < r->n_names && !nm; i++)
        if (r->names[i].pending && r->names[i].serial == serial)
            nm = &r->names[i];
    if (!nm) { /* a name a reconfigure took away */
        ares_freeaddrinfo(res);
        return;
    }
    nm->pending = false;
    if (status != ARES_SUCCESS || !res) {
        failed(r, nm, status, NULL);
    } else {
        gaddr_t a[RESOLVE_MAX_ADDRS];
        unsigned n = resolve_take(res->nodes, nm->port, r->family, a, RESOLVE_MAX_ADDRS);
        if (n == 0)
            failed(r, nm, ARES_ENODATA, "no address this node can send to");
        else
            resolved(r, nm, a, n);
    }
    ares_freeaddrinfo(res);
}

static void lookup(struct resolver *r, struct rname *nm)
{
    const char *why = NULL;
    int rc = r->channel ? ARES_SUCCESS : open_channel(r, &why);
    struct lookup *lk = rc == ARES_SUCCESS ? malloc(sizeof(*lk)) : NULL;
    if (!lk) {
        failed(r, nm, rc == ARES_SUCCESS ? ARES_ENOMEM : rc, why);
        return;
    }
    lk->r = r;
    lk->serial = nm->serial = ++r->serial;
    nm->pending = true;
    r->pending++;
    r->polls = 0;
    r->poll_at = r->g->now + resolve_poll_ms(0);
    struct ares_addrinfo_hints hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = r->family;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = ARES_AI_NOSORT;
    /* may answer at once (/etc/hosts): on_answer() runs inside */
    ares_getaddrinfo(r->channel, nm->host, NULL, &hints, on_answer, lk);
}

static void start_due(struct resolver *r)
{
    for (unsigned i = 0; i < r->n_names; i++)
        if (!r->names[i].pending && r->g->now >= r->names[i].next_ms)
            lookup(r, &r->names[i]);
}

/* After every resolver step: the new seed list, an idle channel closed,
 * the next deadline. */
static void settle(struct resolver *r)
{
    struct gossip *g = r->g;
    if (r->changed && rebuild(g) == 0) {
        r->changed = false;
        maintain_seeds_changed(g);
    }
    if (r->pending == 0)
        close_channel(r);
    uint64_t due = UINT64_MAX;
    for (unsigned i = 0; i < r->n_names; i++)
        if (!r->names[i].pending && r->names[i].next_ms < due)
            due = r->names[i].next_ms;
    if (r->pending && r->channel) {
        if (r->poll_at < due)
            due = r->poll_at;
        struct timeval tv, *t = ares_timeout(r->channel, NULL, &tv);
        if (t) {
            /* c-ares rounds its time left down to whole milliseconds, and
             * our clock counts whole milliseconds too: 2 ms more, so that
             * the tick comes when c-ares has something to do, not a
             * fraction of a millisecond before (which would report 0 to
             * the host again and again until it has) */
            uint64_t ms = (uint64_t)t->tv_sec * 1000u + ((uint64_t)t->tv_usec + 999u) / 1000u + 2u;
            if (g->now + ms < due)
                due = g->now + ms;
        }
    }
    if (r->changed) /* the list could not grow (no memory): try again soon */
        due = due < g->now + RESOLVE_RETRY_MS ? due : g->now + RESOLVE_RETRY_MS;
    r->due_ms = due;
}

/* Read what the resolver's sockets hold, without waiting. */
static void poll_sockets(struct resolver *r)
{
    struct pollfd p[RESOLVE_MAX_SOCKS];
    unsigned n = r->n_socks;
    for (unsigned i = 0; i < n; i++)
        p[i] = (struct pollfd){.fd = r->socks[i], .events = r->events[i]};
    if (n == 0 || poll(p, n, 0) <= 0)
        return;
    for (unsigned i = 0; i < n && r->channel; i++) {
        if (!p[i].revents)
            continue;
        /* an error or a hang-up is read: c-ares sees it and moves on */
        ares_socket_t rd = (p[i].revents & (POLLIN | POLLERR | POLLHUP)) ? p[i].fd : ARES_SOCKET_BAD;
        ares_socket_t wr = (p[i].revents & POLLOUT) ? p[i].fd : ARES_SOCKET_BAD;
        ares_process_fd(r->channel, rd, wr);
    }
}

/* ---- the names of cfg.seeds ---------------------------------------------------- */

static unsigned count_names(const struct gossip *g)
{
    struct config_seed s;
    unsigned n = 0;
    for (unsigned i = 0; i < g->cfg.n_seeds && i < GOSSIP_MAX_SEEDS; i++)
        n += config_seed_parse(g->cfg.seeds[i], g->cfg.bind_port, &s) == 0 && s.is_name;
    return n;
}

/* The names of cfg.seeds; an entry of `old` with the same text is carried
 * over (its addresses, schedule and lookup in flight). */
static unsigned fill_names(const struct gossip *g, struct rname *v, struct resolver *old)
{
    struct config_seed s;
    unsigned n = 0;
    for (unsigned i = 0; i < g->cfg.n_seeds && i < GOSSIP_MAX_SEEDS; i++) {
        if (config_seed_parse(g->cfg.seeds[i], g->cfg.bind_port, &s) != 0 || !s.is_name)
            continue;
        const struct rname *prev = find_name(old, g->cfg.seeds[i]);
        if (prev) {
            v[n++] = *prev;
            continue;
        }
        struct rname *nm = &v[n++];
        memset(nm, 0, sizeof(*nm));
        snprintf(nm->text, sizeof nm->text, "%s", g->cfg.seeds[i]);
        memcpy(nm->host, s.host, sizeof nm->host);
        nm->port = s.port;
        nm->next_ms = g->now;
    }
    return n;
}

static void warn_hooked(struct gossip *g)
{
    struct config_seed s;
    for (unsigned i = 0; i < g->cfg.n_seeds && i < GOSSIP_MAX_SEEDS; i++)
        if (config_seed_parse(g->cfg.seeds[i], g->cfg.bind_port, &s) == 0 && s.is_name)
            g_log(g, GOSSIP_LOG_WARN,
                  "seed \"%s\": names are not resolved when hooks.send owns the transport; "
                  "give this seed as a numeric address",
                  g->cfg.seeds[i]);
}

static void free_resolver(struct gossip *g)
{
    struct resolver *r = g->resolver;
    if (!r)
        return;
    close_channel(r);
    free(r->names);
    free(r);
    g->resolver = NULL;
}

/* Names and no send hook: a resolver (its channel opened by the first
 * lookup); otherwise none. */
static int setup(struct gossip *g)
{
    unsigned n = count_names(g);
    if (n == 0 || g->cfg.hooks.send) {
        free_resolver(g);
        if (n)
            warn_hooked(g);
        return rebuild(g);
    }
    struct resolver *r = g->resolver;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return GOSSIP_ENOMEM;
        r->g = g;
        r->family = resolve_family(g->sock_family, g->cfg.bind_addr);
    }
    struct rname *v = calloc(n, sizeof(*v));
    if (!v) {
        if (!g->resolver)
            free(r);
        return GOSSIP_ENOMEM;
    }
    r->n_names = fill_names(g, v, g->resolver);
    free(r->names);
    r->names = v;
    g->resolver = r;
    int rc = rebuild(g);
    start_due(r);
    settle(r);
    return rc;
}

int resolve_start(struct gossip *g)
{
    return setup(g);
}

int resolve_reconfigure(struct gossip *g)
{
    return setup(g);
}

void resolve_tick(struct gossip *g)
{
    struct resolver *r = g->resolver;
    if (!r || g->now < r->due_ms)
        return;
    if (r->pending && r->channel) {
        if (g->now >= r->poll_at) {
            poll_sockets(r);
            r->poll_at = g->now + resolve_poll_ms(++r->polls);
        }
        if (r->channel) /* retransmissions and timeouts that are due */
            ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
    start_due(r);
    settle(r);
}

uint64_t resolve_next_deadline(const struct gossip *g)
{
    return g->resolver ? g->resolver->due_ms : UINT64_MAX;
}

void resolve_stop(struct gossip *g)
{
    free_resolver(g);
    free(g->seed_addr);
    g->seed_addr = NULL;
    g->n_seed_addr = g->seed_addr_cap = 0;
}
