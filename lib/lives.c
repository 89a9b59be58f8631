/* Strangers' lives and goodbyes (see lives.h). */
#include "lives.h"

#include <string.h>

struct life *lives_find(struct lives *t, uint64_t id)
{
    for (unsigned i = 0; i < LIVES_MAX; i++)
        if (t->v[i].used_ms && t->v[i].id == id)
            return &t->v[i].life;
    return NULL;
}

struct life *lives_put(struct lives *t, uint64_t id, uint64_t now)
{
    struct stranger *lru = &t->v[0];
    for (unsigned i = 0; i < LIVES_MAX; i++) {
        struct stranger *s = &t->v[i];
        if (s->used_ms && s->id == id) {
            s->used_ms = now ? now : 1;
            return &s->life;
        }
        if (s->used_ms < lru->used_ms)
            lru = s;
    }
    *lru = (struct stranger){.id = id, .used_ms = now ? now : 1};
    return &lru->life;
}

bool lives_take(struct lives *t, uint64_t id, struct life *out)
{
    for (unsigned i = 0; i < LIVES_MAX; i++) {
        if (t->v[i].used_ms && t->v[i].id == id) {
            *out = t->v[i].life;
            memset(&t->v[i], 0, sizeof t->v[i]);
            return true;
        }
    }
    return false;
}

void departed_note(struct departed *t, uint64_t id, uint64_t generation, uint32_t version, uint64_t until_ms,
                   bool left)
{
    struct departure *slot = &t->v[0];
    for (unsigned i = 0; i < DEPARTED_MAX; i++) {
        struct departure *d = &t->v[i];
        if (d->until_ms && d->id == id) {
            if (incarnation_cmp(generation, version, d->generation, d->version) > 0 ||
                (left && !d->left && incarnation_cmp(generation, version, d->generation, d->version) == 0))
                *d = (struct departure){id, generation, until_ms ? until_ms : 1, version, left};
            return;
        }
        if (d->until_ms < slot->until_ms)
            slot = d;
    }
    *slot = (struct departure){id, generation, until_ms ? until_ms : 1, version, left};
}

bool departed_covers(struct departed *t, uint64_t id, uint64_t generation, uint32_t version, uint64_t now)
{
    for (unsigned i = 0; i < DEPARTED_MAX; i++) {
        struct departure *d = &t->v[i];
        if (!d->until_ms || d->id != id)
            continue;
        /* Only that life's records: any other generation is another life,
         * a lower one included (a restart with the clock behind, which
         * nobody may be left to tell that it is behind) */
        if (now >= d->until_ms || generation != d->generation || version > d->version) {
            d->until_ms = 0;
            return false;
        }
        return d->left; /* a failed member may well be alive: its records are taken */
    }
    return false;
}

size_t departed_failed(const struct departed *t, const struct members *members, uint64_t now, uint64_t *ids,
                       size_t max)
{
    size_t n = 0;
    for (unsigned i = 0; i < DEPARTED_MAX; i++) {
        const struct departure *d = &t->v[i];
        if (!d->until_ms || d->left || now >= d->until_ms || members_get(members, d->id))
            continue;
        if (ids && n < max)
            ids[n] = d->id;
        n++;
    }
    return n;
}
