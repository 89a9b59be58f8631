/*
 * The loop contract as an embedder meets it: an edge-triggered loop drains
 * the socket (gossip_on_readable() says whether more may be waiting), loop
 * calls from inside a callback are refused with GOSSIP_EBUSY, a
 * gossip_destroy() from a callback takes effect when it returns, and role
 * callbacks start at the first gossip_tick(), with gossip_role_held() in
 * step at every moment.  The socket test uses loopback only and waits for
 * nothing (a loopback datagram is queued before sendto() returns).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gossip.h"

static const uint8_t KEY[GOSSIP_KEY_LEN] = {7, 7, 7, 7, 1, 2, 3, 4};

static uint64_t clock_ms;
static uint64_t hook_now(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static unsigned sends;
static int hook_send(void *ctx, const struct sockaddr *to, socklen_t len, const void *buf, size_t n)
{
    (void)ctx, (void)to, (void)len, (void)buf, (void)n;
    sends++;
    return 0;
}

/* A node that talks to nobody: hooks for the clock and the transport. */
static void base_config(struct gossip_config *cfg)
{
    gossip_config_init(cfg);
    cfg->node_id = 1;
    snprintf(cfg->bind_addr, sizeof cfg->bind_addr, "10.0.0.1");
    assert_int_equal(gossip_config_add_raw_key(cfg, KEY), 0);
    cfg->hooks.now_ms = hook_now;
    cfg->hooks.send = hook_send;
}

/* ---- edge-triggered drain ------------------------------------------------ */

static void test_drain_reports_more(void **state)
{
    (void)state;
    int probe = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(probe >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(probe, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(probe, (struct sockaddr *)&sa, &sl), 0);
    close(probe); /* a free port for the handle */

    struct gossip_config cfg;
    gossip_config_init(&cfg);
    cfg.node_id = 5;
    snprintf(cfg.bind_addr, sizeof cfg.bind_addr, "127.0.0.1");
    cfg.bind_port = ntohs(sa.sin_port);
    assert_int_equal(gossip_config_add_raw_key(&cfg, KEY), 0);
    gossip_t *g;
    assert_int_equal(gossip_create(&g, &cfg), 0);

    /* 400 datagrams queued at once: what an edge-triggered loop is woken
     * for once.  They are short, so each is read, counted and dropped. */
    int tx = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(tx >= 0);
    const unsigned queued = 400;
    uint8_t d[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    for (unsigned i = 0; i < queued; i++)
        assert_int_equal(sendto(tx, d, sizeof d, 0, (struct sockaddr *)&sa, sizeof sa), (ssize_t)sizeof d);

    struct gossip_stats st;
    unsigned calls = 0, more = 0;
    int rc;
    while ((rc = gossip_on_readable(g)) > 0 && calls < 100) {
        calls++;
        more++;
    }
    calls++;
    assert_int_equal(rc, 0);
    assert_int_equal(gossip_stats_get(g, &st), 0);
    print_message("%u datagrams queued: %u calls (%u said more may be waiting), %llu read\n", queued, calls,
                  more, (unsigned long long)st.recv_datagrams);
    assert_int_equal(st.recv_datagrams, queued);
    assert_true(more >= 1);      /* the first call could not take them all */
    assert_true(calls <= 5);     /* 128 per call */
    struct pollfd p = {.fd = gossip_fd(g), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0); /* really drained */
    assert_int_equal(gossip_on_readable(g), 0);
    close(tx);
    gossip_destroy(g);
}

/* ---- re-entry from callbacks --------------------------------------------- */

struct reentry {
    gossip_t *g;
    int tick_rc, readable_rc, feed_rc, meta_rc, role_calls;
    bool destroy_in_cb;
};
static struct reentry R;

static void on_role_reenter(void *ud, const char *role, bool held)
{
    (void)ud, (void)role, (void)held;
    R.role_calls++;
    if (R.destroy_in_cb) {
        gossip_destroy(R.g);
        return;
    }
    if (R.role_calls > 1)
        return;
    R.tick_rc = gossip_tick(R.g);
    R.readable_rc = gossip_on_readable(R.g);
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(1179)};
    uint8_t junk[4] = {0};
    R.feed_rc = gossip_feed(R.g, (struct sockaddr *)&from, sizeof from, junk, sizeof junk);
    R.meta_rc = gossip_set_meta(R.g, "m", 1); /* allowed from a callback */
}

static void test_loop_calls_refused_in_callback(void **state)
{
    (void)state;
    memset(&R, 0, sizeof R);
    struct gossip_config cfg;
    base_config(&cfg);
    cfg.cb.role = on_role_reenter;
    assert_int_equal(gossip_create(&R.g, &cfg), 0);
    assert_int_equal(gossip_tick(R.g), 0);
    assert_int_equal(R.role_calls, 5); /* the five default roles, no node list: all held */
    assert_int_equal(R.tick_rc, GOSSIP_EBUSY);
    assert_int_equal(R.readable_rc, GOSSIP_EBUSY);
    assert_int_equal(R.feed_rc, GOSSIP_EBUSY);
    assert_int_equal(R.meta_rc, 0);
    struct gossip_stats st;
    assert_int_equal(gossip_stats_get(R.g, &st), 0);
    assert_int_equal(st.recv_datagrams, 0); /* the refused feed did nothing */
    struct gossip_member self;
    assert_int_equal(gossip_member_get(R.g, 1, &self), 0);
    assert_int_equal(self.meta_len, 1);
    assert_int_equal(gossip_tick(R.g), 0); /* and outside a callback all is well */
    assert_string_equal(gossip_strerror(GOSSIP_EBUSY), "not allowed from inside this callback");
    gossip_destroy(R.g);
}

static void test_destroy_from_callback(void **state)
{
    (void)state;
    memset(&R, 0, sizeof R);
    R.destroy_in_cb = true;
    struct gossip_config cfg;
    base_config(&cfg);
    cfg.cb.role = on_role_reenter;
    assert_int_equal(gossip_create(&R.g, &cfg), 0);
    /* the handle is freed when the callback returns (ASan and valgrind
     * catch any touch after that); no other callback runs */
    assert_int_equal(gossip_tick(R.g), 0);
    assert_int_equal(R.role_calls, 1);
}

static gossip_t *log_g;
static int log_meta_rc = 1;
static void on_log_reenter(void *ud, enum gossip_log_level lvl, const char *msg)
{
    (void)ud, (void)lvl, (void)msg;
    if (log_g && log_meta_rc == 1)
        log_meta_rc = gossip_set_meta(log_g, "x", 1);
}

static void test_log_callback_cannot_change_state(void **state)
{
    (void)state;
    struct gossip_config cfg;
    base_config(&cfg);
    cfg.cb.log = on_log_reenter;
    assert_int_equal(gossip_create(&log_g, &cfg), 0);
    /* a truncated datagram is logged (a warning) while the node works */
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(1179),
                               .sin_addr.s_addr = htonl(0x0a000002)};
    uint8_t junk[4] = {1, 0, 0, 0};
    assert_int_equal(gossip_feed(log_g, (struct sockaddr *)&from, sizeof from, junk, sizeof junk), 0);
    assert_int_equal(log_meta_rc, GOSSIP_EBUSY);
    struct gossip_member self;
    assert_int_equal(gossip_member_get(log_g, 1, &self), 0);
    assert_int_equal(self.meta_len, 0);
    gossip_destroy(log_g);
    log_g = NULL;
}

/* ---- roles from the first tick ------------------------------------------- */

static int roles_reported;
static void on_role_count(void *ud, const char *role, bool held)
{
    gossip_t *g = *(gossip_t **)ud;
    roles_reported++;
    assert_int_equal(gossip_role_held(g, role), held ? 1 : 0); /* in step with the callback */
}

static void test_roles_start_at_first_tick(void **state)
{
    (void)state;
    static gossip_t *g;
    struct gossip_config cfg;
    base_config(&cfg);
    cfg.cb.role = on_role_count;
    cfg.cb.ud = &g;
    roles_reported = 0;
    assert_int_equal(gossip_create(&g, &cfg), 0);
    /* state-changing calls before the first tick fire no role callback */
    assert_int_equal(gossip_set_meta(g, "abc", 3), 0);
    assert_int_equal(gossip_broadcast(g, "hello", 5), 0);
    assert_int_equal(roles_reported, 0);
    assert_int_equal(gossip_role_held(g, "acme.renew"), 0); /* agrees: nothing reported yet */
    assert_int_equal(gossip_tick(g), 0);
    assert_int_equal(roles_reported, 5);
    assert_int_equal(gossip_role_held(g, "acme.renew"), 1);
    gossip_destroy(g);
}

/* ---- the loop's own lateness -------------------------------------------- */

static void test_stall_noticed_and_reported(void **state)
{
    (void)state;
    clock_ms = 1000;
    struct gossip_config cfg;
    base_config(&cfg);
    gossip_t *g;
    assert_int_equal(gossip_create(&g, &cfg), 0);
    struct gossip_stats st;
    for (int i = 0; i < 20; i++) { /* a loop that keeps the contract */
        assert_int_equal(gossip_tick(g), 0);
        clock_ms += (uint64_t)gossip_next_timeout_ms(g);
    }
    assert_int_equal(gossip_stats_get(g, &st), 0);
    assert_int_equal(st.loop_stalls, 0);
    assert_int_equal(st.awareness, 0);
    clock_ms += (uint64_t)gossip_next_timeout_ms(g) + 3000; /* three seconds late */
    assert_int_equal(gossip_tick(g), 0);
    assert_int_equal(gossip_stats_get(g, &st), 0);
    assert_int_equal(st.loop_stalls, 1);
    assert_int_equal(st.awareness, 1);
    assert_int_equal(gossip_report_lag(g, 10), 0); /* below a probe timeout: nothing */
    assert_int_equal(gossip_stats_get(g, &st), 0);
    assert_int_equal(st.loop_stalls, 1);
    assert_int_equal(gossip_report_lag(g, 2000), 0);
    assert_int_equal(gossip_stats_get(g, &st), 0);
    assert_int_equal(st.loop_stalls, 2);
    assert_int_equal(st.awareness, 2);
    assert_int_equal(gossip_report_lag(NULL, 5), GOSSIP_EINVAL);
    gossip_destroy(g);
}

/* ---- fork ------------------------------------------------------------------ */

/* A handle copied into a forked child never seals there: the child's calls
 * that would send are refused with GOSSIP_EFORKED and nothing is sent, so
 * no nonce of the parent's session is used twice; the parent carries on. */
static void test_forked_child_cannot_seal(void **state)
{
    (void)state;
    clock_ms = 1000;
    struct gossip_config cfg;
    base_config(&cfg);
    assert_int_equal(gossip_config_add_seed(&cfg, "10.0.0.9"), 0); /* something to send to */
    gossip_t *g;
    assert_int_equal(gossip_create(&g, &cfg), 0);
    assert_int_equal(gossip_tick(g), 0);
    assert_true(sends > 0); /* the parent sends (a join to the seed) */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned before = sends;
        clock_ms += 5000;
        int ok = gossip_tick(g) == GOSSIP_EFORKED && gossip_broadcast(g, "x", 1) == GOSSIP_EFORKED &&
                 gossip_set_meta(g, "m", 1) == GOSSIP_EFORKED && sends == before;
        gossip_destroy(g); /* allowed: it sends nothing */
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    unsigned before = sends;
    clock_ms += 5000;
    assert_int_equal(gossip_tick(g), 0); /* the parent is unaffected */
    assert_true(sends > before);
    assert_string_equal(gossip_strerror(GOSSIP_EFORKED),
                        "handle created in another process (after fork()): destroy it, create a new one");
    gossip_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drain_reports_more),
        cmocka_unit_test(test_loop_calls_refused_in_callback),
        cmocka_unit_test(test_destroy_from_callback),
        cmocka_unit_test(test_log_callback_cannot_change_state),
        cmocka_unit_test(test_roles_start_at_first_tick),
        cmocka_unit_test(test_stall_noticed_and_reported),
        cmocka_unit_test(test_forked_child_cannot_seal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
