/*
 * Dissemination queue with transmit limits (SWIM's infection-style
 * broadcast, the retransmit limit of memberlist's queue.go).  Member items
 * are names, not copies: the current record is encoded at send time, so a
 * newer update about a member always replaces an older one.
 */
#include <stdlib.h>
#include <string.h>

#include "dissem.h"

void dissem_free(struct dissem *d)
{
    for (uint32_t i = 0; i < d->n; i++)
        free(d->v[i].data);
    free(d->v);
    free(d->pick);
    memset(d, 0, sizeof(*d));
}

static struct dq_item *find(const struct dissem *d, bool is_event, uint64_t id, uint64_t event_id)
{
    for (uint32_t i = 0; i < d->n; i++)
        if (d->v[i].is_event == is_event && d->v[i].id == id && (!is_event || d->v[i].event_id == event_id))
            return &d->v[i];
    return NULL;
}

static struct dq_item *push(struct dissem *d)
{
    if (d->n == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 16;
        struct dq_item *v = realloc(d->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        d->v = v;
        d->cap = cap;
    }
    struct dq_item *it = &d->v[d->n++];
    memset(it, 0, sizeof(*it));
    return it;
}

static void drop_at(struct dissem *d, uint32_t i)
{
    if (d->v[i].is_event)
        d->n_events--;
    free(d->v[i].data);
    d->v[i] = d->v[--d->n];
}

int dissem_member(struct dissem *d, uint64_t id)
{
    struct dq_item *it = find(d, false, id, 0);
    if (!it && !(it = push(d)))
        return GOSSIP_ENOMEM;
    it->id = id;
    it->transmits = 0;
    it->order = ++d->order;
    return 0;
}

static int queue_event(struct dissem *d, uint64_t origin, uint64_t event_id, const void *data, size_t len,
                       bool query)
{
    if (find(d, true, origin, event_id))
        return 0;
    uint8_t *copy = malloc(len);
    if (!copy)
        return GOSSIP_ENOMEM;
    struct dq_item *it = push(d);
    if (!it) {
        free(copy);
        return GOSSIP_ENOMEM;
    }
    memcpy(copy, data, len);
    it->id = origin;
    it->event_id = event_id;
    it->data = copy;
    it->len = (uint16_t)len;
    it->is_event = true;
    it->is_query = query;
    it->order = ++d->order;
    d->n_events++;
    return 0;
}

int dissem_event(struct dissem *d, uint64_t origin, uint64_t event_id, const void *data, size_t len)
{
    return queue_event(d, origin, event_id, data, len, false);
}

int dissem_query(struct dissem *d, uint64_t origin, uint64_t query_id, const void *data, size_t len)
{
    return queue_event(d, origin, query_id, data, len, true);
}

void dissem_forget_member(struct dissem *d, uint64_t id)
{
    for (uint32_t i = 0; i < d->n; i++)
        if (!d->v[i].is_event && d->v[i].id == id) {
            drop_at(d, i);
            return;
        }
}

int dissem_transmits(const struct dissem *d, uint64_t id)
{
    const struct dq_item *it = find(d, false, id, 0);
    return it ? it->transmits : -1;
}

/* Fewest transmits first, newest first among equals. */
static bool before(const struct dq_item *x, const struct dq_item *y)
{
    return x->transmits != y->transmits ? x->transmits < y->transmits : x->order > y->order;
}

/* Insertion sort of the few candidates (qsort would need the item array
 * in a global to compare indices). */
static void sort_picks(const struct dq_item *v, uint32_t *idx, uint32_t k)
{
    for (uint32_t i = 1; i < k; i++) {
        uint32_t x = idx[i], j = i;
        for (; j > 0 && before(&v[x], &v[idx[j - 1]]); j--)
            idx[j] = idx[j - 1];
        idx[j] = x;
    }
}

/* Move the k best of idx[0..n) to the front (quickselect; order among them
 * is fixed afterwards by a sort of k items only). */
static void select_best(const struct dq_item *v, uint32_t *idx, uint32_t n, uint32_t k)
{
    uint32_t lo = 0, hi = n;
    while (hi - lo > 1) {
        uint32_t pivot = idx[lo + (hi - lo) / 2], i = lo, j = hi - 1;
        for (;;) {
            while (before(&v[idx[i]], &v[pivot]))
                i++;
            while (before(&v[pivot], &v[idx[j]]))
                j--;
            if (i >= j)
                break;
            uint32_t t = idx[i];
            idx[i++] = idx[j];
            idx[j--] = t;
        }
        uint32_t mid = j + 1; /* idx[lo..mid) are not worse than idx[mid..hi) */
        if (k < mid)
            hi = mid;
        else if (k > mid)
            lo = mid;
        else
            return;
        if (mid == lo || mid == hi)
            return; /* all equal */
    }
}

#define PACK_CANDIDATES (WIRE_MAX_MEMBERS + WIRE_MAX_EVENTS)

static bool in_picks(const uint32_t *pick, uint32_t k, uint32_t i)
{
    for (uint32_t c = 0; c < k; c++)
        if (pick[c] == i)
            return true;
    return false;
}
#define MIN_RECORD 29 /* the smallest member record: IPv4, alive, no metadata */

void dissem_pack(struct dissem *d, const struct members *table, const struct wire_member *self,
                 struct wire_writer *w, unsigned limit, uint64_t skip_id)
{
    if (d->n == 0)
        return;
    if (d->pick_cap < d->n) {
        uint32_t *p = realloc(d->pick, d->cap * sizeof(*p));
        if (!p)
            return; /* nothing piggybacked this time; the queue keeps it */
        d->pick = p;
        d->pick_cap = d->cap;
    }
    /* Only what can go out is ordered: a datagram holds at most
     * PACK_CANDIDATES records however long the queue is, so a big queue
     * costs a linear selection, not a sort and a lookup per item. */
    for (uint32_t i = 0; i < d->n; i++)
        d->pick[i] = i;
    uint32_t k = d->n;
    if (k > PACK_CANDIDATES)
        k = PACK_CANDIDATES;
    if (k < d->n)
        select_best(d->v, d->pick, d->n, k);
    sort_picks(d->v, d->pick, k);

    /* membership first, but room stays for cluster events: a quarter, or
     * at least the smallest queued event, so none waits forever */
    size_t reserve = 0;
    if (d->n_events) {
        reserve = wire_room(w) / 4;
        for (uint32_t i = 0; i < d->n; i++) {
            struct wire_event we = {.len = d->v[i].len};
            if (d->v[i].is_event && wire_event_size(&we) > reserve && wire_event_size(&we) <= wire_room(w))
                reserve = wire_event_size(&we);
        }
    }
    for (uint32_t c = 0; c < k && wire_room(w) >= reserve + MIN_RECORD; c++) {
        struct dq_item *it = &d->v[d->pick[c]];
        if (it->is_event || it->id == skip_id)
            continue;
        struct wire_member wm;
        if (it->id == self->id) {
            wm = *self;
        } else {
            const struct member *m = members_get(table, it->id);
            if (!m || (m->flags & MEMBER_UNCONFIRMED)) {
                /* reaped, or known from the host only (kept local): drop below */
                it->transmits = (uint16_t)limit;
                continue;
            }
            member_to_wire(m, &wm);
        }
        if (wire_member_size(&wm) + reserve > wire_room(w))
            continue;
        if (wire_add_member(w, &wm) == 0)
            it->transmits++;
    }
    /* events in the same order: the candidates first, then any others (a
     * long member queue can push events out of the candidate list) */
    for (uint32_t c = 0; c < k + (k < d->n ? d->n : 0) && d->n_events; c++) {
        uint32_t i = c < k ? d->pick[c] : c - k;
        struct dq_item *it = &d->v[i];
        if (!it->is_event || (c >= k && in_picks(d->pick, k, i)))
            continue;
        struct wire_event we = {.origin = it->id, .event_id = it->event_id, .len = it->len, .query = it->is_query,
                                .data = it->data};
        if (wire_event_size(&we) <= wire_room(w) && wire_add_event(w, &we) == 0)
            it->transmits++;
    }
    /* an event has no other way to a node than these transmissions and the
     * slow full-view exchange: it gets twice the budget of a member update */
    for (uint32_t i = d->n; i-- > 0;)
        if (d->v[i].transmits >= (d->v[i].is_event ? 2 * limit : limit))
            drop_at(d, i);
}
