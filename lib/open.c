/*
 * The one place that opens (see open.h): size, envelope header, our own
 * datagrams, the sender's replay window, AES-GCM open, decode.  Every drop
 * is counted and, rate-limited, logged; nothing here changes the member
 * table or answers anybody.
 */
#include "open.h"

#include "log.h"
#include "merge.h"

/* The peer's address for a warning: formatted only when one is written. */
static const char *who(const gaddr_t *from, char buf[64])
{
    addr_format(from, buf, 64);
    return buf;
}

/* A datagram of a known sender that its replay window refuses: an older
 * session, or a counter already used or too far behind. */
static bool stale(const struct member *m, const struct env_header *h)
{
    return h->session < m->rx_session || h->session < m->generation ||
           (h->session == m->rx_session && !replay_check(&m->rx, h->counter));
}

enum open_verdict open_datagram(struct gossip *g, const gaddr_t *from, uint8_t *buf, size_t len,
                                struct inbound *in)
{
    char w[64];
    in->from = *from;
    in->m = NULL;
    in->msg = NULL;
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
    bool from_self_id = h->sender == g->self_id;
    if (from_self_id && h->session == g->generation) {
        g->stats.drop_self++; /* our own datagram (a seed list that names us) */
        return OPEN_DROP;
    }
    struct member *m = from_self_id ? NULL : members_get(&g->members, h->sender);
    in->m = m;
    if (m && stale(m, h)) {
        /* an older life speaking from elsewhere may be a second process the
         * cluster never heard of: worth showing our record if authentic */
        bool elsewhere = h->session < m->generation && !addr_equal(from, &m->addr) && conflict_can_show(g) &&
                         crypto_open(&g->crypto, h, buf, len) >= 0;
        if (g_drop(g, &g->stats.drop_replay, DR_REPLAY))
            g_drop_log(g, DR_REPLAY, "replayed or stale datagram from %s (node %llu) dropped", who(from, w),
                       (unsigned long long)h->sender);
        return elsewhere ? OPEN_STALE_ELSEWHERE : OPEN_DROP;
    }
    rc = crypto_open(&g->crypto, h, buf, len);
    if (rc == CRYPTO_EKEY) {
        if (g_drop(g, &g->stats.drop_key, DR_KEY))
            g_drop_log(g, DR_KEY, "datagram from %s sealed with key id %08x, which is not in this node's keyring",
                       who(from, w), h->key_id);
        return OPEN_DROP;
    }
    if (rc < 0) {
        if (g_drop(g, &g->stats.drop_auth, DR_AUTH))
            g_drop_log(g, DR_AUTH,
                       "datagram from %s failed authentication (wrong key or cluster label, or corrupted)",
                       who(from, w));
        return OPEN_DROP;
    }
    struct wire_msg *msg = &g->rxmsg;
    if (wire_decode(buf + ENV_HDR_LEN, (size_t)rc, msg) < 0) {
        if (g_drop(g, &g->stats.drop_malformed, DR_MALFORMED))
            g_drop_log(g, DR_MALFORMED, "malformed datagram from %s (node %llu) dropped", who(from, w),
                       (unsigned long long)h->sender);
        return OPEN_DROP;
    }
    in->msg = msg;
    return from_self_id ? OPEN_SELF_ID : OPEN_OK;
}
