/*
 * The sealed envelope around every datagram: versioned clear header,
 * AES-256-GCM with per-sender session keys and counter nonces, and the
 * keyring (replay windows are window.h's).  Knows nothing about members
 * or messages; only open.c, send.c and the keyring calls use it.
 *
 * Envelope (all integers big-endian), ENV_HDR_LEN = 30 bytes of header:
 *   0  u8   format version (ENV_VERSION = 1)
 *   1  u8   flags, must be 0
 *   2  u32  key id: first 4 bytes of SHA-256("libgossip key id v1" || key)
 *   6  u64  sender node id
 *   14 u64  sender session = the sender's generation
 *   22 u64  counter, starts at 1, +1 per datagram sealed by this session
 *   30 ...  ciphertext
 *   -16     GCM tag (ENV_TAG_LEN)
 * Session key = AES-256_{Ka}(sender || session) || AES-256_{Kb}(sender || session)
 * (one block each, sender and session as u64 big-endian), where
 * Ka = HMAC-SHA256(key, "libgossip session kdf v2 a") and
 * Kb = HMAC-SHA256(key, "libgossip session kdf v2 b") are computed once per
 * keyring key.  AES as a PRF under two independent keys gives 256
 * pseudorandom bits per session with no allocation and ~100 ns of work, so
 * deriving a key for a new (or forged) sender costs almost nothing.
 * Nonce (96 bit) = 4 zero bytes || counter.  AAD = header (30 bytes) ||
 * cluster label bytes (no terminator; empty when no label).
 * A (key, sender, session) triple is used by one process only (the session
 * is the generation, fresh per start; a handle copied by fork() refuses to
 * seal, gossip.c enter()), and its counter never repeats, so a nonce
 * never repeats under one session key -- unless a snapshot of the process
 * is restored, which the library cannot see (libgossip(7) says what the
 * host does then).  Two starts in one millisecond whose 16 random bits
 * collide would share a session: wire format 2 (issue 11) replaces the
 * clock-based session with 128 random bits.
 */
#ifndef GOSSIP_CRYPTO_H
#define GOSSIP_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip.h"

#define ENV_VERSION 1
#define ENV_HDR_LEN 30
#define ENV_TAG_LEN 16
#define ENV_OVERHEAD (ENV_HDR_LEN + ENV_TAG_LEN)
#define CRYPTO_CACHE_SLOTS 64

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
    uint8_t flags;
    uint32_t key_id;
    uint64_t sender;
    uint64_t session;
    uint64_t counter;
};


struct crypto_key {
    uint8_t key[GOSSIP_KEY_LEN];
    uint32_t id;
    void *kdf[2];               /* EVP_CIPHER_CTX *: AES-256-ECB under Ka, Kb */
};

struct crypto_cache_slot {
    uint32_t key_id;
    uint64_t sender, session;
    uint8_t skey[GOSSIP_KEY_LEN];
    bool used;
};

struct crypto {
    struct crypto_key keys[GOSSIP_MAX_KEYS];
    unsigned n_keys;            /* keys[0] seals */
    uint8_t label[GOSSIP_LABEL_MAX];
    size_t label_len;
    uint64_t self_id, session;  /* our sender id and session */
    uint64_t tx_counter;        /* last counter used */
    uint8_t tx_skey[GOSSIP_KEY_LEN];
    void *seal_ctx, *open_ctx;  /* EVP_CIPHER_CTX * */
    struct crypto_cache_slot cache[CRYPTO_CACHE_SLOTS];
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
                const char *label, uint64_t self_id, uint64_t session);
void crypto_free(struct crypto *c);

/* Replace the keyring (keys[0] seals); keeps the counter and flushes the
 * session key cache.  On failure the old keyring stays in force. */
int crypto_set_keys(struct crypto *c, const uint8_t (*keys)[GOSSIP_KEY_LEN], unsigned n_keys);

/* Parse the clear header.  CRYPTO_OK, CRYPTO_ESHORT, CRYPTO_EVERSION, CRYPTO_EFLAGS. */
int env_parse(const uint8_t *buf, size_t len, struct env_header *h);

/* The plaintext (pt_len bytes) is at buf + ENV_HDR_LEN; writes the header,
 * encrypts in place and appends the tag.  cap is the size of buf.
 * Returns the envelope length or CRYPTO_ESPACE / CRYPTO_EINTERNAL. */
int crypto_seal(struct crypto *c, uint8_t *buf, size_t pt_len, size_t cap);

/* Verify and decrypt in place an envelope whose header env_parse() gave.
 * The plaintext is left at buf + ENV_HDR_LEN.  Returns its length or
 * CRYPTO_EKEY / CRYPTO_EAUTH / CRYPTO_EINTERNAL (CRYPTO_ESHORT if len is
 * below ENV_OVERHEAD).  A body that fails the tag check is zeroed.
 * Does not check replay. */
int crypto_open(struct crypto *c, const struct env_header *h, uint8_t *buf, size_t len);

/* The session-key cache slot of (key id, sender, session) (tests use it to
 * find peers that share a slot). */
unsigned crypto_cache_index(uint32_t key_id, uint64_t sender, uint64_t session);


#endif
