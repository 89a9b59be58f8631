/*
 * Member and cluster events and role changes for the host (see
 * deliver.h): queued while the library works, delivered by g_deliver() at
 * the end of each entry point.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "message.h"
#include "roles.h"

/* ---- events ------------------------------------------------------------------ */

static struct pending_event *pe_push(struct gossip *g)
{
    if (g->pe_n == g->pe_cap) {
        uint32_t cap = g->pe_cap ? g->pe_cap * 2 : 16;
        struct pending_event *v = realloc(g->pe, cap * sizeof(*v));
        if (!v)
            return NULL;
        g->pe = v;
        g->pe_cap = cap;
    }
    struct pending_event *e = &g->pe[g->pe_n++];
    memset(e, 0, sizeof(*e));
    return e;
}

void addr_fill_member(const gaddr_t *a, struct gossip_member *out)
{
    (void)addr_to_sockaddr(a, a->family == 4 ? AF_INET : AF_INET6, &out->addr, &out->addr_len);
}

void g_emit_member(struct gossip *g, enum gossip_event ev, const struct member *m)
{
    if (!g->cfg.cb.member)
        return;
    struct pending_event *e = pe_push(g);
    if (!e) {
        /* no memory to tell the host: counted, so a host can notice its
         * view may be behind and read it again (gossip_member_foreach()) */
        g->stats.events_lost++;
        return;
    }
    e->kind = PE_MEMBER;
    e->event = ev;
    e->m.id = m->id;
    e->m.state = m->state;
    e->m.generation = m->generation;
    e->m.version = m->version;
    e->m.state_since_ms = m->state_ms;
    e->m.is_self = m->id == g->self_id;
    e->m.draining = (m->flags & MEMBER_DRAINING) != 0;
    addr_fill_member(&m->addr, &e->m);
}

void g_emit_user(struct gossip *g, uint64_t origin, const void *data, size_t len)
{
    g->stats.events_delivered++;
    if (!g->cfg.cb.user_event)
        return;
    uint8_t *copy = malloc(len ? len : 1);
    struct pending_event *e = copy ? pe_push(g) : NULL;
    if (!e) {
        free(copy);
        g->stats.events_lost++;
        return;
    }
    memcpy(copy, data, len);
    e->kind = PE_USER;
    e->origin = origin;
    e->data = copy;
    e->len = len;
}

void g_emit_query(struct gossip *g, int kind, uint64_t id, uint64_t peer, const void *data, size_t len)
{
    if ((kind == PE_QUERY && !g->qh.query) || (kind == PE_ANSWER && !g->qh.response) ||
        (kind == PE_QUERY_DONE && !g->qh.done))
        return;
    uint8_t *copy = NULL;
    if (kind != PE_QUERY_DONE && !(copy = malloc(len ? len : 1))) {
        g->stats.events_lost++;
        return;
    }
    struct pending_event *e = pe_push(g);
    if (!e) {
        free(copy);
        g->stats.events_lost++;
        return;
    }
    if (copy && len)
        memcpy(copy, data, len);
    e->kind = kind;
    e->id = id;
    e->origin = peer;
    e->data = copy;
    e->len = len;
}

/* ---- roles ----------------------------------------------------------------- */

static bool roles_need_view(const struct gossip *g)
{
    for (unsigned i = 0; i < g->cfg.n_roles; i++)
        if (g->cfg.roles[i].n_nodes || (g->cfg.roles[i].flags & GOSSIP_ROLE_QUORUM))
            return true;
    return false;
}

/*
 * The view as roles.c decides from it: ourselves first, every member, then
 * every node a role lists that the view has no record of, as failed.  A
 * node that (re)starts learns only the live members (nobody passes on the
 * failed or left ones), and a QUORUM majority counted over those alone let
 * a restart on the minority side hold a role beside the majority's
 * holder.  The role lists are configuration, the same on every node: the
 * nodes they name are members until they are known to have left, so they
 * count against the majority whether this life has heard of them or not.
 */
struct roles_member *roles_view_build(const struct gossip *g, size_t *n)
{
    size_t listed_n = 0;
    for (unsigned i = 0; i < g->cfg.n_roles; i++)
        listed_n += g->cfg.roles[i].n_nodes;
    *n = 0;
    uint64_t dead[DEPARTED_MAX];
    size_t n_dead = departed_failed(&g->departed, &g->members, g->now, dead, DEPARTED_MAX);
    struct roles_member *v = malloc(((size_t)g->members.n + 1 + n_dead + listed_n) * sizeof(*v));
    if (!v)
        return NULL;
    v[(*n)++] = (struct roles_member){g->self_id, g->self_state, g->self_draining};
    for (uint32_t i = 0; i < g->members.n; i++) {
        const struct member *m = &g->members.v[i];
        v[(*n)++] = (struct roles_member){m->id, m->state, (m->flags & MEMBER_DRAINING) != 0};
    }
    size_t known = *n;
    /* the failed members a full view named, which we do not take as
     * members: they count against the majority all the same (lives.h) */
    for (size_t i = 0; i < n_dead; i++)
        if (dead[i] != g->self_id)
            v[(*n)++] = (struct roles_member){dead[i], GOSSIP_FAILED, false};
    for (unsigned i = 0; i < g->cfg.n_roles; i++)
        for (unsigned k = 0; k < g->cfg.roles[i].n_nodes; k++) {
            uint64_t id = g->cfg.roles[i].nodes[k];
            bool seen = id == g->self_id || members_get(&g->members, id) != NULL;
            for (size_t j = known; j < *n && !seen; j++)
                seen = v[j].id == id;
            if (!seen)
                v[(*n)++] = (struct roles_member){id, GOSSIP_FAILED, false};
        }
    return v;
}

/* The view as roles.c wants it; NULL (and *n = 0) when no role depends on it. */
static struct roles_member *roles_view(const struct gossip *g, size_t *n)
{
    *n = 0;
    if (!roles_need_view(g))
        return NULL;
    return roles_view_build(g, n);
}

static bool listed(const struct gossip_role *r, uint64_t id)
{
    for (unsigned i = 0; i < r->n_nodes; i++)
        if (r->nodes[i] == id)
            return true;
    return false;
}

/*
 * The quorum lease.  A view that still shows the other side of a partition
 * alive is not enough for a QUORUM role: the majority side takes a role
 * over as soon as it declares the old holder failed, while the holder may
 * not have noticed anything yet.  So a holder also needs to have *heard*
 * from a strict majority within the lease (one heartbeat).  The majority
 * cannot declare it failed sooner than probe timeout + indirect timeout +
 * the minimum suspicion (at least one heartbeat) after the cut, which is
 * longer than the lease: the minority holder always lets go first.
 * Only members live in our view count (see below), and taking a role
 * over from a node that holds it by failover waits for that node's ack
 * (handback_gate()).
 */
static bool quorum_lease(const struct gossip *g)
{
    size_t heard = 1; /* ourselves */
    size_t total = 1 + departed_failed(&g->departed, &g->members, g->now, NULL, 0);
    for (uint32_t i = 0; i < g->members.n; i++) {
        const struct member *m = &g->members.v[i];
        if (m->state == GOSSIP_LEFT)
            continue;
        total++;
        /* only members live in our view count as heard: right after a
         * partition heals we hear the other side before our view has
         * taken it back, and a lease from that would let us take a role
         * its failover holder still has */
        heard += m->state <= GOSSIP_SUSPECT && g->now - m->heard_ms < g->cfg.heartbeat_ms;
    }
    return 2 * heard > total;
}

static void roles_update(struct gossip *g);

static int heard_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* When the lease runs out if nothing more is heard: the heard time of the
 * member whose answer keeps the majority, plus one heartbeat.  UINT64_MAX
 * when it cannot run out (we are the majority alone) or already has (an
 * answer then brings it back: roles_on_ack()). */
static uint64_t quorum_lease_end(const struct gossip *g)
{
    size_t total = 1 + departed_failed(&g->departed, &g->members, g->now, NULL, 0), k = 0;
    for (uint32_t i = 0; i < g->members.n; i++)
        total += g->members.v[i].state != GOSSIP_LEFT;
    size_t need = total / 2; /* others besides us: 2 * (need + 1) > total */
    if (need == 0 || g->members.n == 0)
        return UINT64_MAX; /* (no member: the failures a view named are the majority; ours ran out) */
    uint64_t *t = malloc((size_t)g->members.n * sizeof(*t));
    if (!t)
        return g->now + 1; /* no memory: check again soon rather than late */
    for (uint32_t i = 0; i < g->members.n; i++) {
        const struct member *m = &g->members.v[i];
        if (m->state <= GOSSIP_SUSPECT && g->now - m->heard_ms < g->cfg.heartbeat_ms)
            t[k++] = m->heard_ms;
    }
    uint64_t end = UINT64_MAX;
    if (k >= need) {
        qsort(t, k, sizeof(*t), heard_desc);
        end = t[need - 1] + g->cfg.heartbeat_ms;
    }
    free(t);
    return end;
}

/*
 * Keep the lease fresh, every half heartbeat.  A lease ping is answered a
 * round trip later, and the lease needs an answer within one heartbeat of
 * the last one: asking only members not heard from for half a heartbeat
 * lost the lease whenever the round trip exceeded the other half.  A member
 * is skipped only when heard so recently that a ping at the next round,
 * answered within the probe timeout (the round trip of a healthy link, as
 * the failure detector assumes), still comes back in time:
 * heard + period + probe timeout < heard + heartbeat.  With a probe
 * timeout of half a heartbeat or more every live member is asked at every
 * round, and the answers, one per round in flight, keep the lease.
 * The next round is also brought forward to the moment the lease would
 * run out, so that a holder lets go right then, not up to half a
 * heartbeat later.
 */
void roles_quorum_tick(struct gossip *g)
{
    uint32_t half = g->cfg.heartbeat_ms / 2;
    uint64_t period = half ? half : 1;
    uint64_t margin = period + g->cfg.probe_timeout_ms + 1;
    uint64_t fresh = g->cfg.heartbeat_ms > margin ? g->cfg.heartbeat_ms - margin : 0;
    for (uint32_t i = 0; i < g->members.n; i++) {
        struct member *m = &g->members.v[i];
        if (m->state > GOSSIP_SUSPECT || g->now - m->heard_ms < fresh)
            continue;
        struct wire_msg hdr = {.type = WIRE_PING, .seq = ++g->seq, .target = m->id};
        gaddr_t to = m->addr;
        msg_send(g, &to, m->id, &hdr, NULL, false);
    }
    uint64_t end = quorum_lease_end(g);
    g->next_quorum = end < g->now + period ? end : g->now + period;
    /* decided here, inside the tick, not at delivery: what the decision
     * sends (a hand-back handshake, its pings and gossip) then leaves with
     * this tick's transmit, instead of waiting for another wakeup that the
     * host is told is due at once */
    if (g->life.ticked)
        roles_update(g);
    else
        roles_recompute(g);
}

void roles_recompute(struct gossip *g)
{
    g->roles_dirty = true;
}

/* Our holder in a view without us: 1 and *holder = the node that holds role
 * r by failover while we are gone; 0 when there is none (or only listed
 * ones: listed holders may hold together by design); -1 when that cannot be
 * told yet.  (Not an id with special values: 0 is a valid node id.)  A member we have heard from within the lease but still hold
 * failed means our view has not merged with the other side's yet (a
 * partition just healed): its failover holder may be one we count as
 * dead, so we wait until the view agrees with what we hear (or for
 * memory). */
static int failover_holder(const struct gossip *g, const struct gossip_role *r, const struct roles_member *view,
                           size_t n, uint64_t *holder)
{
    for (uint32_t k = 0; k < g->members.n; k++) {
        const struct member *m = &g->members.v[k];
        if (m->state == GOSSIP_FAILED && g->now - m->heard_ms < g->cfg.heartbeat_ms)
            return -1;
    }
    struct roles_member *v = malloc(n * sizeof(*v));
    if (!v)
        return -1;
    memcpy(v, view, n * sizeof(*v));
    v[0].state = GOSSIP_LEFT; /* v[0] is self (roles_view()) */
    /* A member failed in our view may have left in the holder's: its
     * goodbye may not have reached us (we may have just started, and a
     * listed node we never heard of is in the view as failed), and a left
     * member does not count against the majority.  So count it as left:
     * the majority test below then errs towards finding a holder, and the
     * gate waits for one ack more rather than let two nodes hold at once
     * (swarm seed 270: the holder knew the third node had left, we held it
     * failed, and without us our view showed no majority). */
    size_t live = 0;
    for (size_t k = 1; k < n; k++) {
        if (v[k].state == GOSSIP_FAILED)
            v[k].state = GOSSIP_LEFT;
        live += v[k].state <= GOSSIP_SUSPECT;
    }
    if (live == 0) {
        /* without us nobody is live: nobody else can hold it */
        free(v);
        return 0;
    }
    uint64_t ids[4];
    size_t cnt = roles_holders(r, v, n, ids, 4);
    for (size_t j = 0; j < cnt && j < 4; j++)
        if (ids[j] != g->self_id && !listed(r, ids[j])) {
            *holder = ids[j];
            free(v);
            return 1;
        }
    /* None by our view.  But a member we only suspect may have been
     * declared failed by the majority, which then moved the role to a
     * failover holder: name that one too, so that a take from it (a listed
     * node back after a heal, next to a listed node still suspect) waits
     * for its ack as well.  The same for the other listed nodes, even
     * those alive in our view: the holder's view may hold them failed
     * (both were on the minority side of a partition; after the heal we
     * have heard from our partner all along, the holder not yet: swarm
     * seed 1012).  (Without the QUORUM rule: it is who would hold it, not
     * whether our view has a majority.) */
    struct gossip_role plain = *r;
    plain.flags &= ~GOSSIP_ROLE_QUORUM;
    for (size_t k = 1; k < n; k++)
        if (v[k].state == GOSSIP_SUSPECT || (v[k].state == GOSSIP_ALIVE && listed(r, v[k].id)))
            v[k].state = GOSSIP_FAILED;
    cnt = roles_holders(&plain, v, n, ids, 4);
    free(v);
    for (size_t j = 0; j < cnt && j < 4; j++)
        if (ids[j] != g->self_id && !listed(r, ids[j])) {
            *holder = ids[j];
            return 1;
        }
    return 0;
}

/* May we take QUORUM role i now?  See struct handback. */
static bool handback_gate(struct gossip *g, unsigned i, struct roles_member *view, size_t n)
{
    struct handback *hb = &g->handback[i];
    if (!hb->verified) {
        bool any_failed = false;
        for (uint32_t k = 0; k < g->members.n && !any_failed; k++)
            any_failed = g->members.v[k].state == GOSSIP_FAILED;
        if (any_failed && !hb->verify_until) {
            /* ask every member we hold failed, with its failure attached
             * (as reconnection does): a live one refutes at once */
            unsigned asked = 0;
            for (uint32_t k = 0; k < g->members.n && asked < 16; k++) {
                const struct member *m = &g->members.v[k];
                if (m->state != GOSSIP_FAILED)
                    continue;
                struct wire_msg ping = {.type = WIRE_PING, .seq = ++g->seq, .target = m->id};
                gaddr_t to = m->addr;
                msg_send(g, &to, m->id, &ping, m, true);
                asked++;
            }
            hb->verify_until = g->now + g->cfg.probe_timeout_ms + g->cfg.indirect_timeout_ms;
        }
        if (any_failed && g->now < hb->verify_until)
            return false;
        hb->verified = true;
    }
    uint64_t peer = 0;
    int found = view ? failover_holder(g, &g->cfg.roles[i], view, n, &peer) : 0;
    if (found == 0) {
        hb->active = false;
        return true;
    }
    if (found < 0)
        return false;
    /* A new generation (we moved past an earlier life of ours, which the
     * holder may still have taken for newer than the record we raised)
     * starts the gate again: only an ack of a ping carrying the record we
     * hold now proves that the holder let go. */
    if (!hb->active || hb->peer != peer || hb->generation != g->generation) {
        *hb = (struct handback){.peer = peer, .active = true, .verified = true, .generation = g->generation};
        g->version++;
        g->self_changed_ms = g->now;
        (void)dissem_member(&g->dq, g->self_id);
        msg_gossip_now(g);
        hb->min_version = g->version;
    }
    /* The ack must be of a ping that carried our current version: a
     * refutation during the gate (the holder still held us failed, and its
     * answer said so) raised it again, and the holder has let go only once
     * it has taken a record at least that new. */
    if (hb->acked && hb->acked_version >= hb->min_version && hb->acked_version >= g->version)
        return true;
    const struct member *m = members_get(&g->members, peer);
    if (m && g->now >= hb->next_ms) {
        hb->seq = ++g->seq;
        hb->sent_version = g->version;
        uint32_t half = g->cfg.heartbeat_ms / 2;
        hb->next_ms = g->now + (half ? half : 1);
        struct wire_msg ping = {.type = WIRE_PING, .seq = hb->seq, .target = peer};
        gaddr_t to = m->addr;
        msg_send(g, &to, m->id, &ping, NULL, true);
    }
    return false;
}

void roles_on_ack(struct gossip *g, uint64_t sender, uint32_t seq, bool ping_read)
{
    /* the answer to a lease ping: a QUORUM role that waits for its lease
     * may be ours now, not only at the next lease round */
    if (g->quorum_waiting)
        roles_recompute(g);
    for (unsigned i = 0; ping_read && i < g->cfg.n_roles; i++) {
        struct handback *hb = &g->handback[i];
        if (hb->active && hb->peer == sender && hb->seq == seq) {
            hb->acked = true;
            hb->acked_version = hb->sent_version;
            roles_recompute(g);
        }
    }
}

/*
 * May our view decide a QUORUM role?  Not before we have one: alone in a
 * view of one we would be a majority of one, and a node that (re)starts on
 * the minority side of a partition, or while the failover holder still runs
 * the role, would hold it beside the real holder.  A view is a full view
 * from a member (the cluster we join), or, without seeds, five quiet
 * heartbeats (we are the cluster, maintain.c).  A first SYNC can carry no
 * record we take (a bare request for our view): that is no view yet.  And
 * it must not be a fragment (lc_settled()): a restarted seed node and a
 * node that joined through it would otherwise make a majority of two.
 * (Settled once told so by a settled member, not by comparing generations:
 * those are wall clocks, and a node whose clock runs an hour ahead took
 * every member for one that ran before it, swarm seed 1939.)
 */
static bool quorum_view(const struct gossip *g, uint64_t *wake)
{
    if (!lc_has_view(g))
        return false; /* the view's arrival decides again (dispatch.c) */
    if (!lc_settled(g)) {
        /* decide again when the wait is over (a merge may end it sooner) */
        uint64_t at = g->life.start_ms + g->cfg.reconnect_interval_ms + g->cfg.heartbeat_ms;
        if (at < *wake)
            *wake = at;
        return false;
    }
    return g->members.n > 0 || g->life.phase == PHASE_MEMBER;
}

/*
 * A failover role that is ours by the rendezvous rule, while our view
 * has not settled yet (a restart: lc_may_fail_over() opens 3-4 heartbeats
 * after the first view).  The node that holds it now gives it up as soon
 * as it sees us alive, so waiting left the role unheld for those seconds.
 * We take it at once when our view comes from a cluster that ran before
 * us (g->life.established: not a cold start, where views still form) and
 * names a live node that holds it without us: that node yields, and for a
 * QUORUM role the hand-back handshake (handback_gate()) makes the take
 * wait for its ack, so there is no second holder either.
 */
static bool early_failover(struct gossip *g, const struct gossip_role *r, const struct roles_member *view,
                           size_t n, uint64_t *wake)
{
    uint64_t holder = 0;
    if (!view || !lc_has_view(g) || !g->life.established ||
        failover_holder(g, r, view, n, &holder) != 1)
        return false;
    /* The first view comes in datagram-sized chunks, and roles are decided
     * after each: the first chunk alone can name as holder a node that
     * does not hold the role (the one that does is in a later chunk).  On
     * a healthy link the rest is in within a probe timeout. */
    uint64_t at = g->life.view_ms + g->cfg.probe_timeout_ms;
    if (g->now >= at)
        return true;
    if (at < *wake)
        *wake = at;
    return false;
}

/*
 * The other side of early_failover(), for a role without QUORUM: we hold it
 * by failover and a node that just came back (alive in our view for less
 * than a probe timeout and a tenth of a heartbeat) now wins it by the
 * rendezvous rule.  It takes the role a probe timeout after its first view;
 * letting go at first sight left the role unheld until then.  We keep it
 * meanwhile: two holders for a moment, as documented for roles without
 * QUORUM, rather than none.  (A QUORUM role is let go at once: the
 * newcomer takes it through the hand-back handshake, which our ack ends.)
 */
static bool keep_for_newcomer(const struct gossip *g, const struct gossip_role *r, const struct roles_member *view,
                              size_t n, uint64_t *wake)
{
    uint64_t w;
    if (!view || !r->n_nodes || (r->flags & GOSSIP_ROLE_QUORUM) || listed(r, g->self_id) ||
        roles_holders(r, view, n, &w, 1) != 1 || listed(r, w))
        return false;
    const struct member *m = members_get(&g->members, w);
    uint64_t until = m ? m->state_ms + g->cfg.probe_timeout_ms + g->cfg.heartbeat_ms / 10 : 0;
    if (!m || m->state != GOSSIP_ALIVE || g->now >= until)
        return false;
    /* would we hold it without the newcomer? */
    struct roles_member *v = malloc(n * sizeof(*v));
    if (!v)
        return false;
    memcpy(v, view, n * sizeof(*v));
    for (size_t k = 0; k < n; k++)
        if (v[k].id == w)
            v[k].state = GOSSIP_LEFT;
    bool ours = roles_held(r, v, n, g->self_id);
    free(v);
    if (ours && until < *wake)
        *wake = until;
    return ours;
}

static void roles_update(struct gossip *g)
{
    size_t n;
    struct roles_member *view = roles_view(g, &n);
    if (!view && roles_need_view(g)) {
        /* no memory for the view: deciding from our record alone could
         * take a duty another node holds; keep the roles as they are and
         * decide again at the next delivery */
        return;
    }
    g->roles_dirty = false;
    struct roles_member self_only = {g->self_id, g->self_state, g->self_draining};
    uint32_t held = 0;
    bool candidate = false;
    uint32_t waiting = 0;
    uint64_t wake = UINT64_MAX; /* an early failover becomes possible, or a kept role ends, then */
    /* The lease ran out well before this decision: no decision ran when it
     * did (the lease round's timer would have), so the process stalled,
     * and the majority may have declared us failed and moved our QUORUM
     * roles meanwhile.  What queued during the stall is read now and makes
     * the lease look fresh, so keeping the roles would hold them beside the
     * node they moved to: let them go, and take them back through the
     * hand-back handshake like any other take. */
    bool lapsed = g->quorum_candidate && g->quorum_lease_until != UINT64_MAX &&
                  g->now - g->quorum_lease_until > g->cfg.probe_timeout_ms && g->now > g->quorum_lease_until;
    for (unsigned i = 0; i < g->cfg.n_roles; i++) {
        const struct gossip_role *r = &g->cfg.roles[i];
        bool h = view ? roles_held(r, view, n, g->self_id) : roles_held(r, &self_only, 1, g->self_id);
        if (!h && (g->roles_held & (1u << i)) && keep_for_newcomer(g, r, view, n, &wake))
            h = true;
        /* alone in our view before joining, failover would pick us: a role
         * with a list waits until we know the cluster and that knowledge
         * has settled (lc_may_fail_over()), unless we are listed, or it
         * moves to us from a live holder (early_failover()) */
        if (h && r->n_nodes && !listed(r, g->self_id) && !lc_may_fail_over(g) && !early_failover(g, r, view, n, &wake))
            h = false;
        bool gating = false;
        if (h && (r->flags & GOSSIP_ROLE_QUORUM) && !quorum_view(g, &wake))
            h = false;
        if (h && (r->flags & GOSSIP_ROLE_QUORUM)) {
            candidate = true;
            h = quorum_lease(g) && !(lapsed && (g->roles_held & (1u << i)));
            if (!h)
                waiting |= 1u << i;
            if (h && !(g->roles_held & (1u << i)))
                gating = !(h = handback_gate(g, i, view, n));
        }
        /* The hand-back state lives only while a take waits for it: once
         * the role is taken, or no longer wanted (lost lease, drained,
         * a listed node back), the next take starts a new handshake.  A
         * handshake acked long ago (say at a cold start) must not let a
         * node that undrains take the role at once while the node it
         * moved to still holds it. */
        if (!gating)
            g->handback[i] = (struct handback){0};
        if (h)
            held |= 1u << i;
    }
    free(view);
    if (candidate && !g->quorum_candidate)
        g->next_quorum = g->now;
    if (wake != UINT64_MAX) {
        /* the lease round's timer decides again then */
        if (!candidate || wake < g->next_quorum)
            g->next_quorum = wake;
        candidate = true;
    }
    g->quorum_candidate = candidate;
    g->quorum_waiting = waiting;
    g->quorum_lease_until = candidate ? quorum_lease_end(g) : UINT64_MAX;
    uint32_t changed = g->roles_started ? held ^ g->roles_held : held;
    g->roles_started = true;
    /* A change counts as made only once its callback is queued: if the
     * queue cannot grow, the role keeps its reported state (so
     * gossip_role_held() still agrees with what the host was told) and
     * the change is tried again at the next delivery. */
    uint32_t reported = g->cfg.cb.role ? 0 : changed;
    for (unsigned i = 0; i < g->cfg.n_roles && g->cfg.cb.role; i++) {
        if (!(changed & (1u << i)))
            continue;
        struct pending_event *e = pe_push(g);
        if (!e) {
            g->stats.events_lost++;
            g->roles_dirty = true;
            break;
        }
        e->kind = PE_ROLE;
        e->role = i;
        e->held = (held >> i) & 1u;
        reported |= 1u << i;
    }
    g->roles_held = (g->roles_held & ~reported) | (held & reported);
}

void roles_settle(struct gossip *g)
{
    /* roles are reported from the first tick on, as documented: a call
     * right after create (set_meta, restore) must not fire them before the
     * host is ready, and gossip_role_held() says 0 until then, in step */
    if (g->roles_dirty && g->life.ticked)
        roles_update(g);
}

void g_deliver_releases(struct gossip *g)
{
    if (g->delivering || !g->cfg.cb.role || g->destroy_requested)
        return;
    bool any = false;
    for (uint32_t i = 0; i < g->pe_n && !any; i++)
        any = g->pe[i].kind == PE_ROLE && !g->pe[i].held;
    if (!any)
        return;
    /* As in g_deliver(): the host may call the library from the callback
     * (then that call's transmit step sends what is queued: the host's
     * choice). */
    bool busy = g->busy;
    g->busy = false;
    g->delivering = true;
    for (uint32_t i = 0; i < g->pe_n && !g->destroy_requested; i++) {
        if (g->pe[i].kind != PE_ROLE || g->pe[i].held)
            continue;
        unsigned role = g->pe[i].role;
        g->pe[i].kind = PE_DELIVERED;
        g->cfg.cb.role(g->cfg.cb.ud, g->cfg.roles[role].name, false);
    }
    g->delivering = false;
    g->busy = busy;
}

void g_deliver(struct gossip *g)
{
    if (g->delivering)
        return; /* the outer delivery loop picks these up */
    g->delivering = true;
    roles_settle(g); /* what the callbacks changed */
    for (uint32_t i = 0; i < g->pe_n; i++) {
        if (g->destroy_requested) {
            /* gossip_destroy() from a callback: nothing more is delivered */
            for (uint32_t k = i; k < g->pe_n; k++)
                free(g->pe[k].data);
            break;
        }
        struct pending_event e = g->pe[i]; /* callbacks may grow g->pe */
        switch (e.kind) {
        case PE_MEMBER: {
            const struct member *m = members_get(&g->members, e.m.id);
            if (m && m->meta_len && e.event != GOSSIP_EVENT_CONFLICT) {
                e.m.meta = m->meta;
                e.m.meta_len = m->meta_len;
            }
            g->cfg.cb.member(g->cfg.cb.ud, e.event, &e.m);
            break;
        }
        case PE_ROLE:
            g->cfg.cb.role(g->cfg.cb.ud, g->cfg.roles[e.role].name, e.held);
            break;
        case PE_USER:
            g->cfg.cb.user_event(g->cfg.cb.ud, e.origin, e.data, e.len);
            free(e.data);
            break;
        case PE_QUERY:
            if (g->qh.query)
                g->qh.query(g->qh.ud, e.id, e.origin, e.data, e.len);
            free(e.data);
            break;
        case PE_ANSWER:
            if (g->qh.response)
                g->qh.response(g->qh.ud, e.id, e.origin, e.data, e.len);
            free(e.data);
            break;
        case PE_QUERY_DONE:
            if (g->qh.done)
                g->qh.done(g->qh.ud, e.id, (size_t)e.origin);
            break;
        case PE_DELIVERED:
            break; /* a role release, told before the transmit step */
        }
        if (g->roles_dirty && g->life.ticked && !g->destroy_requested)
            roles_update(g);
    }
    g->pe_n = 0;
    g->delivering = false;
}
