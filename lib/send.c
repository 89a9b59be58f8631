/*
 * The one place that sends (see send.h): every outbox entry sealed in
 * order under this session's key and counter, then handed to the socket
 * or the send hook.
 */
#include "send.h"

#include <unistd.h>

#include "log.h"
#include "udp.h"

void transmit(struct gossip *g)
{
    struct outbox *o = &g->out;
    if ((long)getpid() != g->pid) {
        /* never reached through the API (enter() refuses a forked copy);
         * kept so that no path can seal with the parent's counters */
        outbox_clear(o);
        return;
    }
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
