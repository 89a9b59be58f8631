/* Hand-made datagrams of wire format 2 for the tests: see forge.h. */
#include "forge.h"

#include <string.h>

#include "handshake.h"

void forger_init(struct forger *f, const uint8_t *key, const char *label, uint64_t id, uint64_t seed,
                 const struct sockaddr *from, socklen_t from_len)
{
    memset(f, 0, sizeof *f);
    f->key = key;
    f->label = label;
    f->id = id;
    f->generation = 4242;
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + id + 1;
    for (unsigned i = 0; i < ENV_SESSION_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        f->session[i] = (uint8_t)(x >> 24);
    }
    f->session[0] |= 1; /* never all zero (that is "unknown") */
    if (addr_from_sockaddr(from, from_len, &f->from) != 0)
        memset(&f->from, 0, sizeof f->from);
}

size_t forge_seal_for(const struct forger *f, uint8_t kind, uint64_t to_id, const uint8_t *to_session,
                      const uint8_t *token, uint64_t counter, uint8_t *buf, size_t pt_len, size_t cap)
{
    static const uint8_t secret[32] = "forge: not the receiver's secret";
    struct crypto c;
    if (crypto_init(&c, (const uint8_t(*)[GOSSIP_KEY_LEN])f->key, 1, f->label ? f->label : "", f->id,
                    f->generation, f->session, secret) != 0)
        return 0;
    size_t start = 0;
    struct env_seal s = {.kind = kind, .to_id = to_id, .to_session = to_session, .counter = counter,
                         .token = token};
    int n = crypto_seal(&c, buf, pt_len, cap, &s, &start);
    crypto_free(&c);
    if (n <= 0)
        return 0;
    memmove(buf, buf + start, (size_t)n);
    return (size_t)n;
}

size_t forge_seal(struct gossip *g, const struct forger *f, uint64_t counter, uint8_t *buf, size_t pt_len,
                  size_t cap)
{
    uint8_t token[ENV_TOKEN_LEN];
    if (!f->no_token)
        hs_make_token(g, f->id, f->session, &f->from, token);
    return forge_seal_for(f, ENV_DATA, g->self_id, g->crypto.session, f->no_token ? NULL : token, counter, buf,
                          pt_len, cap);
}

size_t forge_msg(struct gossip *g, const struct forger *f, uint64_t counter, const struct wire_msg *hdr,
                 const struct wire_member *recs, unsigned n_recs, const struct wire_event *evs, unsigned n_evs,
                 uint8_t *buf, size_t cap)
{
    struct wire_writer w;
    if (cap < ENV_OVERHEAD_MAX || wire_begin(&w, buf + ENV_HDR_MAX, cap - ENV_OVERHEAD_MAX, hdr) != 0)
        return 0;
    for (unsigned i = 0; i < n_recs; i++)
        if (wire_add_member(&w, &recs[i]) != 0)
            return 0;
    for (unsigned i = 0; i < n_evs; i++)
        if (wire_add_event(&w, &evs[i]) != 0)
            return 0;
    return forge_seal(g, f, counter, buf, wire_finish(&w), cap);
}

int spy_init(struct crypto *spy, struct gossip *rx, const uint8_t *key, const char *label)
{
    static const uint8_t secret[32] = "spy: a secret of no consequence";
    return crypto_init(spy, (const uint8_t(*)[GOSSIP_KEY_LEN])key, 1, label ? label : "", rx->self_id,
                       rx->generation, rx->crypto.session, secret);
}

int spy_open_dgram(struct crypto *spy, const uint8_t *buf, size_t len, uint8_t *work, size_t cap,
                   struct env_header *h)
{
    if (len > cap)
        return CRYPTO_ESPACE;
    memcpy(work, buf, len);
    int rc = env_parse(work, len, h);
    if (rc < 0)
        return rc;
    return crypto_open(spy, h, work, len);
}
