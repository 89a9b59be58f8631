/*
 * Failure detector: SWIM probes in shuffled round robin, indirect probes
 * with Lifeguard nacks, local health awareness, and suspicion timers that
 * start long and shrink with each independent confirmation (memberlist's
 * suspicion.go and awareness.go, in one place).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#include "deliver.h"
#include "message.h"

/* ---- local health (Lifeguard) ------------------------------------------ */

void awareness_apply(struct gossip *g, int delta)
{
    int a = (int)g->awareness + delta;
    if (a < 0)
        a = 0;
    if (a > (int)g->cfg.awareness_max)
        a = (int)g->cfg.awareness_max;
    g->awareness = (unsigned)a;
    g->stats.awareness = g->awareness;
}

uint64_t probe_stall_threshold(const struct gossip *g)
{
    return g->cfg.probe_timeout_ms;
}

void probe_on_stall(struct gossip *g, uint64_t late_ms)
{
    g->stats.loop_stalls++;
    awareness_apply(g, 1);
    if (g->probe.phase != PROBE_IDLE && g->probe.deadline_ms <= g->now)
        g->probe.deadline_ms += late_ms;
    for (uint32_t i = 0; i < g->n_susp; i++) {
        struct suspicion *s = &g->susp[i];
        if (!s->used || s->deadline_ms > g->now)
            continue;
        s->deadline_ms += late_ms;
        /* the answer to a verification ping is queued behind the stall too */
        if (s->verify_until && s->verify_until <= g->now)
            s->verify_until += late_ms;
    }
}

/* A node that misses acks may be the slow one: it probes less often and
 * waits longer, instead of accusing healthy peers. */
static uint64_t scaled(const struct gossip *g, uint32_t ms)
{
    return (uint64_t)ms * (1 + g->awareness);
}

/* ---- member state ------------------------------------------------------- */

void member_set_state(struct gossip *g, struct member *m, uint8_t state, uint64_t from)
{
    if (m->state == state)
        return;
    bool was_dead = m->state >= GOSSIP_FAILED, dead = state >= GOSSIP_FAILED;
    if (was_dead != dead)
        dead ? g->members.n_dead++ : g->members.n_dead--;
    m->state = state;
    m->from = (state == GOSSIP_SUSPECT || state == GOSSIP_FAILED) ? from : 0;
    m->state_ms = g->now;
    roles_recompute(g);
    static const enum gossip_event ev[] = {GOSSIP_EVENT_ALIVE, GOSSIP_EVENT_SUSPECT, GOSSIP_EVENT_FAILED,
                                           GOSSIP_EVENT_LEFT};
    if (state == GOSSIP_FAILED)
        g->stats.failures++;
    if (state == GOSSIP_LEFT)
        g->stats.leaves++;
    g_emit_member(g, ev[state], m);
}

/* ---- suspicion ---------------------------------------------------------- */

static void suspicion_deadline(struct gossip *g, struct suspicion *s)
{
    double t = s->min_ms;
    if (s->k > 0) {
        double frac = log1p((double)s->n_confirm) / log1p((double)s->k);
        t = s->max_ms - (s->max_ms - s->min_ms) * frac;
        if (t < s->min_ms)
            t = s->min_ms;
    }
    s->deadline_ms = s->start_ms + (uint64_t)t;
    /* Confirmations shorten the wait for the others' verdicts, not the wait
     * for our own look: once the verification ping is out, its answer (or
     * its absence) decides.  A deadline pulled back below the ping's would
     * declare the member failed before its refutation could arrive. */
    if (s->verify_until)
        s->deadline_ms = s->verify_until;
    (void)g;
}

void suspicion_start(struct gossip *g, struct member *m, uint64_t accuser)
{
    if (!m || m->susp)
        return;
    uint32_t idx = 0;
    while (idx < g->n_susp && g->susp[idx].used)
        idx++;
    if (idx == g->n_susp) {
        if (g->n_susp == g->cap_susp) {
            uint32_t cap = g->cap_susp ? g->cap_susp * 2 : 8;
            struct suspicion *v = realloc(g->susp, cap * sizeof(*v));
            if (!v)
                return; /* the member stays suspect; a later probe retries */
            g->susp = v;
            g->cap_susp = cap;
        }
        g->n_susp++;
    }
    struct suspicion *s = &g->susp[idx];
    memset(s, 0, sizeof(*s));
    s->used = true;
    s->member = m->id;
    s->start_ms = g->now;
    /* min and max grow with log(n): in a large cluster an update needs more
     * rounds to reach the suspect and its refutation more to come back */
    double n = (double)g_alive_count(g);
    double min = g->cfg.suspicion_mult * log10(n + 1) * g->cfg.heartbeat_ms;
    if (min < g->cfg.heartbeat_ms)
        min = g->cfg.heartbeat_ms;
    s->min_ms = (uint32_t)min;
    s->max_ms = (uint32_t)(min * g->cfg.suspicion_max_mult);
    /* in a small cluster there are not k other members to confirm */
    unsigned k = g->cfg.suspicion_confirmations;
    if (k > SUSP_MAX_CONFIRM - 1)
        k = SUSP_MAX_CONFIRM - 1; /* the accuser list is what counts them */
    unsigned others = n > 2 ? (unsigned)n - 2 : 0;
    s->k = (uint8_t)(k < others ? k : others);
    s->accusers[0] = accuser;
    s->verified = accuser == g->self_id;
    suspicion_deadline(g, s);
    m->susp = idx + 1;
    g->stats.suspicions++;
}

void suspicion_confirm(struct gossip *g, struct member *m, uint64_t accuser)
{
    if (!m->susp)
        return;
    struct suspicion *s = &g->susp[m->susp - 1];
    if (accuser == g->self_id)
        s->verified = true;
    unsigned known = (unsigned)s->n_confirm + 1;
    for (unsigned i = 0; i < known && i < SUSP_MAX_CONFIRM; i++)
        if (s->accusers[i] == accuser)
            return;
    if (s->n_confirm >= s->k || known >= SUSP_MAX_CONFIRM)
        return;
    s->accusers[known] = accuser;
    s->n_confirm++;
    suspicion_deadline(g, s);
    /* pass the new accuser on, so that others count it too */
    m->from = accuser;
    (void)dissem_member(&g->dq, m->id);
}

void suspicion_stop(struct gossip *g, struct member *m)
{
    if (!m->susp)
        return;
    g->susp[m->susp - 1].used = false;
    m->susp = 0;
}

static void send_ping(struct gossip *g, struct member *m, uint32_t seq);

/* One direct ping before a heard suspicion may end in "failed"; the
 * deadline becomes its answer's (2 probe timeouts: there and back, and a
 * slow node waits longer), and no later confirmation shortens it. */
static void suspicion_verify(struct gossip *g, struct suspicion *s, struct member *m)
{
    s->verified = true;
    s->verify_until = g->now + 2 * scaled(g, g->cfg.probe_timeout_ms);
    s->deadline_ms = s->verify_until;
    send_ping(g, m, ++g->seq);
}

/*
 * A failure heard of: a gossiped FAILED record about a life of a member we
 * hold alive or suspect.  It may be stale -- the other side of a partition
 * that just healed declared the member while we reached it all along --
 * and a member that learns of its own failure refutes it, but only after
 * every node that applied it has reported the member failed.  So it counts
 * as one more accusation and this node looks itself, at once (the one
 * ping a heard suspicion gets at its expiry; the accusers have waited out
 * their suspicions already): a live member answers with its current
 * record (the ping says "suspect", so the ack carries it, refuting), a
 * dead one is declared failed two probe timeouts later, by us.  The
 * record may be at a newer version than ours (the member refuted once,
 * and that was declared failed): the suspicion is held at our version,
 * which the answer overrides all the same.  Believed as it comes: a
 * failure confirming our own probe's verdict, one of a life we do not
 * know (another generation), and everything while superseded (a process
 * that must not speak for our id).
 */
bool probe_hearsay_failed(struct gossip *g, struct member *m, uint64_t gen, uint32_t ver, uint64_t accuser)
{
    if (m->state > GOSSIP_SUSPECT || gen != m->generation || ver < m->version || (!lc_active(g) && !lc_leaving(g)))
        return false; /* (an older version is ignored by the merge anyway) */
    if (m->state == GOSSIP_ALIVE) {
        uint64_t id = m->id;
        member_set_state(g, m, GOSSIP_SUSPECT, accuser);
        m = members_get(&g->members, id); /* callbacks are queued, but stay safe */
        suspicion_start(g, m, accuser);
    } else {
        suspicion_confirm(g, m, accuser);
    }
    if (!m || !m->susp)
        return false; /* no timer to wait with (allocation): take it as it came */
    struct suspicion *s = &g->susp[m->susp - 1];
    if (s->verified && !s->verify_until)
        return false; /* our own probe failed too */
    if (!s->verified)
        suspicion_verify(g, s, m);
    return true;
}

static void suspicion_expire(struct gossip *g)
{
    for (uint32_t i = 0; i < g->n_susp; i++) {
        struct suspicion *s = &g->susp[i];
        if (!s->used || g->now < s->deadline_ms)
            continue;
        struct member *m = members_get(&g->members, s->member);
        if (m && m->state == GOSSIP_SUSPECT && !s->verified) {
            /* Only hearsay so far: one direct look before declaring it dead.
             * A live member answers with its refutation (a missed update
             * must not become a false failure); a dead one costs us one
             * probe timeout, and only when nobody else declared it first.
             * A leaving node looks too: it still sends and receives, and
             * a verdict it passes on must be as sound as anyone's. */
            suspicion_verify(g, s, m);
            continue;
        }
        s->used = false;
        if (!m || m->state != GOSSIP_SUSPECT)
            continue;
        m->susp = 0;
        member_set_state(g, m, GOSSIP_FAILED, g->self_id);
        (void)dissem_member(&g->dq, m->id);
        msg_gossip_now(g);
    }
}

/* This node's own probe found no sign of life. */
static void accuse(struct gossip *g, struct member *m)
{
    if (m->state == GOSSIP_ALIVE) {
        uint64_t id = m->id;
        member_set_state(g, m, GOSSIP_SUSPECT, g->self_id);
        suspicion_start(g, members_get(&g->members, id), g->self_id);
        (void)dissem_member(&g->dq, id);
        msg_gossip_now(g);
    } else if (m->state == GOSSIP_SUSPECT) {
        suspicion_confirm(g, m, g->self_id);
    }
}

/* ---- probe order -------------------------------------------------------- */

void probe_add_member(struct gossip *g, uint64_t id)
{
    if (g->probe_n == g->probe_cap) {
        uint32_t cap = g->probe_cap ? g->probe_cap * 2 : 16;
        uint64_t *v = realloc(g->probe_order, cap * sizeof(*v));
        if (!v)
            return; /* found again at the next reshuffle */
        g->probe_order = v;
        g->probe_cap = cap;
    }
    /* a random position, so a newcomer is probed within one round */
    uint32_t at = rng_below(&g->rng, g->probe_n + 1);
    g->probe_order[g->probe_n++] = g->probe_order[at];
    g->probe_order[at] = id;
}

/* Rebuild the order from the table (dropping the reaped, adding any that
 * an allocation failure left out) and shuffle it. */
static void reshuffle(struct gossip *g)
{
    if (g->probe_cap < g->members.n) {
        uint64_t *v = realloc(g->probe_order, g->members.n * sizeof(*v));
        if (!v)
            return;
        g->probe_order = v;
        g->probe_cap = g->members.n;
    }
    g->probe_n = g->members.n;
    for (uint32_t i = 0; i < g->probe_n; i++)
        g->probe_order[i] = g->members.v[i].id;
    for (uint32_t i = g->probe_n; i > 1; i--) {
        uint32_t j = rng_below(&g->rng, i);
        uint64_t t = g->probe_order[i - 1];
        g->probe_order[i - 1] = g->probe_order[j];
        g->probe_order[j] = t;
    }
    g->probe_pos = 0;
}

static struct member *next_target(struct gossip *g)
{
    if (g->urgent_n > 0) {
        struct member *m = members_get(&g->members, g->urgent[--g->urgent_n]);
        if (m && m->state <= GOSSIP_SUSPECT)
            return m;
    }
    for (uint32_t tries = 0; tries <= g->probe_n + 1; tries++) {
        if (g->probe_pos >= g->probe_n) {
            reshuffle(g);
            if (g->probe_n == 0)
                return NULL;
        }
        struct member *m = members_get(&g->members, g->probe_order[g->probe_pos++]);
        if (m && m->state <= GOSSIP_SUSPECT)
            return m;
    }
    return NULL;
}

/* ---- probing ------------------------------------------------------------ */

static void send_ping(struct gossip *g, struct member *m, uint32_t seq)
{
    bool suspect = m->state == GOSSIP_SUSPECT;
    struct wire_msg hdr = {.type = WIRE_PING, .seq = seq, .target = m->id,
                           .flags = suspect ? WIRE_F_SUSPECT : 0};
    gaddr_t to = m->addr;
    /* a suspect learns of its suspicion from the probe itself and refutes */
    msg_send(g, &to, m->id, &hdr, suspect ? m : NULL, true);
}

void probe_schedule_first(struct gossip *g)
{
    g->next_probe = g->now + rng_below(&g->rng, g->cfg.heartbeat_ms) + 1; /* desynchronise nodes */
}

void probe_heartbeat_changed(struct gossip *g)
{
    if (g->next_probe > g->now + g->cfg.heartbeat_ms)
        g->next_probe = g->now + g->cfg.heartbeat_ms;
}

static void probe_start(struct gossip *g)
{
    struct member *m = next_target(g);
    g->next_probe = g->now + scaled(g, g->cfg.heartbeat_ms);
    if (!m)
        return;
    g->probe = (struct probe_state){.target = m->id, .seq = ++g->seq, .sent_ms = g->now,
                                    .deadline_ms = g->now + scaled(g, g->cfg.probe_timeout_ms),
                                    .phase = PROBE_DIRECT};
    g->stats.probes++;
    send_ping(g, m, g->probe.seq);
}

static void probe_indirect(struct gossip *g)
{
    struct member *t = members_get(&g->members, g->probe.target);
    if (!t || t->state > GOSSIP_SUSPECT) {
        g->probe.phase = PROBE_IDLE;
        return;
    }
    gaddr_t target_addr = t->addr;
    uint64_t target = t->id;
    struct wire_msg req = {.type = WIRE_PING_REQ, .seq = g->probe.seq, .target = target,
                           .target_addr = target_addr};
    uint64_t used[16];
    unsigned k = g->cfg.indirect_checks, sent = 0;
    if (k > 16)
        k = 16;
    uint32_t n = g->members.n;
    for (unsigned tries = 0; sent < k && n > 1 && tries < 4 * k + 8; tries++) {
        const struct member *h = &g->members.v[rng_below(&g->rng, n)];
        if (h->state != GOSSIP_ALIVE || h->id == target)
            continue;
        bool dup = false;
        for (unsigned j = 0; j < sent; j++)
            dup |= used[j] == h->id;
        if (dup)
            continue;
        used[sent++] = h->id;
        gaddr_t to = h->addr;
        msg_send(g, &to, h->id, &req, NULL, false);
        g->stats.indirect_probes++;
    }
    /* the direct path gets a second chance too: one lost datagram must not
     * make a suspicion */
    t = members_get(&g->members, target);
    if (t)
        send_ping(g, t, g->probe.seq);
    g->probe.expected_nacks = sent;
    g->probe.nacks = 0;
    g->probe.phase = PROBE_INDIRECT;
    g->probe.deadline_ms = g->now + scaled(g, g->cfg.indirect_timeout_ms);
}

static void probe_failed(struct gossip *g)
{
    /* A helper that could not reach the target says so (a nack).  When
     * every helper said so, the target is unreachable from all sides and
     * the accusation is sound.  When some stayed silent, the datagrams
     * were lost somewhere, perhaps on our own side: one more round of
     * fresh helpers and a direct ping first.  On a clean network a crash
     * is accused as fast as before (the nacks all arrive); on a lossy one
     * most false suspicions -- each of which the whole cluster gossips --
     * never start (Lifeguard's nacks, used for one decision more). */
    if (!g->probe.second_round && g->probe.expected_nacks > g->probe.nacks) {
        g->probe.second_round = true;
        probe_indirect(g);
        return;
    }
    g->probe.phase = PROBE_IDLE;
    /* nacks prove our own network works: only missing nacks count against us */
    int delta = g->probe.expected_nacks ? (int)(g->probe.expected_nacks - g->probe.nacks) : 1;
    if (delta > 0)
        awareness_apply(g, delta);
    struct member *m = members_get(&g->members, g->probe.target);
    if (m && lc_active(g))
        accuse(g, m);
}

void probe_on_new_life(struct gossip *g, uint64_t id)
{
    /* The ping of the probe running now was sealed for the life before (a
     * restart): it was refused, and the handshake that followed told us
     * the new one.  Ask again at once, so the probe's deadline still holds
     * and a restart costs no suspicion. */
    if (g->probe.phase == PROBE_IDLE || g->probe.target != id)
        return;
    struct member *m = members_get(&g->members, id);
    if (m)
        send_ping(g, m, g->probe.seq);
}

void probe_on_ack(struct gossip *g, uint32_t seq)
{
    if (g->probe.phase == PROBE_IDLE || seq != g->probe.seq)
        return;
    g->probe.phase = PROBE_IDLE;
    awareness_apply(g, -1);
}

void probe_on_nack(struct gossip *g, uint32_t seq)
{
    if (g->probe.phase == PROBE_INDIRECT && seq == g->probe.seq)
        g->probe.nacks++;
}

void probe_on_ping_req(struct gossip *g, const gaddr_t *from, uint64_t sender, const struct wire_msg *msg)
{
    if (msg->target == g->self_id)
        return;
    struct relay *r = NULL;
    for (unsigned i = 0; i < MAX_RELAYS && !r; i++)
        if (!g->relays[i].used)
            r = &g->relays[i];
    if (!r)
        return; /* busy: the requester's other helpers answer */
    /* answer with a nack a little before the requester gives up (Lifeguard) */
    *r = (struct relay){.seq = ++g->seq, .their_seq = msg->seq, .requester = *from,
                        .requester_id = sender, .used = true,
                        .deadline_ms = g->now + g->cfg.indirect_timeout_ms * 4 / 5};
    g->stats.indirect_requests++;
    struct wire_msg ping = {.type = WIRE_PING, .seq = r->seq, .target = msg->target};
    gaddr_t to = msg->target_addr;
    msg_send(g, &to, msg->target, &ping, NULL, false);
}

bool relay_on_ack(struct gossip *g, uint32_t seq)
{
    for (unsigned i = 0; i < MAX_RELAYS; i++) {
        struct relay *r = &g->relays[i];
        if (r->used && r->seq == seq) {
            r->used = false;
            struct wire_msg ack = {.type = WIRE_ACK, .seq = r->their_seq};
            gaddr_t to = r->requester;
            msg_send(g, &to, r->requester_id, &ack, NULL, false);
            return true;
        }
    }
    return false;
}

static void relays_expire(struct gossip *g)
{
    for (unsigned i = 0; i < MAX_RELAYS; i++) {
        struct relay *r = &g->relays[i];
        if (r->used && g->now >= r->deadline_ms) {
            r->used = false;
            struct wire_msg nack = {.type = WIRE_NACK, .seq = r->their_seq};
            gaddr_t to = r->requester;
            msg_send(g, &to, r->requester_id, &nack, NULL, false);
            g->stats.nacks_sent++;
        }
    }
}

/* Somebody else suspects `id`.  A few nodes (about k + 1 in the whole
 * cluster) probe it out of turn: their independent verdicts confirm the
 * suspicion within one probe timeout (Lifeguard then shortens it) or carry
 * the suspicion to the member so that it refutes. */
void probe_on_suspicion(struct gossip *g, uint64_t id)
{
    size_t n = g_alive_count(g);
    uint64_t want = (uint64_t)g->cfg.suspicion_confirmations + 1;
    if (lc_leaving(g) || g->urgent_n >= MAX_URGENT || (n > want && rng_below(&g->rng, (uint32_t)n) >= want))
        return;
    g->urgent[g->urgent_n++] = id;
    if (g->probe.phase == PROBE_IDLE)
        g->next_probe = g->now;
}

/* The failure detector's timers, each with the one guard that both the
 * tick and the reported deadline use.  A new probe starts only when the
 * last one is over: after a stall, or while awareness stretches a probe
 * past its period, the overdue start waits for the running probe instead
 * of cutting it short -- and is not reported as due meanwhile (reporting
 * it had hosts spin on a 0 timeout for the rest of the probe). */
static uint64_t relays_due(const struct gossip *g)
{
    uint64_t t = UINT64_MAX;
    for (unsigned i = 0; i < MAX_RELAYS; i++)
        if (g->relays[i].used && g->relays[i].deadline_ms < t)
            t = g->relays[i].deadline_ms;
    return t;
}

static uint64_t direct_due(const struct gossip *g)
{
    return g->probe.phase == PROBE_DIRECT ? g->probe.deadline_ms : UINT64_MAX;
}

static uint64_t indirect_due(const struct gossip *g)
{
    return g->probe.phase == PROBE_INDIRECT ? g->probe.deadline_ms : UINT64_MAX;
}

static uint64_t suspicions_due(const struct gossip *g)
{
    uint64_t t = UINT64_MAX;
    for (uint32_t i = 0; i < g->n_susp; i++)
        if (g->susp[i].used && g->susp[i].deadline_ms < t)
            t = g->susp[i].deadline_ms;
    return t;
}

static uint64_t start_due(const struct gossip *g)
{
    return lc_active(g) && g->probe.phase == PROBE_IDLE ? g->next_probe : UINT64_MAX;
}

static const struct timer probe_timers[] = {
    {relays_due, relays_expire, false},
    {direct_due, probe_indirect, false},
    {indirect_due, probe_failed, false},
    {suspicions_due, suspicion_expire, false},
    {start_due, probe_start, false},
};

void probe_tick(struct gossip *g)
{
    timers_run(g, probe_timers, sizeof(probe_timers) / sizeof(probe_timers[0]));
}

uint64_t probe_next_deadline(const struct gossip *g)
{
    return timers_next(g, probe_timers, sizeof(probe_timers) / sizeof(probe_timers[0]));
}
