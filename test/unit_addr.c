/*
 * lib/addr.c: the one address parser, its formatting and the sockaddr
 * conversions, and that the configuration refuses exactly what the core
 * cannot use (an IPv6 zone anywhere, a link-local bind address) with a
 * message that says so, in validation, in the loader and in create.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "gossip.h"

static void expect_addr(const char *text, uint16_t def, int family, const char *ip, uint16_t port)
{
    gaddr_t a, want;
    int rc = addr_parse(text, def, &a);
    if (rc != 0)
        fail_msg("%s: %d", text, rc);
    memset(&want, 0, sizeof want);
    want.family = (uint8_t)family;
    want.port = port;
    assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, ip, want.ip), 1);
    if (!addr_equal(&a, &want))
        fail_msg("%s: family %u port %u", text, a.family, a.port);
}

static void test_parse_forms(void **state)
{
    (void)state;
    expect_addr("192.0.2.1", 1179, 4, "192.0.2.1", 1179);
    expect_addr("192.0.2.1:7946", 1179, 4, "192.0.2.1", 7946);
    expect_addr("[2001:db8::1]", 1179, 6, "2001:db8::1", 1179);
    expect_addr("[2001:db8::1]:65535", 1179, 6, "2001:db8::1", 65535);
    expect_addr("2001:db8::1", 99, 6, "2001:db8::1", 99); /* bare v6: no port */
    expect_addr("::", 5, 6, "::", 5);
    expect_addr("[::]", 5, 6, "::", 5);
    /* IPv4-mapped IPv6 is the IPv4 address: one peer, one value */
    expect_addr("[::ffff:192.0.2.9]:7", 1, 4, "192.0.2.9", 7);
    expect_addr("[192.0.2.1]:8", 1, 4, "192.0.2.1", 8);

    gaddr_t a;
    /* ports: digits only, 1..65535 */
    const char *bad_ports[] = {"192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:", "192.0.2.1:+99",
                               "192.0.2.1: 99", "192.0.2.1:99x", "[::1]:", "[::1]:-1"};
    for (size_t i = 0; i < sizeof bad_ports / sizeof bad_ports[0]; i++)
        if (addr_parse(bad_ports[i], 1, &a) != GOSSIP_ERANGE)
            fail_msg("%s accepted", bad_ports[i]);
    /* not numeric, broken brackets, zones, shorthands */
    const char *bad[] = {"", "host.example", "host.example:1", "10.1", "[::1", "[::1]x", "[]",
                         ":1179", "fe80::1%lo", "[fe80::1%lo]:1", "fe80::1%25lo", "1.2.3.4.5",
                         "[1.2.3.4", "::1::2",
                         "0123456789012345678901234567890123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (addr_parse(bad[i], 1, &a) != GOSSIP_EADDR)
            fail_msg("%s accepted", bad[i]);
    assert_int_equal(addr_parse(NULL, 1, &a), GOSSIP_EADDR);

    /* a host takes no port */
    assert_int_equal(addr_parse_host("192.0.2.1", 3, &a), 0);
    assert_int_equal(a.port, 3);
    assert_int_equal(addr_parse_host("[::1]", 3, &a), 0);
    assert_int_equal(a.family, 6);
    assert_int_equal(addr_parse_host("192.0.2.1:1179", 3, &a), GOSSIP_EADDR);
    assert_int_equal(addr_parse_host("[::1]:1179", 3, &a), GOSSIP_EADDR);
    assert_int_equal(addr_parse_host("fe80::1%lo", 3, &a), GOSSIP_EADDR);
    assert_int_equal(addr_parse_host("", 3, &a), GOSSIP_EADDR);
    assert_int_equal(addr_parse_host("[]", 3, &a), GOSSIP_EADDR);

    /* split keeps names for the resolver */
    char host[64];
    const char *port;
    assert_int_equal(addr_split("mail3.example:99", host, sizeof host, &port), 0);
    assert_string_equal(host, "mail3.example");
    assert_string_equal(port, "99");
    assert_int_equal(addr_split("mail3.example", host, sizeof host, &port), 0);
    assert_null(port);
    assert_int_equal(addr_split("2001:db8::1", host, sizeof host, &port), 0);
    assert_null(port);
    assert_int_equal(addr_split("[2001:db8::1]", host, 4, &port), GOSSIP_EADDR); /* too small */
}

static void test_format_and_sockaddr(void **state)
{
    (void)state;
    gaddr_t a, b;
    char buf[64];
    struct sockaddr_storage ss;
    socklen_t len;

    assert_int_equal(addr_parse("192.0.2.1:7946", 1, &a), 0);
    addr_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "192.0.2.1:7946");
    assert_int_equal(addr_parse(buf, 1, &b), 0); /* the text form parses back */
    assert_true(addr_equal(&a, &b));
    /* an IPv4 address on a dual-stack socket travels mapped, comes back plain */
    assert_int_equal(addr_to_sockaddr(&a, AF_INET6, &ss, &len), 0);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_true(IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&ss)->sin6_addr));
    assert_int_equal(addr_from_sockaddr((struct sockaddr *)&ss, len, &b), 0);
    assert_true(addr_equal(&a, &b));
    assert_int_equal(addr_to_sockaddr(&a, AF_INET, &ss, &len), 0);
    assert_int_equal(len, sizeof(struct sockaddr_in));

    assert_int_equal(addr_parse("[2001:db8::5]:9", 1, &a), 0);
    addr_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "[2001:db8::5]:9");
    assert_int_equal(addr_to_sockaddr(&a, AF_INET, &ss, &len), GOSSIP_EADDR);
    assert_int_equal(addr_to_sockaddr(&a, AF_INET6, &ss, &len), 0);
    /* a scope id from the kernel is dropped: the value has none */
    ((struct sockaddr_in6 *)&ss)->sin6_scope_id = 3;
    assert_int_equal(addr_from_sockaddr((struct sockaddr *)&ss, len, &b), 0);
    assert_true(addr_equal(&a, &b));
    assert_int_equal(addr_from_sockaddr((struct sockaddr *)&ss, 4, &b), GOSSIP_EADDR);
    ss.ss_family = AF_UNIX;
    assert_int_equal(addr_from_sockaddr((struct sockaddr *)&ss, sizeof ss, &b), GOSSIP_EADDR);

    /* truncation is safe */
    char small[6];
    addr_format(&a, small, sizeof small);
    assert_string_equal(small, "[2001");

    assert_int_equal(addr_parse("0.0.0.0", 1, &a), 0);
    assert_true(addr_is_unspecified(&a));
    assert_int_equal(addr_parse("[::]:1", 1, &a), 0);
    assert_true(addr_is_unspecified(&a));
    assert_false(addr_is_link_local(&a));
    assert_int_equal(addr_parse("fe80::1", 1, &a), 0);
    assert_true(addr_is_link_local(&a));
    assert_int_equal(addr_parse("febf::1", 1, &a), 0);
    assert_true(addr_is_link_local(&a));
    assert_int_equal(addr_parse("fec0::1", 1, &a), 0);
    assert_false(addr_is_link_local(&a));
    assert_int_equal(addr_parse("fd00::1", 1, &a), 0);
    assert_false(addr_is_link_local(&a));
}

/* --- the configuration uses the same parser ------------------------------ */

struct logcap {
    int n;
    char line[8][512];
};

static void cap_log(void *ud, enum gossip_log_level level, const char *msg)
{
    struct logcap *lc = ud;
    (void)level;
    if (lc->n < 8)
        snprintf(lc->line[lc->n++], sizeof lc->line[0], "%s", msg);
}

static void valid_cfg(struct gossip_config *c)
{
    static const uint8_t key[GOSSIP_KEY_LEN] = {7};
    gossip_config_init(c);
    snprintf(c->bind_addr, sizeof c->bind_addr, "::");
    assert_int_equal(gossip_config_add_raw_key(c, key), 0);
}

static void expect_invalid(const struct gossip_config *c, const char *needle)
{
    char err[512];
    int rc = gossip_config_validate(c, err, sizeof err);
    if (rc != GOSSIP_EADDR || !strstr(err, needle))
        fail_msg("expected EADDR with \"%s\", got %d \"%s\"", needle, rc, err);
}

static void test_config_refusals(void **state)
{
    (void)state;
    struct gossip_config c;

    /* a zone: refused everywhere, with the reason */
    valid_cfg(&c);
    snprintf(c.bind_addr, sizeof c.bind_addr, "fe80::1%%lo");
    expect_invalid(&c, "cluster.bind-addr: \"fe80::1%lo\" has an IPv6 zone");
    valid_cfg(&c);
    snprintf(c.advertise_addr, sizeof c.advertise_addr, "fe80::1%%eth0");
    expect_invalid(&c, "cluster.advertise-addr: \"fe80::1%eth0\" has an IPv6 zone");
    valid_cfg(&c);
    snprintf(c.seeds[0], sizeof c.seeds[0], "[fe80::1%%lo]:1179");
    c.n_seeds = 1;
    expect_invalid(&c, "cluster.seed-nodes: seed 1 (\"[fe80::1%lo]:1179\") has an IPv6 zone");
    assert_int_equal(gossip_config_add_seed(&c, "fe80::1%lo"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "[fe80::1%lo]:99"), GOSSIP_EADDR);

    /* link-local: cannot be bound without a zone, so refused as bind
     * address; as an advertised address or a seed it is sent to */
    valid_cfg(&c);
    snprintf(c.bind_addr, sizeof c.bind_addr, "fe80::1");
    expect_invalid(&c, "cluster.bind-addr: \"fe80::1\" is an IPv6 link-local address");
    valid_cfg(&c);
    snprintf(c.advertise_addr, sizeof c.advertise_addr, "fe80::1");
    assert_int_equal(gossip_config_add_seed(&c, "fe80::2"), 0);
    assert_int_equal(gossip_config_validate(&c, NULL, 0), 0);

    /* what the configuration accepts the core can bind: create reports
     * the same reason through the log instead of failing silently */
    struct logcap lc;
    memset(&lc, 0, sizeof lc);
    valid_cfg(&c);
    snprintf(c.bind_addr, sizeof c.bind_addr, "fe80::1%%lo");
    c.cb.log = cap_log;
    c.cb.ud = &lc;
    gossip_t *g = NULL;
    assert_int_equal(gossip_create(&g, &c), GOSSIP_EADDR);
    assert_null(g);
    assert_int_equal(lc.n, 1);
    assert_non_null(strstr(lc.line[0], "cluster.bind-addr: \"fe80::1%lo\" has an IPv6 zone"));

    /* the loader says it with file and line */
    char err[512];
    valid_cfg(&c);
    assert_int_equal(gossip_config_load_string(&c, "[cluster]\n\nbind-addr = \"fe80::1%eth0\"\n",
                                               "g.conf", err, sizeof err),
                     GOSSIP_ECONFIG);
    assert_non_null(strstr(err, "g.conf:3: cluster.bind-addr: \"fe80::1%eth0\" has an IPv6 zone"));
    assert_int_equal(gossip_config_load_string(&c, "[cluster]\nbind-addr = fe80::7\n", "g.conf",
                                               err, sizeof err),
                     GOSSIP_ECONFIG);
    assert_non_null(strstr(err, "g.conf:2: cluster.bind-addr: \"fe80::7\" is an IPv6 link-local"));

    /* stored seeds are the parser's own text form */
    valid_cfg(&c);
    assert_int_equal(gossip_config_add_seed(&c, "[::ffff:192.0.2.4]:5"), 0);
    assert_string_equal(c.seeds[0], "192.0.2.4:5");
    gaddr_t a;
    assert_int_equal(addr_parse(c.seeds[0], 1, &a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_format_and_sockaddr),
        cmocka_unit_test(test_config_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
