/*
 * An opened message acted on (see dispatch.h).  What its records mean is
 * merge.c's business, the failure detector's answers probe.c's; this file
 * only routes, answers and keeps the joining state.
 */
#include "dispatch.h"

#include "deliver.h"
#include "merge.h"
#include "message.h"
#include "probe.h"
#include "query.h"

/* A member that speaks to us without our knowing it: its join passed us by
 * (gossip misses a pair now and then, about e^-limit of them, and in a big
 * cluster nothing else would tell us soon: its probes reach us once in n
 * periods, the full-view exchange once in hours).  Ask it for its record;
 * the ack brings it.  At most one question per tenth of a heartbeat, and
 * none while the table is full. */
static void ask_who(struct gossip *g, const gaddr_t *from, uint64_t sender)
{
    if (g->now < g->who_next_ms || g->members.n >= g->cfg.max_members)
        return;
    g->who_next_ms = g->now + g->cfg.heartbeat_ms / 10;
    struct wire_msg ping = {.type = WIRE_PING, .flags = WIRE_F_WHO, .seq = ++g->seq, .target = sender};
    msg_send(g, from, sender, &ping, NULL, false);
}

/* A full view (thousands of records) goes only to an address that proved
 * it receives there, and once per heartbeat per life at that address: a
 * recorded or spoofed request cannot turn us into an amplifier (issue 11),
 * while a process restarted at the same address (twice in a millisecond,
 * say) still gets the view it joins with. */
static bool view_reply_allowed(struct gossip *g, const struct inbound *in)
{
    if (!in->validated) {
        g->stats.replies_limited++;
        return false;
    }
    uint64_t life = life_fingerprint(in->h.session);
    unsigned free_slot = VIEW_REPLY_SLOTS, oldest = 0;
    for (unsigned i = 0; i < VIEW_REPLY_SLOTS; i++) {
        if (g->view_replies[i].at_ms && g->view_replies[i].life == life &&
            addr_equal(&g->view_replies[i].to, &in->from)) {
            if (g->now - g->view_replies[i].at_ms < g->cfg.heartbeat_ms) {
                g->stats.replies_limited++;
                return false;
            }
            free_slot = i;
            break;
        }
        if (!g->view_replies[i].at_ms && free_slot == VIEW_REPLY_SLOTS)
            free_slot = i;
        if (g->view_replies[i].at_ms < g->view_replies[oldest].at_ms)
            oldest = i;
    }
    unsigned k = free_slot < VIEW_REPLY_SLOTS ? free_slot : oldest;
    g->view_replies[k].to = in->from;
    g->view_replies[k].life = life;
    g->view_replies[k].at_ms = g->now ? g->now : 1;
    return true;
}

static bool recover_queued(const struct gossip *g, uint64_t id)
{
    for (unsigned i = 0; i < g->n_recover; i++)
        if (g->recover[i] == id)
            return true;
    return false;
}

/* The record merge.c asked us to show its member (tell_behind()), if that
 * member sent this datagram; once. */
static const struct member *tell_now(struct gossip *g, uint64_t sender)
{
    if (!g->tell_pending || g->tell_member != sender)
        return NULL;
    g->tell_pending = false;
    return members_get(&g->members, sender);
}

/* A COOKIE answered our HELLO: the sender is alive and its life known; as
 * an ack it answers the probe whose seq it carries. */
static void on_cookie(struct gossip *g, const struct inbound *in)
{
    struct member *m = members_get(&g->members, in->h.sender);
    if (m)
        member_heard(m, g->now);
    if (!in->cookie_seq)
        return;
    if (!relay_on_ack(g, in->cookie_seq))
        probe_on_ack(g, in->cookie_seq);
    roles_on_ack(g, in->h.sender, in->cookie_seq, false);
}

void dispatch(struct gossip *g, const struct inbound *in, enum open_verdict verdict)
{
    const gaddr_t *from = &in->from;
    const struct env_header *h = &in->h;
    if (verdict == OPEN_SELF_ID) {
        conflict_on_self_id(g, in);
        return;
    }
    if (verdict == OPEN_COOKIE) {
        on_cookie(g, in);
        return;
    }
    if (verdict == OPEN_OTHER_LIFE) {
        /* whoever answers there learns the record we hold: a live older
         * process then challenges the newer one, and both report the
         * conflict.  Once per heartbeat. */
        if (in->m && g->now >= g->show_next_ms) {
            g->show_next_ms = g->now + g->cfg.heartbeat_ms;
            struct wire_msg hdr = {.type = WIRE_GOSSIP};
            msg_send_any(g, from, &hdr, in->m);
        }
        return;
    }
    if (verdict != OPEN_OK)
        return;
    if (in->new_life)
        probe_on_new_life(g, h->sender);
    const struct wire_msg *msg = in->msg;
    struct member *m = in->m;
    /* authentic, fresh and from the life we know (open.c) */
    if (m)
        member_heard(m, g->now);
    if (g->life.phase < PHASE_JOINED)
        g->life.phase = PHASE_JOINED;
    if (!lc_has_view(g) && msg->type == WIRE_SYNC) {
        g->life.phase = PHASE_VIEW_NEW;
        g->life.absorb_until = g->now + g->cfg.heartbeat_ms;
        /* one early exchange with a random member: whatever joined while we
         * did (a cluster forming at once) and missed us both is repaired in
         * seconds instead of at the first regular exchange */
        g->life.early_sync_ms = g->now + 2ull * g->cfg.heartbeat_ms + rng_below(&g->rng, g->cfg.heartbeat_ms);
        g->life.failover_ms = g->life.early_sync_ms + g->cfg.heartbeat_ms;
        g->life.view_ms = g->now;
        roles_recompute(g); /* roles with a list may now fail over */
    }

    enum record_source source = msg->type == WIRE_SYNC ? FROM_VIEW : FROM_GOSSIP;
    for (unsigned i = 0; i < msg->n_members; i++)
        merge_record(g, &msg->members[i], from, h->sender, source);
    if (!m && (m = members_get(&g->members, h->sender)) != NULL)
        member_heard(m, g->now);
    for (unsigned i = 0; i < msg->n_events; i++)
        merge_event(g, &msg->events[i]);

    switch (msg->type) {
    case WIRE_PING:
        /* it knows a cluster and we have no view yet (the seed's answer
         * did not come: lost, or a one-way cut): pull its view, once */
        if (!lc_has_view(g) && g->n_recover < MAX_RECOVER && !recover_queued(g, h->sender))
            g->recover[g->n_recover++] = h->sender;
        if ((msg->flags & WIRE_F_ANY) || msg->target == g->self_id) {
            /* our own record rides along while it can matter: a prober that
             * suspects us, or missed our last change (a refutation, a
             * restart, new metadata) is repaired by the answer; in a quiet
             * cluster the ack stays small */
            bool recent = g->now - g->self_changed_ms < SELF_NEWS_HEARTBEATS * (uint64_t)g->cfg.heartbeat_ms;
            struct wire_msg ack = {.type = WIRE_ACK, .seq = msg->seq};
            const struct member *told = tell_now(g, h->sender);
            msg_send(g, from, h->sender, &ack, told, recent || (msg->flags & (WIRE_F_SUSPECT | WIRE_F_WHO)));
        }
        break;
    case WIRE_ACK:
        if (!relay_on_ack(g, msg->seq))
            probe_on_ack(g, msg->seq);
        roles_on_ack(g, h->sender, msg->seq, true);
        break;
    case WIRE_PING_REQ:
        probe_on_ping_req(g, from, h->sender, msg);
        break;
    case WIRE_NACK:
        probe_on_nack(g, msg->seq);
        break;
    case WIRE_RESPONSE:
        query_on_answer(g, h->sender, msg->target, msg->body, msg->body_len);
        break;
    case WIRE_SYNC:
        if ((msg->flags & WIRE_F_SETTLED) && !g->life.established) {
            g->life.established = true; /* lc_settled(): QUORUM roles may be decided now */
            roles_recompute(g);
        }
        if ((msg->flags & WIRE_F_REPLY) && view_reply_allowed(g, in))
            msg_send_sync(g, from, h->sender, false, (msg->flags & WIRE_F_RECENT) ? msg->seq : 0);
        break;
    default:
        break;
    }
    /* A member we do not know, or hold failed or left, speaks to us: a life
     * whose record has not reached us (gossip missed us: swarm and the
     * rolling bench saw a restarted node reach every node but one, which
     * learned of it seconds later by anti-entropy).  Ask for its record. */
    const struct member *speaker = members_get(&g->members, h->sender); /* (`m` may have moved: merges add) */
    if ((!speaker || speaker->state >= GOSSIP_FAILED) && lc_has_view(g))
        ask_who(g, from, h->sender);
    const struct member *told = tell_now(g, h->sender);
    if (told) {
        struct wire_msg hdr = {.type = WIRE_GOSSIP};
        msg_send(g, from, h->sender, &hdr, told, false);
    }
}
