/*
 * Per-node heap accounting for the swarm runner.
 *
 * malloc, calloc, realloc and free are defined here and forward to glibc's
 * __libc_* entry points (as test/unit_noalloc.c does), so every allocation
 * in the process passes through them, libcrypto's included.  An allocation
 * made while the owner function names a node (the simulator is inside that
 * node's handle, and neither the simulator's nor the runner's own code is
 * running) is entered in a pointer table with its size and node; its free
 * takes it out again, whoever frees it.  So sw_alloc_live(i) is exactly the
 * heap node i's handle holds now, and it is 0 again after its
 * gossip_destroy() unless something leaked.
 *
 * Not compiled in under AddressSanitizer (which owns malloc): then
 * sw_alloc_available() is false and the runner falls back to member counts.
 */
#include "swarm.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define SW_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define SW_SANITIZED 1
#endif
#endif

#ifdef SW_SANITIZED

bool sw_alloc_available(void)
{
    return false;
}
void sw_alloc_set_owner(sw_owner_fn fn)
{
    (void)fn;
}
int64_t sw_alloc_live(unsigned node)
{
    (void)node;
    return 0;
}
int64_t sw_alloc_blocks(unsigned node)
{
    (void)node;
    return 0;
}
void sw_alloc_reset(void)
{
}
void sw_alloc_dump(unsigned node, FILE *f)
{
    (void)node;
    (void)f;
}

#else

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

struct entry {
    uintptr_t ptr; /* 0 = empty */
    size_t size;
    int node;
};

static struct entry *table;
static size_t cap, used; /* cap: power of two */
static sw_owner_fn owner_fn;
static bool in_hook;
static int64_t live[SW_MAX_NODES], blocks[SW_MAX_NODES];

static size_t hash_ptr(uintptr_t p)
{
    uint64_t x = (uint64_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static bool grow(void)
{
    size_t ncap = cap ? cap * 2 : 4096;
    struct entry *nt = __libc_calloc(ncap, sizeof *nt);
    if (!nt)
        return false;
    for (size_t i = 0; i < cap; i++) {
        if (!table[i].ptr)
            continue;
        size_t h = hash_ptr(table[i].ptr) & (ncap - 1);
        while (nt[h].ptr)
            h = (h + 1) & (ncap - 1);
        nt[h] = table[i];
    }
    __libc_free(table);
    table = nt;
    cap = ncap;
    return true;
}

static void insert(void *p, size_t size, int node)
{
    if (!p || node < 0 || node >= SW_MAX_NODES)
        return;
    if ((used + 1) * 4 > cap * 3 && !grow())
        return;
    uintptr_t k = (uintptr_t)p;
    size_t h = hash_ptr(k) & (cap - 1);
    while (table[h].ptr && table[h].ptr != k)
        h = (h + 1) & (cap - 1);
    if (table[h].ptr == k) { /* freed behind our back (cannot happen with our free) */
        live[table[h].node] -= (int64_t)table[h].size;
        blocks[table[h].node]--;
    } else {
        used++;
    }
    table[h] = (struct entry){k, size, node};
    live[node] += (int64_t)size;
    blocks[node]++;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void erase(void *p)
{
    if (!p || !used)
        return;
    uintptr_t k = (uintptr_t)p;
    size_t mask = cap - 1, h = hash_ptr(k) & mask;
    while (table[h].ptr && table[h].ptr != k)
        h = (h + 1) & mask;
    if (!table[h].ptr)
        return;
    live[table[h].node] -= (int64_t)table[h].size;
    blocks[table[h].node]--;
    used--;
    size_t hole = h;
    for (size_t j = (h + 1) & mask; table[j].ptr; j = (j + 1) & mask) {
        size_t home = hash_ptr(table[j].ptr) & mask;
        /* move j into the hole unless its home lies cyclically in (hole, j] */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            table[hole] = table[j];
            hole = j;
        }
    }
    table[hole].ptr = 0;
}

static int owner(void)
{
    if (!owner_fn || in_hook)
        return -1;
    in_hook = true;
    int o = owner_fn();
    in_hook = false;
    return o;
}

void *malloc(size_t size)
{
    void *p = __libc_malloc(size);
    int o = owner();
    if (o >= 0) {
        in_hook = true;
        insert(p, size, o);
        in_hook = false;
    }
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    int o = owner();
    if (o >= 0) {
        in_hook = true;
        insert(p, n * size, o);
        in_hook = false;
    }
    return p;
}

void *realloc(void *old, size_t size)
{
    void *p = __libc_realloc(old, size);
    if (!p && size)
        return NULL; /* the old block stays as it was */
    if (!in_hook && used) {
        in_hook = true;
        erase(old);
        in_hook = false;
    }
    int o = owner();
    if (o >= 0 && p) {
        in_hook = true;
        insert(p, size, o);
        in_hook = false;
    }
    return p;
}

void free(void *p)
{
    if (p && !in_hook && used) {
        in_hook = true;
        erase(p);
        in_hook = false;
    }
    __libc_free(p);
}

bool sw_alloc_available(void)
{
    return true;
}

void sw_alloc_set_owner(sw_owner_fn fn)
{
    owner_fn = fn;
}

int64_t sw_alloc_live(unsigned node)
{
    return node < SW_MAX_NODES ? live[node] : 0;
}

int64_t sw_alloc_blocks(unsigned node)
{
    return node < SW_MAX_NODES ? blocks[node] : 0;
}

void sw_alloc_dump(unsigned node, FILE *f)
{
    for (size_t i = 0; i < cap; i++)
        if (table[i].ptr && table[i].node == (int)node)
            fprintf(f, "    block %p: %zu bytes\n", (void *)table[i].ptr, table[i].size);
}

void sw_alloc_reset(void)
{
    in_hook = true;
    if (table)
        memset(table, 0, cap * sizeof *table);
    used = 0;
    memset(live, 0, sizeof live);
    memset(blocks, 0, sizeof blocks);
    in_hook = false;
}

#endif
