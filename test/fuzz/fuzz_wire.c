/*
 * libFuzzer target: the payload codec (lib/wire.c), i.e. what the receive
 * path sees after the envelope has been opened.
 *
 * Every input goes through wire_decode().  Whatever decodes must be
 * canonical (wire.h) and re-encode through the writer (wire_begin /
 * wire_add_member / wire_add_event / wire_finish) into exactly the same
 * bytes, in a buffer of exactly the input's size; anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wire_msg msg; /* ~5 KiB: keep it off the stack like the library does */

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "fuzz_wire: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

static void check_canonical(const struct wire_msg *m)
{
    CHECK(m->n_members <= WIRE_MAX_MEMBERS && m->n_events <= WIRE_MAX_EVENTS);
    if (m->type != WIRE_PING && m->type != WIRE_PING_REQ && m->type != WIRE_RESPONSE)
        CHECK(m->target == 0);
    if (m->type == WIRE_RESPONSE)
        CHECK(m->body_len > 0 && m->body_len <= WIRE_EVENT_LEN_MAX && m->body != NULL);
    else
        CHECK(m->body_len == 0 && m->body == NULL);
    for (unsigned i = 0; i < m->n_members; i++) {
        const struct wire_member *r = &m->members[i];
        CHECK(r->state <= 3 && (r->flags & ~WIRE_M_DRAINING) == 0);
        if (r->state != 1 && r->state != 2)
            CHECK(r->from == 0);
        CHECK((r->meta_len == 0) == (r->meta == NULL));
        CHECK(r->addr.family == 4 || r->addr.family == 6);
        if (r->addr.family == 4)
            for (unsigned k = 4; k < 16; k++)
                CHECK(r->addr.ip[k] == 0);
    }
    for (unsigned i = 0; i < m->n_events; i++)
        CHECK(m->events[i].len > 0 && m->events[i].len <= WIRE_EVENT_LEN_MAX && m->events[i].data != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy into an exactly sized heap buffer: ASan then catches a read one
     * byte past the payload, which the fuzzer's own buffer might hide. */
    uint8_t *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    if (size)
        memcpy(in, data, size);

    if (wire_decode(in, size, &msg) != 0) {
        CHECK(msg.n_members == 0 && msg.n_events == 0);
        free(in);
        return 0;
    }
    check_canonical(&msg);

    uint8_t *out = malloc(size ? size : 1);
    CHECK(out != NULL);
    memset(out, 0xa5, size);
    struct wire_writer w;
    CHECK(wire_begin(&w, out, size, &msg) == 0);
    for (unsigned i = 0; i < msg.n_members; i++)
        CHECK(wire_add_member(&w, &msg.members[i]) == 0);
    for (unsigned i = 0; i < msg.n_events; i++)
        CHECK(wire_add_event(&w, &msg.events[i]) == 0);
    size_t n = wire_finish(&w);
    CHECK(n == size);
    CHECK(memcmp(out, in, size) == 0);

    /* The writer must refuse what does not fit: nothing is left. */
    CHECK(wire_room(&w) == 0);

    free(out);
    free(in);
    return 0;
}
