/*
 * Configuration: defaults, builders, validation, the gossip.conf(5) loader
 * and the dump.  Test inputs are in test/data/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config_int.h"
#include "crypto.h"
#include "gossip.h"

/* --- helpers ------------------------------------------------------------- */

/* scrypt at the cost of format 2 (~0.4 s, 128 MiB) would make these tests
 * of the configuration code slow, under valgrind above all: this binary
 * replaces it by SHA-256 of everything scrypt takes, which keeps every key
 * distinct per passphrase, salt and parameters.  The real KDF, its
 * parameters and its cache are test/unit_kdf.c's. */
int EVP_PBE_scrypt(const char *pass, size_t passlen, const unsigned char *salt, size_t saltlen,
                   uint64_t N, uint64_t r, uint64_t p, uint64_t maxmem, unsigned char *key,
                   size_t keylen)
{
    uint64_t params[4] = {N, r, p, saltlen};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    (void)maxmem;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    int ok = pass && key && h && EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(h, params, sizeof params) == 1 &&
             EVP_DigestUpdate(h, salt, saltlen) == 1 && EVP_DigestUpdate(h, pass, passlen) == 1 &&
             EVP_DigestFinal_ex(h, md, &md_len) == 1 && keylen <= md_len;
    EVP_MD_CTX_free(h);
    if (!ok)
        return 0;
    memcpy(key, md, keylen);
    return 1;
}

struct logcap {
    int n;
    int level[32];
    char line[32][512];
};

static void cap_log(void *ud, enum gossip_log_level level, const char *msg)
{
    struct logcap *lc = ud;
    if (lc->n < 32) {
        lc->level[lc->n] = (int)level;
        snprintf(lc->line[lc->n], sizeof lc->line[0], "%s", msg);
        lc->n++;
    }
}

/* Number of captured lines containing `needle`. */
static int log_count(const struct logcap *lc, const char *needle)
{
    int k = 0;
    for (int i = 0; i < lc->n; i++)
        if (strstr(lc->line[i], needle))
            k++;
    return k;
}

static const uint8_t raw_key[GOSSIP_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

/* A config with a raw key already in the keyring, so most texts need no
 * (slow, scrypt) key line. */
static void base_cfg(struct gossip_config *c, struct logcap *lc)
{
    gossip_config_init(c);
    memset(lc, 0, sizeof *lc);
    c->cb.log = cap_log;
    c->cb.ud = lc;
    assert_int_equal(gossip_config_add_raw_key(c, raw_key), 0);
}

static int load(struct gossip_config *c, const char *text, char *err, size_t errlen)
{
    return gossip_config_load_string(c, text, "gossip.conf", err, errlen);
}

/* Load `text` expecting failure `code` with an error containing `needle`. */
static void expect_error(const char *text, int code, const char *needle)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512];
    base_cfg(&c, &lc);
    int rc = load(&c, text, err, sizeof err);
    if (rc != code || !strstr(err, needle))
        fail_msg("input:\n%s\nexpected %d with \"%s\", got %d \"%s\"", text, code, needle, rc,
                 err);
}

static char data_path_buf[512];

static const char *data_path(const char *name)
{
    const char *f = __FILE__;
    const char *slash = strrchr(f, '/');
    int dir = slash ? (int)(slash - f) : 0;
    snprintf(data_path_buf, sizeof data_path_buf, "%.*s%sdata/%s", dir, f, slash ? "/" : "",
             name);
    return data_path_buf;
}

static const struct gossip_role *role(const struct gossip_config *c, const char *name)
{
    for (unsigned i = 0; i < c->n_roles; i++)
        if (strcmp(c->roles[i].name, name) == 0)
            return &c->roles[i];
    return NULL;
}

static void assert_role(const struct gossip_config *c, const char *name, const uint64_t *ids,
                        unsigned n, unsigned flags)
{
    const struct gossip_role *r = role(c, name);
    if (!r)
        fail_msg("role %s missing", name);
    assert_int_equal(r->n_nodes, n);
    for (unsigned i = 0; i < n; i++)
        assert_true(r->nodes[i] == ids[i]);
    assert_int_equal(r->flags, flags);
}

/* --- defaults and effective values --------------------------------------- */

static void test_defaults(void **state)
{
    struct gossip_config c;
    (void)state;
    memset(&c, 0xa5, sizeof c);
    gossip_config_init(&c);
    assert_int_equal(c.size, sizeof c);
    assert_int_equal(c.bind_port, 1179);
    assert_int_equal(c.heartbeat_ms, 1000);
    assert_string_equal(c.bind_addr, "");
    assert_int_equal(c.n_keys, 0);
    assert_int_equal(c.n_seeds, 0);
    assert_int_equal(c.n_roles, 5);
    const char *names[] = {"purge.stores", "purge.accounts", "acme.renew", "metrics.calculate",
                           "metrics.push"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(c.roles[i].name, names[i]);
        assert_int_equal(c.roles[i].n_nodes, 0);
        assert_int_equal(c.roles[i].flags, 0);
    }
    assert_int_equal(c.probe_timeout_ms, 0);
    assert_int_equal(c.max_datagram, 0);
    assert_true(c.suspicion_mult == 0);
    assert_null(c.cb.log);
    assert_null(c.hooks.send);
}

static void test_effective(void **state)
{
    struct gossip_config c, e;
    (void)state;
    gossip_config_init(&c);
    config_effective(&c, &e);
    assert_int_equal(e.probe_timeout_ms, 200);
    assert_int_equal(e.indirect_timeout_ms, 400);
    assert_int_equal(e.indirect_checks, 3);
    assert_true(e.suspicion_mult == 1.0);
    assert_true(e.suspicion_max_mult == 4);
    assert_int_equal(e.suspicion_confirmations, 2);
    assert_true(e.retransmit_mult == 4);
    assert_int_equal(e.gossip_interval_ms, 200);
    assert_int_equal(e.gossip_fanout, 3);
    assert_int_equal(e.sync_interval_ms, 60000);
    assert_int_equal(e.ae_records, 2);
    assert_int_equal(e.reconnect_interval_ms, 5000);
    assert_int_equal(e.reap_ms, 3600000);
    assert_int_equal(e.awareness_max, 8);
    assert_int_equal(e.max_clock_skew_ms, 86400000);
    assert_int_equal(e.max_datagram, 1232);
    assert_int_equal(e.max_members, 65536);
    assert_int_equal(e.max_meta, 128);
    assert_int_equal(e.max_event, 512);
    assert_int_equal(e.max_pending_events, 256);
    assert_int_equal(e.advertise_port, 1179);

    /* probe timeout floor, explicit values kept, indirect follows probe */
    c.heartbeat_ms = 20;
    c.gossip_fanout = 7;
    config_effective(&c, &e);
    assert_int_equal(e.probe_timeout_ms, 10);
    assert_int_equal(e.indirect_timeout_ms, 20);
    assert_int_equal(e.gossip_fanout, 7);
    c.probe_timeout_ms = 15;
    config_effective(&c, &e);
    assert_int_equal(e.indirect_timeout_ms, 30);

    /* saturation instead of wrap-around */
    c.heartbeat_ms = 3600000;
    config_effective(&c, &e);
    assert_int_equal(e.reap_ms, UINT32_MAX);
    assert_int_equal(e.sync_interval_ms, 216000000);

    /* in place */
    gossip_config_init(&c);
    config_effective(&c, &c);
    assert_int_equal(c.probe_timeout_ms, 200);
}

/* --- builders ------------------------------------------------------------ */

static void test_add_key(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    uint8_t k[GOSSIP_KEY_LEN];
    (void)state;
    gossip_config_init(&c);
    memset(&lc, 0, sizeof lc);
    c.cb.log = cap_log;
    c.cb.ud = &lc;
    assert_int_equal(gossip_config_add_key(&c, ""), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_add_key(&c, NULL), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_add_key(NULL, "x"), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_add_key(&c, "short"), 0);
    assert_int_equal(c.n_keys, 1);
    assert_int_equal(lc.n, 1);
    assert_int_equal(lc.level[0], GOSSIP_LOG_WARN);
    assert_non_null(strstr(lc.line[0], "cluster.key"));
    assert_int_equal(crypto_derive_passphrase("short", NULL, k), 0);
    assert_memory_equal(c.keys[0], k, GOSSIP_KEY_LEN);

    assert_int_equal(gossip_config_add_key(&c, "a passphrase of sufficient length"), 0);
    assert_int_equal(lc.n, 1); /* no warning for a long one */
    assert_int_equal(c.n_keys, 2);
    assert_memory_not_equal(c.keys[0], c.keys[1], GOSSIP_KEY_LEN);

    while (c.n_keys < GOSSIP_MAX_KEYS)
        assert_int_equal(gossip_config_add_raw_key(&c, raw_key), 0);
    assert_int_equal(gossip_config_add_raw_key(&c, raw_key), GOSSIP_EFULL);
    assert_int_equal(gossip_config_add_key(&c, "another long passphrase!"), GOSSIP_EFULL);
    assert_int_equal(gossip_config_add_raw_key(&c, NULL), GOSSIP_EINVAL);
}

static void test_add_seed(void **state)
{
    struct gossip_config c;
    (void)state;
    gossip_config_init(&c);
    assert_int_equal(gossip_config_add_seed(&c, "10.0.0.5"), 0);
    assert_int_equal(gossip_config_add_seed(&c, "10.0.0.6:99"), 0);
    assert_int_equal(gossip_config_add_seed(&c, "[::1]"), 0);
    assert_int_equal(gossip_config_add_seed(&c, "[2001:db8::7]:65535"), 0);
    assert_int_equal(gossip_config_add_seed(&c, "fe80::1"), 0);
    assert_int_equal(gossip_config_add_seed(&c, "10.0.0.5"), 0); /* duplicate: kept once */
    assert_int_equal(c.n_seeds, 5);
    assert_string_equal(c.seeds[0], "10.0.0.5:1179");
    assert_string_equal(c.seeds[1], "10.0.0.6:99");
    assert_string_equal(c.seeds[2], "[::1]:1179");
    assert_string_equal(c.seeds[3], "[2001:db8::7]:65535");
    assert_string_equal(c.seeds[4], "[fe80::1]:1179");

    /* the default port is bind_port at the time of the call */
    c.bind_port = 4000;
    assert_int_equal(gossip_config_add_seed(&c, "10.0.0.9"), 0);
    assert_string_equal(c.seeds[5], "10.0.0.9:4000");

    assert_int_equal(gossip_config_add_seed(&c, "10.0.0.1:0"), GOSSIP_ERANGE);
    assert_int_equal(gossip_config_add_seed(&c, "10.0.0.1:65536"), GOSSIP_ERANGE);
    assert_int_equal(gossip_config_add_seed(&c, "10.0.0.1:"), GOSSIP_ERANGE);
    assert_int_equal(gossip_config_add_seed(&c, "10.0.0.1:x1"), GOSSIP_ERANGE);
    assert_int_equal(gossip_config_add_seed(&c, "[::1]:0"), GOSSIP_ERANGE);
    assert_int_equal(gossip_config_add_seed(&c, "[::1"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "[::1]x"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "[]"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, ""), GOSSIP_EINVAL); /* as documented */
    assert_int_equal(gossip_config_add_seed(&c, "bad_host!"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "10.1"), GOSSIP_EADDR); /* a shorthand, not a name */
    assert_int_equal(gossip_config_add_seed(&c, NULL), GOSSIP_EINVAL);
    assert_int_equal(c.n_seeds, 6);

    while (c.n_seeds < GOSSIP_MAX_SEEDS) {
        char s[32];
        snprintf(s, sizeof s, "10.1.0.%u", c.n_seeds);
        assert_int_equal(gossip_config_add_seed(&c, s), 0);
    }
    assert_int_equal(gossip_config_add_seed(&c, "10.2.0.1"), GOSSIP_EFULL);
    /* a seed already listed is one seed: adding it again succeeds and
     * appends nothing, full list or not, however it is written */
    assert_int_equal(gossip_config_add_seed(&c, "10.0.0.6:99"), 0);
    assert_int_equal(gossip_config_add_seed(&c, "[::ffff:10.0.0.6]:99"), 0);
    assert_int_equal(gossip_config_add_seed(&c, "::1"), GOSSIP_EFULL); /* ::1 on port 4000 is new */
    assert_int_equal(c.n_seeds, GOSSIP_MAX_SEEDS);
    gossip_config_init(&c);
    assert_int_equal(gossip_config_add_seed(&c, "[::1]:1179"), 0);
    assert_int_equal(gossip_config_add_seed(&c, "::1"), 0);
    assert_int_equal(gossip_config_add_seed(&c, "[0:0::1]"), 0);
    assert_int_equal(c.n_seeds, 1);
    assert_string_equal(c.seeds[0], "[::1]:1179");
}

static void test_add_seed_names(void **state)
{
    struct gossip_config c;
    char err[256];
    (void)state;
    /* Names are kept as text, checked for syntax only: nothing is looked
     * up, so a name that does not resolve (yet) is a seed like any other
     * and the call never blocks (resolve.c resolves it in the node). */
    gossip_config_init(&c);
    assert_int_equal(gossip_config_add_seed(&c, "localhost:7000"), 0);
    assert_string_equal(c.seeds[0], "localhost:7000");
    assert_int_equal(gossip_config_add_seed(&c, "no-such-host.invalid"), 0);
    assert_string_equal(c.seeds[1], "no-such-host.invalid:1179");
    assert_int_equal(gossip_config_add_seed(&c, "NO-SUCH-HOST.invalid:1179"), 0); /* the same seed */
    assert_int_equal(gossip_config_add_seed(&c, "mail-3.example."), 0);            /* absolute */
    assert_int_equal(gossip_config_add_seed(&c, "gossip_svc.mail.svc.cluster.local:7946"), 0);
    assert_int_equal(c.n_seeds, 4);
    assert_string_equal(c.seeds[2], "mail-3.example.:1179");
    c.bind_port = 4000;
    assert_int_equal(gossip_config_add_seed(&c, "m4.example"), 0);
    assert_string_equal(c.seeds[4], "m4.example:4000");

    assert_int_equal(gossip_config_add_seed(&c, "-bad.example"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "bad-.example"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "a..example"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, ".example"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "mail 3.example"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "[mail3.example]:1179"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "mail3.example%eth0"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "10.0.0.256"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "1.2.3.4.5:99"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "mail3.example:0"), GOSSIP_ERANGE);
    assert_int_equal(gossip_config_add_seed(&c, "mail3.example:x"), GOSSIP_ERANGE);
    /* a label of 64 characters; "name:port" longer than GOSSIP_ADDR_MAX - 1 */
    assert_int_equal(gossip_config_add_seed(&c, "a123456789012345678901234567890123456789012345678901234567890123"
                                                ".example"), GOSSIP_EADDR);
    assert_int_equal(gossip_config_add_seed(&c, "a12345678901234567890123456789.a1234567890123456789012345678"
                                                ":1179"), GOSSIP_EADDR);
    assert_int_equal(c.n_seeds, 5);

    /* a config that names seeds validates, whatever DNS says */
    snprintf(c.bind_addr, sizeof c.bind_addr, "0.0.0.0");
    static const uint8_t key[GOSSIP_KEY_LEN] = {1};
    assert_int_equal(gossip_config_add_raw_key(&c, key), 0);
    assert_int_equal(gossip_config_validate(&c, err, sizeof err), 0);
    snprintf(c.seeds[0], sizeof c.seeds[0], "bad_name!:1");
    assert_int_equal(gossip_config_validate(&c, err, sizeof err), GOSSIP_EADDR);
    assert_non_null(strstr(err, "seed 1 (\"bad_name!:1\") is neither a numeric address"));
}

static void test_set_role(void **state)
{
    struct gossip_config c;
    uint64_t ids[GOSSIP_ROLE_MAX_NODES + 1];
    (void)state;
    for (unsigned i = 0; i <= GOSSIP_ROLE_MAX_NODES; i++)
        ids[i] = i + 1;
    gossip_config_init(&c);
    assert_int_equal(gossip_config_set_role(&c, "acme.renew", ids, 2, GOSSIP_ROLE_QUORUM), 0);
    assert_int_equal(c.n_roles, 5); /* replaced, not appended */
    assert_role(&c, "acme.renew", ids, 2, GOSSIP_ROLE_QUORUM);
    assert_int_equal(gossip_config_set_role(&c, "backup", NULL, 0, GOSSIP_ROLE_NO_FAILOVER), 0);
    assert_int_equal(c.n_roles, 6);
    assert_int_equal(gossip_config_set_role(&c, "big", ids, GOSSIP_ROLE_MAX_NODES, 0), 0);
    assert_int_equal(gossip_config_set_role(&c, "big", ids, GOSSIP_ROLE_MAX_NODES + 1, 0),
                     GOSSIP_EFULL);

    assert_int_equal(gossip_config_set_role(&c, "Bad", ids, 1, 0), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_set_role(&c, "1abc", ids, 1, 0), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_set_role(&c, "", ids, 1, 0), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_set_role(&c, "a b", ids, 1, 0), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_set_role(&c, NULL, ids, 1, 0), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_set_role(&c, "ok", NULL, 1, 0), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_set_role(&c, "ok", ids, 1, 0x80), GOSSIP_EINVAL);
    uint64_t dup[] = {3, 4, 3};
    assert_int_equal(gossip_config_set_role(&c, "ok", dup, 3, 0), GOSSIP_EINVAL);

    while (c.n_roles < GOSSIP_MAX_ROLES) {
        char n[16];
        snprintf(n, sizeof n, "r%u", c.n_roles);
        assert_int_equal(gossip_config_set_role(&c, n, NULL, 0, 0), 0);
    }
    assert_int_equal(gossip_config_set_role(&c, "one.more", NULL, 0, 0), GOSSIP_EFULL);
    assert_int_equal(gossip_config_set_role(&c, "acme.renew", NULL, 0, 0), 0); /* replace ok */
}

/* --- validation ---------------------------------------------------------- */

static int drop_send(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf,
                     size_t len)
{
    (void)ctx;
    (void)to;
    (void)to_len;
    (void)buf;
    (void)len;
    return 0;
}

static void valid_cfg(struct gossip_config *c)
{
    gossip_config_init(c);
    snprintf(c->bind_addr, sizeof c->bind_addr, "10.0.0.1");
    assert_int_equal(gossip_config_add_raw_key(c, raw_key), 0);
}

static void expect_invalid(const struct gossip_config *c, int code, const char *needle)
{
    char err[256];
    int rc = gossip_config_validate(c, err, sizeof err);
    if (rc != code || !strstr(err, needle))
        fail_msg("expected %d with \"%s\", got %d \"%s\"", code, needle, rc, err);
}

static void test_validate(void **state)
{
    struct gossip_config c;
    char err[256];
    (void)state;

    valid_cfg(&c);
    assert_int_equal(gossip_config_validate(&c, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(gossip_config_validate(&c, NULL, 0), 0);

    gossip_config_init(&c);
    assert_int_equal(gossip_config_add_raw_key(&c, raw_key), 0);
    expect_invalid(&c, GOSSIP_ENOBIND,
                   "cluster.bind-addr is not set: the gossip service will not start");
    snprintf(c.bind_addr, sizeof c.bind_addr, "host.example");
    expect_invalid(&c, GOSSIP_EADDR, "cluster.bind-addr");
    snprintf(c.bind_addr, sizeof c.bind_addr, "10.1");
    expect_invalid(&c, GOSSIP_EADDR, "cluster.bind-addr");
    snprintf(c.bind_addr, sizeof c.bind_addr, "10.0.0.1:1179");
    expect_invalid(&c, GOSSIP_EADDR, "cluster.bind-addr");

    gossip_config_init(&c);
    snprintf(c.bind_addr, sizeof c.bind_addr, "::");
    expect_invalid(&c, GOSSIP_ENOKEY, "cluster.key is not set: the gossip service will not start");

    /* wildcard binds without advertise-addr are allowed, v4, v6, bracketed
     * (a zone such as fe80::1%lo is refused: see unit_addr) */
    const char *ok_binds[] = {"0.0.0.0", "::", "[::]", "[::1]", "fd00::1", "192.0.2.1"};
    for (size_t i = 0; i < sizeof ok_binds / sizeof ok_binds[0]; i++) {
        valid_cfg(&c);
        snprintf(c.bind_addr, sizeof c.bind_addr, "%s", ok_binds[i]);
        if (gossip_config_validate(&c, err, sizeof err) != 0)
            fail_msg("%s: %s", ok_binds[i], err);
    }

    /* ... and gossip_create() takes them: the node advertises "my source
     * address" (all zero), which every receiver replaces by the address
     * the datagram came from */
    valid_cfg(&c);
    snprintf(c.bind_addr, sizeof c.bind_addr, "[::]");
    c.hooks.send = drop_send;
    gossip_t *g = NULL;
    assert_int_equal(gossip_create(&g, &c), 0);
    struct gossip_member self;
    assert_int_equal(gossip_member_get(g, gossip_self_id(g), &self), 0);
    assert_int_equal(self.addr.ss_family, AF_INET6);
    assert_true(IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&self.addr)->sin6_addr));
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&self.addr)->sin6_port), 1179);
    gossip_destroy(g);

    valid_cfg(&c);
    snprintf(c.advertise_addr, sizeof c.advertise_addr, "nat.example");
    expect_invalid(&c, GOSSIP_EADDR, "cluster.advertise-addr");
    snprintf(c.advertise_addr, sizeof c.advertise_addr, "0.0.0.0");
    expect_invalid(&c, GOSSIP_EADDR, "wildcard");
    snprintf(c.advertise_addr, sizeof c.advertise_addr, "[2001:db8::5]");
    assert_int_equal(gossip_config_validate(&c, NULL, 0), 0);

    valid_cfg(&c);
    c.bind_port = 0;
    expect_invalid(&c, GOSSIP_ERANGE, "cluster.bind-port");
    valid_cfg(&c);
    c.heartbeat_ms = 9;
    expect_invalid(&c, GOSSIP_ERANGE, "cluster.heartbeat");
    c.heartbeat_ms = 3600001;
    expect_invalid(&c, GOSSIP_ERANGE, "cluster.heartbeat");
    c.heartbeat_ms = 10;
    assert_int_equal(gossip_config_validate(&c, NULL, 0), 0);
    c.heartbeat_ms = 3600000;
    assert_int_equal(gossip_config_validate(&c, NULL, 0), 0);

    valid_cfg(&c);
    c.max_meta = 256;
    expect_invalid(&c, GOSSIP_ERANGE, "cluster.max-meta");
    valid_cfg(&c);
    c.max_event = 2000; /* does not fit the default 1232-byte datagram */
    expect_invalid(&c, GOSSIP_ERANGE, "cluster.max-event");
    valid_cfg(&c);
    c.probe_timeout_ms = 5000; /* longer than the heartbeat */
    expect_invalid(&c, GOSSIP_ERANGE, "cluster.probe-timeout");
    valid_cfg(&c);
    c.suspicion_mult = -1;
    expect_invalid(&c, GOSSIP_ERANGE, "cluster.suspicion-mult");
    valid_cfg(&c);
    c.max_datagram = 100;
    expect_invalid(&c, GOSSIP_ERANGE, "cluster.max-datagram");

    valid_cfg(&c);
    snprintf(c.seeds[0], sizeof c.seeds[0], "seed.example:1179"); /* a name: valid, never looked up here */
    c.n_seeds = 1;
    assert_int_equal(gossip_config_validate(&c, NULL, 0), 0);
    snprintf(c.seeds[0], sizeof c.seeds[0], "seed example:1179");
    expect_invalid(&c, GOSSIP_EADDR, "cluster.seed-nodes");

    valid_cfg(&c);
    c.roles[0].n_nodes = 2;
    c.roles[0].nodes[0] = c.roles[0].nodes[1] = 7;
    expect_invalid(&c, GOSSIP_EINVAL, "cluster.roles.purge.stores");
    valid_cfg(&c);
    c.roles[1].name[0] = 'X';
    expect_invalid(&c, GOSSIP_EINVAL, "cluster.roles");

    valid_cfg(&c);
    memset(c.cluster_label, 'x', sizeof c.cluster_label);
    expect_invalid(&c, GOSSIP_EINVAL, "NUL");
    valid_cfg(&c);
    snprintf(c.cluster_label, sizeof c.cluster_label, "a\nb");
    expect_invalid(&c, GOSSIP_EINVAL, "cluster.cluster-label");

    valid_cfg(&c);
    c.size = 0;
    expect_invalid(&c, GOSSIP_EINVAL, "gossip_config_init");
    assert_int_equal(gossip_config_validate(NULL, err, sizeof err), GOSSIP_EINVAL);
}

/* --- loader: the seed's example ------------------------------------------ */

static void test_seed_example_verbatim(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512];
    (void)state;
    gossip_config_init(&c);
    memset(&lc, 0, sizeof lc);
    c.cb.log = cap_log;
    c.cb.ud = &lc;
    int rc = gossip_config_load_file(&c, data_path("seed-example.conf"), err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    assert_int_equal(c.node_id, 1);
    assert_string_equal(c.bind_addr, "[::]");
    assert_int_equal(c.bind_port, 1179);
    assert_string_equal(c.advertise_addr, "10.0.0.1");
    assert_int_equal(c.n_keys, 1);
    uint8_t k[GOSSIP_KEY_LEN];
    assert_int_equal(crypto_derive_passphrase("my-secret-key", NULL, k), 0);
    assert_memory_equal(c.keys[0], k, GOSSIP_KEY_LEN);
    assert_int_equal(c.heartbeat_ms, 5000);
    assert_int_equal(c.n_seeds, 2);
    assert_string_equal(c.seeds[0], "10.0.0.5:1179");
    assert_string_equal(c.seeds[1], "10.0.0.6:1179");
    /* the evidently misspelt [cluste.roles.*] sections are read as the
     * role sections they mean: no singleton duty is left to every node */
    assert_role(&c, "purge.stores", (const uint64_t[]){1, 2}, 2, 0);
    assert_role(&c, "purge.accounts", (const uint64_t[]){1, 2}, 2, 0);
    assert_role(&c, "acme.renew", (const uint64_t[]){5}, 1, 0);
    assert_role(&c, "metrics.calculate", (const uint64_t[]){3, 4}, 2, 0);
    assert_role(&c, "metrics.push", (const uint64_t[]){4}, 1, 0);
    assert_int_equal(c.n_roles, 5);

    /* one warning per misspelt section, with file, line and what was read */
    assert_int_equal(log_count(&lc, "is read as"), 3);
    assert_int_equal(log_count(&lc, "seed-example.conf:10: section [cluste.roles.purge] is read as "
                                    "[cluster.roles.purge]; fix its name"),
                     1);
    assert_int_equal(log_count(&lc, ":14: section [cluste.roles.acme] is read as [cluster.roles.acme]"), 1);
    assert_int_equal(log_count(&lc, ":17: section [cluste.roles.metrics] is read as [cluster.roles.metrics]"), 1);
    /* and the short passphrase is pointed at too; being the example
     * printed in the documentation, loudly */
    assert_int_equal(log_count(&lc, "seed-example.conf:6: cluster.key: the passphrase is shorter"),
                     1);
    const char *example = "seed-example.conf:6: cluster.key: \"my-secret-key\" is an example "
                          "passphrase printed in the documentation";
    assert_int_equal(log_count(&lc, example), 1);
    for (int i = 0; i < lc.n; i++)
        assert_int_equal(lc.level[i], strstr(lc.line[i], example) ? GOSSIP_LOG_ERROR : GOSSIP_LOG_WARN);
}

static void test_seed_example_fixed(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512];
    (void)state;
    gossip_config_init(&c);
    memset(&lc, 0, sizeof lc);
    c.cb.log = cap_log;
    c.cb.ud = &lc;
    int rc = gossip_config_load_file(&c, data_path("seed-example-fixed.conf"), err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    assert_int_equal(log_count(&lc, "did you mean"), 0);
    assert_int_equal(c.n_roles, 5);
    assert_role(&c, "purge.stores", (const uint64_t[]){1, 2}, 2, 0);
    assert_role(&c, "purge.accounts", (const uint64_t[]){1, 2}, 2, 0);
    assert_role(&c, "acme.renew", (const uint64_t[]){5}, 1, 0);
    assert_role(&c, "metrics.calculate", (const uint64_t[]){3, 4}, 2, 0);
    assert_role(&c, "metrics.push", (const uint64_t[]){4}, 1, 0);
}

/* --- loader: formats ----------------------------------------------------- */

static void test_full_file(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512];
    uint8_t k[GOSSIP_KEY_LEN];
    (void)state;
    gossip_config_init(&c);
    memset(&lc, 0, sizeof lc);
    c.cb.log = cap_log;
    c.cb.ud = &lc;
    int rc = gossip_config_load_file(&c, data_path("full.conf"), err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    if (lc.n != 0)
        fail_msg("unexpected warning: %s", lc.line[0]);
    assert_true(c.node_id == UINT64_MAX);
    assert_string_equal(c.bind_addr, "0.0.0.0");
    assert_string_equal(c.advertise_addr, "192.0.2.7");
    assert_int_equal(c.bind_port, 7946);
    assert_int_equal(c.advertise_port, 17946);
    assert_int_equal(c.n_keys, 2);
    /* salted with the label, which comes after the key in the file */
    const char *label = "prod \"eu\" \\ west";
    assert_int_equal(crypto_derive_passphrase("first passphrase, seals", label, k), 0);
    assert_memory_equal(c.keys[0], k, GOSSIP_KEY_LEN);
    assert_int_equal(crypto_derive_passphrase("second passphrase, opens", label, k), 0);
    assert_memory_equal(c.keys[1], k, GOSSIP_KEY_LEN);
    assert_int_equal(c.heartbeat_ms, 250);
    assert_int_equal(c.n_seeds, 5);
    assert_string_equal(c.seeds[0], "192.0.2.1:7946");
    assert_string_equal(c.seeds[1], "192.0.2.2:8000");
    assert_string_equal(c.seeds[2], "[2001:db8::1]:7946");
    assert_string_equal(c.seeds[3], "[2001:db8::2]:9000");
    assert_string_equal(c.seeds[4], "[2001:db8::3]:7946");
    assert_string_equal(c.cluster_label, "prod \"eu\" \\ west");
    assert_int_equal(c.probe_timeout_ms, 100);
    assert_int_equal(c.indirect_timeout_ms, 1000);
    assert_int_equal(c.indirect_checks, 4);
    assert_true(c.suspicion_mult == 2.25);
    assert_true(c.suspicion_max_mult == 6);
    assert_int_equal(c.suspicion_confirmations, 3);
    assert_true(c.retransmit_mult == 4.5);
    assert_int_equal(c.gossip_interval_ms, 40);
    assert_int_equal(c.gossip_fanout, 5);
    assert_int_equal(c.sync_interval_ms, 60000);
    assert_int_equal(c.ae_records, 3);
    assert_int_equal(c.reconnect_interval_ms, 10000);
    assert_int_equal(c.reap_ms, 7200000);
    assert_int_equal(c.awareness_max, 6);
    assert_int_equal(c.max_clock_skew_ms, 7200000);
    assert_int_equal(c.max_datagram, 1400);
    assert_int_equal(c.max_members, 1000);
    assert_int_equal(c.max_meta, 200);
    assert_int_equal(c.max_event, 1000);
    assert_int_equal(c.max_pending_events, 100);
    assert_role(&c, "purge.stores", (const uint64_t[]){1, 2}, 2, GOSSIP_ROLE_NO_FAILOVER);
    assert_role(&c, "purge.accounts", NULL, 0, 0);
    assert_role(&c, "acme.renew", (const uint64_t[]){5}, 1, GOSSIP_ROLE_QUORUM);
    assert_role(&c, "metrics.calculate", (const uint64_t[]){3, 4}, 2, 0);
    assert_role(&c, "metrics.push", (const uint64_t[]){4}, 1, 0);
    assert_role(&c, "custom.job", (const uint64_t[]){7}, 1, 0);
}

static void test_value_formats(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512];
    (void)state;

    /* durations: bare integer = ms, units, quoted or not, blank before unit */
    const struct {
        const char *v;
        uint32_t ms;
    } d[] = {{"1500", 1500}, {"1500ms", 1500}, {"\"5s\"", 5000}, {"5s", 5000},
             {"'2m'", 120000}, {"1h", 3600000}, {"\"10 ms\"", 10}, {"7s # comment", 7000},
             {"\"3s\" ; comment", 3000}};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        char text[128];
        base_cfg(&c, &lc);
        snprintf(text, sizeof text, "[cluster]\nbind-addr = 10.0.0.1\nheartbeat = %s\n", d[i].v);
        int rc = load(&c, text, err, sizeof err);
        if (rc != 0 || c.heartbeat_ms != d[i].ms)
            fail_msg("%s: rc %d ms %u %s", d[i].v, rc, c.heartbeat_ms, err);
    }

    /* strings: unquoted, basic with escapes, literal, '#' inside quotes,
     * ';' inside quotes (inih would cut it), '#' without a blank */
    const struct {
        const char *v, *want;
    } s[] = {{"prod", "prod"},
             {"\"a \\\"b\\\" \\\\ c\"", "a \"b\" \\ c"},
             {"'C:\\path'", "C:\\path"},
             {"\"x # not a comment\"", "x # not a comment"},
             {"\"x ; not a comment\"", "x ; not a comment"},
             {"a#b", "a#b"},
             {"plain words here   # comment", "plain words here"},
             {"\"\"", ""}};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        char text[256];
        base_cfg(&c, &lc);
        snprintf(text, sizeof text, "[cluster]\nbind-addr = 10.0.0.1\ncluster-label = %s\n",
                 s[i].v);
        int rc = load(&c, text, err, sizeof err);
        if (rc != 0 || strcmp(c.cluster_label, s[i].want) != 0)
            fail_msg("%s: rc %d label \"%s\" %s", s[i].v, rc, c.cluster_label, err);
    }

    /* CRLF, BOM, indentation (not a continuation line), ':' inside a
     * value, top-level dotted keys, [cluster.roles] with group.name */
    base_cfg(&c, &lc);
    assert_int_equal(load(&c,
                          "\xef\xbb\xbf# comment\r\n"
                          "cluster.node-id = 9\r\n"
                          "[cluster]\r\n"
                          "    bind-addr = \"[::1]\"\r\n"
                          "    bind-port = 2000\r\n"
                          "\tseed-nodes = [\"[::1]:3000\"]   \r\n"
                          "[cluster.roles]\r\n"
                          "purge.stores = [ ]\r\n"
                          "purge.accounts=[1,2]\r\n",
                          err, sizeof err),
                     0);
    assert_int_equal(c.node_id, 9);
    assert_string_equal(c.bind_addr, "[::1]");
    assert_int_equal(c.bind_port, 2000);
    assert_string_equal(c.seeds[0], "[::1]:3000");
    assert_role(&c, "purge.accounts", (const uint64_t[]){1, 2}, 2, 0);
    assert_int_equal(lc.n, 0);

    /* lines and section names far longer than inih's own limits */
    char big[4096];
    int n = snprintf(big, sizeof big, "[cluster]\nbind-addr = \"2001:db8::1\"\nseed-nodes = [");
    for (int i = 0; i < 16; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "%s\"[2001:db8:aaaa:bbbb:cccc:dddd:eeee:%x]\"",
                      i ? ", " : "", i + 1);
    n += snprintf(big + n, sizeof big - (size_t)n,
                  "]\n[cluster.roles.averyveryverylonggroupnamexxxxxxxxxxxxx]\nname = [1]\n");
    base_cfg(&c, &lc);
    int rc = load(&c, big, err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    assert_int_equal(c.n_seeds, 16);
    assert_string_equal(c.seeds[15], "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:10]:1179");
    assert_role(&c, "averyveryverylonggroupnamexxxxxxxxxxxxx.name", (const uint64_t[]){1}, 1, 0);

    /* a key outside our sections, and a quoted key in another section */
    base_cfg(&c, &lc);
    assert_int_equal(load(&c,
                          "title = \"x\"\n[other]\n\"weird = key\" = [1, [2]]\nnot a key line\n"
                          "[cluster]\nbind-addr = 10.0.0.1\nnode-id = 1\n",
                          err, sizeof err),
                     0);
    assert_int_equal(lc.n, 0);
}

/* --- loader: TOML forms that inih cannot take as written ----------------- */

/* A value over several lines reaches inih as continuation lines with
 * their own numbers: errors after it keep the file's line numbers. */
static void test_multiline_values(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512];
    (void)state;

    base_cfg(&c, &lc);
    assert_int_equal(load(&c,
                          "[cluster]\n"                  /* 1 */
                          "bind-addr = 10.0.0.1\n"       /* 2 */
                          "seed-nodes = [\n"             /* 3 */
                          "   \"10.0.0.5\",   # first\n" /* 4 */
                          "   ; a semicolon comment\n"   /* 5 */
                          "\n"                           /* 6 */
                          "\"10.0.0.6:7\" ]  # last\n"   /* 7: not indented, still inside */
                          "[cluster.roles.purge]\n"      /* 8 */
                          "stores = [1,\n"               /* 9 */
                          "  2\n"                        /* 10 */
                          "]\n"                          /* 11 */
                          "[cluster]\nnode-id = 3\n",
                          err, sizeof err),
                     0);
    assert_int_equal(c.n_seeds, 2);
    assert_string_equal(c.seeds[0], "10.0.0.5:1179");
    assert_string_equal(c.seeds[1], "10.0.0.6:7");
    assert_role(&c, "purge.stores", (const uint64_t[]){1, 2}, 2, 0);
    assert_int_equal(lc.n, 0);

    expect_error("[cluster]\nbind-addr = 10.0.0.1\nseed-nodes = [\n  \"10.0.0.5\",\n\n  \"10.0.0.6\"\n]\n"
                 "bind-port = 70000\n",
                 GOSSIP_ECONFIG, "gossip.conf:8: cluster.bind-port: 70000 is out of range");
    /* an error inside a multi-line value names the line of its key */
    expect_error("[cluster]\nbind-addr = 10.0.0.1\n\nseed-nodes = [\n  \"10.0.0.5\"\n  \"10.0.0.6\"\n]\n",
                 GOSSIP_ECONFIG, "gossip.conf:4: cluster.seed-nodes: expected ',' or ']'");
    /* "[1, 2]" and "[1\n2]" differ: a line break separates two elements */
    expect_error("[cluster]\nbind-addr = 10.0.0.1\n[cluster.roles.purge]\nstores = [1\n2]\n",
                 GOSSIP_ECONFIG, "gossip.conf:4: cluster.roles.purge.stores: node id 1 2 is not");
    /* another program's multi-line string and array of arrays over lines,
     * with section-looking and ';' lines inside: not ours, not errors */
    base_cfg(&c, &lc);
    assert_int_equal(load(&c,
                          "[server]\nbanner = '''\n[cluster]\nkey = x ; y\n'''\n"
                          "listeners = [\n  [ \"imap\", 143 ],\n  { a = 1 },\n]\n"
                          "[cluster]\nbind-addr = 10.0.0.1\nnode-id = 1\n",
                          err, sizeof err),
                     0);
    assert_int_equal(c.n_keys, 1); /* the raw key only: the banner's key line is text */
    assert_int_equal(lc.n, 0);
}

/* Quoted keys, ';' in strings, TOML escapes, blanks in headers. */
static void test_toml_forms(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512];
    (void)state;

    base_cfg(&c, &lc);
    int rc = load(&c,
                  "[ cluster ]\n"
                  "\"bind-addr\" = 10.0.0.1\n"
                  "'bind-port' = 2000\n"
                  "\"node-id\"=7\n"
                  "cluster-label = 'a ;b\\c\"d'\n"
                  "\"roles\" . \"purge\".stores = [1]\n"
                  "\"a=b:c;d\" = 1\n"
                  "[ cluster . \"roles\" . acme ]\n"
                  "\"renew\" = [5]\n",
                  err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    assert_string_equal(c.bind_addr, "10.0.0.1");
    assert_int_equal(c.bind_port, 2000);
    assert_int_equal(c.node_id, 7);
    assert_string_equal(c.cluster_label, "a ;b\\c\"d");
    assert_role(&c, "purge.stores", (const uint64_t[]){1}, 1, 0);
    assert_role(&c, "acme.renew", (const uint64_t[]){5}, 1, 0);
    assert_int_equal(lc.n, 1);
    assert_int_equal(log_count(&lc, "gossip.conf:7: cluster.a=b:c;d: unknown key, ignored"), 1);

    /* ';' in basic strings, with and without a blank before it */
    const struct {
        const char *v, *want;
    } s[] = {{"\"x;y\"", "x;y"},
             {"\"x ;y ; z\"", "x ;y ; z"},
             {"'x ;y'", "x ;y"},
             {"\"caf\\u00e9\"", "caf\xc3\xa9"},
             {"\"\\U0001F600!\"", "\xf0\x9f\x98\x80!"},
             {"\"a\\\\;b\"", "a\\;b"}};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        char text[256];
        base_cfg(&c, &lc);
        snprintf(text, sizeof text, "[cluster]\nbind-addr = 10.0.0.1\ncluster-label = %s\n", s[i].v);
        rc = load(&c, text, err, sizeof err);
        if (rc != 0 || strcmp(c.cluster_label, s[i].want) != 0)
            fail_msg("%s: rc %d label \"%s\" %s", s[i].v, rc, c.cluster_label, err);
    }
    const char *H = "[cluster]\nbind-addr = 10.0.0.1\n";
    char t[256];
    const char *bad[] = {"\"\\u0000\"", "\"\\uD800\"", "\"\\u12\"", "\"\\U00110000\"", "\"\\x41\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(t, sizeof t, "%scluster-label = %s\n", H, bad[i]);
        expect_error(t, GOSSIP_ECONFIG, "gossip.conf:3: cluster.cluster-label:");
    }
    /* ':' is not a separator in cluster sections, a key is needed */
    snprintf(t, sizeof t, "%sbind-port: 2000\n", H);
    expect_error(t, GOSSIP_ECONFIG, "gossip.conf:3: expected \"key = value\"");
    snprintf(t, sizeof t, "%s = 5\n", H);
    expect_error(t, GOSSIP_ECONFIG, "gossip.conf:3: missing key before '='");

    /* other programs' odd lines are theirs: no error, no warning */
    base_cfg(&c, &lc);
    assert_int_equal(load(&c,
                          "[[servers;x]]\nname = 1\n[other]\nno equals here\n= 5\n\"k=v\" = [\n1 ]\n"
                          "[cluster]\nbind-addr = 10.0.0.1\nnode-id = 1\n",
                          err, sizeof err),
                     0);
    assert_int_equal(lc.n, 0);
}

/* Lines longer than inih's 200-byte buffer are handed over in pieces:
 * arrays cut between elements, one long string between two characters. */
static void test_long_lines(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512];
    static char text[8192];
    (void)state;

    /* 32 node ids of 20 digits on one 700-byte line */
    int n = snprintf(text, sizeof text, "[cluster]\nbind-addr = 10.0.0.1\n[cluster.roles.purge]\nstores = [");
    uint64_t ids[GOSSIP_ROLE_MAX_NODES];
    for (int i = 0; i < GOSSIP_ROLE_MAX_NODES; i++) {
        ids[i] = 18446744073709551615ull - (uint64_t)i;
        n += snprintf(text + n, sizeof text - (size_t)n, "%s%llu", i ? ",   " : "",
                      (unsigned long long)ids[i]);
    }
    snprintf(text + n, sizeof text - (size_t)n, "]   # %0300d\nstores.quorum = true\n", 0);
    base_cfg(&c, &lc);
    int rc = load(&c, text, err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    assert_role(&c, "purge.stores", ids, GOSSIP_ROLE_MAX_NODES, GOSSIP_ROLE_QUORUM);

    /* one 420-byte passphrase with runs of blanks and a ';': joined back
     * exactly as written */
    char pass[480];
    size_t p = 0;
    for (int i = 0; p < 420; i++)
        p += (size_t)snprintf(pass + p, sizeof pass - p, "%s%d", i % 7 == 0 ? "  ; " : " ", i);
    n = snprintf(text, sizeof text, "[cluster]\nbind-addr = 10.0.0.1\nkey = \"%s\"\nbind-port = 0\n",
                 pass);
    (void)n;
    /* bind-port = 0 fails after the key line: the error's line number
     * shows the long line counted once */
    expect_error(text, GOSSIP_ECONFIG, "gossip.conf:4: cluster.bind-port: 0 is out of range");
    snprintf(text, sizeof text, "[cluster]\nbind-addr = 10.0.0.1\nkey = \"%s\"\n", pass);
    base_cfg(&c, &lc);
    rc = load(&c, text, err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    uint8_t k[GOSSIP_KEY_LEN];
    assert_int_equal(crypto_derive_passphrase(pass, NULL, k), 0);
    assert_int_equal(c.n_keys, 1);
    assert_memory_equal(c.keys[0], k, GOSSIP_KEY_LEN);

    /* a long key path from a long section name */
    snprintf(text, sizeof text,
             "[cluster.roles.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\nb = [3]\n"
             "[cluster]\nbind-addr = 10.0.0.1\n");
    base_cfg(&c, &lc);
    rc = load(&c, text, err, sizeof err);
    /* 47 + 2 characters: one more than a role name may have */
    assert_int_equal(rc, GOSSIP_ECONFIG);
    assert_non_null(strstr(err, "gossip.conf:2: cluster.roles.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b: invalid role name"));
    snprintf(text, sizeof text,
             "[cluster.roles.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\nb = [3]\n"
             "[cluster]\nbind-addr = 10.0.0.1\n");
    base_cfg(&c, &lc);
    rc = load(&c, text, err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    assert_role(&c, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b", (const uint64_t[]){3}, 1, 0);

    /* another program's long single token is no error */
    n = snprintf(text, sizeof text, "[server]\nblob = ");
    memset(text + n, 'x', 900);
    snprintf(text + n + 900, sizeof text - (size_t)n - 900, "\n[cluster]\nbind-addr = 10.0.0.1\n");
    base_cfg(&c, &lc);
    assert_int_equal(load(&c, text, err, sizeof err), 0);
    /* ours: a 900-byte token is cut between characters, then refused by
     * the value grammar for its size, with the right line */
    n = snprintf(text, sizeof text, "[cluster]\nbind-addr = 10.0.0.1\ncluster-label = ");
    memset(text + n, 'x', 900);
    snprintf(text + n + 900, sizeof text - (size_t)n - 900, "\n");
    expect_error(text, GOSSIP_ECONFIG, "gossip.conf:3: cluster.cluster-label: value too long");
    /* and a run of blanks too long to cut anywhere */
    n = snprintf(text, sizeof text, "[cluster]\nbind-addr = 10.0.0.1\ncluster-label = \"a");
    memset(text + n, ' ', 400);
    snprintf(text + n + 400, sizeof text - (size_t)n - 400, "b\"\n");
    expect_error(text, GOSSIP_ECONFIG, "gossip.conf:3: line too long for inih's");
}

static void test_keyring_and_reload(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512];
    uint8_t k[GOSSIP_KEY_LEN];
    (void)state;
    base_cfg(&c, &lc);
    assert_int_equal(load(&c,
                          "[cluster]\nbind-addr = 10.0.0.1\nseed-nodes = [\"10.0.0.5\", "
                          "\"10.0.0.6\"]\n[cluster.roles.purge]\nstores = [1]\nstores.failover "
                          "= false\n[cluster.roles.acme]\nrenew = [5]\n",
                          err, sizeof err),
                     0);
    assert_int_equal(c.n_keys, 1); /* the raw key: the file has none */
    assert_int_equal(c.n_seeds, 2);

    /* a reload replaces seed list, keyring and the roles it mentions */
    assert_int_equal(load(&c,
                          "[cluster]\nbind-addr = 10.0.0.1\nkey = \"the new cluster passphrase\"\n"
                          "seed-nodes = [\"10.0.0.7\"]\n[cluster.roles.purge]\nstores = [2, 3]\n",
                          err, sizeof err),
                     0);
    assert_int_equal(c.n_seeds, 1);
    assert_string_equal(c.seeds[0], "10.0.0.7:1179");
    assert_int_equal(c.n_keys, 1);
    assert_int_equal(crypto_derive_passphrase("the new cluster passphrase", NULL, k), 0);
    assert_memory_equal(c.keys[0], k, GOSSIP_KEY_LEN);
    assert_role(&c, "purge.stores", (const uint64_t[]){2, 3}, 2, 0); /* flags from the file */
    assert_role(&c, "acme.renew", (const uint64_t[]){5}, 1, 0);      /* untouched */

    /* an empty list clears the seeds */
    assert_int_equal(load(&c, "[cluster]\nseed-nodes = []\n", err, sizeof err), 0);
    assert_int_equal(c.n_seeds, 0);

    /* a failed load changes nothing */
    struct gossip_config before = c;
    assert_int_equal(load(&c, "[cluster]\nnode-id = 77\nseed-nodes = [\"10.9.9.9\"]\nbind-port = 0\n",
                          err, sizeof err),
                     GOSSIP_ECONFIG);
    assert_memory_equal(&before, &c, sizeof c);
    /* ... nor does one that parses but does not validate */
    assert_int_equal(load(&c, "[cluster]\nnode-id = 77\nseed-nodes = [\"10.9.9.9\"]\nmax-event = 2000\n",
                          err, sizeof err),
                     GOSSIP_ERANGE);
    assert_non_null(strstr(err, "gossip.conf:4: cluster.max-event"));
    assert_memory_equal(&before, &c, sizeof c);
}

/* --- loader: errors ------------------------------------------------------ */

static void test_load_errors(void **state)
{
    (void)state;
    const char *H = "[cluster]\nbind-addr = 10.0.0.1\n"; /* lines 1-2 */
    char t[512];
#define E(body, code, needle)                                                                    \
    do {                                                                                         \
        snprintf(t, sizeof t, "%s%s", H, body);                                                  \
        expect_error(t, code, needle);                                                           \
    } while (0)

    E("bind-port = 70000\n", GOSSIP_ECONFIG,
      "gossip.conf:3: cluster.bind-port: 70000 is out of range (1..65535)");
    E("bind-port = 0\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.bind-port: 0 is out of range");
    E("bind-port = -1\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.bind-port: -1 must not be negative");
    E("bind-port = \"abc\"\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.bind-port: abc is not a number");
    E("node-id = -1\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.node-id: -1 must not be negative");
    E("node-id = one\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.node-id: one is not a number");
    E("node-id = 18446744073709551616\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.node-id: 18446744073709551616 is too large");
    E("node-id = 1.5\n", GOSSIP_ECONFIG, "cluster.node-id: 1.5 is not a number");
    E("heartbeat = 0\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.heartbeat: 0 is out of range");
    E("heartbeat = \"-5s\"\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.heartbeat: \"-5s\" must not be negative");
    E("heartbeat = 5x\n", GOSSIP_ECONFIG, "cluster.heartbeat: \"5x\" has an unknown unit");
    E("heartbeat = fast\n", GOSSIP_ECONFIG, "cluster.heartbeat: \"fast\" is not a duration");
    E("heartbeat = 2h\n", GOSSIP_ECONFIG, "cluster.heartbeat: 2h is out of range");
    E("heartbeat = 99999999999999999999h\n", GOSSIP_ECONFIG, "cluster.heartbeat");
    E("\nseed-nodes = [\"10.0.0.5\"\n", GOSSIP_ECONFIG,
      "gossip.conf:4: cluster.seed-nodes: unterminated array (missing ']')");
    E("seed-nodes = [\"10.0.0.5\" \"10.0.0.6\"]\n", GOSSIP_ECONFIG, "expected ',' or ']'");
    E("cluster-label = \"abc\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.cluster-label: unterminated string");
    E("cluster-label = \"a\\qb\"\n", GOSSIP_ECONFIG, "unsupported escape");
    E("cluster-label = \"a\" b\n", GOSSIP_ECONFIG, "unexpected text after the value");
    E("cluster-label = \"\"\"x\"\"\"\n", GOSSIP_ECONFIG, "multi-line strings are not supported");
    E("cluster-label =\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.cluster-label: missing value");
    E("cluster-label = {a = 1}\n", GOSSIP_ECONFIG, "inline tables are not supported");
    E("cluster-label = [\"a\"]\n", GOSSIP_ECONFIG, "expected a single value");
    E("seed-nodes = [[\"a\"]]\n", GOSSIP_ECONFIG, "nested arrays");
    E("bind-port = 1\nbind-port = 2\n", GOSSIP_ECONFIG,
      "gossip.conf:4: cluster.bind-port: set twice (first on line 3)");
    E("this line has no equals sign\n", GOSSIP_ECONFIG, "gossip.conf:3: expected \"key = value\"");
    E("[cluster.roles.purge\n", GOSSIP_ECONFIG, "gossip.conf:3: missing ']'");
    E("max-meta = 256\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.max-meta: 256 is out of range (0..255)");
    E("suspicion-mult = -2\n", GOSSIP_ECONFIG, "cluster.suspicion-mult: -2 must not be negative");
    E("suspicion-mult = 1,5\n", GOSSIP_ECONFIG, "cluster.suspicion-mult: 1,5 is not a decimal");
    E("key = []\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.key: the keyring needs at least one");
    E("key = \"\"\n", GOSSIP_ECONFIG, "gossip.conf:3: cluster.key: empty passphrase");
    E("key = [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]\n", GOSSIP_ECONFIG,
      "cluster.key: more than 8 keys");
    E("advertise-addr = gateway.example\n", GOSSIP_ECONFIG,
      "gossip.conf:3: cluster.advertise-addr: \"gateway.example\" is not a numeric");
    E("seed-nodes = [\"10.0.0.5:0\"]\n", GOSSIP_ECONFIG,
      "gossip.conf:3: cluster.seed-nodes: \"10.0.0.5:0\" has a bad port");
    E("seed-nodes = [\"mail 3.example\"]\n", GOSSIP_ECONFIG,
      "gossip.conf:3: cluster.seed-nodes: \"mail 3.example\" is not an address or a host name");
    E("seed-nodes = [\"\"]\n", GOSSIP_ECONFIG, "cluster.seed-nodes: empty address");

    /* roles */
    E("[cluster.roles.purge]\nstores = [1, 2, 1]\n", GOSSIP_ECONFIG,
      "gossip.conf:4: cluster.roles.purge.stores: node id 1 is listed twice");
    E("[cluster.roles.purge]\nstores = [1, -2]\n", GOSSIP_ECONFIG,
      "gossip.conf:4: cluster.roles.purge.stores: node id -2 must not be negative");
    E("[cluster.roles.purge]\nstores = [1, two]\n", GOSSIP_ECONFIG,
      "cluster.roles.purge.stores: node id two is not a number");
    E("[cluster.roles.purge]\nstores = [99999999999999999999]\n", GOSSIP_ECONFIG,
      "cluster.roles.purge.stores: node id 99999999999999999999 is too large");
    E("[cluster.roles.purge]\nstores = [\"1\"]\n", GOSSIP_ECONFIG, "must be an unquoted integer");
    E("[cluster.roles.purge]\nstores = [1]\nstores = [2]\n", GOSSIP_ECONFIG,
      "gossip.conf:5: cluster.roles.purge.stores: set twice (first on line 4)");
    E("[cluster.roles.Purge]\nstores = [1]\n", GOSSIP_ECONFIG,
      "gossip.conf:4: cluster.roles.Purge.stores: invalid role name");
    E("[cluster.roles.purge]\nstores.failover = maybe\n", GOSSIP_ECONFIG,
      "cluster.roles.purge.stores.failover: expected true or false");
    E("[cluster.roles.x]\nn = [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,"
      "27,28,29,30,31,32,33]\n",
      GOSSIP_ECONFIG, "cluster.roles.x.n: more than 32 node ids");
    E("[cluster.roles]\na=[1]\nb=[1]\nc=[1]\nd=[1]\ne=[1]\nf=[1]\ng=[1]\nh=[1]\ni=[1]\nj=[1]\nk=[1]\n"
      "l=[1]\n",
      GOSSIP_ECONFIG, "gossip.conf:15: cluster.roles.l: too many roles (at most 16)");

    /* validation after parsing, mapped back to the line */
    E("max-event = 2000\n", GOSSIP_ERANGE, "gossip.conf:3: cluster.max-event: 2000 is out of range");
    E("\n\nprobe-timeout = 5s\n", GOSSIP_ERANGE, "gossip.conf:5: cluster.probe-timeout");
#undef E

    /* required keys */
    struct gossip_config c;
    char err[512];
    gossip_config_init(&c);
    assert_int_equal(load(&c, "[cluster]\nnode-id = 1\nkey = \"a long enough passphrase\"\n", err,
                          sizeof err),
                     GOSSIP_ENOBIND);
    assert_string_equal(err,
                        "gossip.conf: cluster.bind-addr is not set: the gossip service will not start");
    gossip_config_init(&c);
    assert_int_equal(load(&c, "[cluster]\nnode-id = 1\nbind-addr = \"[::]\"\n", err, sizeof err),
                     GOSSIP_ENOKEY);
    assert_string_equal(err, "gossip.conf: cluster.key is not set: the gossip service will not start");
    gossip_config_init(&c);
    assert_int_equal(load(&c, "", err, sizeof err), GOSSIP_ENOBIND);

    /* files: on error the configuration is left exactly as it was, even
     * when the error comes after lines that were applied (bad-port.conf
     * sets node-id and bind-addr before its bad line) */
    gossip_config_init(&c);
    c.node_id = 99;
    c.heartbeat_ms = 777;
    struct gossip_config before = c;
    assert_int_equal(gossip_config_load_file(&c, data_path("bad-port.conf"), err, sizeof err),
                     GOSSIP_ECONFIG);
    assert_memory_equal(&c, &before, sizeof c);
    assert_non_null(strstr(err, "bad-port.conf:4: cluster.bind-port: 70000 is out of range (1..65535)"));
    assert_int_equal(gossip_config_load_file(&c, "/nonexistent/gossip.conf", err, sizeof err),
                     GOSSIP_EIO);
    assert_non_null(strstr(err, "/nonexistent/gossip.conf: "));
    assert_int_equal(gossip_config_load_file(&c, "/nonexistent/gossip.conf", NULL, 0), GOSSIP_EIO);
    assert_int_equal(gossip_config_load_string(&c, NULL, "x", err, sizeof err), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_load_string(NULL, "", "x", err, sizeof err), GOSSIP_EINVAL);
}

/* --- loader: warnings ---------------------------------------------------- */

static void test_load_warnings(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512];
    (void)state;

    base_cfg(&c, &lc);
    assert_int_equal(load(&c,
                          "[clutser]\n"                  /* 1 */
                          "node-id = 5\n"                /* 2: ignored */
                          "[cluster.role.acme]\n"        /* 3 */
                          "renew = [1]\n"                /* 4 */
                          "[Cluster]\n"                  /* 5 */
                          "[cluste.roles]\n"             /* 6 */
                          "[server]\n"                   /* 7: not ours, silent */
                          "[clusters]\n"                 /* 8 */
                          "[cluster]\n"                  /* 9 */
                          "bind-addr = 10.0.0.1\n"       /* 10 */
                          "node-id = 3\n"                /* 11 */
                          "bind-adress = 10.0.0.2\n"     /* 12 */
                          "[cluster.extra]\n"            /* 13 */
                          "thing = {inline = 1}\n",      /* 14 */
                          err, sizeof err),
                     0);
    assert_int_equal(c.node_id, 3);
    /* a role section one mistake away is read as meant; a misspelt
     * [cluster] is only a guess, ignored */
    assert_role(&c, "acme.renew", (const uint64_t[]){1}, 1, 0);
    assert_int_equal(log_count(&lc, "gossip.conf:1: section [clutser] is ignored; did you mean [cluster]?"), 1);
    assert_int_equal(log_count(&lc, "gossip.conf:3: section [cluster.role.acme] is read as [cluster.roles.acme]"), 1);
    assert_int_equal(log_count(&lc, "gossip.conf:5: section [Cluster] is ignored; did you mean [cluster]?"), 1);
    assert_int_equal(log_count(&lc, "gossip.conf:6: section [cluste.roles] is read as [cluster.roles]"), 1);
    assert_int_equal(log_count(&lc, "gossip.conf:8: section [clusters]"), 1);
    assert_int_equal(log_count(&lc, "gossip.conf:12: cluster.bind-adress: unknown key, ignored; "
                                    "did you mean cluster.bind-addr?"), 1);
    assert_int_equal(log_count(&lc, "gossip.conf:14: cluster.extra.thing: unknown key, ignored"), 1);
    assert_int_equal(log_count(&lc, "server"), 0);
    assert_int_equal(lc.n, 7);

    /* a [cluster] without node-id gets a warning (id 0 must be unique) */
    base_cfg(&c, &lc);
    assert_int_equal(load(&c, "[cluster]\nbind-addr = 10.0.0.1\n", err, sizeof err), 0);
    assert_int_equal(log_count(&lc, "cluster.node-id is not set"), 1);
}

/* --- loader: strict mode and "did you mean" -------------------------------- */

static int load_strict(struct gossip_config *c, const char *text, char *err, size_t errlen)
{
    return gossip_config_load_string_ex(c, text, "gossip.conf", GOSSIP_LOAD_STRICT, err, errlen);
}

static void expect_strict_error(const char *text, const char *needle)
{
    struct gossip_config c, before;
    struct logcap lc;
    char err[512];
    base_cfg(&c, &lc);
    before = c;
    int rc = load_strict(&c, text, err, sizeof err);
    if (rc != GOSSIP_ECONFIG || !strstr(err, needle))
        fail_msg("input:\n%s\nexpected ECONFIG with \"%s\", got %d \"%s\"", text, needle, rc, err);
    assert_memory_equal(&c, &before, sizeof c); /* left unchanged */
}

static void test_strict_seed_example(void **state)
{
    struct gossip_config c, before;
    struct logcap lc;
    char err[512];
    (void)state;

    /* the mail server's example as printed: refused in strict mode, with
     * the fix, and the config untouched */
    gossip_config_init(&c);
    memset(&lc, 0, sizeof lc);
    c.cb.log = cap_log;
    c.cb.ud = &lc;
    before = c;
    assert_int_equal(gossip_config_load_file_ex(&c, data_path("seed-example.conf"),
                                                GOSSIP_LOAD_STRICT, err, sizeof err),
                     GOSSIP_ECONFIG);
    assert_non_null(strstr(err, "seed-example.conf:10: section [cluste.roles.purge] is misspelt; "
                                "did you mean [cluster.roles.purge]?"));
    assert_memory_equal(&c, &before, sizeof c);
    /* corrected, it passes strict mode too */
    int rc = gossip_config_load_file_ex(&c, data_path("seed-example-fixed.conf"), GOSSIP_LOAD_STRICT,
                                        err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    assert_role(&c, "metrics.push", (const uint64_t[]){4}, 1, 0);

    /* flags 0 is the plain call; unknown flags are refused with a reason */
    gossip_config_init(&c);
    assert_int_equal(gossip_config_load_file_ex(&c, data_path("seed-example.conf"), 0, err, sizeof err), 0);
    assert_role(&c, "acme.renew", (const uint64_t[]){5}, 1, 0);
    assert_int_equal(gossip_config_load_string_ex(&c, "", "x", 0x80, err, sizeof err), GOSSIP_EINVAL);
    assert_string_equal(err, "unknown load flags");
    assert_int_equal(gossip_config_load_file_ex(&c, NULL, 0, err, sizeof err), GOSSIP_EINVAL);
    assert_string_equal(err, "no file name or text");
    assert_int_equal(gossip_config_load_file_ex(NULL, "x", 0, err, sizeof err), GOSSIP_EINVAL);
    assert_non_null(strstr(err, "gossip_config_init"));
}

static void test_unknown_keys(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512], text[256];
    (void)state;
    const char *H = "[cluster]\nbind-addr = 10.0.0.1\nnode-id = 1\n"; /* lines 1-3 */

    /* lenient: a warning with the likely key, and nothing set */
    base_cfg(&c, &lc);
    snprintf(text, sizeof text, "%sseeds = [\"10.0.0.5\"]\n", H);
    assert_int_equal(load(&c, text, err, sizeof err), 0);
    assert_int_equal(c.n_seeds, 0);
    assert_int_equal(lc.n, 1);
    assert_non_null(strstr(lc.line[0], "gossip.conf:4: cluster.seeds: unknown key, ignored; "
                                       "did you mean cluster.seed-nodes?"));
    /* strict: an error */
    expect_strict_error(text, "gossip.conf:4: cluster.seeds: unknown key; did you mean cluster.seed-nodes?");

    const struct {
        const char *key, *hint;
    } h[] = {{"node_id", "node-id"},           {"Node-Id", "node-id"},
             {"heartbeat-ms", "heartbeat"},    {"bind-adress", "bind-addr"},
             {"bind-adr", "bind-addr"},        {"advertise", "advertise-addr"},
             {"peers", "seed-nodes"},          {"secret", "key"},
             {"port", "bind-port"},            {"probe-timout", "probe-timeout"},
             {"max-metadata", "max-meta"},     {"keys", "key"},
             {"roles", NULL},                  {"zzz", NULL},
             {"reap", "reap-time"},            {"suspicion-multiplier", "suspicion-mult"}};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
        base_cfg(&c, &lc);
        snprintf(text, sizeof text, "%s%s = 1\n", H, h[i].key);
        assert_int_equal(load(&c, text, err, sizeof err), 0);
        assert_int_equal(lc.n, 1);
        char want[128];
        if (h[i].hint)
            snprintf(want, sizeof want, "unknown key, ignored; did you mean cluster.%s?", h[i].hint);
        else
            snprintf(want, sizeof want, "unknown key, ignored");
        if (!strstr(lc.line[0], want) || (!h[i].hint && strstr(lc.line[0], "did you mean")))
            fail_msg("%s: %s", h[i].key, lc.line[0]);
    }

    /* a top-level key under a misspelt "cluster" */
    base_cfg(&c, &lc);
    assert_int_equal(load(&c, "cluste.heartbeat = 5s\n[cluster]\nbind-addr = 10.0.0.1\nnode-id = 1\n",
                          err, sizeof err),
                     0);
    assert_int_equal(c.heartbeat_ms, 1000);
    assert_int_equal(log_count(&lc, "gossip.conf:1: cluste.heartbeat is ignored; did you mean "
                                    "cluster.heartbeat?"),
                     1);
    expect_strict_error("cluste.heartbeat = 5s\n[cluster]\nbind-addr = 10.0.0.1\n",
                        "gossip.conf:1: cluste.heartbeat: unknown key; did you mean cluster.heartbeat?");

    /* unknown sections under cluster, and misspelt cluster sections */
    expect_strict_error("[cluster]\nbind-addr = 10.0.0.1\n[cluster.extra]\nthing = 1\n",
                        "gossip.conf:3: unknown section [cluster.extra]");
    expect_strict_error("[clutser]\nbind-addr = 10.0.0.1\n",
                        "gossip.conf:1: unknown section [clutser]; did you mean [cluster]?");
    expect_strict_error("[cluster]\nbind-addr = 10.0.0.1\n[clusters]\n",
                        "gossip.conf:3: unknown section [clusters]; did you mean [cluster]?");
    /* other programs' sections and keys stay theirs in strict mode */
    base_cfg(&c, &lc);
    int rc = load_strict(&c,
                         "title = 1\n[server]\nseeds = 4\n[[listeners]]\nport = 1\n"
                         "[cluster]\nbind-addr = 10.0.0.1\nnode-id = 2\n",
                         err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    assert_int_equal(lc.n, 0);
}

/* "Evidently misspelt": the first two parts one or two typing mistakes
 * from cluster.roles, taken together.  Both sides of that line. */
static void test_misspelt_role_sections(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512], text[256];
    (void)state;

    const struct {
        const char *section;
        bool read;
    } t[] = {
        {"cluste.roles.acme", true},    /* 1 letter missing */
        {"clutser.roles.acme", true},   /* 2 letters swapped: one mistake */
        {"cluster.role.acme", true},
        {"cluster.rolse.acme", true},
        {"Cluster.Roles.acme", true},   /* two */
        {"clustr.rols.acme", true},     /* two */
        {"cluster.rules.acme", true},   /* one */
        {"clutsre.rloes.acme", false},  /* four: a guess, not evident */
        {"clstr.rls.acme", false},
        {"clusterfoo.roles.acme", false}, /* not cluster at all: silent */
        {"acme", false},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        snprintf(text, sizeof text, "[cluster]\nbind-addr = 10.0.0.1\nnode-id = 1\n[%s]\nrenew = [5]\n",
                 t[i].section);
        base_cfg(&c, &lc);
        int rc = load(&c, text, err, sizeof err);
        if (rc != 0)
            fail_msg("[%s]: %d %s", t[i].section, rc, err);
        const struct gossip_role *r = role(&c, "acme.renew");
        assert_non_null(r);
        if (t[i].read != (r->n_nodes == 1))
            fail_msg("[%s]: read %d, want %d", t[i].section, r->n_nodes == 1, t[i].read);
        char want[128];
        snprintf(want, sizeof want, "gossip.conf:4: section [%s] is read as [cluster.roles.acme]",
                 t[i].section);
        assert_int_equal(log_count(&lc, want), t[i].read ? 1 : 0);
        /* strict mode refuses every one it would read, and every guess */
        bool guess = !t[i].read && strncmp(t[i].section, "clusterfoo", 10) != 0 &&
                     strcmp(t[i].section, "acme") != 0;
        base_cfg(&c, &lc);
        rc = load_strict(&c, text, err, sizeof err);
        if ((rc == GOSSIP_ECONFIG) != (t[i].read || guess))
            fail_msg("strict [%s]: %d %s", t[i].section, rc, err);
        if (t[i].read && !strstr(err, "is misspelt; did you mean [cluster.roles.acme]?"))
            fail_msg("strict [%s]: %s", t[i].section, err);
        if (guess && !strstr(err, "unknown section"))
            fail_msg("strict [%s]: %s", t[i].section, err);
    }
    /* the guesses are pointed at in the default mode too */
    base_cfg(&c, &lc);
    assert_int_equal(load(&c, "[clutsre.rloes.acme]\nrenew = [5]\n[cluster]\nbind-addr = 10.0.0.1\n"
                              "node-id = 1\n",
                          err, sizeof err),
                     0);
    assert_int_equal(log_count(&lc, "gossip.conf:1: section [clutsre.rloes.acme] is ignored; did you "
                                    "mean [cluster.roles.acme]?"),
                     1);
}

static void test_misspelt_roles(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    char err[512];
    (void)state;
    const char *H = "[cluster]\nbind-addr = 10.0.0.1\nnode-id = 1\n[cluster.roles.purge]\n"; /* 1-4 */
    char text[256];

    /* a new role one letter from a declared one: declared, with a warning
     * (the list most likely belongs to purge.stores) */
    snprintf(text, sizeof text, "%sstors = [1]\n", H);
    base_cfg(&c, &lc);
    assert_int_equal(load(&c, text, err, sizeof err), 0);
    assert_role(&c, "purge.stors", (const uint64_t[]){1}, 1, 0);
    assert_role(&c, "purge.stores", NULL, 0, 0);
    assert_int_equal(log_count(&lc, "gossip.conf:5: cluster.roles.purge.stors: declares a new role "
                                    "purge.stors; did you mean purge.stores?"),
                     1);
    expect_strict_error(text, "gossip.conf:5: cluster.roles.purge.stors: unknown role purge.stors; "
                              "did you mean purge.stores?");
    /* new roles further away are just new roles, in both modes */
    snprintf(text, sizeof text, "%sstores = [1]\n[cluster.roles.metrics]\npull = [2]\n", H);
    base_cfg(&c, &lc);
    int rc = load_strict(&c, text, err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    assert_role(&c, "metrics.pull", (const uint64_t[]){2}, 1, 0);
    assert_int_equal(lc.n, 0);
    /* a misspelt option is read as a role list, and its value says no */
    snprintf(text, sizeof text, "%sstores = [1]\nstores.failovr = false\n", H);
    expect_error(text, GOSSIP_ECONFIG, "gossip.conf:6: cluster.roles.purge.stores.failovr: node id "
                                       "false is not a number (ids are 0..18446744073709551615); "
                                       "did you mean purge.stores.failover?");
    snprintf(text, sizeof text, "%sstores = [1]\nstores.qourum = true\n", H);
    expect_error(text, GOSSIP_ECONFIG, "did you mean purge.stores.quorum?");
}

/* --- key files and blanks around keys -------------------------------------- */

static char tmpdir[64];

static const char *tmp_file(const char *name, const void *data, size_t len, mode_t mode)
{
    static char path[4][160];
    static int next;
    char *p = path[next++ % 4];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/unit_config.XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
    }
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(p, mode), 0);
    return p;
}

static void test_key_blanks(void **state)
{
    (void)state;
    uint8_t raw[GOSSIP_KEY_LEN];
    for (unsigned i = 0; i < GOSSIP_KEY_LEN; i++)
        raw[i] = (uint8_t)(i * 37 + 11);
    struct gossip_config c;
    struct logcap lc;
    /* a base64 key with a newline (echo, a file, a heredoc) or blanks
     * around it is still the raw key, not a passphrase */
    const char *forms[] = {"CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYY=\n",
                           "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYY=\r\n",
                           "  CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYY=\t "};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        gossip_config_init(&c);
        memset(&lc, 0, sizeof lc);
        c.cb.log = cap_log;
        c.cb.ud = &lc;
        assert_int_equal(gossip_config_add_key(&c, forms[i]), 0);
        assert_memory_equal(c.keys[0], raw, GOSSIP_KEY_LEN);
        assert_int_equal(lc.n, 0);
    }
    /* a passphrase is taken as written (its key must not change), and
     * the blank at its end is pointed at */
    uint8_t k[GOSSIP_KEY_LEN];
    gossip_config_init(&c);
    memset(&lc, 0, sizeof lc);
    c.cb.log = cap_log;
    c.cb.ud = &lc;
    assert_int_equal(gossip_config_add_key(&c, "a long cluster passphrase\n"), 0);
    assert_int_equal(crypto_derive_passphrase("a long cluster passphrase\n", NULL, k), 0);
    assert_memory_equal(c.keys[0], k, GOSSIP_KEY_LEN);
    assert_int_equal(log_count(&lc, "cluster.key: the passphrase begins or ends with a blank"), 1);
}

static void test_key_file(void **state)
{
    (void)state;
    struct gossip_config c;
    struct logcap lc;
    uint8_t raw[GOSSIP_KEY_LEN], k[GOSSIP_KEY_LEN];
    for (unsigned i = 0; i < GOSSIP_KEY_LEN; i++)
        raw[i] = (uint8_t)(i * 37 + 11);
#define FRESH()                                                                                   \
    do {                                                                                          \
        gossip_config_init(&c);                                                                   \
        memset(&lc, 0, sizeof lc);                                                                \
        c.cb.log = cap_log;                                                                       \
        c.cb.ud = &lc;                                                                            \
    } while (0)

    /* 32 raw bytes */
    FRESH();
    assert_int_equal(gossip_config_add_key_file(&c, tmp_file("raw", raw, 32, 0600)), 0);
    assert_int_equal(c.n_keys, 1);
    assert_memory_equal(c.keys[0], raw, GOSSIP_KEY_LEN);
    assert_int_equal(lc.n, 0);
    /* base64 as `base64` writes it, with its newline */
    const char b64[] = "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYY=\n";
    FRESH();
    assert_int_equal(gossip_config_add_key_file(&c, tmp_file("b64", b64, sizeof b64 - 1, 0400)), 0);
    assert_memory_equal(c.keys[0], raw, GOSSIP_KEY_LEN);
    /* a passphrase line: the newline and trailing blanks are not part of it */
    const char pass[] = "a long cluster passphrase  \r\n";
    FRESH();
    assert_int_equal(gossip_config_add_key_file(&c, tmp_file("pass", pass, sizeof pass - 1, 0640)), 0);
    assert_int_equal(crypto_derive_passphrase("a long cluster passphrase", NULL, k), 0);
    assert_memory_equal(c.keys[0], k, GOSSIP_KEY_LEN);
    assert_int_equal(lc.n, 0);
    /* 32 printable bytes are text: a passphrase */
    const char p32[] = "0123456789abcdef0123456789abcdef";
    FRESH();
    assert_int_equal(gossip_config_add_key_file(&c, tmp_file("p32", p32, 32, 0600)), 0);
    assert_int_equal(crypto_derive_passphrase(p32, NULL, k), 0);
    assert_memory_equal(c.keys[0], k, GOSSIP_KEY_LEN);

    /* readable by others: accepted with a warning */
    FRESH();
    const char *open_file = tmp_file("open", raw, 32, 0644);
    assert_int_equal(gossip_config_add_key_file(&c, open_file), 0);
    assert_int_equal(log_count(&lc, "other users may read it (mode 0644); chmod o-rwx it"), 1);

    /* not key files: refused, the reason logged with the path */
    static char big[5000];
    memset(big, 'x', sizeof big);
    const struct {
        const char *name, *data;
        size_t len;
        int rc;
        const char *why;
    } bad[] = {
        {"empty", "", 0, GOSSIP_EINVAL, "empty"},
        {"blank", " \n\n", 3, GOSSIP_EINVAL, "empty"},
        {"lines", "first line\nsecond line\n", 23, GOSSIP_EINVAL, "more than one line"},
        {"nul", "abc\0def\n", 8, GOSSIP_EINVAL, "holds a NUL byte"},
        {"big", big, sizeof big, GOSSIP_EINVAL, "larger than 4096 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FRESH();
        const char *path = tmp_file(bad[i].name, bad[i].data, bad[i].len, 0600);
        assert_int_equal(gossip_config_add_key_file(&c, path), bad[i].rc);
        assert_int_equal(c.n_keys, 0);
        char want[256];
        snprintf(want, sizeof want, "cluster.key-file: %s: %s", path, bad[i].why);
        if (log_count(&lc, want) != 1)
            fail_msg("%s: %s", bad[i].name, lc.n ? lc.line[0] : "(no log)");
    }
    FRESH();
    errno = 0;
    assert_int_equal(gossip_config_add_key_file(&c, "/nonexistent/key"), GOSSIP_EIO);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(log_count(&lc, "cluster.key-file: /nonexistent/key: No such file"), 1);
    assert_int_equal(gossip_config_add_key_file(&c, tmpdir), GOSSIP_EINVAL); /* a directory */
    assert_int_equal(gossip_config_add_key_file(&c, NULL), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_add_key_file(NULL, "x"), GOSSIP_EINVAL);
    assert_int_equal(gossip_config_add_key_file(&c, ""), GOSSIP_EINVAL);
    while (c.n_keys < GOSSIP_MAX_KEYS) {
        uint8_t r[GOSSIP_KEY_LEN] = {(uint8_t)c.n_keys, 9};
        assert_int_equal(gossip_config_add_raw_key(&c, r), 0);
    }
    assert_int_equal(gossip_config_add_key_file(&c, tmp_file("raw", raw, 32, 0600)), GOSSIP_EFULL);
#undef FRESH
}

static void test_key_file_in_config(void **state)
{
    (void)state;
    struct gossip_config c, before;
    struct logcap lc;
    char err[512], text[1024];
    uint8_t raw[GOSSIP_KEY_LEN], raw2[GOSSIP_KEY_LEN];
    for (unsigned i = 0; i < GOSSIP_KEY_LEN; i++) {
        raw[i] = (uint8_t)(i * 37 + 11);
        raw2[i] = (uint8_t)(i * 5 + 200);
    }
    tmp_file("new.key", raw, 32, 0600);
    tmp_file("old.key", raw2, 32, 0600);
    /* relative to the directory of the config file; an array is a keyring */
    const char *conf = tmp_file("gossip.conf",
                                "[cluster]\nnode-id = 1\nbind-addr = 10.0.0.1\n"
                                "key-file = [\"new.key\", \"old.key\"]\n",
                                strlen("[cluster]\nnode-id = 1\nbind-addr = 10.0.0.1\n"
                                       "key-file = [\"new.key\", \"old.key\"]\n"),
                                0600);
    gossip_config_init(&c);
    memset(&lc, 0, sizeof lc);
    c.cb.log = cap_log;
    c.cb.ud = &lc;
    int rc = gossip_config_load_file(&c, conf, err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    assert_int_equal(c.n_keys, 2);
    assert_memory_equal(c.keys[0], raw, GOSSIP_KEY_LEN);
    assert_memory_equal(c.keys[1], raw2, GOSSIP_KEY_LEN);
    assert_int_equal(lc.n, 0);

    /* the key file is read at every load: rotate by rewriting it */
    uint8_t raw3[GOSSIP_KEY_LEN] = {3, 1, 4, 1, 5, 9, 2, 6};
    tmp_file("new.key", raw3, 32, 0600);
    assert_int_equal(gossip_config_load_file(&c, conf, err, sizeof err), 0);
    assert_memory_equal(c.keys[0], raw3, GOSSIP_KEY_LEN);
    assert_memory_equal(c.keys[1], raw2, GOSSIP_KEY_LEN);

    const char *H = "[cluster]\nnode-id = 1\nbind-addr = 10.0.0.1\n"; /* lines 1-3 */
    /* a string's relative paths are the working directory's; absolute here */
    base_cfg(&c, &lc);
    snprintf(text, sizeof text, "%skey-file = \"%s/old.key\"\n", H, tmpdir);
    assert_int_equal(load(&c, text, err, sizeof err), 0);
    assert_int_equal(c.n_keys, 1); /* replaces the raw key of base_cfg */
    assert_memory_equal(c.keys[0], raw2, GOSSIP_KEY_LEN);

    /* key and key-file together: which one seals would be a guess */
    snprintf(text, sizeof text, "%skey = \"a long cluster passphrase\"\nkey-file = \"%s/old.key\"\n",
             H, tmpdir);
    expect_error(text, GOSSIP_ECONFIG,
                 "gossip.conf:5: cluster.key-file: cannot be used with cluster.key (line 4)");
    /* an unreadable key file: GOSSIP_EIO, with file, line and reason; and
     * the config is left as it was */
    base_cfg(&c, &lc);
    before = c;
    snprintf(text, sizeof text, "%skey-file = \"%s/nope.key\"\n", H, tmpdir);
    assert_int_equal(load(&c, text, err, sizeof err), GOSSIP_EIO);
    assert_non_null(strstr(err, "gossip.conf:4: cluster.key-file: "));
    assert_non_null(strstr(err, "/nope.key: No such file or directory"));
    assert_memory_equal(&c, &before, sizeof c);
    snprintf(text, sizeof text, "%skey-file = \"%s/lines\"\n", H, tmpdir);
    expect_error(text, GOSSIP_ECONFIG, "cluster.key-file: ");
    expect_error(text, GOSSIP_ECONFIG, "/lines: more than one line");
    snprintf(text, sizeof text, "%skey-file = []\n", H);
    expect_error(text, GOSSIP_ECONFIG, "gossip.conf:4: cluster.key-file: the keyring needs at least one file");

    /* readable by others: a warning with file and line, refused in strict mode */
    snprintf(text, sizeof text, "%skey-file = \"%s/open\"\n", H, tmpdir);
    base_cfg(&c, &lc);
    assert_int_equal(load(&c, text, err, sizeof err), 0);
    assert_int_equal(log_count(&lc, "gossip.conf:4: cluster.key-file: "), 1);
    assert_int_equal(log_count(&lc, "/open: other users may read it (mode 0644)"), 1);
    expect_strict_error(text, "gossip.conf:4: cluster.key-file: ");
    expect_strict_error(text, "/open: other users may read it (mode 0644); chmod o-rwx it");
    snprintf(text, sizeof text, "%skey-file = \"%s/new.key\"\n", H, tmpdir);
    base_cfg(&c, &lc);
    rc = load_strict(&c, text, err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
}

/* --- format -------------------------------------------------------------- */

static void test_format(void **state)
{
    struct gossip_config c, c2;
    struct logcap lc;
    char buf[4096], buf2[8192], err[512];
    (void)state;
    base_cfg(&c, &lc);
    assert_int_equal(load(&c,
                          "[cluster]\nnode-id = 42\nbind-addr = 10.0.0.1\nheartbeat = 2s\n"
                          "seed-nodes = [\"10.0.0.5\", \"[::1]:99\"]\nmax-meta = 64\n"
                          "suspicion-mult = 2.125\ncluster-label = \"a \\\"q\\\"\"\n"
                          "[cluster.roles.acme]\nrenew = [5]\nrenew.quorum = true\n"
                          "renew.failover = false\n",
                          err, sizeof err),
                     0);
    int n = gossip_config_format(&c, buf, sizeof buf);
    assert_true(n > 0 && (size_t)n == strlen(buf));
    const char *want[] = {
        "node-id = 42\n", "bind-addr = \"10.0.0.1\"\n", "bind-port = 1179\n",
        "advertise-addr = \"\"\n", "heartbeat = \"2000ms\"\n",
        "seed-nodes = [\"10.0.0.5:1179\", \"[::1]:99\"]\n", "cluster-label = \"a \\\"q\\\"\"\n",
        "probe-timeout = \"400ms\"\n", "indirect-timeout = \"800ms\"\n", "indirect-checks = 3\n",
        "suspicion-mult = 2.125\n", "suspicion-max-mult = 4\n", "suspicion-confirmations = 2\n",
        "retransmit-mult = 4\n", "gossip-interval = \"400ms\"\n", "gossip-fanout = 3\n",
        "sync-interval = \"120000ms\"\n", "ae-records = 2\n", "reconnect-interval = \"10000ms\"\n",
        "reap-time = \"7200000ms\"\n", "awareness-max = 8\n", "max-clock-skew = \"86400000ms\"\n",
        "max-datagram = 1232\n",
        "max-members = 65536\n", "max-meta = 64\n", "max-event = 512\n",
        "max-pending-events = 256\n", "roles.purge.stores = []\n", "roles.acme.renew = [5]\n",
        "roles.acme.renew.failover = false\n", "roles.acme.renew.quorum = true\n"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(buf, want[i]))
            fail_msg("missing %s in:\n%s", want[i], buf);
    char kid[64];
    snprintf(kid, sizeof kid, "key-ids = [0x%08lx]\n", (unsigned long)crypto_key_id(raw_key));
    assert_non_null(strstr(buf, kid));

    /* snprintf-style: the needed length, a truncated but terminated string */
    char small[16];
    assert_int_equal(gossip_config_format(&c, small, sizeof small), n);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(gossip_config_format(&c, NULL, 0), n);
    assert_int_equal(gossip_config_format(NULL, buf, sizeof buf), GOSSIP_EINVAL);

    /* the dump is loadable under [cluster] and gives the same dump
     * (key-ids is only a warning) */
    snprintf(buf2, sizeof buf2, "[cluster]\n%s", buf);
    base_cfg(&c2, &lc);
    int rc = load(&c2, buf2, err, sizeof err);
    if (rc != 0)
        fail_msg("%d %s", rc, err);
    assert_int_equal(log_count(&lc, "key-ids: unknown key"), 1);
    assert_int_equal(gossip_config_format(&c2, buf2, sizeof buf2), n);
    assert_string_equal(buf, buf2);

    /* a passphrase never appears */
    gossip_config_init(&c);
    snprintf(c.bind_addr, sizeof c.bind_addr, "::");
    assert_int_equal(gossip_config_add_key(&c, "hunter2-but-much-longer"), 0);
    gossip_config_format(&c, buf, sizeof buf);
    assert_null(strstr(buf, "hunter2"));
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(gossip_strerror(GOSSIP_OK), "success");
    assert_string_equal(gossip_strerror(GOSSIP_ENOKEY), "no cluster key configured");
    for (int e = 0; e >= GOSSIP_ERANGE; e--)
        assert_string_not_equal(gossip_strerror(e), "unknown error");
    assert_string_equal(gossip_strerror(-99), "unknown error");
    assert_string_equal(gossip_strerror(5), "unknown error");
    assert_string_equal(gossip_state_name(GOSSIP_ALIVE), "alive");
    assert_string_equal(gossip_state_name(GOSSIP_SUSPECT), "suspect");
    assert_string_equal(gossip_state_name(GOSSIP_FAILED), "failed");
    assert_string_equal(gossip_state_name(GOSSIP_LEFT), "left");
    assert_string_equal(gossip_state_name(4), "unknown");
    const char *ev[] = {"join", "alive", "suspect", "failed", "left", "removed", "update",
                        "conflict"};
    for (int i = 0; i < 8; i++)
        assert_string_equal(gossip_event_name(i), ev[i]);
    assert_string_equal(gossip_event_name(8), "unknown");
    assert_string_equal(gossip_event_name(-1), "unknown");
}

/* The key id picks the key for each datagram: two keys with one id (the
 * same key given twice) must be refused, not silently shadowed. */
static void test_duplicate_key_refused(void **state)
{
    (void)state;
    struct gossip_config c;
    gossip_config_init(&c);
    strcpy(c.bind_addr, "127.0.0.1");
    static const uint8_t k[GOSSIP_KEY_LEN] = {1, 2, 3};
    assert_int_equal(gossip_config_add_raw_key(&c, k), 0);
    char err[256] = "";
    assert_int_equal(gossip_config_validate(&c, err, sizeof err), 0);
    assert_int_equal(gossip_config_add_raw_key(&c, k), 0);
    assert_int_equal(gossip_config_validate(&c, err, sizeof err), GOSSIP_EINVAL);
    assert_non_null(strstr(err, "same key id"));
}

/* Base64 of exactly 32 bytes is a full-entropy key and is used as it is;
 * anything else, even one character off that form, is a passphrase. */
static void test_base64_key_used_raw(void **state)
{
    (void)state;
    uint8_t raw[GOSSIP_KEY_LEN];
    for (unsigned i = 0; i < GOSSIP_KEY_LEN; i++)
        raw[i] = (uint8_t)(i * 37 + 11);
    /* python3 -c "import base64;print(base64.b64encode(bytes((i*37+11)%256 for i in range(32))).decode())" */
    const char *b64 = "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYY=";
    struct gossip_config a, b;
    gossip_config_init(&a);
    gossip_config_init(&b);
    assert_int_equal(gossip_config_add_key(&a, b64), 0);
    assert_int_equal(gossip_config_add_raw_key(&b, raw), 0);
    assert_memory_equal(a.keys[0], b.keys[0], GOSSIP_KEY_LEN);
    /* not canonical (last symbol has stray low bits), no padding, or too
     * long: stretched as passphrases, so they differ from the raw bytes */
    const char *others[] = {"CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYZ=",
                            "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYYA",
                            "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYY==", "my-secret-key"};
    for (unsigned i = 0; i < sizeof others / sizeof others[0]; i++) {
        struct gossip_config c;
        gossip_config_init(&c);
        assert_int_equal(gossip_config_add_key(&c, others[i]), 0);
        assert_memory_not_equal(c.keys[0], raw, GOSSIP_KEY_LEN);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_effective),
        cmocka_unit_test(test_add_key),
        cmocka_unit_test(test_add_seed),
        cmocka_unit_test(test_add_seed_names),
        cmocka_unit_test(test_set_role),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_seed_example_verbatim),
        cmocka_unit_test(test_seed_example_fixed),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_value_formats),
        cmocka_unit_test(test_multiline_values),
        cmocka_unit_test(test_toml_forms),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_keyring_and_reload),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load_warnings),
        cmocka_unit_test(test_strict_seed_example),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_misspelt_role_sections),
        cmocka_unit_test(test_misspelt_roles),
        cmocka_unit_test(test_key_blanks),
        cmocka_unit_test(test_key_file),
        cmocka_unit_test(test_key_file_in_config),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_duplicate_key_refused),
        cmocka_unit_test(test_base64_key_used_raw),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (tmpdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return failed;
}
