/* Strangers' lives (see lives.h). */
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
