/*
 * The sealed envelope around every datagram (wire format 2): versioned
 * clear header, AES-256-GCM under a key of its own for each pair of lives
 * (sender, receiver), counter nonces, and the keyring (replay windows are
 * window.h's).  Knows nothing about members or messages; only open.c,
 * send.c, handshake.c and the keyring calls use it.
 *
 * Envelope (all integers big-endian), ENV_HDR_LEN = 50 bytes of header:
 *   0  u8   format version (ENV_VERSION = 2)
 *   1  u8   kind (low 2 bits: ENV_DATA, ENV_HELLO, ENV_COOKIE) | ENV_F_TOKEN;
 *           every other bit must be 0
 *   2  u32  key id: first 4 bytes of SHA-256("libgossip key id v1" || key)
 *   6  u64  sender node id
 *   14 u64  sender generation (incarnation order only; never a key input)
 *   22 16B  sender session: 128 random bits drawn at create
 *   38 u32  receiver hint: the first 4 bytes of the receiver's session
 *           (0 in a HELLO): lets a receiver tell "sealed for another life of
 *           mine" from a forgery without trying a key
 *   42 u64  counter
 *   50 16B  token, only when ENV_F_TOKEN is set (DATA only; handshake.h)
 *   ..      ciphertext
 *   -16     GCM tag (ENV_TAG_LEN)
 * Pair key = F_{Ka}(B) || F_{Kb}(B), B = sender id (8) || sender session
 * (16) || receiver id (8) || receiver session (16), 48 bytes; F is AES-256
 * CBC-MAC over B's three blocks (a PRF for inputs of one fixed length),
 * Ka = HMAC-SHA256(key, "libgossip pair kdf v3 a"), Kb likewise with "b",
 * computed once per keyring key.  A HELLO is sealed for receiver id 0 and
 * an all-zero session (the sender does not know the receiver's life yet).
 * Nonce (96 bit) = 4 zero bytes || counter.  AAD = header (with the token)
 * || cluster label bytes.
 *
 * Why this never repeats a nonce and why a replay opens nowhere else: a
 * session is 128 random bits (RAND_bytes, not the clock), so two lives --
 * a restart, a fork()ed copy, two creates in one millisecond -- never
 * share one, hence never share a pair key.  Under one pair key DATA
 * counters count up from 1 per pair (the member's life, members.h) and
 * HELLO/COOKIE counters come from one per-life counter with
 * ENV_STATELESS_BIT set, so the two never meet.  A datagram sealed for
 * (B, B's session) fails authentication at C, and at B's next life.  What
 * the library cannot see is a restored snapshot of the whole process: the
 * same life runs twice (libgossip(7): re-create the handle).
 */
#ifndef GOSSIP_CRYPTO_H
#define GOSSIP_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip.h"

#define ENV_VERSION 2
#define ENV_HDR_LEN 50
#define ENV_TOKEN_LEN 16
#define ENV_HDR_MAX (ENV_HDR_LEN + ENV_TOKEN_LEN)
#define ENV_TAG_LEN 16
#define ENV_OVERHEAD (ENV_HDR_LEN + ENV_TAG_LEN)     /* without a token */
#define ENV_OVERHEAD_MAX (ENV_HDR_MAX + ENV_TAG_LEN) /* with one: what the outbox reserves */
#define ENV_SESSION_LEN 16
#define ENV_STATELESS_BIT (UINT64_C(1) << 63)
#define CRYPTO_CACHE_SLOTS 64

enum env_kind {
    ENV_DATA = 0,   /* a protocol message, sealed for the receiver's life */
    ENV_HELLO = 1,  /* first contact: sealed for any receiver (handshake.h) */
    ENV_COOKIE = 2, /* the answer to a HELLO, sealed for the asker's life */
};
#define ENV_KIND_MASK 0x03u
#define ENV_F_TOKEN 0x80u

enum crypto_result {
    CRYPTO_OK = 0,
    CRYPTO_ESHORT = -1,   /* shorter than ENV_OVERHEAD */
    CRYPTO_EVERSION = -2, /* unknown format version */
    CRYPTO_EFLAGS = -3,   /* reserved flags set */
    CRYPTO_EKEY = -4,     /* key id not in the keyring */
    CRYPTO_EAUTH = -5,    /* tag did not verify */
    CRYPTO_EINTERNAL = -6,/* libcrypto failure or counter exhausted */
    CRYPTO_ESPACE = -7,   /* output buffer too small */
};

struct env_header {
    uint8_t version;
    uint8_t kind;             /* enum env_kind */
    bool has_token;
    uint32_t key_id;
    uint64_t sender;
    uint64_t generation;
    uint8_t session[ENV_SESSION_LEN];
    uint32_t hint;
    uint64_t counter;
    uint8_t token[ENV_TOKEN_LEN];
    size_t len;               /* ENV_HDR_LEN, or ENV_HDR_MAX with a token */
};

/* How one datagram is sealed: for whom, under which counter. */
struct env_seal {
    uint8_t kind;                  /* enum env_kind */
    uint64_t to_id;                /* 0 with to_session NULL: a HELLO */
    const uint8_t *to_session;     /* ENV_SESSION_LEN bytes, or NULL for all zero */
    uint64_t counter;              /* from the pair's life, or crypto_stateless_counter() */
    const uint8_t *token;          /* ENV_TOKEN_LEN bytes to carry, or NULL */
};


struct crypto_key {
    uint8_t key[GOSSIP_KEY_LEN];
    uint32_t id;
    void *kdf[2];               /* EVP_CIPHER_CTX *: AES-256-ECB under Ka, Kb */
};

/* A derived pair key, cached: the peer's id and session and the kind of
 * pair (a HELLO's key differs from DATA's) name it. */
struct crypto_cache_slot {
    uint32_t key_id;
    uint64_t peer;
    uint8_t session[ENV_SESSION_LEN];
    bool hello;
    bool used;
    uint8_t pkey[GOSSIP_KEY_LEN];
};

struct crypto {
    struct crypto_key keys[GOSSIP_MAX_KEYS];
    unsigned n_keys;            /* keys[0] seals */
    uint8_t label[GOSSIP_LABEL_MAX];
    size_t label_len;
    uint64_t self_id;
    uint64_t generation;        /* goes in our headers: ordering only */
    uint8_t session[ENV_SESSION_LEN]; /* this life's: random, never reused */
    uint64_t stateless_counter; /* HELLO/COOKIE counters, ENV_STATELESS_BIT set */
    uint8_t mac_secret[32];     /* handshake tokens and challenges (crypto_mac) */
    void *mac_ctx;              /* EVP_CIPHER_CTX *: AES-256-ECB under mac_secret */
    void *seal_ctx, *open_ctx;  /* EVP_CIPHER_CTX * */
    struct crypto_cache_slot rx_cache[CRYPTO_CACHE_SLOTS]; /* keys of senders to us */
    struct crypto_cache_slot tx_cache[CRYPTO_CACHE_SLOTS]; /* keys of our lives to receivers */
};

/* Key id of a derived key. */
uint32_t crypto_key_id(const uint8_t key[GOSSIP_KEY_LEN]);

/*
 * Passphrase keys (format 2):
 *   key = scrypt(passphrase, salt, N=2^17, r=8, p=1, 32 bytes)
 *   salt = "libgossip v2 label=" || cluster label (its bytes, no terminator;
 *          nothing after the '=' when there is no label)
 * 128 MiB and ~0.4 s once per passphrase (per process with the config's
 * cache, see config.c).  The label makes a dictionary computed for one
 * cluster useless against every other.  (Format 1 was scrypt N=2^14 with
 * the constant salt "libgossip v1".)
 */
#define CRYPTO_PASS_TAG_LEN 32
#define CRYPTO_SALT_TAG_LEN 16

/* The key of `pass` in the cluster labelled `label` (NULL or "" for none).
 * 0 or CRYPTO_EINTERNAL (NULL pass, libcrypto failure: out is zeroed). */
int crypto_derive_passphrase(const char *pass, const char *label, uint8_t out[GOSSIP_KEY_LEN]);

/* The cache tags of a derived key (struct gossip_key_cache):
 *   tag      = HMAC-SHA-256(key, "libgossip passphrase cache v1" || P || SHA-256(pass))
 *   salt tag = HMAC-SHA-256(key, "libgossip passphrase salt v1" || P), first 16 bytes
 * where P = N (u64) || r (u32) || p (u32) || label length (u8) || label,
 * big-endian.  A tag says "this key is scrypt(pass, label) with these
 * parameters" and can be checked without running scrypt; the salt tag says
 * the same of the label alone.  Keyed by the derived key, neither is of
 * use to someone who does not hold that key.  0 or CRYPTO_EINTERNAL. */
int crypto_passphrase_tag(const uint8_t key[GOSSIP_KEY_LEN], const char *label, const char *pass,
                          uint8_t tag[CRYPTO_PASS_TAG_LEN]);
int crypto_salt_tag(const uint8_t key[GOSSIP_KEY_LEN], const char *label,
                    uint8_t tag[CRYPTO_SALT_TAG_LEN]);

/* Returns 0 or CRYPTO_EINTERNAL (also for n_keys outside 1..GOSSIP_MAX_KEYS
 * or a label longer than GOSSIP_LABEL_MAX bytes).  label may be NULL/"".
 * On failure nothing is left to free. */
int crypto_init(struct crypto *c, const uint8_t (*keys)[GOSSIP_KEY_LEN], unsigned n_keys,
                const char *label, uint64_t self_id, uint64_t generation,
                const uint8_t session[ENV_SESSION_LEN], const uint8_t mac_secret[32]);
void crypto_free(struct crypto *c);

/* Replace the keyring (keys[0] seals); flushes the pair key caches.  On
 * failure the old keyring stays in force. */
int crypto_set_keys(struct crypto *c, const uint8_t (*keys)[GOSSIP_KEY_LEN], unsigned n_keys);
/* Our generation as later headers carry it (it moves past a previous life). */
void crypto_set_generation(struct crypto *c, uint64_t generation);

/* The first 4 bytes of a session, as a receiver hint. */
uint32_t env_hint(const uint8_t session[ENV_SESSION_LEN]);

/* Parse the clear header.  CRYPTO_OK, CRYPTO_ESHORT, CRYPTO_EVERSION,
 * CRYPTO_EFLAGS (unknown kind, reserved bits, a token outside DATA). */
int env_parse(const uint8_t *buf, size_t len, struct env_header *h);

/* The next counter of the stateless space (HELLO, COOKIE): 0 once spent. */
uint64_t crypto_stateless_counter(struct crypto *c);

/* The plaintext (pt_len bytes) is at buf + ENV_HDR_MAX; writes the header
 * right before it (at buf + *start), encrypts in place and appends the tag.
 * cap is the size of buf.  Returns the envelope length (from *start) or
 * CRYPTO_ESPACE / CRYPTO_EINTERNAL (also for a 0 counter). */
int crypto_seal(struct crypto *c, uint8_t *buf, size_t pt_len, size_t cap, const struct env_seal *s,
                size_t *start);

/* Verify and decrypt in place an envelope whose header env_parse() gave,
 * as its receiver: our life (a HELLO: any receiver).  The plaintext is left
 * at buf + h->len.  Returns its length or CRYPTO_EKEY / CRYPTO_EAUTH /
 * CRYPTO_EINTERNAL (CRYPTO_ESHORT if too short).  A body that fails the
 * tag check is zeroed.  Does not check replay. */
int crypto_open(struct crypto *c, const struct env_header *h, uint8_t *buf, size_t len);

/* A keyed 128-bit MAC of up to 63 bytes under this life's random secret
 * (tokens, challenges: nobody else can compute it, not even a key holder). */
void crypto_mac(struct crypto *c, const void *msg, size_t len, uint8_t out[16]);

/* The cache slot of a peer's pair key (tests use it to find peers that
 * share a slot). */
unsigned crypto_cache_index(uint32_t key_id, uint64_t peer, const uint8_t session[ENV_SESSION_LEN]);


#endif
