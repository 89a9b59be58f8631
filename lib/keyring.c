/*
 * Run-time keyring management: install, switch the sealing key, remove,
 * list.  The keyring lives twice: in g->cfg.keys/n_keys (what
 * gossip_config_format() and gossip_reconfigure() see) and in g->crypto
 * (what seals and opens).  Every change builds the new ring aside, hands it
 * to crypto_set_keys(), and only then copies it into g->cfg, so a failure
 * leaves both exactly as they were.
 *
 * Keys are named by their 32-bit key id (crypto_key_id(), the id every
 * envelope header carries).  Two different keys with the same id would make
 * the id ambiguous for the receiver and for these calls, so such a key is
 * refused.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "core.h"
#include "log.h"

/* Index of the installed key with this id, or -1. */
static int key_index(const struct gossip *g, uint32_t id)
{
    for (unsigned i = 0; i < g->cfg.n_keys && i < GOSSIP_MAX_KEYS; i++)
        if (crypto_key_id(g->cfg.keys[i]) == id)
            return (int)i;
    return -1;
}

typedef uint8_t keyring_t[GOSSIP_MAX_KEYS][GOSSIP_KEY_LEN];

/* Make (*ring)[0..n) the keyring of g ((*ring)[0] seals).  Wipes *ring. */
static int keyring_apply(struct gossip *g, keyring_t *ring, unsigned n)
{
    int rc = GOSSIP_OK;
    if (crypto_set_keys(&g->crypto, (const uint8_t(*)[GOSSIP_KEY_LEN])*ring, n) < 0) {
        rc = GOSSIP_ECRYPTO;
    } else {
        OPENSSL_cleanse(&g->cfg.keys, sizeof g->cfg.keys);
        memcpy(&g->cfg.keys, ring, sizeof *ring);
        g->cfg.n_keys = n;
    }
    OPENSSL_cleanse(ring, sizeof *ring);
    return rc;
}

uint32_t gossip_key_id(const uint8_t key[GOSSIP_KEY_LEN])
{
    return key ? crypto_key_id(key) : 0;
}

int gossip_key_install(gossip_t *g, const uint8_t key[GOSSIP_KEY_LEN])
{
    if (!g || !key)
        return GOSSIP_EINVAL;
    uint32_t id = crypto_key_id(key);
    int i = key_index(g, id);
    if (i >= 0) {
        if (memcmp(g->cfg.keys[i], key, GOSSIP_KEY_LEN) == 0)
            return GOSSIP_OK; /* already installed */
        g_log(g, GOSSIP_LOG_ERROR,
              "keyring: a different key with the same key id %08x is already installed; "
              "not installed", id);
        return GOSSIP_EINVAL;
    }
    if (g->cfg.n_keys >= GOSSIP_MAX_KEYS) {
        g_log(g, GOSSIP_LOG_ERROR, "keyring: key id %08x not installed: the keyring is full (%d keys)",
              id, GOSSIP_MAX_KEYS);
        return GOSSIP_EFULL;
    }
    keyring_t ring = {{0}};
    unsigned n = g->cfg.n_keys;
    memcpy(ring, g->cfg.keys, (size_t)n * GOSSIP_KEY_LEN);
    memcpy(ring[n++], key, GOSSIP_KEY_LEN);
    int rc = keyring_apply(g, &ring, n);
    if (rc == GOSSIP_OK)
        g_log(g, GOSSIP_LOG_INFO, "keyring: installed key id %08x (opens only; %u keys, %08x seals)",
              id, n, crypto_key_id(g->cfg.keys[0]));
    return rc;
}

int gossip_key_use(gossip_t *g, uint32_t key_id)
{
    if (!g)
        return GOSSIP_EINVAL;
    int i = key_index(g, key_id);
    if (i < 0) {
        g_log(g, GOSSIP_LOG_ERROR, "keyring: cannot seal with key id %08x: it is not installed", key_id);
        return GOSSIP_ENOTFOUND;
    }
    if (i == 0)
        return GOSSIP_OK; /* already the primary */
    uint32_t old = crypto_key_id(g->cfg.keys[0]);
    /* The new primary goes first; the others keep their order. */
    keyring_t ring = {{0}};
    unsigned n = g->cfg.n_keys;
    memcpy(ring[0], g->cfg.keys[i], GOSSIP_KEY_LEN);
    memcpy(ring[1], g->cfg.keys[0], (size_t)i * GOSSIP_KEY_LEN);
    memcpy(ring[i + 1], g->cfg.keys[i + 1], (size_t)(n - (unsigned)i - 1) * GOSSIP_KEY_LEN);
    int rc = keyring_apply(g, &ring, n);
    if (rc == GOSSIP_OK)
        g_log(g, GOSSIP_LOG_INFO, "keyring: key id %08x seals from now on (was %08x); %u keys open",
              key_id, old, n);
    return rc;
}

int gossip_key_remove(gossip_t *g, uint32_t key_id)
{
    if (!g)
        return GOSSIP_EINVAL;
    int i = key_index(g, key_id);
    if (i < 0) {
        g_log(g, GOSSIP_LOG_ERROR, "keyring: cannot remove key id %08x: it is not installed", key_id);
        return GOSSIP_ENOTFOUND;
    }
    if (i == 0) {
        g_log(g, GOSSIP_LOG_ERROR,
              "keyring: cannot remove key id %08x: it seals; switch to another key first", key_id);
        return GOSSIP_ESTATE;
    }
    keyring_t ring = {{0}};
    unsigned n = g->cfg.n_keys;
    memcpy(ring, g->cfg.keys, (size_t)i * GOSSIP_KEY_LEN);
    memcpy(ring[i], g->cfg.keys[i + 1], (size_t)(n - (unsigned)i - 1) * GOSSIP_KEY_LEN);
    n--;
    int rc = keyring_apply(g, &ring, n);
    if (rc == GOSSIP_OK)
        g_log(g, GOSSIP_LOG_INFO,
              "keyring: removed key id %08x; datagrams sealed with it are dropped from now on "
              "(%u keys, %08x seals)", key_id, n, crypto_key_id(g->cfg.keys[0]));
    return rc;
}

int gossip_key_list(const gossip_t *g, uint32_t *ids, size_t max)
{
    if (!g || (!ids && max))
        return GOSSIP_EINVAL;
    unsigned n = g->cfg.n_keys;
    for (unsigned i = 0; i < n && i < max; i++)
        ids[i] = crypto_key_id(g->cfg.keys[i]);
    return (int)n;
}
