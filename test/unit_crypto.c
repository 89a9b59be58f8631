/* Unit tests for the sealed envelope (lib/crypto.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "crypto.h"
#include "window.h"

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

static void init_one(struct crypto *c, uint8_t seed, const char *label, uint64_t self,
                     uint64_t session)
{
    uint8_t keys[1][GOSSIP_KEY_LEN];
    fill_key(keys[0], seed);
    assert_int_equal(crypto_init(c, keys, 1, label, self, session), 0);
}

static void fill_pt(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 13u);
}

/* Seal n bytes of pattern `seed` into buf; returns the envelope length. */
static size_t seal_pattern(struct crypto *c, uint8_t *buf, size_t n, uint8_t seed)
{
    fill_pt(buf + ENV_HDR_LEN, n, seed);
    int len = crypto_seal(c, buf, n, BUF_CAP);
    assert_int_equal(len, (int)(n + ENV_OVERHEAD));
    return (size_t)len;
}

/* env_parse + crypto_open, returning the first error or the plaintext length. */
static int parse_open(struct crypto *c, uint8_t *buf, size_t len)
{
    struct env_header h;
    int rc = env_parse(buf, len, &h);
    if (rc != CRYPTO_OK)
        return rc;
    return crypto_open(c, &h, buf, len);
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

/* An envelope built by an independent implementation (Python cryptography)
 * must open, and ours must be byte-identical to it. */
static void test_known_answer(void **state)
{
    (void)state;
    static const uint8_t env[] = {
        0x01, 0x00, 0x21, 0xb4, 0x4e, 0xe7, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
        0x07, 0x08, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xd6, 0x19, 0x32, 0xa5, 0x39, 0x5e,
        0xf5, 0x46, 0xb6, 0x5a, 0x9c, 0xcc, 0x11, 0xea, 0xa9, 0xdf, 0xb6, 0x77,
        0xa0, 0x09, 0x1a, 0x00, 0x79, 0xc1, 0x07, 0xd9, 0x6e, 0x46,
    };
    static const uint8_t key[1][GOSSIP_KEY_LEN] = {{
        0x20, 0x11, 0x80, 0x33, 0x25, 0x0b, 0xbd, 0xea, 0xc0, 0x3d, 0xb3,
        0x66, 0x78, 0x76, 0x2f, 0xd3, 0xef, 0xb5, 0x29, 0xf0, 0xd6, 0x7e,
        0xc0, 0x58, 0xb9, 0xed, 0x35, 0x6a, 0xd5, 0x9e, 0xc6, 0x3c,
    }};
    const char *msg = "hello gossip";
    struct crypto tx, rx;
    struct env_header h;
    uint8_t buf[BUF_CAP];

    assert_int_equal(crypto_init(&tx, key, 1, "prod", UINT64_C(0x0102030405060708),
                                 UINT64_C(0x1122334455667788)), 0);
    assert_int_equal(crypto_init(&rx, key, 1, "prod", 99, 1), 0);

    memcpy(buf + ENV_HDR_LEN, msg, strlen(msg));
    assert_int_equal(crypto_seal(&tx, buf, strlen(msg), sizeof buf), (int)sizeof env);
    assert_memory_equal(buf, env, sizeof env);

    memcpy(buf, env, sizeof env);
    assert_int_equal(env_parse(buf, sizeof env, &h), CRYPTO_OK);
    assert_int_equal(h.version, 1);
    assert_int_equal(h.flags, 0);
    assert_int_equal(h.key_id, 0x21b44ee7u);
    assert_true(h.sender == UINT64_C(0x0102030405060708));
    assert_true(h.session == UINT64_C(0x1122334455667788));
    assert_true(h.counter == 1);
    assert_int_equal(crypto_open(&rx, &h, buf, sizeof env), (int)strlen(msg));
    assert_memory_equal(buf + ENV_HDR_LEN, msg, strlen(msg));
    crypto_free(&tx);
    crypto_free(&rx);

    /* Empty plaintext, no label, a counter using all 64 bits of the nonce. */
    static const uint8_t tag[ENV_TAG_LEN] = {
        0x0c, 0x23, 0x21, 0xcc, 0xc3, 0xe9, 0xe5, 0x4e,
        0x10, 0xb3, 0xfb, 0x78, 0x83, 0x76, 0x9e, 0x0f,
    };
    static const uint8_t ctr_be[8] = {0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
    assert_int_equal(crypto_init(&tx, key, 1, NULL, UINT64_C(0x0102030405060708),
                                 UINT64_C(0x1122334455667788)), 0);
    tx.tx_counter = UINT64_C(0xfedcba9876543210) - 1;
    assert_int_equal(crypto_seal(&tx, buf, 0, sizeof buf), ENV_OVERHEAD);
    assert_memory_equal(buf, env, 22);
    assert_memory_equal(buf + 22, ctr_be, 8);
    assert_memory_equal(buf + ENV_HDR_LEN, tag, ENV_TAG_LEN);
    crypto_free(&tx);
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
        size_t len = seal_pattern(&tx, buf, n, (uint8_t)i);
        fill_pt(want, n, (uint8_t)i);
        /* GCM ciphertext must not be the plaintext (a no-op cipher would pass otherwise). */
        if (n >= 16)
            assert_memory_not_equal(buf + ENV_HDR_LEN, want, n);
        assert_int_equal(parse_open(&rx, buf, len), (int)n);
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
    uint8_t buf[BUF_CAP];

    init_one(&tx, 1, NULL, 1, 1);
    init_one(&rx, 1, "", 2, 2);
    fill_pt(buf + ENV_HDR_LEN, 100, 3);
    assert_int_equal(crypto_seal(&tx, buf, 100, 100 + ENV_OVERHEAD - 1), CRYPTO_ESPACE);
    assert_int_equal(crypto_seal(&tx, buf, 0, ENV_OVERHEAD - 1), CRYPTO_ESPACE);
    assert_int_equal(crypto_seal(&tx, buf, 100, 10), CRYPTO_ESPACE);
    assert_int_equal(crypto_seal(&tx, buf, SIZE_MAX - 5, BUF_CAP), CRYPTO_ESPACE);
    /* Refusals must not consume counters. */
    assert_true(tx.tx_counter == 0);
    assert_int_equal(crypto_seal(&tx, buf, 100, 100 + ENV_OVERHEAD), 100 + ENV_OVERHEAD);
    assert_true(tx.tx_counter == 1);
    /* NULL and "" are the same (empty) label. */
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
    size_t len = seal_pattern(&tx, buf, 50, 0);
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
    uint8_t buf[BUF_CAP];

    fill_key(old_new[0], 1);
    fill_key(old_new[1], 2);
    fill_key(new_old[0], 2);
    fill_key(new_old[1], 1);
    fill_key(only_new[0], 2);

    /* Receiver already seals with the new key but still opens the old one. */
    init_one(&tx, 1, "x", 5, 6);
    assert_int_equal(crypto_init(&rx, new_old, 2, "x", 7, 8), 0);
    size_t len = seal_pattern(&tx, buf, 64, 9);
    assert_int_equal(env_parse(buf, len, &h), CRYPTO_OK);
    assert_int_equal(h.key_id, crypto_key_id(old_new[0]));
    assert_int_equal(crypto_open(&rx, &h, buf, len), 64);

    /* Sender switches to the new key: the counter carries on (no nonce reuse
     * should it ever switch back) and the header names the new key. */
    assert_int_equal(crypto_set_keys(&tx, old_new + 1, 1), 0);
    len = seal_pattern(&tx, buf, 64, 9);
    assert_int_equal(env_parse(buf, len, &h), CRYPTO_OK);
    assert_int_equal(h.key_id, crypto_key_id(only_new[0]));
    assert_true(h.counter == 2);
    assert_int_equal(crypto_open(&rx, &h, buf, len), 64);

    /* Receiver drops the old key: old-key datagrams are refused even though
     * that sender's session key was cached. */
    uint8_t tx2buf[BUF_CAP];
    struct crypto tx_old;
    init_one(&tx_old, 1, "x", 5, 6);
    size_t len2 = seal_pattern(&tx_old, tx2buf, 10, 1);
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
    size_t len = seal_pattern(&tx, orig, 40, 7);

    memcpy(buf, orig, len);
    assert_int_equal(parse_open(&rx, buf, len), 40);

    for (size_t bit = 0; bit < len * 8; bit++) {
        size_t byte = bit / 8;
        int want;
        if (byte == 0)
            want = CRYPTO_EVERSION;
        else if (byte == 1)
            want = CRYPTO_EFLAGS;
        else if (byte < 6)
            want = CRYPTO_EKEY;
        else
            want = CRYPTO_EAUTH; /* sender, session, counter, body, tag */
        memcpy(buf, orig, len);
        buf[byte] ^= (uint8_t)(1u << (bit % 8));
        int rc = parse_open(&rx, buf, len);
        if (rc != want)
            fail_msg("bit %zu (byte %zu): got %d, want %d", bit, byte, rc, want);
    }
    /* Failures leave the cache usable: the untouched datagram still opens. */
    memcpy(buf, orig, len);
    assert_int_equal(parse_open(&rx, buf, len), 40);
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
    size_t len = seal_pattern(&tx, buf, 64, 1);
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
            size_t len = seal_pattern(&tx, buf, 20, 0);
            assert_int_equal(parse_open(&rx, buf, len), i == j ? 20 : CRYPTO_EAUTH);
            crypto_free(&tx);
            crypto_free(&rx);
        }
    }

    /* Longest label fits; one more byte is refused. */
    char lbl[GOSSIP_LABEL_MAX + 2];
    memset(lbl, 'L', sizeof lbl - 1);
    lbl[sizeof lbl - 1] = '\0';
    uint8_t keys[1][GOSSIP_KEY_LEN];
    struct crypto c;
    fill_key(keys[0], 1);
    assert_int_equal(crypto_init(&c, keys, 1, lbl, 1, 1), CRYPTO_EINTERNAL);
    lbl[GOSSIP_LABEL_MAX] = '\0';
    assert_int_equal(crypto_init(&c, keys, 1, lbl, 1, 1), 0);
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
    size_t len = seal_pattern(&tx, orig, 77, 2);

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

static void test_nonces(void **state)
{
    (void)state;
    struct crypto a, a2, b, c, rx;
    uint8_t b1[BUF_CAP], b2[BUF_CAP], b3[BUF_CAP], b4[BUF_CAP];
    struct env_header h;

    init_one(&a, 1, NULL, 100, 7);
    init_one(&a2, 1, NULL, 100, 7);
    init_one(&b, 1, NULL, 101, 7); /* other sender */
    init_one(&c, 1, NULL, 100, 8); /* same sender, next generation */
    init_one(&rx, 1, NULL, 1, 1);

    for (uint64_t i = 1; i <= 5; i++) {
        size_t len = seal_pattern(&a, b1, 32, 0);
        assert_int_equal(env_parse(b1, len, &h), CRYPTO_OK);
        assert_true(h.counter == i);
        assert_true(a.tx_counter == i);
    }
    /* Same plaintext, consecutive counters: different ciphertext and tag. */
    size_t l1 = seal_pattern(&a, b1, 32, 0);
    size_t l2 = seal_pattern(&a, b2, 32, 0);
    assert_int_equal(l1, l2);
    assert_memory_not_equal(b1 + ENV_HDR_LEN, b2 + ENV_HDR_LEN, l1 - ENV_HDR_LEN);

    /* Same counter (1) under different senders or sessions: different
     * session keys, so different ciphertext. */
    size_t la2 = seal_pattern(&a2, b2, 32, 0);
    size_t lb = seal_pattern(&b, b3, 32, 0);
    size_t lc = seal_pattern(&c, b4, 32, 0);
    assert_int_equal(la2, lb);
    assert_int_equal(la2, lc);
    assert_memory_not_equal(b2 + ENV_HDR_LEN, b3 + ENV_HDR_LEN, la2 - ENV_HDR_LEN);
    assert_memory_not_equal(b2 + ENV_HDR_LEN, b4 + ENV_HDR_LEN, la2 - ENV_HDR_LEN);
    assert_memory_not_equal(b3 + ENV_HDR_LEN, b4 + ENV_HDR_LEN, la2 - ENV_HDR_LEN);
    assert_int_equal(parse_open(&rx, b2, la2), 32);
    assert_int_equal(parse_open(&rx, b3, lb), 32);
    assert_int_equal(parse_open(&rx, b4, lc), 32);

    /* Counter exhaustion: the last counter is usable, then sealing stops. */
    a.tx_counter = UINT64_MAX - 1;
    size_t len = seal_pattern(&a, b1, 8, 0);
    assert_int_equal(env_parse(b1, len, &h), CRYPTO_OK);
    assert_true(h.counter == UINT64_MAX);
    assert_int_equal(parse_open(&rx, b1, len), 8);
    assert_int_equal(crypto_seal(&a, b1, 8, BUF_CAP), CRYPTO_EINTERNAL);
    assert_int_equal(crypto_seal(&a, b1, 8, BUF_CAP), CRYPTO_EINTERNAL);
    assert_true(a.tx_counter == UINT64_MAX);

    crypto_free(&a);
    crypto_free(&a2);
    crypto_free(&b);
    crypto_free(&c);
    crypto_free(&rx);
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
        n += c->cache[i].used;
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
            size_t len = seal_pattern(&tx[i], buf, n, (uint8_t)i);
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

static void test_forgery_does_not_fill_cache(void **state)
{
    (void)state;
    struct crypto tx, rx;
    uint8_t buf[BUF_CAP];
    struct env_header h;

    init_one(&tx, 5, NULL, 1, 1);
    init_one(&rx, 5, NULL, 2, 2);
    size_t len = seal_pattern(&tx, buf, 16, 0);
    for (uint64_t s = 0; s < 1000; s++) {
        uint8_t f[BUF_CAP];
        memcpy(f, buf, len);
        for (int i = 0; i < 8; i++)
            f[6 + i] = (uint8_t)((s + 77) >> (56 - 8 * i));
        assert_int_equal(env_parse(f, len, &h), CRYPTO_OK);
        assert_int_equal(crypto_open(&rx, &h, f, len), CRYPTO_EAUTH);
    }
    assert_int_equal(cache_used(&rx), 0);
    assert_int_equal(parse_open(&rx, buf, len), 16);
    assert_int_equal(cache_used(&rx), 1);
    crypto_free(&tx);
    crypto_free(&rx);
}

/* The per-datagram path (seal, open with a cached session key, failed
 * open) must not allocate, nor leave errors queued in libcrypto. */
static void test_hot_path_no_alloc(void **state)
{
    (void)state;
    struct crypto tx, rx;
    uint8_t buf[BUF_CAP];

    if (!counting)
        skip();
    init_one(&tx, 6, "hot", 1, 1);
    init_one(&rx, 6, "hot", 2, 2);
    size_t len = seal_pattern(&tx, buf, 500, 0);
    assert_int_equal(parse_open(&rx, buf, len), 500); /* fills the cache */
    ERR_clear_error();

    size_t before = n_allocs;
    for (int i = 0; i < 100; i++) {
        len = seal_pattern(&tx, buf, (size_t)i * 10, (uint8_t)i);
        if (i % 2)
            buf[len - 1] ^= 1;
        assert_int_equal(parse_open(&rx, buf, len), i % 2 ? CRYPTO_EAUTH : i * 10);
    }
    assert_int_equal(n_allocs, before);
    assert_int_equal(ERR_peek_error(), 0);
    crypto_free(&tx);
    crypto_free(&rx);
}

static void test_set_keys_flushes_cache(void **state)
{
    (void)state;
    uint8_t ring[2][GOSSIP_KEY_LEN];
    struct crypto tx, rx;
    uint8_t buf[BUF_CAP];

    fill_key(ring[0], 1);
    fill_key(ring[1], 2);
    init_one(&tx, 1, NULL, 1, 1);
    assert_int_equal(crypto_init(&rx, ring, 2, NULL, 2, 2), 0);
    size_t len = seal_pattern(&tx, buf, 10, 0);
    assert_int_equal(parse_open(&rx, buf, len), 10);
    assert_int_equal(cache_used(&rx), 1);
    /* Same key still present: the cache is rebuilt on demand, the datagram
     * stream keeps opening. */
    assert_int_equal(crypto_set_keys(&rx, ring + 1, 1), 0);
    assert_int_equal(cache_used(&rx), 0);
    assert_true(rx.tx_counter == 0);
    assert_int_equal(crypto_set_keys(&rx, ring, 2), 0);
    len = seal_pattern(&tx, buf, 10, 0);
    assert_int_equal(parse_open(&rx, buf, len), 10);
    assert_int_equal(cache_used(&rx), 1);
    crypto_free(&tx);
    crypto_free(&rx);
}

static void test_init_errors(void **state)
{
    (void)state;
    uint8_t keys[GOSSIP_MAX_KEYS + 1][GOSSIP_KEY_LEN];
    struct crypto c;

    for (unsigned i = 0; i <= GOSSIP_MAX_KEYS; i++)
        fill_key(keys[i], (uint8_t)i);
    assert_int_equal(crypto_init(&c, keys, 0, NULL, 1, 1), CRYPTO_EINTERNAL);
    assert_int_equal(crypto_init(&c, keys, GOSSIP_MAX_KEYS + 1, NULL, 1, 1), CRYPTO_EINTERNAL);
    assert_int_equal(crypto_init(&c, NULL, 1, NULL, 1, 1), CRYPTO_EINTERNAL);
    assert_int_equal(crypto_init(&c, keys, GOSSIP_MAX_KEYS, NULL, 1, 1), 0);
    assert_int_equal(c.n_keys, GOSSIP_MAX_KEYS);
    for (unsigned i = 0; i < GOSSIP_MAX_KEYS; i++)
        assert_int_equal(c.keys[i].id, crypto_key_id(keys[i]));
    crypto_free(&c);
    /* Key material is wiped and a second free is harmless. */
    uint8_t zero[GOSSIP_KEY_LEN] = {0};
    assert_memory_equal(c.keys[0].key, zero, GOSSIP_KEY_LEN);
    assert_memory_equal(c.tx_skey, zero, GOSSIP_KEY_LEN);
    crypto_free(&c);
    crypto_free(NULL);
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
        cmocka_unit_test(test_nonces),
        cmocka_unit_test(test_replay_basic),
        cmocka_unit_test(test_replay_window),
        cmocka_unit_test(test_replay_jumps),
        cmocka_unit_test(test_replay_exhaustive),
        cmocka_unit_test(test_cache_many_senders),
        cmocka_unit_test(test_forgery_does_not_fill_cache),
        cmocka_unit_test(test_hot_path_no_alloc),
        cmocka_unit_test(test_set_keys_flushes_cache),
        cmocka_unit_test(test_init_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
