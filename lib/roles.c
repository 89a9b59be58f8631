/*
 * Role holders from a membership view (see roles.h).  Pure functions over
 * the caller's arrays: no allocation, no state, so every node computes the
 * same answer from the same view.
 *
 * The rendezvous score below is part of the cluster's behaviour: nodes
 * running different library versions must pick the same failover node, so
 * the formula (FNV-1a 64 of the role name, xor the id, splitmix64
 * finaliser; highest score wins, ties to the higher id) must never change.
 */
#include "roles.h"

#include <string.h>

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t splitmix64_fin(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static bool is_live(uint8_t state)
{
    /* A suspect member keeps its roles: suspicion is often a slow link, and
     * handing the role over at once would make two nodes run it. */
    return state == GOSSIP_ALIVE || state == GOSSIP_SUSPECT;
}

static bool listed(const struct gossip_role *role, uint64_t id)
{
    for (unsigned i = 0; i < role->n_nodes && i < GOSSIP_ROLE_MAX_NODES; i++)
        if (role->nodes[i] == id)
            return true;
    return false;
}

/* What the view says about one role, computed in one pass. */
struct role_view {
    bool nobody;       /* quorum lost, or no live listed node and no failover */
    bool everyone;     /* no node list: every live member holds it */
    bool failover;     /* no listed node is live: `winner` alone holds it */
    uint64_t winner;
};

static void analyse(const struct gossip_role *role, const struct roles_member *m, size_t n,
                    struct role_view *v)
{
    size_t live = 0, not_left = 0, listed_live = 0;
    bool have_winner = false;
    uint64_t best = 0, h = fnv1a64(role->name);

    memset(v, 0, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        if (m[i].state != GOSSIP_LEFT)
            not_left++;
        if (!is_live(m[i].state))
            continue;
        live++;
        if (m[i].draining)
            continue; /* live for the quorum, never a holder */
        if (role->n_nodes > 0 && listed(role, m[i].id))
            listed_live++;
        uint64_t s = splitmix64_fin(h ^ m[i].id);
        if (!have_winner || s > best || (s == best && m[i].id > v->winner)) {
            best = s;
            v->winner = m[i].id;
            have_winner = true;
        }
    }
    /* Members that left said goodbye: they do not count against the
     * majority, otherwise a cluster that shrank on purpose would lose every
     * quorum role. */
    if ((role->flags & GOSSIP_ROLE_QUORUM) && !(2 * live > not_left)) {
        v->nobody = true;
        return;
    }
    if (role->n_nodes == 0) {
        v->everyone = true;
        return;
    }
    if (listed_live > 0)
        return;
    if ((role->flags & GOSSIP_ROLE_NO_FAILOVER) || !have_winner) {
        v->nobody = true;
        return;
    }
    v->failover = true;
}

static bool holds(const struct gossip_role *role, const struct role_view *v,
                  const struct roles_member *m)
{
    if (v->nobody || !is_live(m->state) || m->draining)
        return false;
    if (v->everyone)
        return true;
    if (v->failover)
        return m->id == v->winner;
    return listed(role, m->id);
}

static void sift_down(uint64_t *a, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, big = i;
        if (l < n && a[l] > a[big])
            big = l;
        if (r < n && a[r] > a[big])
            big = r;
        if (big == i)
            return;
        uint64_t t = a[i];
        a[i] = a[big];
        a[big] = t;
        i = big;
    }
}

size_t roles_holders(const struct gossip_role *role, const struct roles_member *members, size_t n,
                     uint64_t *out, size_t max)
{
    struct role_view v;
    size_t count = 0, kept = 0;

    if (!role || (!members && n > 0))
        return 0;
    if (!out)
        max = 0;
    analyse(role, members, n, &v);
    /* Keep the `max` smallest ids in a max-heap, then heap-sort it: the
     * answer is well defined when it is cut, with no allocation and
     * O(n log max) even for a large view. */
    for (size_t i = 0; i < n; i++) {
        if (!holds(role, &v, &members[i]))
            continue;
        count++;
        if (max == 0)
            continue;
        uint64_t id = members[i].id;
        if (kept < max) {
            out[kept++] = id;
            if (kept == max)
                for (size_t j = kept / 2; j-- > 0;)
                    sift_down(out, kept, j);
        } else if (id < out[0]) {
            out[0] = id;
            sift_down(out, kept, 0);
        }
    }
    if (kept < max)
        for (size_t j = kept / 2; j-- > 0;)
            sift_down(out, kept, j);
    for (size_t end = kept; end > 1; end--) {
        uint64_t t = out[0];
        out[0] = out[end - 1];
        out[end - 1] = t;
        sift_down(out, end - 1, 0);
    }
    return count;
}

bool roles_held(const struct gossip_role *role, const struct roles_member *members, size_t n,
                uint64_t self)
{
    struct role_view v;

    if (!role || (!members && n > 0))
        return false;
    analyse(role, members, n, &v);
    for (size_t i = 0; i < n; i++)
        if (members[i].id == self)
            return holds(role, &v, &members[i]);
    return false;
}

bool roles_name_valid(const char *name)
{
    size_t len;

    if (!name)
        return false;
    len = strnlen(name, GOSSIP_ROLE_NAME_MAX);
    if (len == 0 || len >= GOSSIP_ROLE_NAME_MAX)
        return false;
    if (name[0] < 'a' || name[0] > 'z')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}
