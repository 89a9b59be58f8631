/*
 * The one place that sends (see send.h): every outbox entry sealed in
 * order under this session's key and counter, then handed to the socket
 * or the send hook.
 */
#include "send.h"

#include "log.h"
#include "udp.h"

void transmit(struct gossip *g)
{
    /* Only entry points that passed enter() get here, and enter() refuses a
     * copy made by fork(): no second getpid() on the per-datagram path. */
    struct outbox *o = &g->out;
    for (unsigned i = 0; i < o->n; i++) {
        size_t cap;
        uint8_t *buf = outbox_envelope(o, i, &cap);
        int n = crypto_seal(&g->crypto, buf, o->v[i].pt_len, cap);
        if (n < 0) {
            g->stats.send_errors++;
            g_log(g, GOSSIP_LOG_ERROR, "cannot seal a datagram (%d)", n);
            continue;
        }
        if (udp_send(g, &o->v[i].to, buf, (size_t)n) < 0) {
            g->stats.send_errors++;
            continue;
        }
        g->stats.sent_datagrams++;
        g->stats.sent_bytes += (uint64_t)n;
    }
    outbox_clear(o);
}

void transmit_drain(void *ctx)
{
    transmit(ctx);
}
