/* Plaintext messages in send order, laid out for sealing in place (see outbox.h). */
#include "outbox.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gossip.h"

int outbox_init(struct outbox *o, size_t max_datagram, unsigned slots)
{
    memset(o, 0, sizeof(*o));
    o->max_datagram = max_datagram;
    o->cap = max_datagram * slots;
    o->max = slots * 2; /* most messages are far smaller than a datagram */
    o->arena = malloc(o->cap);
    o->v = malloc(o->max * sizeof(*o->v));
    if (!o->arena || !o->v) {
        outbox_free(o);
        return GOSSIP_ENOMEM;
    }
    return 0;
}

void outbox_free(struct outbox *o)
{
    free(o->arena);
    free(o->v);
    memset(o, 0, sizeof(*o));
}

uint8_t *outbox_reserve(struct outbox *o, size_t *cap)
{
    if ((o->n == o->max || o->cap - o->used < o->max_datagram) && o->drain)
        o->drain(o->drain_ctx);
    if (o->n == o->max || o->cap - o->used < o->max_datagram) {
        *cap = 0; /* no drain to make room: nothing fits (wire_begin refuses) */
        return o->arena;
    }
    *cap = o->max_datagram - ENV_OVERHEAD_MAX;
    return o->arena + o->used + ENV_HDR_MAX;
}

void outbox_commit(struct outbox *o, const gaddr_t *to, uint64_t to_id, bool to_any, uint32_t seq, size_t pt_len)
{
    if (o->n == o->max || o->cap - o->used < o->max_datagram || pt_len > o->max_datagram - ENV_OVERHEAD_MAX)
        return;
    o->v[o->n++] = (struct outbox_entry){
        .to = *to, .to_id = to_id, .to_any = to_any, .seq = seq, .off = (uint32_t)o->used, .pt_len = (uint32_t)pt_len};
    o->used += ENV_OVERHEAD_MAX + pt_len;
}

uint8_t *outbox_envelope(const struct outbox *o, unsigned i, size_t *cap)
{
    *cap = ENV_OVERHEAD_MAX + o->v[i].pt_len;
    return o->arena + o->v[i].off;
}

const uint8_t *outbox_payload(const struct outbox *o, unsigned i, size_t *len)
{
    *len = o->v[i].pt_len;
    return o->arena + o->v[i].off + ENV_HDR_MAX;
}

void outbox_clear(struct outbox *o)
{
    o->n = 0;
    o->used = 0;
}
