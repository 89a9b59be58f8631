/*
 * What a received record means (see merge.h): member records, cluster
 * events, duplicate ids and tombstones.  Replies go through message.c
 * into the outbox; events through deliver.c.
 */
#include "merge.h"

#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "log.h"
#include "message.h"
#include "probe.h"
#include "query.h"

static void copy_meta(struct member *m, const struct wire_member *r, bool *changed)
{
    if (m->meta_len == r->meta_len && (r->meta_len == 0 || memcmp(m->meta, r->meta, r->meta_len) == 0))
        return;
    uint8_t *copy = NULL;
    if (r->meta_len) {
        copy = malloc(r->meta_len);
        if (!copy)
            return; /* keep the old blob; the next update brings it again */
        memcpy(copy, r->meta, r->meta_len);
    }
    free(m->meta);
    m->meta = copy;
    m->meta_len = r->meta_len;
    *changed = true;
}

/* Ask whoever speaks from `to` with our id to prove it is alive: a replayed
 * datagram cannot answer, a second live process does. */
static void conflict_challenge(struct gossip *g, const gaddr_t *to)
{
    if (g->now < g->conflict_next_ms)
        return;
    g->conflict_next_ms = g->now + g->cfg.heartbeat_ms;
    g->conflict_seq = ++g->seq;
    struct wire_msg hdr = {.type = WIRE_PING, .flags = WIRE_F_ANY, .seq = g->conflict_seq};
    msg_send(g, to, &hdr, NULL, false);
}

static void apply_self_record(struct gossip *g, const struct wire_member *r, const gaddr_t *from, uint64_t sender)
{
    if (r->generation > g->generation) {
        /* someone newer claims our id */
        if (!addr_is_unspecified(&r->addr) && !addr_equal(&r->addr, &g->self_addr))
            conflict_challenge(g, &r->addr);
        else if (sender == g->self_id)
            conflict_challenge(g, from);
        return;
    }
    if (r->generation < g->generation || lc_leaving(g) || r->state == GOSSIP_ALIVE)
        return; /* our previous life, or nothing to refute */
    if (r->version >= g->version) {
        /* Lifeguard: refute at once with a higher incarnation; being
         * suspected hints that we are the slow one */
        g->version = r->version + 1;
        g->self_changed_ms = g->now;
        dissem_member(&g->dq, g->self_id);
        msg_gossip_now(g);
        g->stats.refutations++;
        awareness_apply(g, 1);
    }
}

static void queue_fresh(struct gossip *g, uint64_t id)
{
    if (dissem_member(&g->dq, id) == 0)
        msg_gossip_soon(g);
}

void merge_record(struct gossip *g, const struct wire_member *rec, const gaddr_t *from,
                         uint64_t sender, enum record_source source)
{
    bool anti_entropy = source != FROM_GOSSIP;
    /* max_meta is what we store, not what the wire allows: a peer with a
     * larger limit is a configuration mismatch, and its membership news
     * must still count (else its acks would be lost and it would be
     * declared failed).  The record is kept without the blob. */
    struct wire_member trimmed;
    const struct wire_member *r = rec;
    if (rec->meta_len > g->cfg.max_meta) {
        trimmed = *rec;
        trimmed.meta_len = 0;
        trimmed.meta = NULL;
        r = &trimmed;
        g->stats.over_limit++;
        if (g_drop(g, &g->over_limit_warned, DR_LIMIT))
            g_drop_log(g, DR_LIMIT,
                       "metadata of node %llu is %u bytes, above max-meta %u: kept without it "
                       "(set the same max-meta on every node)",
                       (unsigned long long)rec->id, rec->meta_len, g->cfg.max_meta);
    }
    if (r->id == g->self_id) {
        apply_self_record(g, r, from, sender);
        return;
    }
    struct member *m = members_get(&g->members, r->id);
    gaddr_t addr = r->addr;
    if (addr_is_unspecified(&addr)) {
        /* "wherever I speak from": only the member itself can say that */
        if (from && r->id == sender) {
            uint16_t port = addr.port;
            addr = *from;
            addr.port = port;
        } else if (m) {
            addr = m->addr;
        } else {
            return;
        }
    }
    uint8_t state = r->state;
    uint64_t accuser = r->from;
    /* A failure learned from somebody's full view may be stale (the other
     * side of a healed partition): suspect instead, so the member can
     * refute (memberlist's mergeRemoteState does the same). */
    if (anti_entropy && state == GOSSIP_FAILED) {
        state = GOSSIP_SUSPECT;
        accuser = sender;
    }

    if (!m) {
        if (r->state >= GOSSIP_FAILED)
            return; /* do not learn the dead (nor a softened failure of one we reaped) */
        if (g->members.n >= g->cfg.max_members) {
            if (g_drop(g, &g->stats.drop_full, DR_FULL))
                g_drop_log(g, DR_FULL, "member table full (%u): refusing node %llu", g->cfg.max_members,
                           (unsigned long long)r->id);
            return;
        }
        m = members_add(&g->members, r->id);
        if (!m)
            return;
        m->generation = r->generation;
        m->version = r->version;
        m->addr = addr;
        m->state = GOSSIP_ALIVE;
        m->state_ms = g->now;
        if (source == FROM_HOST)
            m->flags |= MEMBER_UNCONFIRMED;
        if (r->flags & WIRE_M_DRAINING)
            m->flags |= MEMBER_DRAINING;
        bool ignored = false;
        copy_meta(m, r, &ignored);
        probe_add_member(g, m->id);
        g->stats.joins++;
        roles_recompute(g);
        g_emit_member(g, GOSSIP_EVENT_JOIN, m);
        if (state == GOSSIP_SUSPECT) {
            member_set_state(g, m, GOSSIP_SUSPECT, accuser);
            suspicion_start(g, members_get(&g->members, r->id), accuser);
        }
        /* The full view a joiner receives is history: relaying it would
         * make every joiner re-gossip the whole table (quadratic at scale).
         * What is still news in it came first as gossip (msg_send_sync
         * sends the sender's queue ahead of the view) and is relayed as
         * such; the sender's own record is news too. */
        if (source == FROM_GOSSIP || (source == FROM_VIEW && (r->id == sender || g->now >= g->life.absorb_until)))
            queue_fresh(g, r->id);
        return;
    }

    if (source != FROM_HOST)
        m->flags &= (uint8_t)~MEMBER_UNCONFIRMED; /* the network knows it too */
    if (state == GOSSIP_FAILED && probe_hearsay_failed(g, m, r->generation, r->version, accuser))
        return; /* heard, not seen: verified first (probe.c) */
    if (!update_overrides(state, r->generation, r->version, m->state, m->generation, m->version)) {
        if (state == GOSSIP_SUSPECT && m->state == GOSSIP_SUSPECT &&
            incarnation_cmp(r->generation, r->version, m->generation, m->version) == 0)
            suspicion_confirm(g, m, accuser);
        return;
    }
    bool restarted = r->generation > m->generation;
    bool changed = false;
    uint8_t old = m->state;
    gaddr_t old_addr = m->addr;
    m->generation = r->generation;
    m->version = r->version;
    if (!addr_equal(&m->addr, &addr)) {
        m->addr = addr;
        changed = true;
    }
    copy_meta(m, r, &changed);
    bool draining = (r->flags & WIRE_M_DRAINING) != 0;
    if (draining != ((m->flags & MEMBER_DRAINING) != 0)) {
        m->flags ^= MEMBER_DRAINING;
        changed = true;
        roles_recompute(g); /* its roles move, or come back */
    }
    if (state != GOSSIP_SUSPECT)
        suspicion_stop(g, m);
    if (state != old) {
        member_set_state(g, m, state, accuser);
        if (state == GOSSIP_SUSPECT) {
            suspicion_start(g, m, accuser);
            probe_on_suspicion(g, m->id);
        }
        if (state == GOSSIP_ALIVE && old >= GOSSIP_FAILED && g->n_recover < MAX_RECOVER)
            g->recover[g->n_recover++] = m->id; /* merge views with a returning member */
    } else if (state == GOSSIP_ALIVE && restarted) {
        m->state_ms = g->now;
        g_emit_member(g, GOSSIP_EVENT_ALIVE, m);
        /* a new life may start with an empty view (a seed node has no seeds
         * to ask): a few members, about three in the whole cluster, fill it */
        uint32_t n = (uint32_t)g_alive_count(g);
        if (g->n_recover < MAX_RECOVER && (n <= 3 || rng_below(&g->rng, n) < 3))
            g->recover[g->n_recover++] = m->id;
    } else if (changed) {
        g_emit_member(g, GOSSIP_EVENT_UPDATE, m);
    }
    if (restarted && old <= GOSSIP_SUSPECT && !addr_equal(&old_addr, &m->addr)) {
        /* A new life somewhere else: a restart that moved, or a second
         * process with the same id.  Tell the old address; if the old
         * process still runs, it challenges the new one and both report
         * the conflict. */
        struct wire_msg hdr = {.type = WIRE_GOSSIP};
        msg_send(g, &old_addr, &hdr, m, false);
    }
    if (source != FROM_HOST)
        queue_fresh(g, r->id);
}

int merge_restore(struct gossip *g, const struct wire_member *r)
{
    if (!members_get(&g->members, r->id) && g->members.n >= g->cfg.max_members)
        return GOSSIP_EFULL;
    merge_record(g, r, NULL, 0, FROM_HOST);
    return members_get(&g->members, r->id) ? 0 : GOSSIP_ENOMEM;
}

bool event_remember(struct gossip *g, uint64_t origin, uint64_t event_id, const void *data, size_t len)
{
    /* An origin's event ids only grow (generation + sequence), so a window
     * per origin, like the datagram replay window, decides "seen" with
     * bounded memory however many events are in flight; the ring below only
     * backs origins we do not know and keeps payloads for the repair. */
    struct event_origin *o = NULL, *lru = &g->origins[0];
    for (unsigned i = 0; i < MAX_EVENT_ORIGINS && !o; i++) {
        if (g->origins[i].used_ms && g->origins[i].origin == origin)
            o = &g->origins[i];
        else if (g->origins[i].used_ms < lru->used_ms)
            lru = &g->origins[i];
    }
    if (o && !replay_check(&o->w, event_id))
        return false;
    for (uint32_t i = 0; i < g->seen_n; i++)
        if (g->seen[i].origin == origin && g->seen[i].event_id == event_id)
            return false;
    if (!o) {
        o = lru; /* an evicted origin falls back to the ring above */
        *o = (struct event_origin){.origin = origin};
    }
    o->used_ms = g->now ? g->now : 1;
    replay_commit(&o->w, event_id);
    struct seen_event *s = &g->seen[g->seen_pos];
    free(s->data);
    *s = (struct seen_event){.origin = origin, .event_id = event_id, .at_ms = g->now};
    if (len && (s->data = malloc(len)) != NULL) {
        memcpy(s->data, data, len);
        s->len = (uint16_t)len;
    }
    g->seen_pos = (g->seen_pos + 1) % g->cfg.max_pending_events;
    if (g->seen_n < g->cfg.max_pending_events)
        g->seen_n++;
    return true;
}

void events_expire(struct gossip *g)
{
    for (uint32_t i = 0; i < g->seen_n; i++) {
        struct seen_event *s = &g->seen[i];
        if (s->data && g->now - s->at_ms >= event_keep_ms(g)) {
            free(s->data);
            s->data = NULL;
            s->len = 0;
        }
    }
}

void merge_event(struct gossip *g, const struct wire_event *e)
{
    if (e->len > g->cfg.max_event) {
        g->stats.over_limit++;
        if (g_drop(g, &g->over_limit_warned, DR_LIMIT))
            g_drop_log(g, DR_LIMIT,
                       "cluster event from node %llu is %u bytes, above max-event %u: not delivered "
                       "(set the same max-event on every node)",
                       (unsigned long long)e->origin, e->len, g->cfg.max_event);
        return;
    }
    if (e->origin == g->self_id && e->event_id > g->generation && e->event_id <= g->generation + g->event_seq)
        return; /* our own, delivered when we broadcast it */
    if (e->query) {
        /* remembered without its payload: a question is worth nothing
         * after its timeout, so the full-view exchange does not carry it */
        if (!event_remember(g, e->origin, e->event_id, NULL, 0))
            return;
        if (g->dq.n_events < g->cfg.max_pending_events)
            (void)dissem_query(&g->dq, e->origin, e->event_id, e->data, e->len);
        msg_gossip_now(g);
        query_on_event(g, e->origin, e->event_id, e->data, e->len);
        return;
    }
    if (!event_remember(g, e->origin, e->event_id, e->data, e->len))
        return;
    if (g->dq.n_events < g->cfg.max_pending_events)
        (void)dissem_event(&g->dq, e->origin, e->event_id, e->data, e->len);
    msg_gossip_now(g);
    g_emit_user(g, e->origin, e->data, e->len);
}

/* A session of a member we reaped speaks: a replay of its old datagrams, or
 * the live process back after a long partition.  Only the live one can
 * answer a fresh challenge; until it has, nothing it sends is applied. */
bool tomb_passes(struct gossip *g, unsigned i, const gaddr_t *from, const struct wire_msg *msg)
{
    if (msg->type == WIRE_ACK && g->tombs[i].seq && msg->seq == g->tombs[i].seq) {
        g->tombs[i].session = 0; /* alive after all: welcome back */
        return true;
    }
    if (g_drop(g, &g->stats.drop_replay, DR_REPLAY))
        g_drop_log(g, DR_REPLAY, "datagram from a reaped life of node %llu: challenged",
                   (unsigned long long)g->tombs[i].id);
    if (g->now >= g->tombs[i].next_ms) {
        g->tombs[i].next_ms = g->now + g->cfg.heartbeat_ms;
        g->tombs[i].seq = ++g->seq;
        struct wire_msg ping = {.type = WIRE_PING, .seq = g->tombs[i].seq, .target = g->tombs[i].id};
        msg_send(g, from, &ping, NULL, false);
    }
    return false;
}

void conflict_on_self_id(struct gossip *g, const gaddr_t *from, const struct env_header *h,
                         const struct wire_msg *msg)
{
    if (msg->type == WIRE_PING && (msg->flags & WIRE_F_ANY)) {
        struct wire_msg ack = {.type = WIRE_ACK, .seq = msg->seq};
        msg_send(g, from, &ack, NULL, false);
    }
    if (msg->type == WIRE_ACK && g->conflict_seq && msg->seq == g->conflict_seq) {
        g->conflict_seq = 0;
        if (h->session != g->conflict_reported) {
            g->conflict_reported = h->session;
            g->stats.conflicts++;
            g_log(g, GOSSIP_LOG_ERROR, "node id %llu is also used by another live process",
                  (unsigned long long)g->self_id);
            struct member other = {.id = g->self_id, .generation = h->session, .addr = *from,
                                   .state = GOSSIP_ALIVE, .state_ms = g->now};
            g_emit_member(g, GOSSIP_EVENT_CONFLICT, &other);
            if (h->session > g->generation) {
                /* the cluster follows the newer life; accusing everybody
                 * from here would only add noise */
                if (g->life.end == END_NONE)
                    g->life.end = END_SUPERSEDED;
                g_log(g, GOSSIP_LOG_ERROR, "node id %llu: a newer process took over; this one stops probing",
                      (unsigned long long)g->self_id);
            }
        }
        return;
    }
    conflict_challenge(g, from);
}

int tomb_find(const struct gossip *g, uint64_t sender, uint64_t session)
{
    int tomb = -1;
    for (unsigned i = 0; i < MAX_TOMBS; i++)
        if (g->tombs[i].id == sender && g->tombs[i].session && session <= g->tombs[i].session)
            tomb = (int)i;
    return tomb;
}

bool conflict_can_show(const struct gossip *g)
{
    return g->now >= g->conflict_next_ms;
}

void conflict_show_record(struct gossip *g, const gaddr_t *from, const struct member *m)
{
    /* an older life speaking from elsewhere: a replay, or a second process
     * that the cluster never heard of.  Show it the record we hold (one
     * datagram, rate-limited: no amplification); a live process then
     * challenges the newer one. */
    g->conflict_next_ms = g->now + g->cfg.heartbeat_ms;
    struct wire_msg hdr = {.type = WIRE_GOSSIP};
    msg_send(g, from, &hdr, m, false);
}
