/*
 * The one place that opens (see open.h): size, envelope header, our own
 * datagrams, the receiver's life (ours), the sender's life (known, the
 * one before, or proved by a token), its replay window, AES-GCM open,
 * decode.  Every drop is counted and, rate-limited, logged; the only
 * state this changes is a peer's life (adopted from a COOKIE answering
 * our challenge or a DATA with our fresh token) and its replay window.
 * Nothing here answers anybody: `hello_back` asks the caller to.
 */
#include "open.h"

#include "handshake.h"
#include "log.h"

/* The peer's address for a warning: formatted only when one is written. */
static const char *who(const gaddr_t *from, char buf[64])
{
    addr_format(from, buf, 64);
    return buf;
}

static enum open_verdict drop_life(struct gossip *g, struct inbound *in, uint64_t *counter, const char *what)
{
    if (g_drop(g, counter, DR_LIFE)) {
        char w[64];
        g_drop_log(g, DR_LIFE, "datagram from %s (node %llu) dropped: %s", who(&in->from, w),
                   (unsigned long long)in->h.sender, what);
    }
    in->hello_back = true;
    return OPEN_DROP;
}

static enum open_verdict drop_replay(struct gossip *g, struct inbound *in)
{
    if (g_drop(g, &g->stats.drop_replay, DR_REPLAY)) {
        char w[64];
        g_drop_log(g, DR_REPLAY, "replayed or stale datagram from %s (node %llu) dropped", who(&in->from, w),
                   (unsigned long long)in->h.sender);
    }
    return OPEN_DROP;
}

/* May a life of member m's id, just proved alive at in->from, replace the
 * life we hold for m?  Yes for the member restarting (a later generation,
 * or the same address: a restart with the clock behind), no for an older
 * process with the same id elsewhere: that one must not take the member's
 * traffic (it is shown our record instead, and the conflict is found). */
static bool may_replace(const struct member *m, const struct inbound *in)
{
    return !life_known(&m->life) || in->h.generation >= m->generation || addr_equal(&in->from, &m->addr);
}

/* crypto_open() and its drops. */
static int open_sealed(struct gossip *g, struct inbound *in, uint8_t *buf, size_t len)
{
    char w[64];
    int rc = crypto_open(&g->crypto, &in->h, buf, len);
    if (rc == CRYPTO_EKEY) {
        if (g_drop(g, &g->stats.drop_key, DR_KEY))
            g_drop_log(g, DR_KEY, "datagram from %s sealed with key id %08x, which is not in this node's keyring",
                       who(&in->from, w), in->h.key_id);
    } else if (rc < 0) {
        if (g_drop(g, &g->stats.drop_auth, DR_AUTH))
            g_drop_log(g, DR_AUTH,
                       "datagram from %s failed authentication (wrong key or cluster label, or corrupted)",
                       who(&in->from, w));
    }
    return rc;
}

/* A HELLO: opened (sealed for any receiver), answered by the caller. */
static enum open_verdict open_hello(struct gossip *g, struct inbound *in, uint8_t *buf, size_t len)
{
    int rc = open_sealed(g, in, buf, len);
    struct hs_payload p;
    if (rc < 0)
        return OPEN_DROP;
    if (!hs_decode(buf + in->h.len, (size_t)rc, &p) || (p.target != NODE_ANY && p.target != g->self_id)) {
        if (g_drop(g, &g->stats.drop_malformed, DR_MALFORMED))
            g_drop_log(g, DR_MALFORMED, "HELLO for another node (or malformed) dropped");
        return OPEN_DROP;
    }
    in->hello_target = p.target;
    in->hello_seq = p.seq;
    memcpy(in->hello_challenge, p.challenge, sizeof p.challenge);
    return OPEN_HELLO;
}

/* A COOKIE: sealed for our life, answering a challenge of ours made for
 * this address in the last two buckets.  The sender's life is adopted
 * with its token, and its address counts as validated. */
static enum open_verdict open_cookie(struct gossip *g, struct inbound *in, uint8_t *buf, size_t len)
{
    struct hs_payload p;
    int rc = open_sealed(g, in, buf, len);
    if (rc < 0)
        return OPEN_DROP;
    if (!hs_decode(buf + in->h.len, (size_t)rc, &p) || p.target != g->self_id) {
        if (g_drop(g, &g->stats.drop_malformed, DR_MALFORMED))
            g_drop_log(g, DR_MALFORMED, "malformed COOKIE dropped");
        return OPEN_DROP;
    }
    int named = hs_challenge_valid(g, &in->from, in->h.sender, p.seq, p.challenge);
    if (!named)
        return drop_replay(g, in); /* not our recent challenge: a recording */
    in->cookie = true;
    in->cookie_seq = p.seq;
    in->validated = true;
    if (in->h.sender == g->self_id)
        return OPEN_SELF_ID;
    /* A HELLO that named nobody went to an address (a seed, a member's old
     * address): whoever answered there is not necessarily the life our
     * member record stands for, so it is kept as a stranger's unless we
     * know no life of that member yet. */
    bool member_life = in->m && (named == 1 || !life_known(&in->m->life)) && may_replace(in->m, in);
    struct life *l = member_life ? &in->m->life : lives_put(&g->lives, in->h.sender, g->now);
    in->new_life = member_life && !life_is(l, in->h.session);
    life_adopt(l, in->h.session);
    memcpy(l->token, p.token, ENV_TOKEN_LEN);
    l->flags |= LIFE_TOKEN | LIFE_VALIDATED;
    l->addr_tag = hs_addr_tag(g, &in->from);
    g->stats.handshakes++;
    return OPEN_COOKIE;
}

/* A DATA sealed for our life: from the sender's known life (replay
 * window), its previous one (a replay), or an unknown one that shows our
 * fresh token (adopted).  Anything else earns the source a HELLO. */
static enum open_verdict open_data(struct gossip *g, struct inbound *in, uint8_t *buf, size_t len)
{
    char w[64];
    const struct env_header *h = &in->h;
    bool self_id = h->sender == g->self_id;
    struct life *l = self_id ? NULL : life_of(g, h->sender);
    bool known = l && life_is(l, h->session);
    bool adopt = false;
    if (h->counter >= ENV_STATELESS_BIT)
        return drop_replay(g, in); /* DATA counters never have the top bit */
    if (known) {
        if (!replay_check(&l->rx, h->counter))
            return drop_replay(g, in);
    } else if (self_id) {
        /* another process with our id that knows our life: the core
         * challenges it */
    } else if (h->has_token && hs_token_valid(g, h->sender, h->session, &in->from, h->token)) {
        adopt = true; /* alive now, at this address (even a life we had replaced) */
    } else if (l && l->prev == life_fingerprint(h->session)) {
        /* the life before, with no fresh proof: a recording, or that life
         * still running (its replacement gone: a duplicate id stopped).
         * Only a live one answers the HELLO, and its COOKIE says whether
         * it may take the member's place again (may_replace()). */
        in->hello_back = true;
        return drop_replay(g, in);
    }
    int rc = open_sealed(g, in, buf, len);
    if (rc < 0)
        return OPEN_DROP;
    /* Authentic, but from a life we cannot tell from a recording: the
     * source is asked for it (a HELLO), nothing in it is taken. */
    if (!known && !adopt && !self_id)
        return drop_life(g, in, &g->stats.drop_unknown_life, "a life of the sender this node does not know");
    struct wire_msg *msg = &g->rxmsg;
    if (wire_decode(buf + h->len, (size_t)rc, msg) < 0) {
        if (g_drop(g, &g->stats.drop_malformed, DR_MALFORMED))
            g_drop_log(g, DR_MALFORMED, "malformed datagram from %s (node %llu) dropped", who(&in->from, w),
                       (unsigned long long)h->sender);
        return OPEN_DROP;
    }
    in->msg = msg;
    if (self_id)
        return OPEN_SELF_ID;
    if (adopt && in->m && !may_replace(in->m, in)) {
        if (g_drop(g, &g->stats.drop_unknown_life, DR_LIFE))
            g_drop_log(g, DR_LIFE, "datagram from %s: an older life of node %llu, which this node holds at another "
                       "address: not taken; shown the record this node holds", who(&in->from, w),
                       (unsigned long long)h->sender);
        return OPEN_OTHER_LIFE;
    }
    if (adopt) {
        if (!l)
            l = lives_put(&g->lives, h->sender, g->now);
        in->new_life = !life_is(l, h->session);
        life_adopt(l, h->session);
        l->flags |= LIFE_VALIDATED;
        l->addr_tag = hs_addr_tag(g, &in->from);
    }
    /* authentic and fresh: the counter is used up, and a datagram sealed
     * for our life shows that the sender knows it (no token needed) */
    replay_commit(&l->rx, h->counter);
    l->flags &= (uint8_t)~LIFE_TOKEN;
    in->validated = adopt || ((l->flags & LIFE_VALIDATED) && l->addr_tag == hs_addr_tag(g, &in->from));
    return OPEN_OK;
}

enum open_verdict open_datagram(struct gossip *g, const gaddr_t *from, uint8_t *buf, size_t len,
                                struct inbound *in)
{
    char w[64];
    memset(in, 0, sizeof *in);
    in->from = *from;
    g->stats.recv_datagrams++;
    g->stats.recv_bytes += len;
    if (len > g->cfg.max_datagram) {
        if (g_drop(g, &g->stats.drop_oversize, DR_OVERSIZE))
            g_drop_log(g, DR_OVERSIZE, "datagram from %s larger than %u bytes dropped", who(from, w),
                       g->cfg.max_datagram);
        return OPEN_DROP;
    }
    struct env_header *h = &in->h;
    int rc = env_parse(buf, len, h);
    if (rc == CRYPTO_ESHORT) {
        if (g_drop(g, &g->stats.drop_short, DR_SHORT))
            g_drop_log(g, DR_SHORT, "truncated datagram from %s dropped", who(from, w));
        return OPEN_DROP;
    }
    if (rc == CRYPTO_EVERSION) {
        if (g_drop(g, &g->stats.drop_version, DR_VERSION))
            g_drop_log(g, DR_VERSION, "datagram of format version %u from %s dropped: this node speaks version %u",
                       buf[0], who(from, w), ENV_VERSION);
        return OPEN_DROP;
    }
    if (rc < 0) {
        if (g_drop(g, &g->stats.drop_malformed, DR_MALFORMED))
            g_drop_log(g, DR_MALFORMED, "datagram with bad header from %s dropped", who(from, w));
        return OPEN_DROP;
    }
    if (h->sender == g->self_id && memcmp(h->session, g->crypto.session, ENV_SESSION_LEN) == 0) {
        g->stats.drop_self++; /* our own datagram (a seed list that names us) */
        return OPEN_DROP;
    }
    in->m = h->sender == g->self_id ? NULL : members_get(&g->members, h->sender);
    if (h->kind == ENV_HELLO) {
        if (h->hint == 0)
            return open_hello(g, in, buf, len);
        if (g_drop(g, &g->stats.drop_malformed, DR_MALFORMED))
            g_drop_log(g, DR_MALFORMED, "HELLO from %s with a receiver hint dropped", who(from, w));
        return OPEN_DROP;
    }
    if (h->hint != env_hint(g->crypto.session))
        return drop_life(g, in, &g->stats.drop_stale_life, "sealed for another receiver (another node, or this node before a restart)");
    if (h->kind == ENV_COOKIE)
        return open_cookie(g, in, buf, len);
    return open_data(g, in, buf, len);
}
