/*
 * Unit tests of the member table (lib/members.c): the dense array plus
 * open-addressing index with backward-shift deletion, under thousands of
 * ids in the patterns that hurt hash tables (consecutive ids, ids that
 * differ only in the high bits, ids forced onto one home slot, ids whose
 * chain wraps around the end of the index), checked against a reference
 * model after every kind of removal; and the record precedence rules
 * (incarnation_cmp, update_overrides); the goodbyes kept for members we
 * did not know (lives.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* A copy of members.c's index hash (splitmix64 finaliser), used only to
 * pick ids that collide on purpose.  If the library changes its hash the
 * tests stay correct, merely less targeted. */
static uint32_t lib_hash(uint64_t id)
{
    id ^= id >> 30;
    id *= 0xbf58476d1ce4e5b9ULL;
    id ^= id >> 27;
    id *= 0x94d049bb133111ebULL;
    id ^= id >> 31;
    return (uint32_t)id;
}

/* Every invariant of the table: n within cap, each record found through the
 * index at its own array position, the index holds exactly n entries that
 * all point inside the array, and every entry is reachable from its home
 * slot without crossing an empty slot (what backward-shift must keep). */
static void check_table(const struct members *t)
{
    assert_true(t->n <= t->cap || (t->n == 0 && t->cap == 0));
    uint32_t used = 0;
    for (uint32_t s = 0; s <= t->slot_mask; s++) {
        if (!t->slot[s])
            continue;
        used++;
        uint32_t index = MEMBER_SLOT_INDEX(t->slot[s]);
        assert_true(index >= 1 && index <= t->n);
        uint64_t id = t->v[index - 1].id;
        assert_int_equal(t->slot[s] >> MEMBER_SLOT_INDEX_BITS, lib_hash(id) >> MEMBER_SLOT_INDEX_BITS);
        for (uint32_t h = lib_hash(id) & t->slot_mask; h != s; h = (h + 1) & t->slot_mask)
            assert_int_not_equal(t->slot[h], 0);
    }
    assert_int_equal(used, t->n);
    /* at most three quarters full */
    assert_true((uint64_t)t->n * 4 <= ((uint64_t)t->slot_mask + 1) * 3);
    for (uint32_t i = 0; i < t->n; i++)
        assert_ptr_equal(members_get(t, t->v[i].id), &t->v[i]);
}

/* Reference model: a plain list of ids that should be present. */
struct model {
    uint64_t *ids;
    uint8_t *present;
    size_t n;
};

static void model_check(const struct members *t, const struct model *md)
{
    size_t live = 0;
    for (size_t i = 0; i < md->n; i++) {
        struct member *m = members_get(t, md->ids[i]);
        if (md->present[i]) {
            live++;
            assert_non_null(m);
            assert_true(m->id == md->ids[i]);
            /* the payload written at insert time travels with the record */
            assert_true(m->generation == (md->ids[i] ^ 0x5555aaaa5555aaaaull));
            assert_int_equal(m->version, (uint32_t)i);
        } else {
            assert_null(m);
        }
    }
    assert_int_equal(t->n, live);
    check_table(t);
}

static void fill(struct members *t, struct model *md)
{
    for (size_t i = 0; i < md->n; i++) {
        assert_null(members_get(t, md->ids[i]));
        struct member *m = members_add(t, md->ids[i]);
        assert_non_null(m);
        assert_true(m->id == md->ids[i]);
        assert_int_equal(m->state, GOSSIP_ALIVE); /* zeroed record */
        assert_null(m->meta);
        m->generation = md->ids[i] ^ 0x5555aaaa5555aaaaull;
        m->version = (uint32_t)i;
        md->present[i] = 1;
    }
    model_check(t, md);
}

static void model_init(struct model *md, size_t n)
{
    md->n = n;
    md->ids = calloc(n, sizeof(*md->ids));
    md->present = calloc(n, 1);
    assert_non_null(md->ids);
    assert_non_null(md->present);
}

static void model_free(struct model *md)
{
    free(md->ids);
    free(md->present);
}

/* Fill with ids, remove every other one (checking the whole table after
 * each removal for the small sets, at the end for big ones), re-add them,
 * then remove everything in a pseudo-random order. */
static void exercise(const uint64_t *ids, size_t n)
{
    struct members t;
    struct model md;
    assert_int_equal(members_init(&t), 0);
    model_init(&md, n);
    memcpy(md.ids, ids, n * sizeof(*ids));
    fill(&t, &md);

    for (size_t i = 0; i < n; i += 2) {
        members_remove(&t, md.ids[i]);
        md.present[i] = 0;
        if (n <= 600 || i % 256 == 0)
            model_check(&t, &md);
    }
    model_check(&t, &md);
    /* removing an absent id is a no-op */
    members_remove(&t, md.ids[0]);
    members_remove(&t, 0xdeadbeefcafef00dull);
    model_check(&t, &md);

    /* re-add the removed half */
    for (size_t i = 0; i < n; i += 2) {
        struct member *m = members_add(&t, md.ids[i]);
        assert_non_null(m);
        m->generation = md.ids[i] ^ 0x5555aaaa5555aaaaull;
        m->version = (uint32_t)i;
        md.present[i] = 1;
    }
    model_check(&t, &md);

    /* remove all in a shuffled order; every swap-remove must keep the
     * index pointing at the moved record */
    size_t *order = malloc(n * sizeof(*order));
    assert_non_null(order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd() % i, x = order[i - 1];
        order[i - 1] = order[j];
        order[j] = x;
    }
    for (size_t k = 0; k < n; k++) {
        members_remove(&t, md.ids[order[k]]);
        md.present[order[k]] = 0;
        if (n <= 600 || k % 128 == 0) {
            model_check(&t, &md);
        } else {
            /* cheap check: the last array record is still indexed */
            if (t.n)
                assert_ptr_equal(members_get(&t, t.v[t.n - 1].id), &t.v[t.n - 1]);
        }
    }
    model_check(&t, &md);
    assert_int_equal(t.n, 0);
    free(order);
    model_free(&md);
    members_free(&t);
}

/* ---- tests -------------------------------------------------------------- */

static void test_empty_table(void **state)
{
    (void)state;
    struct members t;
    assert_int_equal(members_init(&t), 0);
    assert_null(members_get(&t, 0));
    assert_null(members_get(&t, 1));
    assert_null(members_get(&t, UINT64_MAX));
    members_remove(&t, 42);
    assert_int_equal(t.n, 0);
    members_free(&t);
    /* free is idempotent on the zeroed table */
    members_free(&t);
}

static void test_extreme_ids(void **state)
{
    (void)state;
    const uint64_t ids[] = {0, 1, UINT64_MAX, UINT64_MAX - 1, 1ull << 63, (1ull << 63) - 1, 0x100000000ull};
    exercise(ids, sizeof(ids) / sizeof(ids[0]));
}

static void test_consecutive_ids(void **state)
{
    (void)state;
    enum { N = 5000 };
    uint64_t *ids = malloc(N * sizeof(*ids));
    assert_non_null(ids);
    for (size_t i = 0; i < N; i++)
        ids[i] = i + 1;
    exercise(ids, N);
    /* consecutive from 0, and a block near the top of the id space */
    for (size_t i = 0; i < N; i++)
        ids[i] = UINT64_MAX - i;
    exercise(ids, N);
    free(ids);
}

static void test_high_bit_ids(void **state)
{
    (void)state;
    enum { N = 4096 };
    uint64_t *ids = malloc(N * sizeof(*ids));
    assert_non_null(ids);
    /* ids that differ only in the high 32 bits */
    for (size_t i = 0; i < N; i++)
        ids[i] = ((uint64_t)(i + 1) << 32) | 7u;
    exercise(ids, N);
    /* only in the top 12 bits, plus a little below */
    for (size_t i = 0; i < N; i++)
        ids[i] = ((uint64_t)i << 52) | (uint64_t)(i >> 12);
    exercise(ids, N);
    free(ids);
}

static void test_random_ids(void **state)
{
    (void)state;
    enum { N = 6000 };
    uint64_t *ids = malloc(N * sizeof(*ids));
    assert_non_null(ids);
    for (size_t i = 0; i < N; i++) {
        uint64_t v;
        bool dup;
        do {
            v = rnd();
            dup = false;
            for (size_t j = 0; j < i && !dup; j++)
                dup = ids[j] == v;
        } while (dup);
        ids[i] = v;
    }
    exercise(ids, N);
    free(ids);
}

/* Many ids with the same home slot in a table whose index size is known,
 * so every lookup walks one long chain and removals must shift it back;
 * plus ids homed in the last slots, whose chains wrap around slot 0. */
static void test_forced_collisions(void **state)
{
    (void)state;
    /* 64 records: the index grows to 128 slots and stays there (half full;
     * it would grow again past 96) */
    enum { N = 64 };
    const uint32_t mask = 127;
    uint64_t ids[N];
    size_t n = 0;
    for (uint64_t cand = 1; n < N / 2; cand++)
        if ((lib_hash(cand) & mask) == 5)
            ids[n++] = cand;
    for (uint64_t cand = 1ull << 40; n < N; cand++)
        if ((lib_hash(cand) & mask) >= 126)
            ids[n++] = cand;

    struct members t;
    struct model md;
    assert_int_equal(members_init(&t), 0);
    model_init(&md, N);
    memcpy(md.ids, ids, sizeof(ids));
    fill(&t, &md);
    assert_int_equal(t.slot_mask, mask);

    /* remove from the front of the chain, the middle, the wrapped part */
    const size_t pick[] = {0, 16, 31, 1, 32, 33, 63, 48, 2, 40};
    for (size_t k = 0; k < sizeof(pick) / sizeof(pick[0]); k++) {
        members_remove(&t, md.ids[pick[k]]);
        md.present[pick[k]] = 0;
        model_check(&t, &md);
    }
    /* every other of the rest */
    for (size_t i = 3; i < N; i += 2) {
        members_remove(&t, md.ids[i]);
        md.present[i] = 0;
        model_check(&t, &md);
    }
    /* and back */
    for (size_t i = 0; i < N; i++) {
        if (md.present[i])
            continue;
        struct member *m = members_add(&t, md.ids[i]);
        assert_non_null(m);
        m->generation = md.ids[i] ^ 0x5555aaaa5555aaaaull;
        m->version = (uint32_t)i;
        md.present[i] = 1;
        model_check(&t, &md);
    }
    model_free(&md);
    members_free(&t);
}

/* Removal moves the last array record into the hole: pointers obtained
 * afterwards, and meta blobs, must follow the record. */
static void test_swap_remove_keeps_records(void **state)
{
    (void)state;
    struct members t;
    assert_int_equal(members_init(&t), 0);
    for (uint64_t id = 100; id < 140; id++) {
        struct member *m = members_add(&t, id);
        assert_non_null(m);
        m->meta = malloc(8);
        assert_non_null(m->meta);
        memcpy(m->meta, &id, 8);
        m->meta_len = 8;
        m->version = (uint32_t)id;
    }
    /* remove the first record: the last (139) moves to index 0 */
    members_remove(&t, 100);
    assert_int_equal(t.n, 39);
    assert_true(t.v[0].id == 139);
    struct member *m = members_get(&t, 139);
    assert_ptr_equal(m, &t.v[0]);
    uint64_t got;
    memcpy(&got, m->meta, 8);
    assert_true(got == 139);
    assert_int_equal(m->version, 139);
    /* remove the last record: nothing moves */
    uint64_t last = t.v[t.n - 1].id;
    members_remove(&t, last);
    assert_null(members_get(&t, last));
    check_table(&t);
    for (uint32_t i = 0; i < t.n; i++) {
        memcpy(&got, t.v[i].meta, 8);
        assert_true(got == t.v[i].id);
        assert_int_equal(t.v[i].version, (uint32_t)t.v[i].id);
    }
    members_free(&t); /* frees the remaining meta; ASan checks the rest */
}

/* ---- precedence --------------------------------------------------------- */

static void test_incarnation_cmp(void **state)
{
    (void)state;
    assert_int_equal(incarnation_cmp(5, 3, 5, 3), 0);
    assert_true(incarnation_cmp(5, 4, 5, 3) > 0);
    assert_true(incarnation_cmp(5, 2, 5, 3) < 0);
    /* generation dominates any version */
    assert_true(incarnation_cmp(6, 0, 5, UINT32_MAX) > 0);
    assert_true(incarnation_cmp(5, UINT32_MAX, 6, 0) < 0);
    /* full range, no signed overflow */
    assert_true(incarnation_cmp(UINT64_MAX, 0, 0, UINT32_MAX) > 0);
    assert_true(incarnation_cmp(0, 0, UINT64_MAX, 0) < 0);
    assert_true(incarnation_cmp(1ull << 63, 0, (1ull << 63) - 1, 0) > 0);
    assert_true(incarnation_cmp(7, 1u << 31, 7, (1u << 31) - 1) > 0);
    assert_int_equal(incarnation_cmp(UINT64_MAX, UINT32_MAX, UINT64_MAX, UINT32_MAX), 0);
    /* antisymmetric over a grid */
    const uint64_t gens[] = {0, 1, 2, 1ull << 40, UINT64_MAX};
    const uint32_t vers[] = {0, 1, 2, 1u << 31, UINT32_MAX};
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 5; b++)
            for (size_t c = 0; c < 5; c++)
                for (size_t d = 0; d < 5; d++) {
                    int x = incarnation_cmp(gens[a], vers[b], gens[c], vers[d]);
                    int y = incarnation_cmp(gens[c], vers[d], gens[a], vers[b]);
                    assert_true((x > 0) == (y < 0));
                    assert_true((x == 0) == (a == c && b == d));
                    int want = a != c ? (a < c ? -1 : 1) : b != d ? (b < d ? -1 : 1) : 0;
                    assert_int_equal(x < 0 ? -1 : x > 0, want);
                }
}

static void test_update_overrides_states(void **state)
{
    (void)state;
    /* equal incarnation: left > failed > suspect > alive, strictly */
    for (uint8_t n = 0; n <= GOSSIP_LEFT; n++)
        for (uint8_t c = 0; c <= GOSSIP_LEFT; c++)
            assert_int_equal(update_overrides(n, 10, 4, c, 10, 4), n > c);
    assert_true(update_overrides(GOSSIP_LEFT, 10, 4, GOSSIP_FAILED, 10, 4));
    assert_true(update_overrides(GOSSIP_FAILED, 10, 4, GOSSIP_SUSPECT, 10, 4));
    assert_true(update_overrides(GOSSIP_SUSPECT, 10, 4, GOSSIP_ALIVE, 10, 4));
    assert_false(update_overrides(GOSSIP_ALIVE, 10, 4, GOSSIP_SUSPECT, 10, 4));
    assert_false(update_overrides(GOSSIP_SUSPECT, 10, 4, GOSSIP_SUSPECT, 10, 4));
    assert_false(update_overrides(GOSSIP_FAILED, 10, 4, GOSSIP_LEFT, 10, 4));
}

static void test_update_overrides_incarnation(void **state)
{
    (void)state;
    for (uint8_t n = 0; n <= GOSSIP_LEFT; n++)
        for (uint8_t c = 0; c <= GOSSIP_LEFT; c++) {
            /* a higher generation beats any state, even alive over left */
            assert_true(update_overrides(n, 11, 0, c, 10, 999));
            assert_false(update_overrides(n, 10, 999, c, 11, 0));
            /* a higher version (same generation) beats any state */
            assert_true(update_overrides(n, 10, 5, c, 10, 4));
            assert_false(update_overrides(n, 10, 4, c, 10, 5));
        }
    /* refutation: alive with version+1 overrides suspect/failed */
    assert_true(update_overrides(GOSSIP_ALIVE, 10, 5, GOSSIP_SUSPECT, 10, 4));
    assert_true(update_overrides(GOSSIP_ALIVE, 10, 5, GOSSIP_FAILED, 10, 4));
    /* a restart overrides a left member */
    assert_true(update_overrides(GOSSIP_ALIVE, 12, 0, GOSSIP_LEFT, 11, 7));
    /* stale left never overrides a newer alive */
    assert_false(update_overrides(GOSSIP_LEFT, 11, 7, GOSSIP_ALIVE, 11, 8));
    assert_false(update_overrides(GOSSIP_LEFT, 11, 7, GOSSIP_ALIVE, 12, 0));
    /* extremes */
    assert_true(update_overrides(GOSSIP_ALIVE, UINT64_MAX, 0, GOSSIP_LEFT, UINT64_MAX - 1, UINT32_MAX));
    assert_true(update_overrides(GOSSIP_ALIVE, 3, UINT32_MAX, GOSSIP_LEFT, 3, UINT32_MAX - 1));
}

/* Goodbyes of members we did not know (lib/lives.c): they cover the older
 * records of that life only, for as long as they are kept, and another
 * life of the id (a return, also one whose generation is lower: a restart
 * with the clock behind) makes them go. */
static void test_departed_goodbyes(void **state)
{
    (void)state;
    struct departed t;
    memset(&t, 0, sizeof t);
    departed_note(&t, 7, 100, 5, 2000, true);
    assert_true(departed_covers(&t, 7, 100, 5, 1000));  /* the goodbye itself, heard again */
    assert_true(departed_covers(&t, 7, 100, 2, 1000));  /* a stale alive record of that life */
    assert_false(departed_covers(&t, 8, 100, 2, 1000)); /* another id */
    assert_false(departed_covers(&t, 7, 100, 2, 2000)); /* kept for the reap time only */
    assert_false(departed_covers(&t, 7, 100, 2, 1000)); /* ... then gone */

    departed_note(&t, 7, 100, 5, 9000, true);
    departed_note(&t, 7, 100, 3, 9000, true); /* an older goodbye does not lower it */
    assert_true(departed_covers(&t, 7, 100, 4, 1000));
    assert_false(departed_covers(&t, 7, 100, 6, 1000)); /* newer than the goodbye: gone */
    assert_false(departed_covers(&t, 7, 100, 2, 1000));

    departed_note(&t, 7, 100, 5, 9000, true);
    assert_false(departed_covers(&t, 7, 99, 9, 1000)); /* a life behind: a return */
    assert_false(departed_covers(&t, 7, 100, 2, 1000));
    departed_note(&t, 7, 100, 5, 9000, true);
    assert_false(departed_covers(&t, 7, 101, 0, 1000)); /* a later life */

    /* full: the one that expires first goes, the others stay */
    memset(&t, 0, sizeof t);
    for (uint64_t id = 1; id <= DEPARTED_MAX; id++)
        departed_note(&t, id, 100, 1, 5000 + id, true);
    departed_note(&t, 1000, 100, 1, 9000, true);
    assert_false(departed_covers(&t, 1, 100, 1, 10));
    for (uint64_t id = 2; id <= DEPARTED_MAX; id++)
        assert_true(departed_covers(&t, id, 100, 1, 10));
    assert_true(departed_covers(&t, 1000, 100, 1, 10));

    /* failures from a full view: never cover a record (a failed member may
     * be alive), but count while the member is not in the table */
    memset(&t, 0, sizeof t);
    struct members mt;
    assert_int_equal(members_init(&mt), 0);
    departed_note(&t, 7, 100, 5, 2000, false);
    departed_note(&t, 8, 100, 5, 2000, false);
    departed_note(&t, 9, 100, 5, 2000, true);
    uint64_t ids[4];
    assert_int_equal(departed_failed(&t, &mt, 1000, ids, 4), 2);
    assert_true((ids[0] == 7 && ids[1] == 8) || (ids[0] == 8 && ids[1] == 7));
    assert_false(departed_covers(&t, 7, 100, 2, 1000));
    assert_int_equal(departed_failed(&t, &mt, 1000, NULL, 0), 2);
    assert_non_null(members_add(&mt, 8)); /* it is a member now: counted there */
    assert_int_equal(departed_failed(&t, &mt, 1000, ids, 4), 1);
    assert_true(ids[0] == 7);
    assert_int_equal(departed_failed(&t, &mt, 2000, NULL, 0), 0); /* reaped */
    departed_note(&t, 7, 100, 5, 9000, true); /* its goodbye replaces the failure */
    assert_true(departed_covers(&t, 7, 100, 5, 3000));
    members_free(&mt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_table),
        cmocka_unit_test(test_extreme_ids),
        cmocka_unit_test(test_consecutive_ids),
        cmocka_unit_test(test_high_bit_ids),
        cmocka_unit_test(test_random_ids),
        cmocka_unit_test(test_forced_collisions),
        cmocka_unit_test(test_swap_remove_keeps_records),
        cmocka_unit_test(test_incarnation_cmp),
        cmocka_unit_test(test_update_overrides_states),
        cmocka_unit_test(test_update_overrides_incarnation),
        cmocka_unit_test(test_departed_goodbyes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
