/*
 * Queries (see query.h): what is asked, who answers, and what comes back.
 */
#include "query.h"

#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "log.h"
#include "message.h"

#define QUERY_HEADER 6u /* u32 timeout, u8 role length, u8 prefix length */

static uint32_t query_timeout(const struct gossip *g, uint32_t asked)
{
    if (asked)
        return asked;
    uint64_t t = 4ull * g->cfg.heartbeat_ms;
    return t < UINT32_MAX ? (uint32_t)t : UINT32_MAX;
}

int query_encode(const struct gossip *g, const void *data, size_t len, const struct gossip_query_params *p,
                 uint8_t *out, size_t cap)
{
    const char *role = p ? p->role : NULL;
    size_t role_len = role ? strlen(role) : 0;
    size_t prefix_len = p && p->meta_prefix ? p->meta_prefix_len : 0;
    if (role_len > 255 || prefix_len > g->cfg.max_meta)
        return GOSSIP_EINVAL;
    size_t need = QUERY_HEADER + role_len + prefix_len + len;
    if (need > cap || need > g->cfg.max_event || need > WIRE_EVENT_LEN_MAX)
        return GOSSIP_ETOOBIG;
    uint32_t t = query_timeout(g, p ? p->timeout_ms : 0);
    uint8_t *q = out;
    *q++ = (uint8_t)(t >> 24);
    *q++ = (uint8_t)(t >> 16);
    *q++ = (uint8_t)(t >> 8);
    *q++ = (uint8_t)t;
    *q++ = (uint8_t)role_len;
    for (size_t i = 0; i < role_len; i++) /* the name without its terminator */
        *q++ = (uint8_t)role[i];
    *q++ = (uint8_t)prefix_len;
    if (prefix_len)
        memcpy(q, p->meta_prefix, prefix_len);
    q += prefix_len;
    if (len)
        memcpy(q, data, len);
    return (int)need;
}

/* The parts of a query payload; false when it is malformed. */
struct query_parts {
    uint32_t timeout_ms;
    const uint8_t *role, *prefix, *data;
    size_t role_len, prefix_len, len;
};

static bool decode(const uint8_t *p, size_t len, struct query_parts *q)
{
    if (len < QUERY_HEADER)
        return false;
    q->timeout_ms = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    q->role_len = p[4];
    if (len < QUERY_HEADER + q->role_len)
        return false;
    q->role = p + 5;
    q->prefix_len = p[5 + q->role_len];
    if (len < QUERY_HEADER + q->role_len + q->prefix_len)
        return false;
    q->prefix = p + 6 + q->role_len;
    q->data = q->prefix + q->prefix_len;
    q->len = len - QUERY_HEADER - q->role_len - q->prefix_len;
    return true;
}

int query_register(struct gossip *g, uint64_t id, const uint8_t *payload, size_t len)
{
    struct query_parts q;
    if (!decode(payload, len, &q))
        return GOSSIP_EINVAL;
    for (unsigned i = 0; i < QUERY_MAX_PENDING; i++) {
        struct query_pending *p = &g->queries[i];
        if (p->used)
            continue;
        free(p->responders);
        *p = (struct query_pending){.id = id, .deadline_ms = g->now + q.timeout_ms, .used = true};
        return 0;
    }
    return GOSSIP_EFULL;
}

/* Do we match the filter: a role we hold, metadata that starts so? */
static bool matches(const struct gossip *g, const struct query_parts *q)
{
    if (q->prefix_len > g->self_meta_len || memcmp(g->self_meta, q->prefix, q->prefix_len) != 0)
        return false;
    if (!q->role_len)
        return true;
    for (unsigned i = 0; i < g->cfg.n_roles; i++)
        if (strlen(g->cfg.roles[i].name) == q->role_len && memcmp(g->cfg.roles[i].name, q->role, q->role_len) == 0)
            return (g->roles_held >> i) & 1u;
    return false;
}

void query_on_event(struct gossip *g, uint64_t asker, uint64_t id, const uint8_t *payload, size_t len)
{
    struct query_parts q;
    if (!decode(payload, len, &q)) {
        if (g_drop(g, &g->stats.drop_malformed, DR_MALFORMED))
            g_drop_log(g, DR_MALFORMED, "malformed query %llu of node %llu dropped", (unsigned long long)id,
                       (unsigned long long)asker);
        return;
    }
    if (!matches(g, &q) || !g->qh.query)
        return;
    struct query_asked *a = &g->asked[g->asked_pos];
    g->asked_pos = (g->asked_pos + 1) % QUERY_ASKED;
    *a = (struct query_asked){.id = id, .asker = asker, .deadline_ms = g->now + q.timeout_ms, .used = true};
    g_emit_query(g, PE_QUERY, id, asker, q.data, q.len);
}

int query_respond(struct gossip *g, uint64_t id, uint64_t asker, const void *data, size_t len)
{
    if (len > g->cfg.max_event || len > WIRE_EVENT_LEN_MAX)
        return GOSSIP_ETOOBIG;
    struct query_asked *a = NULL;
    for (unsigned i = 0; i < QUERY_ASKED && !a; i++)
        if (g->asked[i].used && g->asked[i].id == id && g->asked[i].asker == asker)
            a = &g->asked[i];
    if (!a || g->now >= a->deadline_ms)
        return GOSSIP_ENOTFOUND;
    if (a->answered)
        return GOSSIP_ESTATE;
    a->answered = true;
    g->stats.query_answers_sent++;
    if (asker == g->self_id) {
        query_on_answer(g, g->self_id, id, data, len);
        return 0;
    }
    const struct member *m = members_get(&g->members, asker);
    if (!m)
        return GOSSIP_ENOTFOUND;
    struct wire_msg hdr = {.type = WIRE_RESPONSE, .target = id, .body = data, .body_len = (uint16_t)len};
    gaddr_t to = m->addr;
    msg_send(g, &to, m->id, &hdr, NULL, false);
    return 0;
}

void query_on_answer(struct gossip *g, uint64_t responder, uint64_t id, const uint8_t *data, size_t len)
{
    struct query_pending *p = NULL;
    for (unsigned i = 0; i < QUERY_MAX_PENDING && !p; i++)
        if (g->queries[i].used && g->queries[i].id == id)
            p = &g->queries[i];
    if (!p || g->now >= p->deadline_ms) {
        g->stats.query_answers_late++;
        return;
    }
    for (uint32_t i = 0; i < p->n; i++)
        if (p->responders[i] == responder) {
            g->stats.query_answers_dropped++; /* once per responder */
            return;
        }
    if (p->n >= QUERY_MAX_ANSWERS) {
        g->stats.query_answers_dropped++;
        return;
    }
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 16;
        uint64_t *v = realloc(p->responders, cap * sizeof(*v));
        if (!v) {
            g->stats.query_answers_dropped++;
            return;
        }
        p->responders = v;
        p->cap = cap;
    }
    p->responders[p->n++] = responder;
    g->stats.query_answers++;
    g_emit_query(g, PE_ANSWER, id, responder, data, len);
}

uint64_t query_due(const struct gossip *g)
{
    uint64_t t = UINT64_MAX;
    for (unsigned i = 0; i < QUERY_MAX_PENDING; i++)
        if (g->queries[i].used && g->queries[i].deadline_ms < t)
            t = g->queries[i].deadline_ms;
    return t;
}

void query_expire(struct gossip *g)
{
    for (unsigned i = 0; i < QUERY_MAX_PENDING; i++) {
        struct query_pending *p = &g->queries[i];
        if (!p->used || g->now < p->deadline_ms)
            continue;
        p->used = false;
        g_emit_query(g, PE_QUERY_DONE, p->id, p->n, NULL, 0);
        free(p->responders);
        p->responders = NULL;
        p->n = p->cap = 0;
    }
}

void query_free(struct gossip *g)
{
    for (unsigned i = 0; i < QUERY_MAX_PENDING; i++) {
        free(g->queries[i].responders);
        g->queries[i].responders = NULL;
    }
}
