/*
 * Seed names (lib/resolve.c) without a DNS server: the schedules (retry
 * after a failure, polls while a lookup is in flight), the families asked
 * for, the addresses taken from an answer, and handles whose names
 * resolve from /etc/hosts ("localhost", which c-ares never sends to a
 * server) or whose resolver cannot be set up (GOSSIP_DNS_SERVERS that is
 * no server list): created all the same, the failure logged with its
 * reason and retried on the schedule that gossip_next_timeout_ms()
 * reports, the seed asked as soon as it resolves.  A handle with numeric
 * seeds only, or with a send hook, has no resolver.  The clock is the
 * hooks' (virtual); the sockets are on 127.0.0.1 and nothing waits.
 * One test waits 3.3 s on a server that never answers (a socket that
 * reads nothing) to count the wakeups.  test/dns_test.py covers a real
 * DNS server that answers late, never, then again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static const uint8_t KEY[GOSSIP_KEY_LEN] = {9, 8, 7, 6, 5, 4, 3, 2};

static uint64_t clock_ms = 1000000;
static uint64_t hook_now(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static int sent;
static int hook_send(void *ctx, const struct sockaddr *to, socklen_t len, const void *buf, size_t n)
{
    (void)ctx, (void)to, (void)len, (void)buf, (void)n;
    sent++;
    return 0;
}

/* The log lines of the handle under test. */
static char logbuf[8192];
static void on_log(void *ud, enum gossip_log_level level, const char *msg)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    (void)ud;
    size_t off = strlen(logbuf);
    snprintf(logbuf + off, sizeof logbuf - off, "%s: %s\n", names[level & 3], msg);
}

/* A UDP socket on 127.0.0.1 and its port (the caller closes it, or keeps
 * it to see what arrives). */
static int udp_socket(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A node with its own socket on 127.0.0.1 (so names are resolved) and the
 * virtual clock. */
static void socket_config(struct gossip_config *cfg)
{
    uint16_t port;
    close(udp_socket(&port)); /* a free port */
    gossip_config_init(cfg);
    cfg->node_id = 3;
    snprintf(cfg->bind_addr, sizeof cfg->bind_addr, "127.0.0.1");
    cfg->bind_port = port;
    assert_int_equal(gossip_config_add_raw_key(cfg, KEY), 0);
    cfg->hooks.now_ms = hook_now;
    cfg->cb.log = on_log;
    logbuf[0] = '\0';
}

static bool has_seed(const gossip_t *g, const char *text)
{
    gaddr_t a;
    assert_int_equal(addr_parse(text, 1, &a), 0);
    for (unsigned i = 0; i < g->n_seed_addr; i++)
        if (addr_equal(&g->seed_addr[i], &a))
            return true;
    return false;
}

/* ---- the pure parts ---------------------------------------------------------- */

static void test_retry_schedule(void **state)
{
    (void)state;
    assert_int_equal(resolve_retry_ms(0), RESOLVE_REFRESH_MS); /* resolved: the refresh */
    assert_int_equal(resolve_retry_ms(1), 1000);
    assert_int_equal(resolve_retry_ms(2), 2000);
    assert_int_equal(resolve_retry_ms(3), 4000);
    assert_int_equal(resolve_retry_ms(5), 16000);
    assert_int_equal(resolve_retry_ms(6), RESOLVE_REFRESH_MS);
    assert_int_equal(resolve_retry_ms(1000), RESOLVE_REFRESH_MS);
    assert_int_equal(resolve_retry_ms(UINT32_MAX), RESOLVE_REFRESH_MS); /* a bounded loop */
}

static void test_poll_schedule(void **state)
{
    (void)state;
    uint32_t sum = 0;
    for (unsigned i = 0; i < 7; i++)
        sum += resolve_poll_ms(i);
    assert_int_equal(resolve_poll_ms(0), 1);
    assert_int_equal(resolve_poll_ms(3), 8);
    assert_int_equal(resolve_poll_ms(6), RESOLVE_POLL_MAX_MS);
    assert_int_equal(resolve_poll_ms(7), RESOLVE_POLL_MAX_MS);
    assert_int_equal(resolve_poll_ms(UINT32_MAX), RESOLVE_POLL_MAX_MS);
    assert_int_equal(sum, 127); /* seven polls in the first 127 ms of a lookup */
    /* a lookup that times out (1 s, then 2 s) is polled some 20 times a second */
    unsigned polls = 0;
    for (uint32_t t = 0; t < 3000 && polls < 1000; polls++)
        t += resolve_poll_ms(polls);
    assert_true(polls < 60);
}

static void test_family(void **state)
{
    (void)state;
    assert_int_equal(resolve_family(AF_INET, "127.0.0.1"), AF_INET);
    assert_int_equal(resolve_family(AF_INET, "0.0.0.0"), AF_INET);
    assert_int_equal(resolve_family(AF_INET6, "::"), AF_UNSPEC);   /* dual stack: A and AAAA */
    assert_int_equal(resolve_family(AF_INET6, "[::]"), AF_UNSPEC);
    assert_int_equal(resolve_family(AF_INET6, "2001:db8::1"), AF_INET6);
    assert_int_equal(resolve_family(AF_INET6, "[::1]"), AF_INET6);
}

static void test_take(void **state)
{
    (void)state;
    struct sockaddr_in v4[4];
    struct sockaddr_in6 v6[2];
    const char *ip4[] = {"192.0.2.1", "192.0.2.2", "192.0.2.1", "0.0.0.0"};
    memset(v4, 0, sizeof v4);
    memset(v6, 0, sizeof v6);
    for (int i = 0; i < 4; i++) {
        v4[i].sin_family = AF_INET;
        v4[i].sin_port = htons(53); /* the answer's port is not the seed's */
        assert_int_equal(inet_pton(AF_INET, ip4[i], &v4[i].sin_addr), 1);
    }
    v6[0].sin6_family = v6[1].sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", &v6[0].sin6_addr), 1);
    assert_int_equal(inet_pton(AF_INET6, "::", &v6[1].sin6_addr), 1);
    struct ares_addrinfo_node n[6];
    memset(n, 0, sizeof n);
    for (int i = 0; i < 6; i++) {
        n[i].ai_family = i < 4 ? AF_INET : AF_INET6;
        n[i].ai_addr = i < 4 ? (struct sockaddr *)&v4[i] : (struct sockaddr *)&v6[i - 4];
        n[i].ai_addrlen = i < 4 ? sizeof v4[0] : sizeof v6[0];
        n[i].ai_next = i < 5 ? &n[i + 1] : NULL;
    }
    /* v4, v4, the first again, a wildcard, v6, a v6 wildcard */
    gaddr_t a[8];
    char s[64];
    assert_int_equal(resolve_take(n, 7946, AF_UNSPEC, a, 8), 3);
    addr_format(&a[0], s, sizeof s);
    assert_string_equal(s, "192.0.2.1:7946");
    addr_format(&a[1], s, sizeof s);
    assert_string_equal(s, "192.0.2.2:7946");
    addr_format(&a[2], s, sizeof s);
    assert_string_equal(s, "[2001:db8::5]:7946");
    assert_int_equal(resolve_take(n, 7946, AF_INET, a, 8), 2);
    assert_int_equal(resolve_take(n, 7946, AF_INET6, a, 8), 1);
    assert_int_equal(resolve_take(n, 7946, AF_UNSPEC, a, 1), 1); /* capped */
    assert_int_equal(resolve_take(NULL, 7946, AF_UNSPEC, a, 8), 0);
}

/* ---- handles ------------------------------------------------------------------- */

/* Numeric seeds: no resolver (no channel, no socket, no deadline), the
 * list as given, with a socket of its own or a send hook. */
static void test_numeric_no_resolver(void **state)
{
    (void)state;
    struct gossip_config cfg;
    socket_config(&cfg);
    assert_int_equal(gossip_config_add_seed(&cfg, "127.0.0.1:7"), 0);
    assert_int_equal(gossip_config_add_seed(&cfg, "[2001:db8::9]"), 0);
    gossip_t *g;
    assert_int_equal(gossip_create(&g, &cfg), 0);
    assert_null(g->resolver);
    assert_int_equal(g->n_seed_addr, 2);
    assert_true(has_seed(g, "127.0.0.1:7"));
    assert_int_equal(g->seeds_unresolved, 0);
    assert_true(resolve_next_deadline(g) == UINT64_MAX);
    gossip_destroy(g);

    cfg.hooks.send = hook_send;
    assert_int_equal(gossip_create(&g, &cfg), 0);
    assert_null(g->resolver);
    assert_int_equal(g->n_seed_addr, 2);
    gossip_destroy(g);
}

/* With a send hook the host owns the transport: a name is not resolved,
 * and says so; the node still starts. */
static void test_hooked_names_not_resolved(void **state)
{
    (void)state;
    struct gossip_config cfg;
    socket_config(&cfg);
    cfg.hooks.send = hook_send;
    assert_int_equal(gossip_config_add_seed(&cfg, "seeds.example"), 0);
    assert_int_equal(gossip_config_add_seed(&cfg, "10.0.0.7"), 0);
    gossip_t *g;
    assert_int_equal(gossip_create(&g, &cfg), 0);
    assert_null(g->resolver);
    assert_int_equal(g->n_seed_addr, 1);
    assert_int_equal(g->seeds_unresolved, 1);
    assert_non_null(strstr(logbuf, "warn: seed \"seeds.example:"));
    assert_non_null(strstr(logbuf, "not resolved when hooks.send"));
    gossip_destroy(g);
}

/* "localhost" answers from /etc/hosts inside ares_getaddrinfo(): the seed
 * is there when create returns, the channel closed again, and the next
 * lookup is the refresh. */
static void test_localhost_resolves(void **state)
{
    (void)state;
    struct gossip_config cfg;
    socket_config(&cfg);
    char seed[32];
    snprintf(seed, sizeof seed, "localhost:%u", 4242);
    assert_int_equal(gossip_config_add_seed(&cfg, "10.0.0.8:1"), 0);
    assert_int_equal(gossip_config_add_seed(&cfg, seed), 0);
    assert_int_equal(gossip_config_add_seed(&cfg, "127.0.0.1:4242"), 0); /* the same address: listed once */
    gossip_t *g;
    assert_int_equal(gossip_create(&g, &cfg), 0);
    assert_non_null(g->resolver);
    assert_int_equal(g->seeds_unresolved, 0);
    assert_int_equal(g->n_seed_addr, 2); /* an IPv4 socket takes no ::1 */
    assert_true(has_seed(g, "10.0.0.8:1"));
    assert_true(has_seed(g, "127.0.0.1:4242"));
    assert_non_null(strstr(logbuf, "info: seed \"localhost:4242\": 1 address(es): 127.0.0.1:4242"));
    assert_true(resolve_next_deadline(g) == clock_ms + RESOLVE_REFRESH_MS);

    /* the refresh: the same answer, nothing logged, the next refresh */
    logbuf[0] = '\0';
    clock_ms += RESOLVE_REFRESH_MS - 1;
    assert_int_equal(gossip_tick(g), 0);
    assert_true(resolve_next_deadline(g) == clock_ms + 1); /* not yet */
    clock_ms += 1;
    assert_int_equal(gossip_next_timeout_ms(g), 0);
    assert_int_equal(gossip_tick(g), 0);
    assert_true(resolve_next_deadline(g) == clock_ms + RESOLVE_REFRESH_MS);
    assert_null(strstr(logbuf, "localhost"));
    assert_int_equal(g->n_seed_addr, 2);

    /* reconfigure: the name goes, so does the resolver; it comes back */
    struct gossip_config c2 = cfg;
    c2.n_seeds = 1;
    assert_int_equal(gossip_reconfigure(g, &c2), 0);
    assert_null(g->resolver);
    assert_int_equal(g->n_seed_addr, 1);
    assert_true(resolve_next_deadline(g) == UINT64_MAX);
    assert_int_equal(gossip_reconfigure(g, &cfg), 0);
    assert_non_null(g->resolver);
    assert_int_equal(g->n_seed_addr, 2);
    gossip_destroy(g);
}

/* The resolver cannot be set up: the node starts, the failure is logged
 * with its reason, retried after 1 s, 2 s, 4 s, each time on the
 * deadline gossip_next_timeout_ms() gave (never earlier), repeats at
 * debug; once it resolves the joining node asks the seed in that tick. */
static void test_failure_retried(void **state)
{
    (void)state;
    uint16_t seed_port;
    int seed_fd = udp_socket(&seed_port); /* where the seed would be */
    struct gossip_config cfg;
    socket_config(&cfg);
    char seed[32];
    snprintf(seed, sizeof seed, "localhost:%u", seed_port);
    assert_int_equal(gossip_config_add_seed(&cfg, seed), 0);
    assert_int_equal(setenv(RESOLVE_SERVERS_ENV, "no server list", 1), 0);
    gossip_t *g;
    assert_int_equal(gossip_create(&g, &cfg), 0); /* DNS never stops a node */
    assert_int_equal(g->n_seed_addr, 0);
    assert_int_equal(g->seeds_unresolved, 1);
    assert_non_null(strstr(logbuf, "warn: seed \"localhost:"));
    assert_non_null(strstr(logbuf, "cannot resolve localhost: " RESOLVE_SERVERS_ENV " is not a list"));
    assert_non_null(strstr(logbuf, "retrying in 1 s (failure 1)"));
    assert_true(resolve_next_deadline(g) == clock_ms + 1000);

    for (unsigned f = 1; f <= 3; f++) {
        uint64_t due = resolve_next_deadline(g);
        assert_true(due == clock_ms + resolve_retry_ms(f));
        logbuf[0] = '\0';
        clock_ms = due - 1;
        assert_int_equal(gossip_tick(g), 0);
        assert_true(resolve_next_deadline(g) == due); /* early: nothing done */
        clock_ms = due;
        assert_int_equal(gossip_next_timeout_ms(g), 0);
        assert_int_equal(gossip_tick(g), 0);
        char want[64];
        snprintf(want, sizeof want, "debug: seed \"%s\": cannot resolve", seed);
        assert_non_null(strstr(logbuf, want)); /* the same reason: not warned again */
        snprintf(want, sizeof want, "(failure %u)", f + 1);
        assert_non_null(strstr(logbuf, want));
    }
    assert_int_equal(g->n_seed_addr, 0);

    /* the resolver can be set up again: at the next retry the name
     * resolves, and the seed is asked in that same tick */
    assert_int_equal(unsetenv(RESOLVE_SERVERS_ENV), 0);
    clock_ms = resolve_next_deadline(g);
    logbuf[0] = '\0';
    assert_int_equal(gossip_tick(g), 0);
    assert_int_equal(g->n_seed_addr, 1);
    assert_int_equal(g->seeds_unresolved, 0);
    assert_non_null(strstr(logbuf, "resolved after 4 failure(s): 1 address(es)"));
    struct pollfd p = {.fd = seed_fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 1); /* the join request is there */
    uint8_t buf[2048];
    assert_true(recv(seed_fd, buf, sizeof buf, 0) > 0);
    close(seed_fd);
    gossip_destroy(g);
}

/* A DNS server that never answers (a socket on 127.0.0.1 that reads
 * nothing), on the real clock for 3.3 s: past the resolver's
 * retransmission at 1 s and its giving up at 3 s.  The loop wakes for the
 * polls of the resolver's socket and for c-ares' deadlines, some sixty
 * times, never spinning on a 0 timeout while c-ares still has a fraction
 * of a millisecond to wait (which it did, thousands of times, before the
 * deadline was rounded up). */
static void test_stuck_lookup_no_spin(void **state)
{
    (void)state;
    uint16_t dns_port;
    int dns_fd = udp_socket(&dns_port);
    char servers[32];
    snprintf(servers, sizeof servers, "127.0.0.1:%u", dns_port);
    assert_int_equal(setenv(RESOLVE_SERVERS_ENV, servers, 1), 0);
    struct gossip_config cfg;
    socket_config(&cfg);
    cfg.hooks.now_ms = NULL; /* the real clock: c-ares has its own */
    assert_int_equal(gossip_config_add_seed(&cfg, "slow.test:7946"), 0);
    gossip_t *g;
    assert_int_equal(gossip_create(&g, &cfg), 0);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned wakeups = 0, zeros = 0;
    for (long el = 0; el < 3300 && wakeups < 100000; wakeups++) {
        int to = gossip_next_timeout_ms(g);
        zeros += to == 0;
        struct pollfd p = {.fd = gossip_fd(g), .events = POLLIN};
        if (poll(&p, 1, to) > 0)
            (void)gossip_on_readable(g);
        assert_int_equal(gossip_tick(g), 0);
        clock_gettime(CLOCK_MONOTONIC, &t);
        el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
    }
    unsigned queries = 0;
    uint8_t buf[512];
    while (recv(dns_fd, buf, sizeof buf, MSG_DONTWAIT) > 0 && queries < 100)
        queries++;
    print_message("3.3 s of a lookup nobody answers: %u wakeups (%u with timeout 0), %u queries\n", wakeups,
                  zeros, queries);
    assert_true(queries >= 2);     /* the query and its retransmission (and the search list's) */
    assert_true(wakeups < 150);
    assert_true(zeros < 10);
    assert_int_equal(g->n_seed_addr, 0);
    assert_int_equal(unsetenv(RESOLVE_SERVERS_ENV), 0);
    close(dns_fd);
    gossip_destroy(g);
}

/* A config file that names seeds loads whatever DNS says. */
static void test_load_never_fails_for_dns(void **state)
{
    (void)state;
    struct gossip_config cfg;
    char err[256];
    gossip_config_init(&cfg);
    const char *text = "[cluster]\nnode-id = 1\nbind-addr = \"127.0.0.1\"\n"
                       "key = \"wCCVm8p+2vxsyjbKJy8bEktKL9q0CZLC4p7k5go87bs=\"\n"
                       "seed-nodes = [\"no-such-host.invalid\", \"mail3.example:7946\", \"10.0.0.5\"]\n";
    assert_int_equal(gossip_config_load_string(&cfg, text, "gossip.conf", err, sizeof err), 0);
    assert_int_equal(cfg.n_seeds, 3);
    assert_string_equal(cfg.seeds[0], "no-such-host.invalid:1179");
    assert_string_equal(cfg.seeds[1], "mail3.example:7946");
    assert_string_equal(cfg.seeds[2], "10.0.0.5:1179");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_schedule),
        cmocka_unit_test(test_poll_schedule),
        cmocka_unit_test(test_family),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_numeric_no_resolver),
        cmocka_unit_test(test_hooked_names_not_resolved),
        cmocka_unit_test(test_localhost_resolves),
        cmocka_unit_test(test_failure_retried),
        cmocka_unit_test(test_stuck_lookup_no_spin),
        cmocka_unit_test(test_load_never_fails_for_dns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
