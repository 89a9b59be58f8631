/*
 * Member table: a dense array for iteration and uniform random choice, and
 * an open-addressing index (linear probing, backward-shift deletion) so that
 * lookup by id costs one or two cache misses at any cluster size.
 */
#include <stdlib.h>
#include <string.h>

#include "members.h"
#include "gossip.h"

static uint32_t id_hash(uint64_t id)
{
    /* splitmix64 finaliser: node ids are often small consecutive numbers */
    id ^= id >> 30;
    id *= 0xbf58476d1ce4e5b9ULL;
    id ^= id >> 27;
    id *= 0x94d049bb133111ebULL;
    id ^= id >> 31;
    return (uint32_t)id;
}

int members_init(struct members *t)
{
    memset(t, 0, sizeof(*t));
    t->slot = calloc(16, sizeof(*t->slot));
    if (!t->slot)
        return GOSSIP_ENOMEM;
    t->slot_mask = 15;
    return 0;
}

void members_free(struct members *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        free(t->v[i].meta);
    free(t->v);
    free(t->slot);
    memset(t, 0, sizeof(*t));
}

static uint32_t *find_slot(const struct members *t, uint64_t id)
{
    uint32_t hash = id_hash(id), tag = MEMBER_SLOT_TAG(hash);
    for (uint32_t h = hash & t->slot_mask;; h = (h + 1) & t->slot_mask) {
        uint32_t *s = &t->slot[h];
        if (*s == 0 || (MEMBER_SLOT_TAG(*s) == tag && t->v[MEMBER_SLOT_INDEX(*s) - 1].id == id))
            return s;
    }
}

static uint32_t slot_value(uint64_t id, uint32_t index)
{
    return (MEMBER_SLOT_TAG(id_hash(id)) << MEMBER_SLOT_INDEX_BITS) | (index + 1);
}

struct member *members_get(const struct members *t, uint64_t id)
{
    uint32_t *s = find_slot(t, id);
    return *s ? &t->v[MEMBER_SLOT_INDEX(*s) - 1] : NULL;
}

static int rehash(struct members *t, uint32_t nslots)
{
    uint32_t *slot = calloc(nslots, sizeof(*slot));
    if (!slot)
        return -1;
    free(t->slot);
    t->slot = slot;
    t->slot_mask = nslots - 1;
    for (uint32_t i = 0; i < t->n; i++)
        *find_slot(t, t->v[i].id) = slot_value(t->v[i].id, i);
    return 0;
}

struct member *members_add(struct members *t, uint64_t id)
{
    if (t->n >= 1u << 24)
        return NULL; /* the slot encoding's limit, and max-members' */
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 8;
        struct member *v = realloc(t->v, (size_t)cap * sizeof(*v));
        if (!v)
            return NULL;
        t->v = v;
        t->cap = cap;
    }
    /* Keep the index at most three quarters full: linear probing then
     * still ends within the same cache line or the next, and at 4 bytes a
     * slot the index costs 5-11 bytes per member instead of 8-16. */
    if ((uint64_t)(t->n + 1) * 4 > (uint64_t)(t->slot_mask + 1) * 3 && rehash(t, (t->slot_mask + 1) * 2) < 0)
        return NULL;
    struct member *m = &t->v[t->n];
    memset(m, 0, sizeof(*m));
    m->id = id;
    *find_slot(t, id) = slot_value(id, t->n++);
    return m;
}

void members_remove(struct members *t, uint64_t id)
{
    uint32_t *s = find_slot(t, id);
    if (!*s)
        return;
    uint32_t idx = MEMBER_SLOT_INDEX(*s) - 1;
    free(t->v[idx].meta);
    /* backward-shift deletion keeps every probe chain unbroken */
    uint32_t hole = (uint32_t)(s - t->slot);
    for (uint32_t j = (hole + 1) & t->slot_mask; t->slot[j]; j = (j + 1) & t->slot_mask) {
        uint32_t home = id_hash(t->v[MEMBER_SLOT_INDEX(t->slot[j]) - 1].id) & t->slot_mask;
        /* move j into the hole unless its home lies cyclically in (hole, j] */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            t->slot[hole] = t->slot[j];
            hole = j;
        }
    }
    t->slot[hole] = 0;
    /* move the last record into the freed array position */
    uint32_t last = --t->n;
    if (idx != last) {
        t->v[idx] = t->v[last];
        *find_slot(t, t->v[idx].id) = slot_value(t->v[idx].id, idx);
    }
}

int incarnation_cmp(uint64_t gen_a, uint32_t ver_a, uint64_t gen_b, uint32_t ver_b)
{
    if (gen_a != gen_b)
        return gen_a < gen_b ? -1 : 1;
    if (ver_a != ver_b)
        return ver_a < ver_b ? -1 : 1;
    return 0;
}

bool update_overrides(uint8_t new_state, uint64_t new_gen, uint32_t new_ver,
                      uint8_t cur_state, uint64_t cur_gen, uint32_t cur_ver)
{
    int c = incarnation_cmp(new_gen, new_ver, cur_gen, cur_ver);
    /* the enum order is the precedence: left > failed > suspect > alive */
    return c > 0 || (c == 0 && new_state > cur_state);
}

void member_to_wire(const struct member *m, struct wire_member *w)
{
    memset(w, 0, sizeof(*w));
    w->id = m->id;
    w->generation = m->generation;
    w->version = m->version;
    w->state = m->state;
    w->flags = (m->flags & MEMBER_DRAINING) ? WIRE_M_DRAINING : 0;
    w->from = m->from;
    w->addr = m->addr;
    w->meta_len = m->meta_len;
    w->meta = m->meta;
}

void member_heard(struct member *m, uint64_t now)
{
    m->heard_ms = now;
    m->flags &= (uint8_t)~MEMBER_UNCONFIRMED;
}

static const uint8_t no_session[ENV_SESSION_LEN];

bool life_known(const struct life *l)
{
    return memcmp(l->session, no_session, ENV_SESSION_LEN) != 0;
}

bool life_is(const struct life *l, const uint8_t session[ENV_SESSION_LEN])
{
    return life_known(l) && memcmp(l->session, session, ENV_SESSION_LEN) == 0;
}

uint64_t life_fingerprint(const uint8_t session[ENV_SESSION_LEN])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (uint64_t)(session[i] ^ session[i + 8]);
    return v ? v : 1;
}

void life_adopt(struct life *l, const uint8_t session[ENV_SESSION_LEN])
{
    if (life_is(l, session))
        return;
    uint64_t prev = life_known(l) ? life_fingerprint(l->session) : l->prev;
    *l = (struct life){.prev = prev};
    memcpy(l->session, session, ENV_SESSION_LEN);
}
