/*
 * The passphrase KDF (format 2: scrypt N=2^17, r=8, p=1, salted with the
 * cluster label) and the key cache that struct gossip_config carries so
 * that a reload does not pay it again.
 *
 * EVP_PBE_scrypt is wrapped by this binary (the library calls it through
 * the dynamic symbol; the wrapper passes the call on to libcrypto's, found
 * with dlsym(RTLD_NEXT)): every KDF run is counted, and its time measured,
 * with no seam in the library itself.  `fast` swaps in a SHA-256 stand-in
 * for the tests that only count.
 *
 * The expected values are computed independently, with Python:
 *
 *   import hashlib, hmac, struct
 *   def key(p, label=b''):
 *       return hashlib.scrypt(p, salt=b'libgossip v2 label=' + label,
 *                             n=1 << 17, r=8, p=1, maxmem=256 << 20, dklen=32)
 *   def P(label):
 *       return struct.pack('>QIIB', 1 << 17, 8, 1, len(label)) + label
 *   def tag(k, label, p):
 *       return hmac.new(k, b'libgossip passphrase cache v1' + P(label)
 *                       + hashlib.sha256(p).digest(), 'sha256').digest()
 *   def salt_tag(k, label):
 *       return hmac.new(k, b'libgossip passphrase salt v1' + P(label),
 *                       'sha256').digest()[:16]
 *   key(b'correct horse battery staple')             -> KAT_NOLABEL
 *   key(b'correct horse battery staple', b'prod-eu') -> KAT_LABEL
 *   tag(KAT_LABEL, b'prod-eu', b'correct horse battery staple') -> KAT_TAG
 *   salt_tag(KAT_LABEL, b'prod-eu')                  -> KAT_SALT_TAG
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config_int.h"
#include "crypto.h"
#include "gossip.h"

#define PASS "correct horse battery staple"
#define LABEL "prod-eu"

static const uint8_t KAT_NOLABEL[32] = {
    0x72, 0x15, 0xd1, 0xe2, 0x34, 0x21, 0x46, 0x27, 0xef, 0x74, 0x95, 0x14, 0x82, 0x33, 0x65, 0x7e,
    0xa4, 0x89, 0x62, 0xfe, 0x17, 0x86, 0x22, 0x47, 0xa8, 0xbd, 0x3f, 0x73, 0x47, 0xfc, 0x48, 0xe5,
};
static const uint8_t KAT_LABEL[32] = {
    0x11, 0x0f, 0x2e, 0x7b, 0x9b, 0xb0, 0xc9, 0x62, 0x89, 0xc0, 0xe0, 0xb4, 0xd8, 0x3a, 0x98, 0xbf,
    0xd0, 0x55, 0x64, 0x24, 0xec, 0x8a, 0xd6, 0x22, 0x54, 0x00, 0x84, 0x33, 0xa4, 0x9d, 0xfc, 0x99,
};
static const uint8_t KAT_TAG[32] = {
    0xd9, 0x09, 0xfd, 0x3c, 0x40, 0xe3, 0x35, 0x9a, 0xb2, 0x9b, 0x42, 0x28, 0xf9, 0xc8, 0xd3, 0xfb,
    0x04, 0x51, 0xad, 0x15, 0xfc, 0x29, 0x45, 0xd9, 0xdf, 0x22, 0xfc, 0x4c, 0x43, 0xf4, 0xa1, 0x50,
};
static const uint8_t KAT_SALT_TAG[16] = {
    0xf1, 0x2d, 0x75, 0x2b, 0xc1, 0x0f, 0x95, 0x30, 0x4e, 0xf2, 0xd7, 0x86, 0x95, 0xef, 0x14, 0x83,
};

/* --- the counting wrapper ------------------------------------------------------ */

typedef int (*scrypt_fn)(const char *, size_t, const unsigned char *, size_t, uint64_t, uint64_t,
                         uint64_t, uint64_t, unsigned char *, size_t);

static unsigned kdf_calls;   /* KDF runs since the test reset it */
static double kdf_ms;        /* the time of the last real one */
static bool fast;            /* SHA-256 stand-in instead of scrypt */
static uint64_t last_n, last_r, last_p, last_maxmem;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int EVP_PBE_scrypt(const char *pass, size_t passlen, const unsigned char *salt, size_t saltlen,
                   uint64_t N, uint64_t r, uint64_t p, uint64_t maxmem, unsigned char *key,
                   size_t keylen)
{
    static scrypt_fn real;
    kdf_calls++;
    last_n = N, last_r = r, last_p = p, last_maxmem = maxmem;
    if (fast) {
        uint64_t params[4] = {N, r, p, saltlen};
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        EVP_MD_CTX *h = EVP_MD_CTX_new();
        int ok = h && EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1 &&
                 EVP_DigestUpdate(h, params, sizeof params) == 1 &&
                 EVP_DigestUpdate(h, salt, saltlen) == 1 &&
                 EVP_DigestUpdate(h, pass, passlen) == 1 &&
                 EVP_DigestFinal_ex(h, md, &md_len) == 1 && keylen <= md_len;
        EVP_MD_CTX_free(h);
        if (ok)
            memcpy(key, md, keylen);
        return ok;
    }
    if (!real) {
        void *sym = dlsym(RTLD_NEXT, "EVP_PBE_scrypt");
        memcpy(&real, &sym, sizeof real); /* object to function pointer, without a cast */
    }
    if (!real)
        return 0;
    double t = now_ms();
    int rc = real(pass, passlen, salt, saltlen, N, r, p, maxmem, key, keylen);
    kdf_ms = now_ms() - t;
    return rc;
}

/* --- helpers ---------------------------------------------------------------- */

struct logcap {
    int n;
    int level[16];
    char line[16][512];
};

static void cap_log(void *ud, enum gossip_log_level level, const char *msg)
{
    struct logcap *lc = ud;
    if (lc->n < 16) {
        lc->level[lc->n] = (int)level;
        snprintf(lc->line[lc->n], sizeof lc->line[0], "%s", msg);
        lc->n++;
    }
}

static int log_count(const struct logcap *lc, int level, const char *needle)
{
    int k = 0;
    for (int i = 0; i < lc->n; i++)
        if (lc->level[i] == level && strstr(lc->line[i], needle))
            k++;
    return k;
}

static void init_cfg(struct gossip_config *c, struct logcap *lc)
{
    gossip_config_init(c);
    c->node_id = 1;
    snprintf(c->bind_addr, sizeof c->bind_addr, "127.0.0.1");
    if (lc) {
        memset(lc, 0, sizeof *lc);
        c->cb.log = cap_log;
        c->cb.ud = lc;
    }
}

static int load(struct gossip_config *c, const char *text)
{
    char err[512];
    int rc = gossip_config_load_string(c, text, "gossip.conf", err, sizeof err);
    if (rc != 0)
        print_message("load: %d %s\n", rc, err);
    return rc;
}

/* The config file of the reload tests: the key comes before the label. */
static const char *const RELOAD_CONF = "[cluster]\n"
                                "node-id = 1\n"
                                "bind-addr = 127.0.0.1\n"
                                "key = \"" PASS "\"\n"
                                "cluster-label = \"" LABEL "\"\n";

static int no_send(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf,
                   size_t len)
{
    (void)ctx, (void)to, (void)to_len, (void)buf, (void)len;
    return 0;
}

/* --- the KDF ---------------------------------------------------------------- */

static void test_known_answer(void **state)
{
    uint8_t k[GOSSIP_KEY_LEN], tag[CRYPTO_PASS_TAG_LEN], st[CRYPTO_SALT_TAG_LEN];
    (void)state;
    fast = false;

    kdf_calls = 0;
    assert_int_equal(crypto_derive_passphrase(PASS, NULL, k), 0);
    assert_memory_equal(k, KAT_NOLABEL, sizeof k);
    print_message("scrypt N=2^%d r=%u p=%u maxmem=%llu: %.0f ms\n", __builtin_ctzll(last_n),
                  (unsigned)last_r, (unsigned)last_p, (unsigned long long)last_maxmem, kdf_ms);
    assert_true(last_n == (uint64_t)1 << 17 && last_r == 8 && last_p == 1);
    /* "" is no label, as NULL */
    assert_int_equal(crypto_derive_passphrase(PASS, "", k), 0);
    assert_memory_equal(k, KAT_NOLABEL, sizeof k);

    /* the label salts: another cluster, another key (and key id) */
    assert_int_equal(crypto_derive_passphrase(PASS, LABEL, k), 0);
    assert_memory_equal(k, KAT_LABEL, sizeof k);
    assert_int_not_equal(crypto_key_id(KAT_LABEL), crypto_key_id(KAT_NOLABEL));
    assert_int_equal(kdf_calls, 3);

    /* the cache tags */
    assert_int_equal(crypto_passphrase_tag(KAT_LABEL, LABEL, PASS, tag), 0);
    assert_memory_equal(tag, KAT_TAG, sizeof tag);
    assert_int_equal(crypto_salt_tag(KAT_LABEL, LABEL, st), 0);
    assert_memory_equal(st, KAT_SALT_TAG, sizeof st);
    assert_int_equal(crypto_passphrase_tag(KAT_LABEL, "prod-e", PASS, tag), 0);
    assert_memory_not_equal(tag, KAT_TAG, sizeof tag);
    assert_int_equal(crypto_passphrase_tag(KAT_LABEL, LABEL, PASS "!", tag), 0);
    assert_memory_not_equal(tag, KAT_TAG, sizeof tag);

    assert_int_equal(crypto_derive_passphrase(NULL, LABEL, k), CRYPTO_EINTERNAL);
    assert_int_equal(crypto_passphrase_tag(KAT_LABEL, LABEL, NULL, tag), CRYPTO_EINTERNAL);
    assert_int_equal(kdf_calls, 3);
}

/* gossip_config_add_key() salts with cfg->cluster_label; two labels, two
 * keys; a base64 key is used as it is, without the KDF. */
static void test_add_key_salted(void **state)
{
    struct gossip_config c;
    (void)state;
    fast = false;

    kdf_calls = 0;
    init_cfg(&c, NULL);
    snprintf(c.cluster_label, sizeof c.cluster_label, LABEL);
    assert_int_equal(gossip_config_add_key(&c, PASS), 0);
    assert_memory_equal(c.keys[0], KAT_LABEL, GOSSIP_KEY_LEN);
    assert_int_equal(kdf_calls, 1);
    assert_int_equal(c.key_cache.derived, 1);
    assert_int_equal(gossip_config_validate(&c, NULL, 0), 0);

    init_cfg(&c, NULL);
    assert_int_equal(gossip_config_add_key(&c, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"), 0);
    assert_memory_equal(c.keys[0], "0123456789abcdef0123456789abcdef", GOSSIP_KEY_LEN);
    assert_int_equal(kdf_calls, 1);
    assert_int_equal(c.key_cache.derived, 0);
}

/* --- the cache -------------------------------------------------------------- */

/* The reload of the finding in issue 12: the same file loaded again on top
 * of the running config, a fresh config given the running one's cache (as
 * gossip-node does), the struct API, then gossip_reconfigure(): no KDF. */
static void test_reload_runs_no_kdf(void **state)
{
    static struct gossip_config c, fresh;
    struct logcap lc;
    gossip_t *g = NULL;
    (void)state;
    fast = false;

    kdf_calls = 0;
    init_cfg(&c, &lc);
    c.hooks.send = no_send;
    double t = now_ms();
    assert_int_equal(load(&c, RELOAD_CONF), 0);
    double first = now_ms() - t;
    /* derived once, at the end, with the label that came after the key */
    assert_int_equal(kdf_calls, 1);
    assert_memory_equal(c.keys[0], KAT_LABEL, GOSSIP_KEY_LEN);
    assert_int_equal(c.key_cache.derived, 1);
    assert_int_equal(gossip_create(&g, &c), 0);

    /* the same file on top of it */
    t = now_ms();
    assert_int_equal(load(&c, RELOAD_CONF), 0);
    double again = now_ms() - t;
    assert_int_equal(kdf_calls, 1);
    assert_int_equal(c.n_keys, 1);
    assert_memory_equal(c.keys[0], KAT_LABEL, GOSSIP_KEY_LEN);
    assert_int_equal(c.key_cache.reused, 1);

    /* a fresh config with the running one's cache */
    init_cfg(&fresh, &lc);
    fresh.hooks.send = no_send;
    fresh.key_cache = c.key_cache;
    t = now_ms();
    assert_int_equal(load(&fresh, RELOAD_CONF), 0);
    double fresh_ms = now_ms() - t;
    assert_int_equal(kdf_calls, 1);
    assert_memory_equal(fresh.keys[0], KAT_LABEL, GOSSIP_KEY_LEN);

    /* reconfigure copies keys: no KDF either */
    t = now_ms();
    assert_int_equal(gossip_reconfigure(g, &fresh), 0);
    double reconf = now_ms() - t;
    assert_int_equal(kdf_calls, 1);

    /* the struct API, label first */
    init_cfg(&fresh, NULL);
    fresh.key_cache = c.key_cache;
    snprintf(fresh.cluster_label, sizeof fresh.cluster_label, LABEL);
    t = now_ms();
    assert_int_equal(gossip_config_add_key(&fresh, PASS), 0);
    double add = now_ms() - t;
    assert_int_equal(kdf_calls, 1);
    assert_memory_equal(fresh.keys[0], KAT_LABEL, GOSSIP_KEY_LEN);

    print_message("first load %.1f ms (scrypt %.1f ms); reload on top %.3f ms, fresh config with "
                  "the cache %.3f ms, reconfigure %.3f ms, add_key %.3f ms\n",
                  first, kdf_ms, again, fresh_ms, reconf, add);
    /* no KDF ran (counted above); the times, relative to the one that did,
     * so that a slow run (valgrind) judges the same way */
    double bound = first / 20;
    assert_true(again < bound && fresh_ms < bound && reconf < bound && add < bound);
    gossip_destroy(g);
}

/* Another passphrase or another label is another derivation; going back to
 * one still cached is not. */
static void test_changes_derive_again(void **state)
{
    static struct gossip_config c;
    char text[512];
    (void)state;
    fast = false;

    kdf_calls = 0;
    init_cfg(&c, NULL);
    assert_int_equal(load(&c, RELOAD_CONF), 0);
    assert_int_equal(kdf_calls, 1);

    /* the passphrase changes */
    snprintf(text, sizeof text,
             "[cluster]\nkey = \"" PASS " 2\"\ncluster-label = \"" LABEL "\"\n");
    assert_int_equal(load(&c, text), 0);
    assert_int_equal(kdf_calls, 2);
    assert_memory_not_equal(c.keys[0], KAT_LABEL, GOSSIP_KEY_LEN);

    /* the label changes */
    snprintf(text, sizeof text, "[cluster]\nkey = \"" PASS "\"\ncluster-label = \"staging\"\n");
    assert_int_equal(load(&c, text), 0);
    assert_int_equal(kdf_calls, 3);
    assert_memory_not_equal(c.keys[0], KAT_LABEL, GOSSIP_KEY_LEN);

    /* back to the first: still cached, as is a keyring of both */
    assert_int_equal(load(&c, RELOAD_CONF), 0);
    assert_memory_equal(c.keys[0], KAT_LABEL, GOSSIP_KEY_LEN);
    snprintf(text, sizeof text,
             "[cluster]\nkey = [\"" PASS " 2\", \"" PASS "\"]\ncluster-label = \"" LABEL "\"\n");
    assert_int_equal(load(&c, text), 0);
    assert_int_equal(c.n_keys, 2);
    assert_memory_equal(c.keys[1], KAT_LABEL, GOSSIP_KEY_LEN);
    assert_int_equal(kdf_calls, 3);
    assert_int_equal(c.key_cache.derived, 3);
    assert_int_equal(c.key_cache.reused, 3);

    /* a failed load leaves the config, cache included, as it was */
    struct gossip_config before = c;
    assert_int_not_equal(load(&c, "[cluster]\nkey = \"a brand new passphrase\"\nbind-port = 0\n"),
                         0);
    assert_memory_equal(&c, &before, sizeof c);
}

/* A passphrase in a key file goes through the same cache. */
static void test_key_file_cached(void **state)
{
    static struct gossip_config c;
    char dir[] = "/tmp/unit_kdf.XXXXXX", path[64], text[256];
    (void)state;
    fast = true;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/cluster.key", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "a long cluster passphrase\n", 26), 26);
    close(fd);
    snprintf(text, sizeof text, "[cluster]\nkey-file = \"%s\"\ncluster-label = \"x\"\n", path);

    kdf_calls = 0;
    init_cfg(&c, NULL);
    assert_int_equal(load(&c, text), 0);
    assert_int_equal(load(&c, text), 0);
    assert_int_equal(gossip_config_add_key_file(&c, path), GOSSIP_OK); /* the same key again */
    assert_int_equal(kdf_calls, 1);
    assert_int_equal(c.n_keys, 2);
    assert_memory_equal(c.keys[0], c.keys[1], GOSSIP_KEY_LEN);
    unlink(path);
    rmdir(dir);
}

/* Nine passphrases through a cache of eight: the least recently used one
 * goes; keys in use stay. */
static void test_cache_eviction(void **state)
{
    static struct gossip_config c;
    char pass[64];
    (void)state;
    fast = true;

    kdf_calls = 0;
    init_cfg(&c, NULL);
    for (int i = 0; i < 9; i++) {
        c.n_keys = 0;
        snprintf(pass, sizeof pass, "passphrase number %d", i);
        assert_int_equal(gossip_config_add_key(&c, pass), 0);
    }
    assert_int_equal(kdf_calls, 9);
    /* 1..8 are cached, 0 was evicted; using 1 makes 2 the oldest */
    c.n_keys = 0;
    assert_int_equal(gossip_config_add_key(&c, "passphrase number 1"), 0);
    assert_int_equal(kdf_calls, 9);
    assert_int_equal(gossip_config_add_key(&c, "passphrase number 0"), 0);
    assert_int_equal(kdf_calls, 10);
    c.n_keys = 0;
    assert_int_equal(gossip_config_add_key(&c, "passphrase number 1"), 0);
    assert_int_equal(gossip_config_add_key(&c, "passphrase number 0"), 0);
    assert_int_equal(kdf_calls, 10);
    assert_int_equal(gossip_config_add_key(&c, "passphrase number 2"), 0);
    assert_int_equal(kdf_calls, 11);
    /* zeroed, the cache is empty */
    memset(&c.key_cache, 0, sizeof c.key_cache);
    c.n_keys = 0;
    assert_int_equal(gossip_config_add_key(&c, "passphrase number 1"), 0);
    assert_int_equal(kdf_calls, 12);
}

/* A program built against an older gossip.h has no key_cache in its
 * struct: nothing is written past the size it declared. */
static void test_older_struct_has_no_cache(void **state)
{
    static struct gossip_config c;
    (void)state;
    fast = true;

    kdf_calls = 0;
    init_cfg(&c, NULL);
    c.size = (uint32_t)offsetof(struct gossip_config, key_cache);
    assert_int_equal(gossip_config_add_key(&c, "a long enough passphrase"), 0);
    c.n_keys = 0;
    assert_int_equal(gossip_config_add_key(&c, "a long enough passphrase"), 0);
    assert_int_equal(kdf_calls, 2);
    static const struct gossip_key_cache zero;
    assert_memory_equal(&c.key_cache, &zero, sizeof zero);
}

/* The struct API salts with the label of the moment: a passphrase added
 * before the label was set makes a key that is not the cluster's, and
 * validation says so (the cache knows the label the key was made with). */
static void test_label_after_key_refused(void **state)
{
    static struct gossip_config c;
    char err[256];
    (void)state;
    fast = true;

    init_cfg(&c, NULL);
    assert_int_equal(gossip_config_add_key(&c, PASS), 0);
    snprintf(c.cluster_label, sizeof c.cluster_label, LABEL);
    assert_int_equal(gossip_config_validate(&c, err, sizeof err), GOSSIP_EINVAL);
    print_message("%s\n", err);
    assert_non_null(strstr(err, "cluster.key: key 1 ("));
    assert_non_null(strstr(err, "was derived from its passphrase under another cluster label than "
                                "\"" LABEL "\": set cluster_label before adding passphrase keys"));
    /* set first, it is right */
    c.n_keys = 0;
    assert_int_equal(gossip_config_add_key(&c, PASS), 0);
    assert_int_equal(gossip_config_validate(&c, err, sizeof err), 0);
    /* a raw key is nobody's business */
    c.n_keys = 0;
    assert_int_equal(gossip_config_add_raw_key(&c, KAT_NOLABEL), 0);
    assert_int_equal(gossip_config_validate(&c, err, sizeof err), 0);
}

/* --- warnings --------------------------------------------------------------- */

static void test_warnings(void **state)
{
    struct gossip_config c;
    struct logcap lc;
    (void)state;
    fast = true;

    /* the example key of the mail server's gossip.conf: loud, and short */
    init_cfg(&c, &lc);
    assert_int_equal(gossip_config_add_key(&c, "my-secret-key"), 0);
    assert_int_equal(log_count(&lc, GOSSIP_LOG_ERROR,
                               "cluster.key: \"my-secret-key\" is an example passphrase printed "
                               "in the documentation: anyone can read this cluster's traffic and "
                               "join it; use a key of your own (head -c 32 /dev/urandom | base64)"),
                     1);
    assert_int_equal(log_count(&lc, GOSSIP_LOG_WARN, "the passphrase is shorter than 16 bytes"), 1);
    assert_int_equal(lc.n, 2);

    /* in a file: with file and line; the other examples of the docs too */
    init_cfg(&c, &lc);
    assert_int_equal(load(&c, "[cluster]\nnode-id = 1\nbind-addr = 127.0.0.1\n"
                              "key = [\"my-long-random-cluster-passphrase\",\n"
                              "       \"Correct Horse Battery Staple\",\n"
                              "       \"an example passphrase, change me\"]\n"),
                     0);
    assert_int_equal(log_count(&lc, GOSSIP_LOG_ERROR, "gossip.conf:4: cluster.key: \""), 3);
    assert_int_equal(lc.n, 3);

    /* short: a warning */
    init_cfg(&c, &lc);
    assert_int_equal(gossip_config_add_key(&c, "hunter2"), 0);
    assert_int_equal(log_count(&lc, GOSSIP_LOG_WARN,
                               "cluster.key: the passphrase is shorter than 16 bytes; anyone who "
                               "captures a datagram can try to guess it offline"),
                     1);
    assert_int_equal(lc.n, 1);

    /* long and not an example, or a generated key: silence */
    init_cfg(&c, &lc);
    assert_int_equal(gossip_config_add_key(&c, "Wq7 trellis ox-bow 4611 lantern"), 0);
    assert_int_equal(gossip_config_add_key(&c, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="), 0);
    assert_int_equal(lc.n, 0);
}

/* What one derivation costs this process, for the record (peak RSS grows
 * by about 128 MiB the first time). */
static void test_cost(void **state)
{
    struct rusage before, after;
    uint8_t k[GOSSIP_KEY_LEN];
    (void)state;
    fast = false;
    getrusage(RUSAGE_SELF, &before);
    assert_int_equal(crypto_derive_passphrase("a passphrase for the record", NULL, k), 0);
    getrusage(RUSAGE_SELF, &after);
    print_message("one derivation: %.0f ms, peak RSS %ld -> %ld KiB\n", kdf_ms, before.ru_maxrss,
                  after.ru_maxrss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cost),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_add_key_salted),
        cmocka_unit_test(test_reload_runs_no_kdf),
        cmocka_unit_test(test_changes_derive_again),
        cmocka_unit_test(test_key_file_cached),
        cmocka_unit_test(test_cache_eviction),
        cmocka_unit_test(test_older_struct_has_no_cache),
        cmocka_unit_test(test_label_after_key_refused),
        cmocka_unit_test(test_warnings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
