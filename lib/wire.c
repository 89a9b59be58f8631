/*
 * Payload encoder and decoder (layout in wire.h, specification in
 * doc/wire-format.md).
 *
 * The decoder is the trust boundary for authenticated but possibly buggy or
 * hostile peers: it rejects anything the encoder could not have produced, so
 * every accepted payload re-encodes to the same bytes and the layers above
 * never see half-valid records.  The encoder refuses the same things, so a
 * local bug surfaces here instead of as a dropped datagram on the far side.
 */
#include "wire.h"

#include <string.h>

/* ---- big-endian helpers ------------------------------------------------- */

static inline void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v >> 32));
    put_u32(p + 4, (uint32_t)v);
}

static inline uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

/* ---- shared rules ------------------------------------------------------- */

#define ADDR4_LEN 7u   /* family, 4 bytes, port */
#define ADDR6_LEN 19u  /* family, 16 bytes, port */
#define MEMBER_FIXED 22u /* id, generation, version, state, meta_len */
#define EVENT_FIXED 18u  /* origin, event id, len */

static bool member_has_from(uint8_t state)
{
    return state == 1 || state == 2;
}

/* The flag checks live in one place so the encoder and decoder cannot
 * disagree about what a valid header is. */
static bool header_ok(uint8_t type, uint8_t flags)
{
    if (type < WIRE_PING || type > WIRE_RESPONSE)
        return false;
    if (flags & ~WIRE_F_ALL)
        return false;
    if ((flags & (WIRE_F_ANY | WIRE_F_SUSPECT | WIRE_F_WHO)) && type != WIRE_PING)
        return false;
    /* A join probe does not know who answers, so it cannot suspect them;
     * and only a member we know can be suspected: the three exclude each
     * other. */
    unsigned ping_kinds = !!(flags & WIRE_F_ANY) + !!(flags & WIRE_F_SUSPECT) + !!(flags & WIRE_F_WHO);
    if (ping_kinds > 1)
        return false;
    if ((flags & (WIRE_F_REPLY | WIRE_F_SETTLED)) && type != WIRE_SYNC)
        return false;
    if ((flags & WIRE_F_RECENT) && !(flags & WIRE_F_REPLY))
        return false;
    return true;
}

static bool addr_ok(const struct wire_addr *a)
{
    return (a->family == 4 || a->family == 6) && a->port != 0;
}

static size_t addr_size(const struct wire_addr *a)
{
    return a->family == 6 ? ADDR6_LEN : ADDR4_LEN;
}

/* ---- decoder ------------------------------------------------------------ */

/* A cursor that turns every overrun into a sticky error, so the parsing code
 * can read field after field and check once per record. */
struct rd {
    const uint8_t *buf;
    size_t len, off;
    bool bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
    if (r->bad || r->len - r->off < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->buf + r->off;
    r->off += n;
    return p;
}

static uint8_t rd_u8(struct rd *r)
{
    const uint8_t *p = rd_take(r, 1);
    return p ? p[0] : 0;
}

static uint16_t rd_u16(struct rd *r)
{
    const uint8_t *p = rd_take(r, 2);
    return p ? get_u16(p) : 0;
}

static uint32_t rd_u32(struct rd *r)
{
    const uint8_t *p = rd_take(r, 4);
    return p ? get_u32(p) : 0;
}

static uint64_t rd_u64(struct rd *r)
{
    const uint8_t *p = rd_take(r, 8);
    return p ? get_u64(p) : 0;
}

static bool rd_addr(struct rd *r, struct wire_addr *a)
{
    memset(a, 0, sizeof *a);
    a->family = rd_u8(r);
    if (r->bad || (a->family != 4 && a->family != 6))
        return false;
    const uint8_t *ip = rd_take(r, a->family == 4 ? 4 : 16);
    if (!ip)
        return false;
    memcpy(a->ip, ip, a->family == 4 ? 4 : 16);
    a->port = rd_u16(r);
    return !r->bad && a->port != 0;
}

static bool rd_member(struct rd *r, struct wire_member *m)
{
    memset(m, 0, sizeof *m);
    m->id = rd_u64(r);
    m->generation = rd_u64(r);
    m->version = rd_u32(r);
    uint8_t st = rd_u8(r);
    m->state = st & 0x7fu;
    m->flags = st & WIRE_M_DRAINING;
    if (r->bad || m->state > 3)
        return false;
    if (!rd_addr(r, &m->addr))
        return false;
    if (member_has_from(m->state))
        m->from = rd_u64(r);
    m->meta_len = rd_u8(r);
    if (m->meta_len > 0)
        m->meta = rd_take(r, m->meta_len);
    return !r->bad;
}

static bool rd_event(struct rd *r, struct wire_event *e)
{
    memset(e, 0, sizeof *e);
    e->origin = rd_u64(r);
    e->event_id = rd_u64(r);
    uint16_t len = rd_u16(r);
    e->query = (len & WIRE_EVENT_QUERY) != 0;
    e->len = (uint16_t)(len & WIRE_EVENT_LEN_MAX);
    if (r->bad || e->len == 0)
        return false;
    e->data = rd_take(r, e->len);
    return !r->bad;
}

static int decode(struct rd *r, struct wire_msg *out)
{
    out->type = rd_u8(r);
    out->flags = rd_u8(r);
    out->seq = rd_u32(r);
    if (r->bad || !header_ok(out->type, out->flags))
        return -1;

    if (out->type == WIRE_PING || out->type == WIRE_PING_REQ)
        out->target = rd_u64(r);
    if (out->type == WIRE_PING_REQ && !rd_addr(r, &out->target_addr))
        return -1;
    if (out->type == WIRE_RESPONSE) {
        out->target = rd_u64(r);
        out->body_len = rd_u16(r);
        if (r->bad || out->body_len == 0 || out->body_len > WIRE_EVENT_LEN_MAX)
            return -1;
        out->body = rd_take(r, out->body_len);
        if (!out->body)
            return -1;
    }

    unsigned n = rd_u8(r);
    if (r->bad || n > WIRE_MAX_MEMBERS)
        return -1;
    for (unsigned i = 0; i < n; i++)
        if (!rd_member(r, &out->members[i]))
            return -1;
    out->n_members = n;

    n = rd_u8(r);
    if (r->bad || n > WIRE_MAX_EVENTS)
        return -1;
    for (unsigned i = 0; i < n; i++)
        if (!rd_event(r, &out->events[i]))
            return -1;
    out->n_events = n;

    return r->off == r->len ? 0 : -1;
}

int wire_decode(const uint8_t *buf, size_t len, struct wire_msg *out)
{
    struct rd r = { .buf = buf, .len = buf ? len : 0, .off = 0, .bad = false };

    out->type = out->flags = 0;
    out->seq = 0;
    out->target = 0;
    memset(&out->target_addr, 0, sizeof out->target_addr);
    out->body = NULL;
    out->body_len = 0;
    out->n_members = out->n_events = 0;
    if (decode(&r, out) == 0)
        return 0;
    /* Callers that ignore the return value must not walk stale records. */
    out->n_members = out->n_events = 0;
    return -1;
}

/* ---- encoder ------------------------------------------------------------ */

size_t wire_member_size(const struct wire_member *m)
{
    return MEMBER_FIXED + addr_size(&m->addr) + (member_has_from(m->state) ? 8u : 0u) +
           m->meta_len;
}

size_t wire_event_size(const struct wire_event *e)
{
    return EVENT_FIXED + (size_t)e->len;
}

static uint8_t *put_addr(uint8_t *p, const struct wire_addr *a)
{
    size_t n = a->family == 6 ? 16 : 4;

    *p++ = a->family;
    memcpy(p, a->ip, n);
    p += n;
    put_u16(p, a->port);
    return p + 2;
}

/* Free bytes once the byte for the events count (still unwritten while in
 * the members section) is set aside. */
static size_t room(const struct wire_writer *w)
{
    size_t reserve = w->in_events ? 0 : 1;
    size_t used = w->len + reserve;

    return used < w->cap ? w->cap - used : 0;
}

int wire_begin(struct wire_writer *w, uint8_t *buf, size_t cap, const struct wire_msg *msg)
{
    memset(w, 0, sizeof *w);
    if (!buf || !header_ok(msg->type, msg->flags))
        return -1;
    if (msg->type == WIRE_PING_REQ && !addr_ok(&msg->target_addr))
        return -1;

    if (msg->type == WIRE_RESPONSE && (msg->body_len == 0 || msg->body_len > WIRE_EVENT_LEN_MAX || !msg->body))
        return -1;
    bool has_target = msg->type == WIRE_PING || msg->type == WIRE_PING_REQ || msg->type == WIRE_RESPONSE;
    /* Both count bytes must fit, or wire_finish() could not terminate. */
    size_t need = WIRE_HDR_LEN + (has_target ? 8u : 0u) +
                  (msg->type == WIRE_PING_REQ ? addr_size(&msg->target_addr) : 0u) +
                  (msg->type == WIRE_RESPONSE ? 2u + msg->body_len : 0u) + 2u;
    if (cap < need)
        return -1;

    uint8_t *p = buf;
    *p++ = msg->type;
    *p++ = msg->flags;
    put_u32(p, msg->seq);
    p += 4;
    if (has_target) {
        put_u64(p, msg->target);
        p += 8;
    }
    if (msg->type == WIRE_PING_REQ)
        p = put_addr(p, &msg->target_addr);
    if (msg->type == WIRE_RESPONSE) {
        put_u16(p, msg->body_len);
        memcpy(p + 2, msg->body, msg->body_len);
        p += 2 + msg->body_len;
    }
    w->n_members_at = (size_t)(p - buf);
    *p++ = 0;

    w->buf = buf;
    w->cap = cap;
    w->len = (size_t)(p - buf);
    return 0;
}

int wire_add_member(struct wire_writer *w, const struct wire_member *m)
{
    if (!w->buf || w->in_events || w->n_members >= WIRE_MAX_MEMBERS)
        return -1;
    if (m->state > 3 || (m->flags & ~WIRE_M_DRAINING) || !addr_ok(&m->addr) || (m->meta_len > 0 && !m->meta))
        return -1;
    size_t n = wire_member_size(m);
    if (n > room(w))
        return -1;

    uint8_t *p = w->buf + w->len;
    put_u64(p, m->id);
    put_u64(p + 8, m->generation);
    put_u32(p + 16, m->version);
    p[20] = (uint8_t)(m->state | m->flags);
    p = put_addr(p + 21, &m->addr);
    if (member_has_from(m->state)) {
        put_u64(p, m->from);
        p += 8;
    }
    *p++ = m->meta_len;
    if (m->meta_len > 0)
        memcpy(p, m->meta, m->meta_len);
    w->len += n;
    w->n_members++;
    return 0;
}

int wire_add_event(struct wire_writer *w, const struct wire_event *e)
{
    if (!w->buf || w->n_events >= WIRE_MAX_EVENTS || e->len == 0 || e->len > WIRE_EVENT_LEN_MAX || !e->data)
        return -1;
    /* room() already counts the events count byte while it is unwritten. */
    size_t n = wire_event_size(e);
    if (n > room(w))
        return -1;

    if (!w->in_events) {
        w->n_events_at = w->len;
        w->buf[w->len++] = 0;
        w->in_events = true;
    }
    uint8_t *p = w->buf + w->len;
    put_u64(p, e->origin);
    put_u64(p + 8, e->event_id);
    put_u16(p + 16, (uint16_t)(e->len | (e->query ? WIRE_EVENT_QUERY : 0)));
    memcpy(p + EVENT_FIXED, e->data, e->len);
    w->len += n;
    w->n_events++;
    return 0;
}

size_t wire_room(const struct wire_writer *w)
{
    return w->buf ? room(w) : 0;
}

size_t wire_finish(struct wire_writer *w)
{
    if (!w->buf)
        return 0;
    if (!w->in_events) {
        /* Reserved by wire_begin() and room(), so this always fits. */
        w->n_events_at = w->len;
        w->buf[w->len++] = 0;
        w->in_events = true;
    }
    w->buf[w->n_members_at] = (uint8_t)w->n_members;
    w->buf[w->n_events_at] = (uint8_t)w->n_events;
    return w->len;
}
