/* Unit tests for the sealed envelope (lib/crypto.c), wire format 2: the
 * header, the pair keys (sender life, receiver life), the binding of a
 * datagram to its receiver's life, HELLO for anybody, the counter spaces,
 * the pair key cache, and the handshake's tokens and challenges
 * (lib/handshake.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "internal.h"

#define BUF_CAP 4096

/* libcrypto allocations, counted through CRYPTO_set_mem_functions(). */
static size_t n_allocs;
static bool counting;

static void *count_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    n_allocs++;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    n_allocs++;
    return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

/* Fixed keys so failures reproduce. */
static void fill_key(uint8_t key[GOSSIP_KEY_LEN], uint8_t seed)
{
    for (unsigned i = 0; i < GOSSIP_KEY_LEN; i++)
        key[i] = (uint8_t)(seed * 31u + i * 7u + 1u);
}

/* A session named by a small number (distinct numbers, distinct lives). */
static void fill_session(uint8_t s[ENV_SESSION_LEN], uint64_t n)
{
    for (unsigned i = 0; i < ENV_SESSION_LEN; i++)
        s[i] = (uint8_t)((n * 0x9e3779b97f4a7c15ull) >> (8 * (i % 8))) ^ (uint8_t)(i * 17u + 1u);
}

static const uint8_t SECRET[32] = "unit_crypto: the life's secret.";

/* A life: key `seed`, label, node id `self` and session number `session`. */
static void init_one(struct crypto *c, uint8_t seed, const char *label, uint64_t self, uint64_t session)
{
    uint8_t keys[1][GOSSIP_KEY_LEN], s[ENV_SESSION_LEN];
    fill_key(keys[0], seed);
    fill_session(s, session);
    assert_int_equal(crypto_init(c, keys, 1, label, self, 4242, s, SECRET), 0);
}

static void fill_pt(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 13u);
}

/* Seal the n bytes at buf + ENV_HDR_MAX as s says and move the datagram to
 * buf[0]; returns its length or the (negative) error. */
static int seal_to0(struct crypto *c, uint8_t *buf, size_t n, size_t cap, const struct env_seal *s)
{
    size_t start = 0;
    int len = crypto_seal(c, buf, n, cap, s, &start);
    if (len > 0)
        memmove(buf, buf + start, (size_t)len);
    return len;
}

/* Seal n bytes of pattern `seed` as a DATA from tx to rx's life under
 * counter ctr into buf[0]; returns the envelope length. */
static size_t seal_data(struct crypto *tx, const struct crypto *rx, uint64_t ctr, uint8_t *buf, size_t n,
                        uint8_t seed)
{
    fill_pt(buf + ENV_HDR_MAX, n, seed);
    struct env_seal s = {.kind = ENV_DATA, .to_id = rx->self_id, .to_session = rx->session, .counter = ctr};
    int len = seal_to0(tx, buf, n, BUF_CAP, &s);
    assert_int_equal(len, (int)(n + ENV_OVERHEAD));
    return (size_t)len;
}

/* The same as a HELLO (for any receiver), under a stateless counter. */
static size_t seal_hello(struct crypto *tx, uint8_t *buf, size_t n, uint8_t seed)
{
    fill_pt(buf + ENV_HDR_MAX, n, seed);
    struct env_seal s = {.kind = ENV_HELLO, .counter = crypto_stateless_counter(tx)};
    int len = seal_to0(tx, buf, n, BUF_CAP, &s);
    assert_int_equal(len, (int)(n + ENV_OVERHEAD));
    return (size_t)len;
}

/* env_parse + crypto_open, returning the first error or the plaintext
 * length (the plaintext is then at buf + *hlen). */
static int parse_open_h(struct crypto *c, uint8_t *buf, size_t len, size_t *hlen)
{
    struct env_header h;
    int rc = env_parse(buf, len, &h);
    if (rc != CRYPTO_OK)
        return rc;
    if (hlen)
        *hlen = h.len;
    return crypto_open(c, &h, buf, len);
}

static int parse_open(struct crypto *c, uint8_t *buf, size_t len)
{
    return parse_open_h(c, buf, len, NULL);
}

static void test_key_id(void **state)
{
    (void)state;
    /* Values computed independently (Python hashlib) to pin the format. */
    static const uint8_t derived[GOSSIP_KEY_LEN] = {
        0x20, 0x11, 0x80, 0x33, 0x25, 0x0b, 0xbd, 0xea, 0xc0, 0x3d, 0xb3,
        0x66, 0x78, 0x76, 0x2f, 0xd3, 0xef, 0xb5, 0x29, 0xf0, 0xd6, 0x7e,
        0xc0, 0x58, 0xb9, 0xed, 0x35, 0x6a, 0xd5, 0x9e, 0xc6, 0x3c,
    };
    uint8_t zero[GOSSIP_KEY_LEN] = {0};
    uint8_t a[GOSSIP_KEY_LEN], b[GOSSIP_KEY_LEN];

    assert_int_equal(crypto_key_id(derived), 0x21b44ee7u);
    assert_int_equal(crypto_key_id(zero), 0x12315ef5u);
    fill_key(a, 1);
    fill_key(b, 1);
    assert_int_equal(crypto_key_id(a), crypto_key_id(b));
    b[GOSSIP_KEY_LEN - 1] ^= 1;
    assert_int_not_equal(crypto_key_id(a), crypto_key_id(b));
}

/* The passphrase KDF and its cache: test/unit_kdf.c. */

/* Envelopes built by an independent implementation (Python cryptography:
 * HMAC-SHA256 for Ka and Kb, AES-256-CBC with a zero IV for the CBC-MAC,
 * AES-GCM) must open at their receiver, and ours must be byte-identical. */
static void test_known_answer(void **state)
{
    (void)state;
    static const uint8_t env[] = {
        0x02, 0x00, 0x21, 0xb4, 0x4e, 0xe7, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
        0x07, 0x08, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xa0, 0xa1,
        0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
        0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0xaf, 0xc3, 0x17, 0x38, 0xc1, 0xc4, 0x8c, 0xcb, 0x07, 0xfd,
        0x82, 0xe6, 0x6e, 0xeb, 0x52, 0xb8, 0x21, 0x63, 0x6a, 0xd6, 0x02, 0xbd,
        0xf7, 0xff, 0x50, 0x4e, 0xa2, 0x5c,
    };
    /* empty plaintext, no label, a token, a counter using all 64 bits */
    static const uint8_t env_token[] = {
        0x02, 0x80, 0x21, 0xb4, 0x4e, 0xe7, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
        0x07, 0x08, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xa0, 0xa1,
        0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
        0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54,
        0x32, 0x10, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9,
        0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0x54, 0x10, 0xb7, 0xe9, 0x6e, 0xe2,
        0xf4, 0x09, 0xdc, 0xee, 0x08, 0x0e, 0xe3, 0x51, 0x81, 0x35,
    };
    /* a HELLO ("hi", label "prod") under stateless counter 2^63 + 5 */
    static const uint8_t env_hello[] = {
        0x02, 0x01, 0x21, 0xb4, 0x4e, 0xe7, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
        0x07, 0x08, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xa0, 0xa1,
        0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
        0xae, 0xaf, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x05, 0x90, 0x87, 0x96, 0xd8, 0x02, 0x7f, 0x34, 0x99, 0xae, 0xd3,
        0xbf, 0xf1, 0x3f, 0x93, 0x3f, 0xbf, 0xff, 0xd0,
    };
    static const uint8_t key[1][GOSSIP_KEY_LEN] = {{
        0x20, 0x11, 0x80, 0x33, 0x25, 0x0b, 0xbd, 0xea, 0xc0, 0x3d, 0xb3,
        0x66, 0x78, 0x76, 0x2f, 0xd3, 0xef, 0xb5, 0x29, 0xf0, 0xd6, 0x7e,
        0xc0, 0x58, 0xb9, 0xed, 0x35, 0x6a, 0xd5, 0x9e, 0xc6, 0x3c,
    }};
    uint8_t ss[ENV_SESSION_LEN], rs[ENV_SESSION_LEN], token[ENV_TOKEN_LEN];
    for (unsigned i = 0; i < ENV_SESSION_LEN; i++) {
        ss[i] = (uint8_t)(0xa0 + i);
        rs[i] = (uint8_t)(0xb0 + i);
        token[i] = (uint8_t)(0xc0 + i);
    }
    const char *msg = "hello gossip";
    struct crypto tx, rx;
    struct env_header h;
    uint8_t buf[BUF_CAP];
    size_t start;

    assert_int_equal(crypto_init(&tx, key, 1, "prod", UINT64_C(0x0102030405060708), UINT64_C(0x1122334455667788),
                                 ss, SECRET), 0);
    assert_int_equal(crypto_init(&rx, key, 1, "prod", 99, 1, rs, SECRET), 0);

    memcpy(buf + ENV_HDR_MAX, msg, strlen(msg));
    struct env_seal s = {.kind = ENV_DATA, .to_id = 99, .to_session = rs, .counter = 1};
    assert_int_equal(crypto_seal(&tx, buf, strlen(msg), sizeof buf, &s, &start), (int)sizeof env);
    assert_int_equal(start, ENV_HDR_MAX - ENV_HDR_LEN);
    assert_memory_equal(buf + start, env, sizeof env);

    memcpy(buf, env, sizeof env);
    assert_int_equal(env_parse(buf, sizeof env, &h), CRYPTO_OK);
    assert_int_equal(h.version, 2);
    assert_int_equal(h.kind, ENV_DATA);
    assert_false(h.has_token);
    assert_int_equal(h.key_id, 0x21b44ee7u);
    assert_true(h.sender == UINT64_C(0x0102030405060708));
    assert_true(h.generation == UINT64_C(0x1122334455667788));
    assert_memory_equal(h.session, ss, ENV_SESSION_LEN);
    assert_int_equal(h.hint, env_hint(rs));
    assert_int_equal(h.hint, 0xb0b1b2b3u);
    assert_true(h.counter == 1);
    assert_int_equal(h.len, ENV_HDR_LEN);
    assert_int_equal(crypto_open(&rx, &h, buf, sizeof env), (int)strlen(msg));
    assert_memory_equal(buf + ENV_HDR_LEN, msg, strlen(msg));

    /* the HELLO opens at the receiver as at anybody */
    memcpy(buf, env_hello, sizeof env_hello);
    assert_int_equal(env_parse(buf, sizeof env_hello, &h), CRYPTO_OK);
    assert_int_equal(h.kind, ENV_HELLO);
    assert_int_equal(h.hint, 0);
    assert_int_equal(crypto_open(&rx, &h, buf, sizeof env_hello), 2);
    assert_memory_equal(buf + ENV_HDR_LEN, "hi", 2);
    memcpy(buf + ENV_HDR_MAX, "hi", 2);
    s = (struct env_seal){.kind = ENV_HELLO, .counter = ENV_STATELESS_BIT | 5};
    assert_int_equal(crypto_seal(&tx, buf, 2, sizeof buf, &s, &start), (int)sizeof env_hello);
    assert_memory_equal(buf + start, env_hello, sizeof env_hello);
    crypto_free(&tx);
    crypto_free(&rx);

    assert_int_equal(crypto_init(&tx, key, 1, NULL, UINT64_C(0x0102030405060708), UINT64_C(0x1122334455667788),
                                 ss, SECRET), 0);
    assert_int_equal(crypto_init(&rx, key, 1, "", 99, 7, rs, SECRET), 0);
    s = (struct env_seal){.kind = ENV_DATA, .to_id = 99, .to_session = rs, .counter = UINT64_C(0xfedcba9876543210),
                          .token = token};
    assert_int_equal(crypto_seal(&tx, buf, 0, sizeof buf, &s, &start), (int)sizeof env_token);
    assert_int_equal(start, 0);
    assert_memory_equal(buf, env_token, sizeof env_token);
    assert_int_equal(env_parse(buf, sizeof env_token, &h), CRYPTO_OK);
    assert_true(h.has_token);
    assert_int_equal(h.len, ENV_HDR_MAX);
    assert_memory_equal(h.token, token, ENV_TOKEN_LEN);
    assert_int_equal(crypto_open(&rx, &h, buf, sizeof env_token), 0);
    crypto_free(&tx);
    crypto_free(&rx);
}

static void test_roundtrip_sizes(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 15, 16, 17, 31, 100, 1186, 4000};
    struct crypto tx, rx;
    uint8_t buf[BUF_CAP], want[BUF_CAP];

    init_one(&tx, 1, "cluster-a", 10, 1000);
    init_one(&rx, 1, "cluster-a", 20, 2000);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        size_t len = seal_data(&tx, &rx, i + 1, buf, n, (uint8_t)i);
        fill_pt(want, n, (uint8_t)i);
        /* GCM ciphertext must not be the plaintext (a no-op cipher would pass otherwise). */
        if (n >= 16)
            assert_memory_not_equal(buf + ENV_HDR_LEN, want, n);
        size_t hlen = 0;
        assert_int_equal(parse_open_h(&rx, buf, len, &hlen), (int)n);
        assert_int_equal(hlen, ENV_HDR_LEN);
        if (n)
            assert_memory_equal(buf + ENV_HDR_LEN, want, n);
    }
    crypto_free(&tx);
    crypto_free(&rx);
}

static void test_seal_space(void **state)
{
    (void)state;
    struct crypto tx, rx;
    uint8_t buf[BUF_CAP], tok[ENV_TOKEN_LEN] = {1};
    size_t start;

    init_one(&tx, 1, NULL, 1, 1);
    init_one(&rx, 1, "", 2, 2);
    struct env_seal s = {.kind = ENV_DATA, .to_id = 2, .to_session = rx.session, .counter = 1};
    fill_pt(buf + ENV_HDR_MAX, 100, 3);
    /* the outbox reserves room for a token whether or not one goes */
    assert_int_equal(crypto_seal(&tx, buf, 100, 100 + ENV_OVERHEAD_MAX - 1, &s, &start), CRYPTO_ESPACE);
    assert_int_equal(crypto_seal(&tx, buf, 0, ENV_OVERHEAD_MAX - 1, &s, &start), CRYPTO_ESPACE);
    assert_int_equal(crypto_seal(&tx, buf, 100, 10, &s, &start), CRYPTO_ESPACE);
    assert_int_equal(crypto_seal(&tx, buf, SIZE_MAX - 5, BUF_CAP, &s, &start), CRYPTO_ESPACE);
    /* no counter 0, no unknown kind, no token outside DATA */
    s.counter = 0;
    assert_int_equal(crypto_seal(&tx, buf, 100, BUF_CAP, &s, &start), CRYPTO_EINTERNAL);
    s.counter = 1;
    s.kind = 3;
    assert_int_equal(crypto_seal(&tx, buf, 100, BUF_CAP, &s, &start), CRYPTO_EINTERNAL);
    s.kind = ENV_COOKIE;
    s.token = tok;
    assert_int_equal(crypto_seal(&tx, buf, 100, BUF_CAP, &s, &start), CRYPTO_EINTERNAL);
    s.kind = ENV_HELLO;
    assert_int_equal(crypto_seal(&tx, buf, 100, BUF_CAP, &s, &start), CRYPTO_EINTERNAL);
    /* refusals consume no stateless counter */
    assert_true(tx.stateless_counter == 0);
    s = (struct env_seal){.kind = ENV_DATA, .to_id = 2, .to_session = rx.session, .counter = 1};
    assert_int_equal(crypto_seal(&tx, buf, 100, 100 + ENV_OVERHEAD_MAX, &s, &start), 100 + ENV_OVERHEAD);
    /* NULL and "" are the same (empty) label. */
    memmove(buf, buf + start, 100 + ENV_OVERHEAD);
    assert_int_equal(parse_open(&rx, buf, 100 + ENV_OVERHEAD), 100);
    crypto_free(&tx);
    crypto_free(&rx);
}

static void test_unknown_key(void **state)
{
    (void)state;
    struct crypto tx, rx;
    uint8_t buf[BUF_CAP];

    init_one(&tx, 1, NULL, 1, 1);
    init_one(&rx, 2, NULL, 2, 2);
    size_t len = seal_data(&tx, &rx, 1, buf, 50, 0);
    assert_int_equal(parse_open(&rx, buf, len), CRYPTO_EKEY);
    len = seal_hello(&tx, buf, 50, 0);
    assert_int_equal(parse_open(&rx, buf, len), CRYPTO_EKEY);
    crypto_free(&tx);
    crypto_free(&rx);
}

static void test_rotation(void **state)
{
    (void)state;
    uint8_t old_new[2][GOSSIP_KEY_LEN], new_old[2][GOSSIP_KEY_LEN], only_new[1][GOSSIP_KEY_LEN];
    struct crypto tx, rx;
    struct env_header h;
    uint8_t buf[BUF_CAP], s8[ENV_SESSION_LEN];

    fill_key(old_new[0], 1);
    fill_key(old_new[1], 2);
    fill_key(new_old[0], 2);
    fill_key(new_old[1], 1);
    fill_key(only_new[0], 2);
    fill_session(s8, 8);

    /* Receiver already seals with the new key but still opens the old one. */
    init_one(&tx, 1, "x", 5, 6);
    assert_int_equal(crypto_init(&rx, new_old, 2, "x", 7, 1, s8, SECRET), 0);
    size_t len = seal_data(&tx, &rx, 1, buf, 64, 9);
    assert_int_equal(env_parse(buf, len, &h), CRYPTO_OK);
    assert_int_equal(h.key_id, crypto_key_id(old_new[0]));
    assert_int_equal(crypto_open(&rx, &h, buf, len), 64);

    /* Sender switches to the new key: the pair's counter carries on (no
     * nonce reuse should it ever switch back) and the header names the new
     * key. */
    assert_int_equal(crypto_set_keys(&tx, old_new + 1, 1), 0);
    len = seal_data(&tx, &rx, 2, buf, 64, 9);
    assert_int_equal(env_parse(buf, len, &h), CRYPTO_OK);
    assert_int_equal(h.key_id, crypto_key_id(only_new[0]));
    assert_true(h.counter == 2);
    assert_int_equal(crypto_open(&rx, &h, buf, len), 64);

    /* Receiver drops the old key: old-key datagrams are refused even though
     * that sender's pair key was cached. */
    uint8_t tx2buf[BUF_CAP];
    struct crypto tx_old;
    init_one(&tx_old, 1, "x", 5, 6);
    size_t len2 = seal_data(&tx_old, &rx, 3, tx2buf, 10, 1);
    assert_int_equal(crypto_set_keys(&rx, only_new, 1), 0);
    assert_int_equal(parse_open(&rx, tx2buf, len2), CRYPTO_EKEY);

    assert_int_equal(crypto_set_keys(&rx, only_new, 0), CRYPTO_EINTERNAL);
    assert_int_equal(crypto_set_keys(&rx, only_new, GOSSIP_MAX_KEYS + 1), CRYPTO_EINTERNAL);

    crypto_free(&tx);
    crypto_free(&tx_old);
    crypto_free(&rx);
}

static void test_bit_flips(void **state)
{
    (void)state;
    struct crypto tx, rx;
    uint8_t orig[BUF_CAP], buf[BUF_CAP];

    init_one(&tx, 1, "flip", 0x1234, 0x5678);
    init_one(&rx, 1, "flip", 0x9abc, 0xdef0);
    for (int with_token = 0; with_token < 2; with_token++) {
        uint8_t tok[ENV_TOKEN_LEN];
        fill_pt(tok, sizeof tok, 99);
        fill_pt(orig + ENV_HDR_MAX, 40, 7);
        struct env_seal s = {.kind = ENV_DATA, .to_id = rx.self_id, .to_session = rx.session, .counter = 77,
                             .token = with_token ? tok : NULL};
        int n = seal_to0(&tx, orig, 40, BUF_CAP, &s);
        assert_true(n > 0);
        size_t len = (size_t)n;

        memcpy(buf, orig, len);
        assert_int_equal(parse_open(&rx, buf, len), 40);

        for (size_t bit = 0; bit < len * 8; bit++) {
            size_t byte = bit / 8;
            int want;
            if (byte == 0)
                want = CRYPTO_EVERSION;
            else if (byte == 1 && (bit % 8 == 0 || bit % 8 == 1))
                /* another kind: a HELLO's key differs; a COOKIE shares the
                 * pair key but its kind is in the AAD (with a token: neither
                 * may carry one) */
                want = with_token ? CRYPTO_EFLAGS : CRYPTO_EAUTH;
            else if (byte == 1 && bit % 8 == 7)
                want = CRYPTO_EAUTH; /* the token flag: another header */
            else if (byte == 1)
                want = CRYPTO_EFLAGS;
            else if (byte < 6)
                want = CRYPTO_EKEY;
            else
                want = CRYPTO_EAUTH; /* sender, generation, session, hint, counter, token, body, tag */
            memcpy(buf, orig, len);
            buf[byte] ^= (uint8_t)(1u << (bit % 8));
            int rc = parse_open(&rx, buf, len);
            if (rc != want)
                fail_msg("token %d bit %zu (byte %zu): got %d, want %d", with_token, bit, byte, rc, want);
        }
        /* Failures leave the cache usable: the untouched datagram still opens. */
        memcpy(buf, orig, len);
        assert_int_equal(parse_open(&rx, buf, len), 40);
    }
    crypto_free(&tx);
    crypto_free(&rx);
}

static void test_failed_open_clears_body(void **state)
{
    (void)state;
    struct crypto tx, rx;
    uint8_t buf[BUF_CAP], zero[64] = {0};

    init_one(&tx, 1, NULL, 1, 1);
    init_one(&rx, 1, NULL, 2, 2);
    size_t len = seal_data(&tx, &rx, 1, buf, 64, 1);
    buf[len - 1] ^= 0x80;
    assert_int_equal(parse_open(&rx, buf, len), CRYPTO_EAUTH);
    assert_memory_equal(buf + ENV_HDR_LEN, zero, 64);
    crypto_free(&tx);
    crypto_free(&rx);
}

static void test_label_mismatch(void **state)
{
    (void)state;
    static const char *labels[] = {NULL, "a", "b", "ab", "prod", "prod\xff"};
    const size_t n = sizeof labels / sizeof labels[0];
    uint8_t buf[BUF_CAP];

    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            struct crypto tx, rx;
            init_one(&tx, 3, labels[i], 1, 1);
            init_one(&rx, 3, labels[j], 2, 2);
            size_t len = seal_data(&tx, &rx, 1, buf, 20, 0);
            assert_int_equal(parse_open(&rx, buf, len), i == j ? 20 : CRYPTO_EAUTH);
            len = seal_hello(&tx, buf, 20, 0);
            assert_int_equal(parse_open(&rx, buf, len), i == j ? 20 : CRYPTO_EAUTH);
            crypto_free(&tx);
            crypto_free(&rx);
        }
    }

    /* Longest label fits; one more byte is refused. */
    char lbl[GOSSIP_LABEL_MAX + 2];
    memset(lbl, 'L', sizeof lbl - 1);
    lbl[sizeof lbl - 1] = '\0';
    uint8_t keys[1][GOSSIP_KEY_LEN], s1[ENV_SESSION_LEN];
    struct crypto c;
    fill_key(keys[0], 1);
    fill_session(s1, 1);
    assert_int_equal(crypto_init(&c, keys, 1, lbl, 1, 1, s1, SECRET), CRYPTO_EINTERNAL);
    lbl[GOSSIP_LABEL_MAX] = '\0';
    assert_int_equal(crypto_init(&c, keys, 1, lbl, 1, 1, s1, SECRET), 0);
    assert_int_equal(c.label_len, GOSSIP_LABEL_MAX);
    crypto_free(&c);
}

static void test_truncation(void **state)
{
    (void)state;
    struct crypto tx, rx;
    uint8_t orig[BUF_CAP], buf[BUF_CAP];
    struct env_header h;

    init_one(&tx, 1, NULL, 1, 1);
    init_one(&rx, 1, NULL, 2, 2);
    size_t len = seal_data(&tx, &rx, 1, orig, 77, 2);

    for (size_t cut = 0; cut < len; cut++) {
        memcpy(buf, orig, len);
        int rc = env_parse(buf, cut, &h);
        if (cut < ENV_OVERHEAD) {
            assert_int_equal(rc, CRYPTO_ESHORT);
            /* crypto_open must not trust its caller to have checked. */
            assert_int_equal(env_parse(buf, len, &h), CRYPTO_OK);
            assert_int_equal(crypto_open(&rx, &h, buf, cut), CRYPTO_ESHORT);
        } else {
            assert_int_equal(rc, CRYPTO_OK);
            assert_int_equal(crypto_open(&rx, &h, buf, cut), CRYPTO_EAUTH);
        }
    }
    /* Extension fails too. */
    memcpy(buf, orig, len);
    buf[len] = 0;
    assert_int_equal(parse_open(&rx, buf, len + 1), CRYPTO_EAUTH);
    memcpy(buf, orig, len);
    assert_int_equal(parse_open(&rx, buf, len), 77);
    crypto_free(&tx);
    crypto_free(&rx);
}

/* env_parse: the kind byte (wire format 2). */
static void test_parse_kinds(void **state)
{
    (void)state;
    uint8_t buf[BUF_CAP];
    struct env_header h;
    memset(buf, 0, sizeof buf);
    buf[0] = ENV_VERSION;
    for (unsigned k = 0; k < 256; k++) {
        buf[1] = (uint8_t)k;
        int want;
        if (k == ENV_DATA || k == ENV_HELLO || k == ENV_COOKIE || k == (ENV_DATA | ENV_F_TOKEN))
            want = CRYPTO_OK;
        else
            want = CRYPTO_EFLAGS; /* unknown kind (3), reserved bits, a token on HELLO/COOKIE */
        assert_int_equal(env_parse(buf, ENV_OVERHEAD_MAX, &h), want);
    }
    buf[1] = ENV_HELLO | ENV_F_TOKEN;
    assert_int_equal(env_parse(buf, ENV_OVERHEAD_MAX, &h), CRYPTO_EFLAGS);
    buf[1] = ENV_COOKIE | ENV_F_TOKEN;
    assert_int_equal(env_parse(buf, ENV_OVERHEAD_MAX, &h), CRYPTO_EFLAGS);
    buf[1] = 3;
    assert_int_equal(env_parse(buf, ENV_OVERHEAD_MAX, &h), CRYPTO_EFLAGS);
    /* a token needs its 16 bytes: shorter than a tokened envelope is short */
    buf[1] = ENV_DATA | ENV_F_TOKEN;
    assert_int_equal(env_parse(buf, ENV_OVERHEAD_MAX - 1, &h), CRYPTO_ESHORT);
    assert_int_equal(env_parse(buf, ENV_OVERHEAD_MAX, &h), CRYPTO_OK);
    assert_true(h.has_token);
    assert_int_equal(h.len, ENV_HDR_MAX);
    buf[1] = ENV_DATA;
    assert_int_equal(env_parse(buf, ENV_OVERHEAD, &h), CRYPTO_OK);
    assert_false(h.has_token);
    assert_int_equal(h.len, ENV_HDR_LEN);
    /* format 1 and anything else: not ours */
    for (unsigned v = 0; v < 256; v++) {
        buf[0] = (uint8_t)v;
        assert_int_equal(env_parse(buf, ENV_OVERHEAD, &h), v == ENV_VERSION ? CRYPTO_OK : CRYPTO_EVERSION);
    }
}

/* A datagram is sealed for one life of one node: it opens at B, not at C
 * (another id), not at B's next life (B's id, a new session), not at B
 * with another life of the sender claimed in the header. */
static void test_bound_to_receiver_life(void **state)
{
    (void)state;
    struct crypto a, b, b_next, c, c_with_b_session;
    uint8_t orig[BUF_CAP], buf[BUF_CAP];

    init_one(&a, 1, "bind", 100, 1);
    init_one(&b, 1, "bind", 200, 2);
    init_one(&b_next, 1, "bind", 200, 3);          /* B restarted: a new random session */
    init_one(&c, 1, "bind", 300, 4);
    init_one(&c_with_b_session, 1, "bind", 300, 2); /* another node that had B's session */
    size_t len = seal_data(&a, &b, 1, orig, 48, 5);
    struct env_header h;
    assert_int_equal(env_parse(orig, len, &h), CRYPTO_OK);
    assert_int_equal(h.hint, env_hint(b.session));
    assert_int_not_equal(h.hint, env_hint(b_next.session));

    memcpy(buf, orig, len);
    assert_int_equal(parse_open(&c, buf, len), CRYPTO_EAUTH);
    memcpy(buf, orig, len);
    assert_int_equal(parse_open(&b_next, buf, len), CRYPTO_EAUTH);
    memcpy(buf, orig, len);
    assert_int_equal(parse_open(&c_with_b_session, buf, len), CRYPTO_EAUTH);
    /* with the hint rewritten to the other receiver's: still nothing */
    memcpy(buf, orig, len);
    uint32_t hint = env_hint(b_next.session);
    buf[38] = (uint8_t)(hint >> 24), buf[39] = (uint8_t)(hint >> 16), buf[40] = (uint8_t)(hint >> 8), buf[41] = (uint8_t)hint;
    assert_int_equal(parse_open(&b_next, buf, len), CRYPTO_EAUTH);
    /* a DATA relabelled a HELLO (for anybody) does not open anywhere */
    memcpy(buf, orig, len);
    buf[1] = ENV_HELLO;
    assert_int_equal(parse_open(&c, buf, len), CRYPTO_EAUTH);
    memcpy(buf, orig, len);
    buf[1] = ENV_HELLO;
    assert_int_equal(parse_open(&b, buf, len), CRYPTO_EAUTH);
    /* and at B itself it opens (the failures above cached nothing wrong) */
    memcpy(buf, orig, len);
    assert_int_equal(parse_open(&b, buf, len), 48);
    /* the sender's next life seals under another key: B's open of A's old
     * datagram is not confused by it */
    struct crypto a_next;
    init_one(&a_next, 1, "bind", 100, 9);
    size_t len2 = seal_data(&a_next, &b, 1, buf, 48, 5);
    assert_memory_not_equal(buf + ENV_HDR_LEN, orig + ENV_HDR_LEN, len2 - ENV_HDR_LEN);
    assert_int_equal(parse_open(&b, buf, len2), 48);
    memcpy(buf, orig, len);
    assert_int_equal(parse_open(&b, buf, len), 48);
    crypto_free(&a);
    crypto_free(&a_next);
    crypto_free(&b);
    crypto_free(&b_next);
    crypto_free(&c);
    crypto_free(&c_with_b_session);
}

/* A HELLO is sealed for anybody who holds the key (hint 0), under the
 * sender's life: it opens at B and at C, not under another key or label,
 * and not as a DATA. */
static void test_hello_opens_anywhere(void **state)
{
    (void)state;
    struct crypto a, b, c, other_key, other_label;
    uint8_t orig[BUF_CAP], buf[BUF_CAP];

    init_one(&a, 1, "h", 100, 1);
    init_one(&b, 1, "h", 200, 2);
    init_one(&c, 1, "h", 300, 3);
    init_one(&other_key, 2, "h", 400, 4);
    init_one(&other_label, 1, "g", 500, 5);
    size_t len = seal_hello(&a, orig, HS_PAYLOAD_LEN, 3);
    struct env_header h;
    assert_int_equal(env_parse(orig, len, &h), CRYPTO_OK);
    assert_int_equal(h.kind, ENV_HELLO);
    assert_int_equal(h.hint, 0);
    assert_true(h.counter & ENV_STATELESS_BIT);
    struct crypto *who[] = {&b, &c, &a};
    for (unsigned i = 0; i < 3; i++) {
        memcpy(buf, orig, len);
        assert_int_equal(parse_open(who[i], buf, len), HS_PAYLOAD_LEN);
    }
    memcpy(buf, orig, len);
    assert_int_equal(parse_open(&other_key, buf, len), CRYPTO_EKEY);
    memcpy(buf, orig, len);
    assert_int_equal(parse_open(&other_label, buf, len), CRYPTO_EAUTH);
    memcpy(buf, orig, len);
    buf[1] = ENV_DATA;
    assert_int_equal(parse_open(&b, buf, len), CRYPTO_EAUTH);
    /* the sender id and session are bound: another sender claimed, no open */
    memcpy(buf, orig, len);
    buf[13] ^= 1;
    assert_int_equal(parse_open(&b, buf, len), CRYPTO_EAUTH);
    memcpy(buf, orig, len);
    buf[30] ^= 1;
    assert_int_equal(parse_open(&b, buf, len), CRYPTO_EAUTH);
    crypto_free(&a);
    crypto_free(&b);
    crypto_free(&c);
    crypto_free(&other_key);
    crypto_free(&other_label);
}

/* Nonces: under one pair key DATA counters (the pair's, from 1) and
 * COOKIE counters (the life's stateless counter) share the key, so they
 * must never meet: every stateless counter has ENV_STATELESS_BIT. */
static void test_nonces(void **state)
{
    (void)state;
    struct crypto a, a2, b, a_next, rx, rx2;
    uint8_t b1[BUF_CAP], b2[BUF_CAP], b3[BUF_CAP], b4[BUF_CAP];
    struct env_header h;

    init_one(&a, 1, NULL, 100, 7);
    init_one(&a2, 1, NULL, 100, 7);
    init_one(&b, 1, NULL, 101, 7);      /* other sender */
    init_one(&a_next, 1, NULL, 100, 8); /* same sender, next life */
    init_one(&rx, 1, NULL, 1, 1);
    init_one(&rx2, 1, NULL, 2, 1);      /* another receiver */

    /* Same plaintext, consecutive counters: different ciphertext and tag. */
    size_t l1 = seal_data(&a, &rx, 1, b1, 32, 0);
    size_t l2 = seal_data(&a, &rx, 2, b2, 32, 0);
    assert_int_equal(l1, l2);
    assert_memory_not_equal(b1 + ENV_HDR_LEN, b2 + ENV_HDR_LEN, l1 - ENV_HDR_LEN);

    /* Same counter (1) under different senders, lives or receivers:
     * different pair keys, so different ciphertext. */
    size_t la2 = seal_data(&a2, &rx, 1, b2, 32, 0);
    size_t lb = seal_data(&b, &rx, 1, b3, 32, 0);
    size_t lc = seal_data(&a_next, &rx, 1, b4, 32, 0);
    assert_int_equal(la2, lb);
    assert_int_equal(la2, lc);
    assert_memory_equal(b1 + ENV_HDR_LEN, b2 + ENV_HDR_LEN, la2 - ENV_HDR_LEN); /* a2 is a's life again */
    assert_memory_not_equal(b2 + ENV_HDR_LEN, b3 + ENV_HDR_LEN, la2 - ENV_HDR_LEN);
    assert_memory_not_equal(b2 + ENV_HDR_LEN, b4 + ENV_HDR_LEN, la2 - ENV_HDR_LEN);
    assert_memory_not_equal(b3 + ENV_HDR_LEN, b4 + ENV_HDR_LEN, la2 - ENV_HDR_LEN);
    size_t lr2 = seal_data(&a, &rx2, 1, b3, 32, 0);
    assert_memory_not_equal(b2 + ENV_HDR_LEN, b3 + ENV_HDR_LEN, lr2 - ENV_HDR_LEN);
    assert_int_equal(parse_open(&rx, b2, la2), 32);
    assert_int_equal(parse_open(&rx2, b3, lr2), 32);
    assert_int_equal(parse_open(&rx, b4, lc), 32);

    /* A COOKIE for rx shares the DATA pair key: under the same counter its
     * key stream would be the DATA's (hence the separate counter spaces). */
    fill_pt(b1 + ENV_HDR_MAX, 32, 0);
    struct env_seal s = {.kind = ENV_COOKIE, .to_id = rx.self_id, .to_session = rx.session, .counter = 1};
    assert_int_equal(seal_to0(&a, b1, 32, BUF_CAP, &s), (int)l1);
    seal_data(&a, &rx, 1, b2, 32, 0);
    assert_memory_equal(b1 + ENV_HDR_LEN, b2 + ENV_HDR_LEN, 32); /* the same key stream */
    assert_int_equal(parse_open(&rx, b1, l1), 32);               /* and the COOKIE opens */

    /* The stateless counters: from 2^63 + 1 up, every one with the bit,
     * strictly increasing; 0 once spent (then nothing can be sealed). */
    uint64_t prev = 0;
    for (unsigned i = 0; i < 1000; i++) {
        uint64_t c = crypto_stateless_counter(&a);
        assert_true(c & ENV_STATELESS_BIT);
        assert_true(c > prev);
        if (i == 0)
            assert_true(c == (ENV_STATELESS_BIT | 1));
        prev = c;
    }
    a.stateless_counter = UINT64_MAX - 1;
    assert_true(crypto_stateless_counter(&a) == UINT64_MAX);
    assert_true(crypto_stateless_counter(&a) == 0);
    assert_true(crypto_stateless_counter(&a) == 0);
    s = (struct env_seal){.kind = ENV_HELLO, .counter = crypto_stateless_counter(&a)};
    assert_int_equal(seal_to0(&a, b1, 8, BUF_CAP, &s), CRYPTO_EINTERNAL);
    /* the largest DATA counter send.c uses seals and opens */
    size_t len = seal_data(&a, &rx, ENV_STATELESS_BIT - 1, b1, 8, 0);
    assert_int_equal(env_parse(b1, len, &h), CRYPTO_OK);
    assert_true(h.counter == ENV_STATELESS_BIT - 1);
    assert_int_equal(parse_open(&rx, b1, len), 8);

    crypto_free(&a);
    crypto_free(&a2);
    crypto_free(&b);
    crypto_free(&a_next);
    crypto_free(&rx);
    crypto_free(&rx2);
}

static void test_replay_basic(void **state)
{
    (void)state;
    struct replay_window w = {0, 0};

    assert_false(replay_check(&w, 0));
    assert_true(replay_check(&w, 1));
    replay_commit(&w, 1);
    assert_false(replay_check(&w, 1));
    assert_true(replay_check(&w, 2));
    replay_commit(&w, 2);
    assert_false(replay_check(&w, 2));
    assert_false(replay_check(&w, 1));
    /* Counter 0 is never valid, whatever the window holds. */
    replay_commit(&w, 0);
    assert_false(replay_check(&w, 0));
    assert_true(w.top == 2);
}

static void test_replay_window(void **state)
{
    (void)state;
    struct replay_window w = {0, 0};

    replay_commit(&w, 100);
    /* Everything from 37 to 99 is inside the window and unseen. */
    for (uint64_t c = 37; c < 100; c++)
        assert_true(replay_check(&w, c));
    assert_false(replay_check(&w, 36));
    assert_false(replay_check(&w, 1));
    assert_false(replay_check(&w, 100));

    /* Out of order within the window: accepted once each. */
    static const uint64_t order[] = {99, 37, 64, 50, 98, 38};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        assert_true(replay_check(&w, order[i]));
        replay_commit(&w, order[i]);
        assert_false(replay_check(&w, order[i]));
    }
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        assert_false(replay_check(&w, order[i]));
    assert_true(replay_check(&w, 39));
    assert_true(replay_check(&w, 97));

    /* Advance by 1: 37 falls out of the window (too old, not "unseen"). */
    replay_commit(&w, 101);
    assert_false(replay_check(&w, 37));
    assert_false(replay_check(&w, 38));   /* marked seen, still in the window */
    assert_true(replay_check(&w, 39));
    assert_false(replay_check(&w, 99));   /* bit moved along with the shift */
    assert_false(replay_check(&w, 100));
    assert_true(replay_check(&w, 97));
}

static void test_replay_jumps(void **state)
{
    (void)state;
    struct replay_window w = {0, 0};

    /* Early counters below 64 with top < 64 are all in range. */
    replay_commit(&w, 10);
    for (uint64_t c = 1; c < 10; c++)
        assert_true(replay_check(&w, c));

    /* Jump of exactly 63: 10 still remembered; of 64: forgotten (too old). */
    replay_commit(&w, 73);
    assert_false(replay_check(&w, 10));
    assert_true(replay_check(&w, 11));
    replay_commit(&w, 11);
    replay_commit(&w, 75);
    assert_false(replay_check(&w, 11));  /* 75 - 11 = 64: too old */
    assert_false(replay_check(&w, 73));
    assert_true(replay_check(&w, 74));

    /* Huge jumps clear the whole bitmap (shift >= 64 must not be UB). */
    replay_commit(&w, 75 + 64);
    assert_false(replay_check(&w, 75));
    assert_true(replay_check(&w, 76));
    assert_true(w.bits == 1);
    replay_commit(&w, UINT64_C(1) << 40);
    assert_true(w.bits == 1);
    assert_true(replay_check(&w, (UINT64_C(1) << 40) - 1));
    assert_false(replay_check(&w, 76));
    replay_commit(&w, UINT64_MAX);
    assert_true(w.bits == 1);
    assert_false(replay_check(&w, UINT64_MAX));
    assert_true(replay_check(&w, UINT64_MAX - 1));
    assert_true(replay_check(&w, UINT64_MAX - 63));
    assert_false(replay_check(&w, UINT64_MAX - 64));
    replay_commit(&w, UINT64_MAX - 63);
    assert_false(replay_check(&w, UINT64_MAX - 63));
    assert_true(w.bits == (UINT64_C(1) | UINT64_C(1) << 63));
}

/* The window against many orderings of a 40-counter stream: each counter is
 * accepted exactly once. */
static void test_replay_exhaustive(void **state)
{
    (void)state;
    /* Deterministic shuffles (Fisher-Yates over a fixed LCG). */
    uint32_t seed = 12345;
    for (int round = 0; round < 2000; round++) {
        uint64_t ctrs[40];
        for (int i = 0; i < 40; i++)
            ctrs[i] = (uint64_t)i + 1;
        for (int i = 39; i > 0; i--) {
            seed = seed * 1103515245u + 12345u;
            int j = (int)((seed >> 16) % (uint32_t)(i + 1));
            uint64_t t = ctrs[i];
            ctrs[i] = ctrs[j];
            ctrs[j] = t;
        }
        struct replay_window w = {0, 0};
        for (int i = 0; i < 40; i++) {
            assert_true(replay_check(&w, ctrs[i])); /* all within 64 of each other */
            replay_commit(&w, ctrs[i]);
            for (int k = 0; k <= i; k++)
                assert_false(replay_check(&w, ctrs[k]));
        }
    }
}

static unsigned cache_used(const struct crypto *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < CRYPTO_CACHE_SLOTS; i++)
        n += c->rx_cache[i].used;
    return n;
}

static void test_cache_many_senders(void **state)
{
    (void)state;
    enum { SENDERS = CRYPTO_CACHE_SLOTS * 4 };
    static struct crypto tx[SENDERS];
    struct crypto rx;
    uint8_t buf[BUF_CAP], want[BUF_CAP];

    for (unsigned i = 0; i < SENDERS; i++)
        /* Half share one sender id with distinct sessions (restarts). */
        init_one(&tx[i], 4, "c", i % 2 ? 1000 + i : 1, i % 2 ? 1 : 1000 + i);
    init_one(&rx, 4, "c", 1, 999);

    for (int pass = 0; pass < 3; pass++) {
        for (unsigned k = 0; k < SENDERS; k++) {
            /* Stride through senders so slots are revisited after eviction. */
            unsigned i = (k * 37u + (unsigned)pass) % SENDERS;
            size_t n = 1 + (i % 60);
            size_t len = seal_data(&tx[i], &rx, (uint64_t)pass + 1, buf, n, (uint8_t)i);
            fill_pt(want, n, (uint8_t)i);
            assert_int_equal(parse_open(&rx, buf, len), (int)n);
            assert_memory_equal(buf + ENV_HDR_LEN, want, n);
        }
    }
    assert_true(cache_used(&rx) > CRYPTO_CACHE_SLOTS / 2);
    for (unsigned i = 0; i < SENDERS; i++)
        crypto_free(&tx[i]);
    crypto_free(&rx);
}

/* The cache names a pair key by the peer's id and session AND the kind of
 * pair: a HELLO's key (sealed for anybody) and a DATA's (for our life) of
 * the same sender life differ, and neither is taken for the other, in any
 * order, on the receiving side nor the sending side; also when another
 * peer's DATA key sits in the slot of a peer's HELLO key. */
static void test_cache_hello_and_data_keys(void **state)
{
    (void)state;
    struct crypto a, b;
    uint8_t buf[BUF_CAP], want[BUF_CAP];

    init_one(&a, 7, "k", 100, 1);
    init_one(&b, 7, "k", 200, 2);
    for (unsigned round = 0; round < 4; round++) {
        /* seal and open in both orders, each from a cold or a warm cache */
        bool hello_first = round % 2 == 0;
        for (unsigned k = 0; k < 2; k++) {
            bool hello = hello_first ? k == 0 : k == 1;
            size_t len = hello ? seal_hello(&a, buf, 30, (uint8_t)round)
                               : seal_data(&a, &b, round * 2 + k + 1, buf, 30, (uint8_t)round);
            fill_pt(want, 30, (uint8_t)round);
            assert_int_equal(parse_open(&b, buf, len), 30);
            assert_memory_equal(buf + ENV_HDR_LEN, want, 30);
        }
        if (round == 1) {
            crypto_set_keys(&b, (const uint8_t(*)[GOSSIP_KEY_LEN])b.keys[0].key, 1); /* cold again */
            assert_int_equal(cache_used(&b), 0);
        }
    }
    /* both kinds of key of one peer are cached side by side */
    unsigned hello_slots = 0, data_slots = 0;
    for (unsigned i = 0; i < CRYPTO_CACHE_SLOTS; i++) {
        if (b.rx_cache[i].used && b.rx_cache[i].peer == 100)
            *(b.rx_cache[i].hello ? &hello_slots : &data_slots) += 1;
        if (b.rx_cache[i].used && b.rx_cache[i].hello)
            assert_true(b.rx_cache[i].peer == 100);
    }
    assert_int_equal(hello_slots, 1);
    assert_int_equal(data_slots, 1);

    /* a peer whose DATA key falls in the slot of A's HELLO key: they evict
     * each other and every datagram still opens */
    uint32_t kid = b.keys[0].id;
    unsigned hello_slot = crypto_cache_index(kid, 100, a.session) ^ 1u;
    struct crypto q;
    uint64_t qid = 1000;
    for (;; qid++) {
        init_one(&q, 7, "k", qid, qid);
        if (crypto_cache_index(kid, qid, q.session) == hello_slot)
            break;
        crypto_free(&q);
        assert_true(qid < 100000);
    }
    for (unsigned i = 0; i < 20; i++) {
        size_t len = i % 2 ? seal_hello(&a, buf, 12, (uint8_t)i) : seal_data(&q, &b, i + 1, buf, 12, (uint8_t)i);
        fill_pt(want, 12, (uint8_t)i);
        assert_int_equal(parse_open(&b, buf, len), 12);
        assert_memory_equal(buf + ENV_HDR_LEN, want, 12);
        /* the sending side too: A's HELLO and DATA keys alternate */
        len = i % 2 ? seal_data(&a, &b, 100 + i, buf, 12, (uint8_t)i) : seal_hello(&a, buf, 12, (uint8_t)i);
        assert_int_equal(parse_open(&b, buf, len), 12);
    }
    crypto_free(&q);
    crypto_free(&a);
    crypto_free(&b);
}

static void test_forgery_does_not_fill_cache(void **state)
{
    (void)state;
    struct crypto tx, rx;
    uint8_t buf[BUF_CAP];
    struct env_header h;

    init_one(&tx, 5, NULL, 1, 1);
    init_one(&rx, 5, NULL, 2, 2);
    size_t len = seal_data(&tx, &rx, 1, buf, 16, 0);
    for (uint64_t s = 0; s < 1000; s++) {
        uint8_t f[BUF_CAP];
        memcpy(f, buf, len);
        for (int i = 0; i < 8; i++)
            f[6 + i] = (uint8_t)((s + 77) >> (56 - 8 * i));
        f[22 + s % ENV_SESSION_LEN] ^= (uint8_t)s; /* and sessions */
        if (s % 3 == 0)
            f[1] = ENV_HELLO; /* and HELLO keys */
        assert_int_equal(env_parse(f, len, &h), CRYPTO_OK);
        assert_int_equal(crypto_open(&rx, &h, f, len), CRYPTO_EAUTH);
    }
    assert_int_equal(cache_used(&rx), 0);
    assert_int_equal(parse_open(&rx, buf, len), 16);
    assert_int_equal(cache_used(&rx), 1);
    crypto_free(&tx);
    crypto_free(&rx);
}

/* The per-datagram path (seal, open with a cached pair key, failed open,
 * a MAC) must not allocate, nor leave errors queued in libcrypto. */
static void test_hot_path_no_alloc(void **state)
{
    (void)state;
    struct crypto tx, rx;
    uint8_t buf[BUF_CAP], mac[16];

    if (!counting)
        skip();
    init_one(&tx, 6, "hot", 1, 1);
    init_one(&rx, 6, "hot", 2, 2);
    size_t len = seal_data(&tx, &rx, 1, buf, 500, 0);
    assert_int_equal(parse_open(&rx, buf, len), 500); /* fills the cache */
    ERR_clear_error();

    size_t before = n_allocs;
    for (int i = 0; i < 100; i++) {
        len = seal_data(&tx, &rx, (uint64_t)i + 2, buf, (size_t)i * 10, (uint8_t)i);
        if (i % 2)
            buf[len - 1] ^= 1;
        assert_int_equal(parse_open(&rx, buf, len), i % 2 ? CRYPTO_EAUTH : i * 10);
        crypto_mac(&rx, buf, 40, mac);
    }
    assert_int_equal(n_allocs, before);
    assert_int_equal(ERR_peek_error(), 0);
    crypto_free(&tx);
    crypto_free(&rx);
}

static void test_set_keys_flushes_cache(void **state)
{
    (void)state;
    uint8_t ring[2][GOSSIP_KEY_LEN], s2[ENV_SESSION_LEN];
    struct crypto tx, rx;
    uint8_t buf[BUF_CAP];

    fill_key(ring[0], 1);
    fill_key(ring[1], 2);
    fill_session(s2, 2);
    init_one(&tx, 1, NULL, 1, 1);
    assert_int_equal(crypto_init(&rx, ring, 2, NULL, 2, 2, s2, SECRET), 0);
    size_t len = seal_data(&tx, &rx, 1, buf, 10, 0);
    assert_int_equal(parse_open(&rx, buf, len), 10);
    assert_int_equal(cache_used(&rx), 1);
    /* Same key still present: the cache is rebuilt on demand, the datagram
     * stream keeps opening. */
    assert_int_equal(crypto_set_keys(&rx, ring + 1, 1), 0);
    assert_int_equal(cache_used(&rx), 0);
    assert_int_equal(crypto_set_keys(&rx, ring, 2), 0);
    len = seal_data(&tx, &rx, 2, buf, 10, 0);
    assert_int_equal(parse_open(&rx, buf, len), 10);
    assert_int_equal(cache_used(&rx), 1);
    /* the sending side's cache is flushed too */
    assert_int_equal(seal_data(&rx, &tx, 1, buf, 10, 0), 10 + ENV_OVERHEAD);
    unsigned tx_used = 0;
    for (unsigned i = 0; i < CRYPTO_CACHE_SLOTS; i++)
        tx_used += rx.tx_cache[i].used;
    assert_int_equal(tx_used, 1);
    assert_int_equal(crypto_set_keys(&rx, ring + 1, 1), 0);
    for (unsigned i = 0; i < CRYPTO_CACHE_SLOTS; i++)
        assert_false(rx.tx_cache[i].used);
    crypto_free(&tx);
    crypto_free(&rx);
}

static void test_init_errors(void **state)
{
    (void)state;
    uint8_t keys[GOSSIP_MAX_KEYS + 1][GOSSIP_KEY_LEN], s1[ENV_SESSION_LEN];
    struct crypto c;

    for (unsigned i = 0; i <= GOSSIP_MAX_KEYS; i++)
        fill_key(keys[i], (uint8_t)i);
    fill_session(s1, 1);
    assert_int_equal(crypto_init(&c, keys, 0, NULL, 1, 1, s1, SECRET), CRYPTO_EINTERNAL);
    assert_int_equal(crypto_init(&c, keys, GOSSIP_MAX_KEYS + 1, NULL, 1, 1, s1, SECRET), CRYPTO_EINTERNAL);
    assert_int_equal(crypto_init(&c, NULL, 1, NULL, 1, 1, s1, SECRET), CRYPTO_EINTERNAL);
    assert_int_equal(crypto_init(&c, keys, GOSSIP_MAX_KEYS, NULL, 1, 1, s1, SECRET), 0);
    assert_int_equal(c.n_keys, GOSSIP_MAX_KEYS);
    assert_memory_equal(c.session, s1, ENV_SESSION_LEN);
    assert_true(c.self_id == 1);
    for (unsigned i = 0; i < GOSSIP_MAX_KEYS; i++)
        assert_int_equal(c.keys[i].id, crypto_key_id(keys[i]));
    /* a pair key in each cache, to be wiped */
    struct crypto peer;
    uint8_t buf[BUF_CAP];
    init_one(&peer, 0, NULL, 9, 9);
    size_t len = seal_data(&peer, &c, 1, buf, 4, 0);
    assert_int_equal(parse_open(&c, buf, len), 4);
    seal_data(&c, &peer, 1, buf, 4, 0);
    crypto_free(&peer);
    crypto_free(&c);
    /* Key material, secrets and cached pair keys are wiped and a second
     * free is harmless. */
    uint8_t zero[sizeof c.rx_cache] = {0};
    assert_memory_equal(c.keys[0].key, zero, GOSSIP_KEY_LEN);
    assert_memory_equal(c.mac_secret, zero, sizeof c.mac_secret);
    assert_memory_equal(c.session, zero, ENV_SESSION_LEN);
    assert_memory_equal(c.rx_cache, zero, sizeof c.rx_cache);
    assert_memory_equal(c.tx_cache, zero, sizeof c.tx_cache);
    crypto_free(&c);
    crypto_free(NULL);
}

/* ---- handshake: tokens and challenges (lib/handshake.c) -------------------- */

/* The little of a handle that tokens and challenges use: its crypto (the
 * life's MAC secret) and its clock. */
static struct gossip *hs_handle(uint64_t id, uint64_t session, const uint8_t secret[32])
{
    struct gossip *g = calloc(1, sizeof *g);
    assert_non_null(g);
    uint8_t keys[1][GOSSIP_KEY_LEN], s[ENV_SESSION_LEN];
    fill_key(keys[0], 1);
    fill_session(s, session);
    assert_int_equal(crypto_init(&g->crypto, keys, 1, NULL, id, 1, s, secret), 0);
    g->self_id = id;
    return g;
}

static void hs_handle_free(struct gossip *g)
{
    crypto_free(&g->crypto);
    free(g);
}

static gaddr_t addr4(uint8_t last, uint16_t port)
{
    gaddr_t a;
    memset(&a, 0, sizeof a);
    a.family = 4;
    a.ip[0] = 10, a.ip[3] = last;
    a.port = port;
    return a;
}

/* A token is valid in the bucket it was made in and the next (HS_BUCKET_MS
 * = 5 s: between 5 and 10 s of the receiver's clock) and only for the id,
 * session and address it was made for, and only at the life that made it. */
static void test_token(void **state)
{
    (void)state;
    static const uint8_t other_secret[32] = "another life's secret, not ours";
    struct gossip *g = hs_handle(1, 1, SECRET);
    struct gossip *g_next = hs_handle(1, 2, other_secret); /* the same node, next life */
    uint8_t s7[ENV_SESSION_LEN], s8[ENV_SESSION_LEN], tok[ENV_TOKEN_LEN], tok2[ENV_TOKEN_LEN];
    fill_session(s7, 7);
    fill_session(s8, 8);
    gaddr_t a = addr4(7, 1179), a_port = addr4(7, 1180), a_ip = addr4(8, 1179);
    a_ip.ip[3] = 8;

    static const uint64_t made_at[] = {1000, 4999, 5000, 9999, 123456789};
    for (size_t i = 0; i < sizeof made_at / sizeof made_at[0]; i++) {
        uint64_t t = made_at[i];
        g->now = t;
        hs_make_token(g, 77, s7, &a, tok);
        assert_true(hs_token_valid(g, 77, s7, &a, tok));
        /* made anew later in the same bucket: the same token */
        g->now = t - t % HS_BUCKET_MS + HS_BUCKET_MS - 1;
        hs_make_token(g, 77, s7, &a, tok2);
        assert_memory_equal(tok, tok2, ENV_TOKEN_LEN);
        /* at least 5 s, at most 10 s */
        g->now = t + HS_BUCKET_MS - 1;
        assert_true(hs_token_valid(g, 77, s7, &a, tok));
        g->now = t - t % HS_BUCKET_MS + 2 * HS_BUCKET_MS - 1;
        assert_true(hs_token_valid(g, 77, s7, &a, tok));
        g->now = t - t % HS_BUCKET_MS + 2 * HS_BUCKET_MS;
        assert_false(hs_token_valid(g, 77, s7, &a, tok));
        g->now = t + 2 * HS_BUCKET_MS;
        assert_false(hs_token_valid(g, 77, s7, &a, tok));
        g->now = t + 3600000;
        assert_false(hs_token_valid(g, 77, s7, &a, tok));
        /* made "in the future" of the clock: not valid */
        if (t >= 2 * HS_BUCKET_MS) {
            g->now = t - 2 * HS_BUCKET_MS;
            assert_false(hs_token_valid(g, 77, s7, &a, tok));
        }
        /* bound to id, session, address (ip and port), and the life */
        g->now = t;
        assert_false(hs_token_valid(g, 78, s7, &a, tok));
        assert_false(hs_token_valid(g, 77, s8, &a, tok));
        assert_false(hs_token_valid(g, 77, s7, &a_port, tok));
        assert_false(hs_token_valid(g, 77, s7, &a_ip, tok));
        g_next->now = t;
        assert_false(hs_token_valid(g_next, 77, s7, &a, tok));
        /* a single flipped bit */
        for (unsigned bit = 0; bit < 8 * ENV_TOKEN_LEN; bit += 13) {
            memcpy(tok2, tok, ENV_TOKEN_LEN);
            tok2[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_false(hs_token_valid(g, 77, s7, &a, tok2));
        }
    }
    hs_handle_free(g);
    hs_handle_free(g_next);
}

/* A challenge likewise: two buckets, bound to the address, seq and the
 * target named (1), or to nobody (2: NODE_ANY), and to the life. */
static void test_challenge(void **state)
{
    (void)state;
    static const uint8_t other_secret[32] = "another life's secret, not ours";
    struct gossip *g = hs_handle(1, 1, SECRET);
    struct gossip *g_next = hs_handle(1, 2, other_secret);
    uint8_t ch[HS_CHALLENGE_LEN], any[HS_CHALLENGE_LEN];
    gaddr_t a = addr4(7, 1179), a_port = addr4(7, 1180), a_ip = addr4(9, 1179);

    g->now = 7777;
    hs_make_challenge(g, &a, 55, 1234, ch);
    hs_make_challenge(g, &a, NODE_ANY, 1234, any);
    assert_memory_not_equal(ch, any, HS_CHALLENGE_LEN);
    assert_int_equal(hs_challenge_valid(g, &a, 55, 1234, ch), 1);
    assert_int_equal(hs_challenge_valid(g, &a, 55, 1234, any), 2); /* whoever answered */
    assert_int_equal(hs_challenge_valid(g, &a, 56, 1234, any), 2);
    assert_int_equal(hs_challenge_valid(g, &a, 56, 1234, ch), 0);  /* named another node */
    assert_int_equal(hs_challenge_valid(g, &a, 55, 1235, ch), 0);
    assert_int_equal(hs_challenge_valid(g, &a_port, 55, 1234, ch), 0);
    assert_int_equal(hs_challenge_valid(g, &a_ip, 55, 1234, ch), 0);
    assert_int_equal(hs_challenge_valid(g, &a_ip, 55, 1234, any), 0);
    g_next->now = g->now;
    assert_int_equal(hs_challenge_valid(g_next, &a, 55, 1234, ch), 0);
    /* two buckets: valid at the end of the next one, not after */
    g->now = 7777 - 7777 % HS_BUCKET_MS + 2 * HS_BUCKET_MS - 1;
    assert_int_equal(hs_challenge_valid(g, &a, 55, 1234, ch), 1);
    assert_int_equal(hs_challenge_valid(g, &a, 55, 1234, any), 2);
    g->now++;
    assert_int_equal(hs_challenge_valid(g, &a, 55, 1234, ch), 0);
    assert_int_equal(hs_challenge_valid(g, &a, 55, 1234, any), 0);
    hs_handle_free(g);
    hs_handle_free(g_next);
}

int main(void)
{
    /* Must precede every libcrypto allocation; skip the check if too late. */
    counting = CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free) == 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_id),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_seal_space),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_failed_open_clears_body),
        cmocka_unit_test(test_label_mismatch),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_parse_kinds),
        cmocka_unit_test(test_bound_to_receiver_life),
        cmocka_unit_test(test_hello_opens_anywhere),
        cmocka_unit_test(test_nonces),
        cmocka_unit_test(test_replay_basic),
        cmocka_unit_test(test_replay_window),
        cmocka_unit_test(test_replay_jumps),
        cmocka_unit_test(test_replay_exhaustive),
        cmocka_unit_test(test_cache_many_senders),
        cmocka_unit_test(test_cache_hello_and_data_keys),
        cmocka_unit_test(test_forgery_does_not_fill_cache),
        cmocka_unit_test(test_hot_path_no_alloc),
        cmocka_unit_test(test_set_keys_flushes_cache),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_challenge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
