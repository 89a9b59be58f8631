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

/* Ask whoever speaks from `to` with our id to prove it is alive: a HELLO
 * naming our own id (send.c), which only a live process can answer, with
 * a COOKIE that echoes our fresh challenge (a recording cannot). */
static void conflict_challenge(struct gossip *g, const gaddr_t *to)
{
    if (g->now < g->conflict_next_ms)
        return;
    g->conflict_next_ms = g->now + g->cfg.heartbeat_ms;
    g->conflict_seq = ++g->seq;
    struct wire_msg hdr = {.type = WIRE_PING, .flags = WIRE_F_ANY, .seq = g->conflict_seq};
    msg_send(g, to, g->self_id, &hdr, NULL, false);
}

/* Our record changed: everybody hears of it soon. */
static void announce_self(struct gossip *g)
{
    g->self_changed_ms = g->now;
    dissem_member(&g->dq, g->self_id);
    msg_gossip_now(g);
}

/* Start a life above `gen`: the cluster remembers a record of our id with
 * that generation, from a life of ours the clock has not caught up with
 * (a restart with the wall clock behind, two starts in one millisecond,
 * or a version that cannot be raised any more). */
static void move_past(struct gossip *g, uint64_t gen)
{
    uint64_t next = gen + GEN_MOVE_STEP;
    if (next <= g->generation || next < gen)
        return;
    g_log(g, GOSSIP_LOG_INFO,
          "node id %llu: the cluster holds generation %llu of this id, above this process's %llu "
          "(a restart with the clock behind?): moving to %llu",
          (unsigned long long)g->self_id, (unsigned long long)gen, (unsigned long long)g->generation,
          (unsigned long long)next);
    g->generation = next;
    g->version = 0;
    g->move_past_ms = 0;
    announce_self(g);
}

/* Superseded by a newer process with our id: every reconnect interval,
 * ask it (a challenge only a live process answers).  Unanswered, it is
 * gone (stopped by its operator, say), and this process takes the id back:
 * a generation above the newer one's, probing again, so the cluster sees
 * it alive within a few heartbeats instead of never. */
static void superseded_tick(struct gossip *g)
{
    if (g->move_past_ms && g->now >= g->move_past_ms) {
        g->move_past_ms = 0;
        g->life.end = END_NONE;
        g_log(g, GOSSIP_LOG_WARN, "node id %llu: the newer process with this id no longer answers: this one "
              "takes the id back", (unsigned long long)g->self_id);
        move_past(g, g->superseded_gen > g->move_past_gen ? g->superseded_gen : g->move_past_gen);
        return;
    }
    if (!g->move_past_ms && g->now >= g->superseded_next_ms) {
        g->superseded_next_ms = g->now + g->cfg.reconnect_interval_ms;
        g->conflict_next_ms = 0;
        conflict_challenge(g, &g->superseded_addr);
        g->move_past_ms = g->now + g->cfg.heartbeat_ms + g->cfg.probe_timeout_ms;
    }
}

void merge_move_past_tick(struct gossip *g)
{
    if (g->life.end == END_SUPERSEDED) {
        superseded_tick(g);
        return;
    }
    if (!g->move_past_ms || g->now < g->move_past_ms)
        return;
    g->move_past_ms = 0;
    /* nobody answered the challenge there: that life is gone */
    if (g->life.end == END_NONE)
        move_past(g, g->move_past_gen);
}

uint64_t merge_move_past_due(const struct gossip *g)
{
    if (g->life.end == END_SUPERSEDED)
        return g->move_past_ms ? g->move_past_ms : g->superseded_next_ms;
    return g->move_past_ms ? g->move_past_ms : UINT64_MAX;
}

static void apply_self_record(struct gossip *g, const struct wire_member *r, const gaddr_t *from, uint64_t sender)
{
    if (lc_leaving(g) || g->life.end == END_SUPERSEDED)
        return;
    if (r->generation > g->generation) {
        /* A later life of our id: another live process with it (a
         * conflict), or a life of ours the clock has not caught up with.
         * Hearsay is not trusted either way: at our own address it can
         * only be ours; elsewhere a live process must answer a challenge,
         * and if none does within a heartbeat we move past it. */
        if (!addr_is_unspecified(&r->addr) && !addr_is_unspecified(&g->self_addr) &&
            addr_equal(&r->addr, &g->self_addr)) {
            move_past(g, r->generation);
            return;
        }
        const gaddr_t *at = !addr_is_unspecified(&r->addr) ? &r->addr : (sender == g->self_id ? from : NULL);
        if (r->generation > g->move_past_gen || !g->move_past_ms)
            g->move_past_gen = r->generation > g->move_past_gen ? r->generation : g->move_past_gen;
        if (at)
            conflict_challenge(g, at);
        if (!g->move_past_ms)
            g->move_past_ms = g->now + g->cfg.heartbeat_ms + g->cfg.probe_timeout_ms;
        return;
    }
    if (r->generation < g->generation || r->version < g->version ||
        (r->state == GOSSIP_ALIVE && r->version == g->version))
        return; /* our previous life, or nothing to refute */
    /* Lifeguard: refute at once with a higher incarnation; being
     * suspected hints that we are the slow one.  A live record with a
     * version we never had (a life before ours with the same configured
     * generation) is overtaken the same way, silently. */
    if (r->version + 1 >= VERSION_MAX)
        move_past(g, g->generation);
    else
        g->version = r->version + 1;
    announce_self(g);
    if (r->state != GOSSIP_ALIVE) {
        g->stats.refutations++;
        awareness_apply(g, 1);
    }
}

/* A record no clock can explain: a generation beyond our clock plus the
 * allowed skew (a day by default), or a
 * version a refutation could not raise.  Taking it would hold that id
 * above every life it can start. */
static bool implausible(const struct gossip *g, const struct wire_member *r)
{
    uint64_t wall = g->wall0_ms + (g->now - g->now0_ms) + g->cfg.max_clock_skew_ms;
    uint64_t max_gen = wall >= (UINT64_MAX >> 16) ? UINT64_MAX : (wall << 16 | 0xffffu);
    return r->generation > max_gen || r->version >= VERSION_MAX;
}

bool merge_plausible(const struct gossip *g, const struct wire_member *r)
{
    return !implausible(g, r);
}

/* Event ids grow within one life of an origin (generation + sequence),
 * and across lives only as far as generations do.  A life whose
 * generation lies below the ids we remember of its origin (a restart with
 * the clock behind, once the earlier life was reaped) would have every
 * event refused as seen: that memory belongs to another life and goes.
 * (Replays of the earlier life's events stay refused by the envelope;
 * hearsay of them by the seen ring.) */
static void events_new_life(struct gossip *g, uint64_t origin, uint64_t generation)
{
    for (unsigned i = 0; i < MAX_EVENT_ORIGINS; i++) {
        struct event_origin *o = &g->origins[i];
        if (o->used_ms && o->origin == origin && o->w.top > generation &&
            o->w.top - generation > EVENT_SEQ_SPAN)
            *o = (struct event_origin){0};
    }
}

/* We are leaving and have just learned of a life that started after our
 * goodbye went out (a member that restarted or joined meanwhile): it has
 * not heard the goodbye, and our gossip of it may be spent before it is
 * picked, so it gets our record now.  Without it, a restarted node learns
 * of us later as a suspect, from nodes the goodbye did not reach, and
 * declares a node failed that left (swarm seed 433).  At most 64, as
 * gossip_leave() tells at most 64 directly: a full view received while
 * leaving must not turn into a datagram per member. */
static void goodbye_to(struct gossip *g, const struct member *m)
{
    if (!lc_leaving(g) || g->late_goodbyes >= 64)
        return;
    g->late_goodbyes++;
    struct wire_msg hdr = {.type = WIRE_GOSSIP};
    gaddr_t to = m->addr;
    msg_send(g, &to, m->id, &hdr, NULL, true);
}

/* A member speaks with an older incarnation of itself than the one we
 * hold: it restarted with its clock behind (or with the same generation)
 * and does not know what the cluster remembers of its life before.  Our
 * record tells it, over this fresh authenticated exchange, and it moves
 * past (apply_self_record()); nobody would tell it otherwise until a
 * full-view exchange.  At most ten a heartbeat. */
static void tell_behind(struct gossip *g, const struct member *m)
{
    if (g->now < g->tell_next_ms)
        return;
    g->tell_next_ms = g->now + g->cfg.heartbeat_ms / 10;
    /* the answer to this datagram carries it (dispatch.c): in the same
     * datagram as an ack, so the member learns of its earlier life before
     * it reads the ack (a hand-back gate must not pass on an ack from a
     * node that still holds that life for newer) */
    g->tell_member = m->id;
    g->tell_pending = true;
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
    if (implausible(g, r)) {
        if (g_drop(g, &g->stats.drop_implausible, DR_IMPLAUSIBLE))
            g_drop_log(g, DR_IMPLAUSIBLE,
                       "record of node %llu from node %llu refused: generation %llu or version %u is implausible",
                       (unsigned long long)r->id, (unsigned long long)sender, (unsigned long long)r->generation,
                       r->version);
        return;
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
        if (r->state == GOSSIP_LEFT || (r->state == GOSSIP_FAILED && source == FROM_VIEW))
            departed_note(&g->departed, r->id, r->generation, r->version, g->now + g->cfg.reap_ms,
                          r->state == GOSSIP_LEFT);
        if (r->state >= GOSSIP_FAILED)
            return; /* do not learn the dead (nor a softened failure of one we reaped) */
        if (departed_covers(&g->departed, r->id, r->generation, r->version, g->now))
            return; /* a stale record of a life whose goodbye we heard (lives.h) */
        if (g->members.n >= g->cfg.max_members) {
            if (g_drop(g, &g->stats.drop_full, DR_FULL))
                g_drop_log(g, DR_FULL, "member table full (%u): refusing node %llu", g->cfg.max_members,
                           (unsigned long long)r->id);
            return;
        }
        m = members_add(&g->members, r->id);
        if (!m)
            return;
        (void)lives_take(&g->lives, r->id, &m->life); /* a stranger we spoke with already */
        m->generation = r->generation;
        m->version = r->version;
        m->addr = addr;
        m->state = GOSSIP_ALIVE;
        events_new_life(g, r->id, r->generation);
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
        goodbye_to(g, m);
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
        if (r->id == sender && from && source != FROM_HOST &&
            incarnation_cmp(r->generation, r->version, m->generation, m->version) < 0)
            tell_behind(g, m);
        if (state == GOSSIP_SUSPECT && m->state == GOSSIP_SUSPECT &&
            incarnation_cmp(r->generation, r->version, m->generation, m->version) == 0)
            suspicion_confirm(g, m, accuser);
        return;
    }
    bool restarted = r->generation > m->generation;
    if (restarted)
        events_new_life(g, r->id, r->generation);
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
    if (restarted && state <= GOSSIP_SUSPECT)
        goodbye_to(g, m);
    if (restarted && old <= GOSSIP_SUSPECT && !addr_equal(&old_addr, &m->addr)) {
        /* A new life somewhere else: a restart that moved, or a second
         * process with the same id.  Tell the old address; if the old
         * process still runs, it challenges the new one and both report
         * the conflict. */
        struct wire_msg hdr = {.type = WIRE_GOSSIP};
        msg_send_any(g, &old_addr, &hdr, m); /* whoever answers there */
    }
    if (source != FROM_HOST)
        queue_fresh(g, r->id);
}

int merge_restore(struct gossip *g, const struct wire_member *r)
{
    if (implausible(g, r))
        return GOSSIP_EINVAL;
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
    if (e->origin == g->self_id && e->event_id > g->gen_at_start && e->event_id <= g->generation + g->event_seq)
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

void conflict_on_self_id(struct gossip *g, const struct inbound *in)
{
    const struct env_header *h = &in->h;
    if (!in->cookie) {
        /* a DATA or HELLO of another life with our id: ask it to prove it
         * is alive (a recording cannot) */
        conflict_challenge(g, &in->from);
        return;
    }
    if (!g->conflict_seq || in->cookie_seq != g->conflict_seq)
        return;
    g->conflict_seq = 0;
    g->move_past_ms = 0; /* a live process, not a past life of ours */
    uint64_t other = life_fingerprint(h->session);
    if (other == g->conflict_reported)
        return;
    g->conflict_reported = other;
    g->stats.conflicts++;
    g_log(g, GOSSIP_LOG_ERROR, "node id %llu is also used by another live process",
          (unsigned long long)g->self_id);
    struct member them = {.id = g->self_id, .generation = h->generation, .addr = in->from,
                          .state = GOSSIP_ALIVE, .state_ms = g->now};
    g_emit_member(g, GOSSIP_EVENT_CONFLICT, &them);
    if (h->generation > g->generation) {
        /* the cluster follows the newer life; accusing everybody from
         * here would only add noise */
        if (g->life.end == END_NONE) {
            g->life.end = END_SUPERSEDED;
            g->superseded_addr = in->from;
            g->superseded_gen = h->generation;
            g->superseded_next_ms = g->now + g->cfg.reconnect_interval_ms;
        }
        g_log(g, GOSSIP_LOG_ERROR, "node id %llu: a newer process took over; this one stops probing",
              (unsigned long long)g->self_id);
    }
}
