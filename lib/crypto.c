/*
 * Sealed envelope: AES-256-GCM under a key per pair of lives.  See
 * crypto.h for the byte layout and the nonce argument.
 */
#include "crypto.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define KEY_ID_CONTEXT "libgossip key id v1"
#define KDF_CONTEXT_A "libgossip pair kdf v3 a"
#define KDF_CONTEXT_B "libgossip pair kdf v3 b"
/* Passphrase KDF, format 2: see crypto.h. */
#define SCRYPT_SALT_PREFIX "libgossip v2 label="
#define SCRYPT_N ((uint64_t)1 << 17)
#define SCRYPT_R 8u
#define SCRYPT_P 1u
/* What OpenSSL's scrypt allocates: 128 r (N + 2) bytes of V and 128 r p of
 * B, 128 MiB and 1 KiB here; its default ceiling is 32 MiB. */
#define SCRYPT_MAXMEM ((uint64_t)128 * SCRYPT_R * (SCRYPT_N + 2 + SCRYPT_P))
#define KDF_CACHE_CONTEXT "libgossip passphrase cache v1"
#define KDF_SALT_CONTEXT "libgossip passphrase salt v1"
#define NONCE_LEN 12

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static bool key_id_of(const uint8_t key[GOSSIP_KEY_LEN], uint32_t *id)
{
    uint8_t msg[sizeof KEY_ID_CONTEXT - 1 + GOSSIP_KEY_LEN];
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;

    memcpy(msg, KEY_ID_CONTEXT, sizeof KEY_ID_CONTEXT - 1);
    memcpy(msg + sizeof KEY_ID_CONTEXT - 1, key, GOSSIP_KEY_LEN);
    int ok = EVP_Digest(msg, sizeof msg, md, &md_len, EVP_sha256(), NULL);
    OPENSSL_cleanse(msg, sizeof msg);
    if (ok != 1 || md_len < 4)
        return false;
    *id = get_be32(md);
    return true;
}

uint32_t crypto_key_id(const uint8_t key[GOSSIP_KEY_LEN])
{
    uint32_t id = 0;
    /* SHA-256 only fails when libcrypto itself is broken; 0 is as good an
     * answer as any then, and crypto_init() reports the failure. */
    (void)key_id_of(key, &id);
    return id;
}

static size_t label_len_of(const char *label)
{
    return label ? strnlen(label, GOSSIP_LABEL_MAX) : 0;
}

int crypto_derive_passphrase(const char *pass, const char *label, uint8_t out[GOSSIP_KEY_LEN])
{
    uint8_t salt[sizeof SCRYPT_SALT_PREFIX - 1 + GOSSIP_LABEL_MAX];
    size_t n = label_len_of(label);

    if (!pass)
        return CRYPTO_EINTERNAL;
    memcpy(salt, SCRYPT_SALT_PREFIX, sizeof SCRYPT_SALT_PREFIX - 1);
    if (n)
        memcpy(salt + sizeof SCRYPT_SALT_PREFIX - 1, label, n);
    if (EVP_PBE_scrypt(pass, strlen(pass), salt, sizeof SCRYPT_SALT_PREFIX - 1 + n, SCRYPT_N,
                       SCRYPT_R, SCRYPT_P, SCRYPT_MAXMEM, out, GOSSIP_KEY_LEN) != 1) {
        OPENSSL_cleanse(out, GOSSIP_KEY_LEN);
        return CRYPTO_EINTERNAL;
    }
    return 0;
}

/* HMAC-SHA-256 under `key` of context || N (u64) || r (u32) || p (u32) ||
 * label length (u8) || label || SHA-256(pass) when pass is not NULL
 * (integers big-endian). */
static bool kdf_mac(const uint8_t key[GOSSIP_KEY_LEN], const char *context, size_t c,
                    const char *label, const char *pass, uint8_t md[32])
{
    uint8_t msg[64 + 17 + GOSSIP_LABEL_MAX + 32];
    size_t n = label_len_of(label), len = 0;
    unsigned md_len = 0, ph_len = 0;
    bool ok = c <= 64;

    if (ok) {
        memcpy(msg, context, c);
        len = c;
        put_be64(msg + len, SCRYPT_N);
        put_be32(msg + len + 8, SCRYPT_R);
        put_be32(msg + len + 12, SCRYPT_P);
        msg[len + 16] = (uint8_t)n;
        len += 17;
        if (n)
            memcpy(msg + len, label, n);
        len += n;
    }
    if (ok && pass) {
        ok = EVP_Digest(pass, strlen(pass), msg + len, &ph_len, EVP_sha256(), NULL) == 1 &&
             ph_len == 32;
        len += 32;
    }
    ok = ok && HMAC(EVP_sha256(), key, GOSSIP_KEY_LEN, msg, len, md, &md_len) != NULL &&
         md_len == 32;
    OPENSSL_cleanse(msg, sizeof msg);
    if (!ok)
        OPENSSL_cleanse(md, 32);
    return ok;
}

int crypto_passphrase_tag(const uint8_t key[GOSSIP_KEY_LEN], const char *label, const char *pass,
                          uint8_t tag[CRYPTO_PASS_TAG_LEN])
{
    if (!pass)
        return CRYPTO_EINTERNAL;
    return kdf_mac(key, KDF_CACHE_CONTEXT, sizeof KDF_CACHE_CONTEXT - 1, label, pass, tag)
               ? 0
               : CRYPTO_EINTERNAL;
}

int crypto_salt_tag(const uint8_t key[GOSSIP_KEY_LEN], const char *label,
                    uint8_t tag[CRYPTO_SALT_TAG_LEN])
{
    uint8_t md[32];
    if (!kdf_mac(key, KDF_SALT_CONTEXT, sizeof KDF_SALT_CONTEXT - 1, label, NULL, md))
        return CRYPTO_EINTERNAL;
    memcpy(tag, md, CRYPTO_SALT_TAG_LEN);
    OPENSSL_cleanse(md, sizeof md);
    return 0;
}

static void kdf_free(struct crypto_key *k)
{
    for (int i = 0; i < 2; i++) {
        EVP_CIPHER_CTX_free(k->kdf[i]);
        k->kdf[i] = NULL;
    }
}

/* The two AES-ECB contexts of one keyring key; the only allocation of the
 * key schedule, done when a key is installed. */
static bool kdf_init(struct crypto_key *k)
{
    static const char *const label[2] = {KDF_CONTEXT_A, KDF_CONTEXT_B};
    uint8_t kd[EVP_MAX_MD_SIZE];
    unsigned kd_len = 0;
    bool ok = true;
    for (int i = 0; i < 2 && ok; i++) {
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        k->kdf[i] = ctx;
        ok = ctx && HMAC(EVP_sha256(), k->key, GOSSIP_KEY_LEN, (const unsigned char *)label[i],
                         strlen(label[i]), kd, &kd_len) != NULL &&
             kd_len == GOSSIP_KEY_LEN && EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), NULL, kd, NULL) == 1 &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
    }
    OPENSSL_cleanse(kd, sizeof kd);
    if (!ok)
        kdf_free(k);
    return ok;
}

/* One half of a pair key: AES-256 CBC-MAC over the 48-byte block. */
static bool cbc_mac48(void *ctx, const uint8_t block[48], uint8_t out[16])
{
    uint8_t x[16];
    int n = 0;
    bool ok = EVP_EncryptUpdate(ctx, x, &n, block, 16) == 1 && n == 16;
    for (int b = 1; b < 3 && ok; b++) {
        for (int i = 0; i < 16; i++)
            x[i] ^= block[16 * b + i];
        ok = EVP_EncryptUpdate(ctx, x, &n, x, 16) == 1 && n == 16;
    }
    memcpy(out, x, 16);
    OPENSSL_cleanse(x, sizeof x);
    return ok;
}

static const uint8_t zero_session[ENV_SESSION_LEN];

/* The key of datagrams from (sender, ss) to (receiver, rs). */
static bool pair_key(const struct crypto_key *k, uint64_t sender, const uint8_t *ss, uint64_t receiver,
                     const uint8_t *rs, uint8_t out[GOSSIP_KEY_LEN])
{
    uint8_t block[48];
    put_be64(block, sender);
    memcpy(block + 8, ss, ENV_SESSION_LEN);
    put_be64(block + 24, receiver);
    memcpy(block + 32, rs ? rs : zero_session, ENV_SESSION_LEN);
    bool ok = cbc_mac48(k->kdf[0], block, out) && cbc_mac48(k->kdf[1], block, out + 16);
    OPENSSL_cleanse(block, sizeof block);
    return ok;
}

static void clear_cache(struct crypto *c)
{
    OPENSSL_cleanse(c->rx_cache, sizeof c->rx_cache);
    OPENSSL_cleanse(c->tx_cache, sizeof c->tx_cache);
}

int crypto_set_keys(struct crypto *c, const uint8_t (*keys)[GOSSIP_KEY_LEN], unsigned n_keys)
{
    struct crypto_key ring[GOSSIP_MAX_KEYS];
    int rc = CRYPTO_EINTERNAL;

    if (!keys || n_keys < 1 || n_keys > GOSSIP_MAX_KEYS)
        return CRYPTO_EINTERNAL;
    /* Build the new state aside so a failure leaves the old keyring working. */
    memset(ring, 0, sizeof ring);
    for (unsigned i = 0; i < n_keys; i++) {
        memcpy(ring[i].key, keys[i], GOSSIP_KEY_LEN);
        if (!key_id_of(ring[i].key, &ring[i].id) || !kdf_init(&ring[i]))
            goto out;
    }

    for (unsigned i = 0; i < c->n_keys; i++)
        kdf_free(&c->keys[i]);
    OPENSSL_cleanse(c->keys, sizeof c->keys);
    memcpy(c->keys, ring, n_keys * sizeof ring[0]);
    memset(ring, 0, sizeof ring); /* the contexts now belong to c->keys */
    c->n_keys = n_keys;
    /* Cached pair keys were derived from the old ring; a slot must never
     * outlive the key it came from. */
    clear_cache(c);
    rc = 0;
out:
    for (unsigned i = 0; i < n_keys; i++)
        kdf_free(&ring[i]);
    OPENSSL_cleanse(ring, sizeof ring);
    return rc;
}

void crypto_set_generation(struct crypto *c, uint64_t generation)
{
    c->generation = generation;
}

int crypto_init(struct crypto *c, const uint8_t (*keys)[GOSSIP_KEY_LEN], unsigned n_keys,
                const char *label, uint64_t self_id, uint64_t generation,
                const uint8_t session[ENV_SESSION_LEN], const uint8_t mac_secret[32])
{
    memset(c, 0, sizeof *c);
    c->self_id = self_id;
    c->generation = generation;
    memcpy(c->session, session, ENV_SESSION_LEN);
    memcpy(c->mac_secret, mac_secret, sizeof c->mac_secret);
    if (label) {
        size_t n = strnlen(label, GOSSIP_LABEL_MAX + 1);
        if (n > GOSSIP_LABEL_MAX)
            return CRYPTO_EINTERNAL;
        memcpy(c->label, label, n);
        c->label_len = n;
    }

    EVP_CIPHER_CTX *sctx = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX *octx = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX *mctx = EVP_CIPHER_CTX_new();
    c->seal_ctx = sctx;
    c->open_ctx = octx;
    c->mac_ctx = mctx;
    /* Bind the cipher now so the hot path only rekeys: no fetch, no allocation. */
    if (!sctx || !octx || !mctx || EVP_EncryptInit_ex(sctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_EncryptInit_ex(mctx, EVP_aes_256_ecb(), NULL, c->mac_secret, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(mctx, 0) != 1 ||
        EVP_DecryptInit_ex(octx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_get_iv_length(sctx) != NONCE_LEN ||
        EVP_CIPHER_CTX_get_iv_length(octx) != NONCE_LEN ||
        crypto_set_keys(c, keys, n_keys) != 0) {
        crypto_free(c);
        return CRYPTO_EINTERNAL;
    }
    return 0;
}

void crypto_free(struct crypto *c)
{
    if (!c)
        return;
    EVP_CIPHER_CTX_free(c->seal_ctx);
    EVP_CIPHER_CTX_free(c->open_ctx);
    EVP_CIPHER_CTX_free(c->mac_ctx);
    for (unsigned i = 0; i < c->n_keys && i < GOSSIP_MAX_KEYS; i++)
        kdf_free(&c->keys[i]);
    /* Also nulls the context pointers, so a second free is harmless. */
    OPENSSL_cleanse(c, sizeof *c);
}

uint32_t env_hint(const uint8_t session[ENV_SESSION_LEN])
{
    return get_be32(session);
}

int env_parse(const uint8_t *buf, size_t len, struct env_header *h)
{
    if (len < ENV_OVERHEAD)
        return CRYPTO_ESHORT;
    h->version = buf[0];
    if (h->version != ENV_VERSION)
        return CRYPTO_EVERSION;
    h->kind = buf[1] & ENV_KIND_MASK;
    h->has_token = (buf[1] & ENV_F_TOKEN) != 0;
    if ((buf[1] & ~(ENV_KIND_MASK | ENV_F_TOKEN)) || h->kind > ENV_COOKIE || (h->has_token && h->kind != ENV_DATA))
        return CRYPTO_EFLAGS;
    h->key_id = get_be32(buf + 2);
    h->sender = get_be64(buf + 6);
    h->generation = get_be64(buf + 14);
    memcpy(h->session, buf + 22, ENV_SESSION_LEN);
    h->hint = get_be32(buf + 38);
    h->counter = get_be64(buf + 42);
    h->len = ENV_HDR_LEN;
    if (h->has_token) {
        if (len < ENV_HDR_MAX + ENV_TAG_LEN)
            return CRYPTO_ESHORT;
        memcpy(h->token, buf + ENV_HDR_LEN, ENV_TOKEN_LEN);
        h->len = ENV_HDR_MAX;
    }
    return CRYPTO_OK;
}

uint64_t crypto_stateless_counter(struct crypto *c)
{
    if (c->stateless_counter == UINT64_MAX)
        return 0;
    if (c->stateless_counter < ENV_STATELESS_BIT)
        c->stateless_counter = ENV_STATELESS_BIT;
    return ++c->stateless_counter;
}

static void make_nonce(uint8_t nonce[NONCE_LEN], uint64_t counter)
{
    memset(nonce, 0, 4);
    put_be64(nonce + 4, counter);
}

/* splitmix64 finaliser: ids are often sequential, so the slot index must
 * depend on all bits. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

unsigned crypto_cache_index(uint32_t key_id, uint64_t peer, const uint8_t session[ENV_SESSION_LEN])
{
    uint64_t x = mix64(mix64(mix64(key_id) ^ peer) ^ get_be64(session)) ^ get_be64(session + 8);
    return (unsigned)(mix64(x) % CRYPTO_CACHE_SLOTS);
}

/* The pair key with `peer` (its id and session) from the cache, or derived
 * into `fresh` (*hit false; the caller stores it once it has proved of
 * use).  send: we seal for the peer; else the peer sealed for us. */
static const uint8_t *lookup_key(struct crypto *c, const struct crypto_key *k, bool send, bool hello,
                                 uint64_t peer, const uint8_t *session, uint8_t fresh[GOSSIP_KEY_LEN],
                                 struct crypto_cache_slot **slot, bool *hit)
{
    const uint8_t *ps = session ? session : zero_session;
    struct crypto_cache_slot *cache = send ? c->tx_cache : c->rx_cache;
    struct crypto_cache_slot *s = &cache[crypto_cache_index(k->id, peer, ps) ^ (hello ? 1u : 0u)];
    *slot = s;
    *hit = s->used && s->key_id == k->id && s->peer == peer && s->hello == hello &&
           memcmp(s->session, ps, ENV_SESSION_LEN) == 0;
    if (*hit)
        return s->pkey;
    bool ok = send ? pair_key(k, c->self_id, c->session, peer, session, fresh)
                   : pair_key(k, peer, ps, hello ? 0 : c->self_id, hello ? NULL : c->session, fresh);
    return ok ? fresh : NULL;
}

static void cache_store(struct crypto_cache_slot *s, uint32_t key_id, uint64_t peer, const uint8_t *session,
                        bool hello, uint8_t key[GOSSIP_KEY_LEN])
{
    s->key_id = key_id;
    s->peer = peer;
    memcpy(s->session, session ? session : zero_session, ENV_SESSION_LEN);
    s->hello = hello;
    memcpy(s->pkey, key, GOSSIP_KEY_LEN);
    s->used = true;
    OPENSSL_cleanse(key, GOSSIP_KEY_LEN);
}

int crypto_seal(struct crypto *c, uint8_t *buf, size_t pt_len, size_t cap, const struct env_seal *s,
                size_t *start)
{
    EVP_CIPHER_CTX *ctx = c->seal_ctx;
    uint8_t nonce[NONCE_LEN], fresh[GOSSIP_KEY_LEN];
    struct crypto_cache_slot *slot;
    bool hit;
    int n;

    size_t hlen = s->token ? ENV_HDR_MAX : ENV_HDR_LEN;
    if (cap < ENV_OVERHEAD_MAX || pt_len > cap - ENV_OVERHEAD_MAX)
        return CRYPTO_ESPACE;
    if (pt_len > (size_t)INT_MAX - ENV_OVERHEAD_MAX || s->counter == 0 || s->kind > ENV_COOKIE ||
        (s->token && s->kind != ENV_DATA))
        return CRYPTO_EINTERNAL;
    bool hello = s->kind == ENV_HELLO;
    const uint8_t *key = lookup_key(c, &c->keys[0], true, hello, hello ? 0 : s->to_id,
                                    hello ? NULL : s->to_session, fresh, &slot, &hit);
    if (!key)
        return CRYPTO_EINTERNAL;
    if (!hit) {
        cache_store(slot, c->keys[0].id, hello ? 0 : s->to_id, hello ? NULL : s->to_session, hello, fresh);
        key = slot->pkey;
    }

    uint8_t *h = buf + ENV_HDR_MAX - hlen;
    h[0] = ENV_VERSION;
    h[1] = (uint8_t)(s->kind | (s->token ? ENV_F_TOKEN : 0));
    put_be32(h + 2, c->keys[0].id);
    put_be64(h + 6, c->self_id);
    put_be64(h + 14, c->generation);
    memcpy(h + 22, c->session, ENV_SESSION_LEN);
    put_be32(h + 38, (!hello && s->to_session) ? env_hint(s->to_session) : 0);
    put_be64(h + 42, s->counter);
    if (s->token)
        memcpy(h + ENV_HDR_LEN, s->token, ENV_TOKEN_LEN);
    make_nonce(nonce, s->counter);

    uint8_t *body = buf + ENV_HDR_MAX;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &n, h, (int)hlen) != 1 ||
        (c->label_len &&
         EVP_EncryptUpdate(ctx, NULL, &n, c->label, (int)c->label_len) != 1) ||
        (pt_len && EVP_EncryptUpdate(ctx, body, &n, body, (int)pt_len) != 1) ||
        EVP_EncryptFinal_ex(ctx, body + pt_len, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, ENV_TAG_LEN, body + pt_len) != 1)
        return CRYPTO_EINTERNAL;
    *start = ENV_HDR_MAX - hlen;
    return (int)(hlen + pt_len + ENV_TAG_LEN);
}

int crypto_open(struct crypto *c, const struct env_header *h, uint8_t *buf, size_t len)
{
    EVP_CIPHER_CTX *ctx = c->open_ctx;
    const struct crypto_key *key = NULL;
    uint8_t nonce[NONCE_LEN];
    uint8_t fresh[GOSSIP_KEY_LEN];
    struct crypto_cache_slot *slot;
    bool hit;
    int n, rc = CRYPTO_EAUTH;

    if (len < h->len + ENV_TAG_LEN)
        return CRYPTO_ESHORT;
    size_t ct_len = len - h->len - ENV_TAG_LEN;
    if (ct_len > (size_t)INT_MAX - ENV_OVERHEAD_MAX)
        return CRYPTO_EINTERNAL;
    for (unsigned i = 0; i < c->n_keys; i++) {
        if (c->keys[i].id == h->key_id) {
            key = &c->keys[i];
            break;
        }
    }
    if (!key)
        return CRYPTO_EKEY;

    bool hello = h->kind == ENV_HELLO;
    const uint8_t *pk = lookup_key(c, key, false, hello, h->sender, h->session, fresh, &slot, &hit);
    if (!pk)
        return CRYPTO_EINTERNAL;
    make_nonce(nonce, h->counter);

    uint8_t *body = buf + h->len;
    uint8_t *tag = body + ct_len;
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, pk, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &n, buf, (int)h->len) != 1 ||
        (c->label_len &&
         EVP_DecryptUpdate(ctx, NULL, &n, c->label, (int)c->label_len) != 1) ||
        (ct_len && EVP_DecryptUpdate(ctx, body, &n, body, (int)ct_len) != 1) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, ENV_TAG_LEN, tag) != 1) {
        rc = CRYPTO_EINTERNAL;
        goto fail;
    }
    if (EVP_DecryptFinal_ex(ctx, body + ct_len, &n) != 1)
        goto fail;

    /* Only an authentic datagram may take a slot: forgeries with made-up
     * senders must not be able to evict the keys of real peers. */
    if (!hit)
        cache_store(slot, key->id, h->sender, h->session, hello, fresh);
    return (int)ct_len;

fail:
    /* Unauthenticated output is ciphertext XOR keystream: it would reveal
     * the keystream if a careless caller ever echoed it. */
    memset(body, 0, ct_len);
    if (!hit)
        OPENSSL_cleanse(fresh, sizeof fresh);
    return rc;
}

void crypto_mac(struct crypto *c, const void *msg, size_t len, uint8_t out[16])
{
    /* CBC-MAC of the length byte and the message, zero-padded to whole
     * blocks: the length prefix makes it a PRF for every length up to 63,
     * and only the blocks the input needs are encrypted (it runs on the
     * receive path: address tags, tokens). */
    uint8_t block[64] = {0};
    int n = 0;
    if (len > sizeof block - 1)
        len = sizeof block - 1;
    block[0] = (uint8_t)len;
    memcpy(block + 1, msg, len);
    size_t blocks = (len + 1 + 15) / 16;
    uint8_t x[16] = {0};
    bool ok = true;
    for (size_t b = 0; b < blocks && ok; b++) {
        for (int i = 0; i < 16; i++)
            x[i] ^= block[16 * b + i];
        ok = EVP_EncryptUpdate(c->mac_ctx, x, &n, x, 16) == 1 && n == 16;
    }
    /* A libcrypto failure gives a MAC nobody can match, not a predictable one. */
    if (!ok)
        memset(x, 0xff, sizeof x);
    memcpy(out, x, 16);
    OPENSSL_cleanse(block, sizeof block);
}
