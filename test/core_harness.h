/*
 * core_harness (ch): the protocol core without the envelope, for the unit
 * tests of the merge rules, the dissemination queue, the failure detector
 * and the full-view exchange.
 *
 * The handles are real ones, made as the hook cluster makes them
 * (hc_config()/hc_start(): virtual clock hc->now, a deterministic random
 * hook per node, every callback recorded in hc->node[i], see hc.h), but
 * they are driven below the public entry points, the way gossip_feed() and
 * gossip_tick() drive them, with the two crypto steps left out:
 *
 *   in      ch_dispatch() hands node idx a decoded message as if open.c had
 *           opened it from sender S (session, counter) at address A: it
 *           builds the struct inbound open_datagram() would (in->m is S's
 *           record, if known) and calls dispatch() with OPEN_OK, or
 *           OPEN_SELF_ID when S is the node's own id.  ch_peer_send() does
 *           it for a peer that exists only as such messages (encoded and
 *           decoded again first, so the core gets exactly what wire_decode()
 *           yields from a datagram).
 *   timers  ch_tick() sets g->now and calls maintain_run(), the timers of
 *           gossip_tick().
 *   out     after either step, every outbox entry (outbox_payload(), with
 *           its destination) is copied out as plaintext into ch->q, BEFORE
 *           the transmit step, and the outbox is cleared, so nothing is
 *           sealed; then g_deliver() runs the callbacks, as finish() does
 *           after transmit().  The outbox's drain function is replaced too,
 *           so a burst that fills the outbox in the middle of a call (a
 *           full-view reply) is captured, not sealed.  ch_decode() reads an
 *           entry back with wire_decode().
 *   between ch_pump()/ch_run() deliver what the nodes wrote to each other
 *           (node i lives at 10.0.0.(i+1):1179, as in hc), each message
 *           dispatched as from its writer under the writer's generation and
 *           a counter that grows by one per message, as transmit() would
 *           seal it: a plaintext hook cluster.
 *
 * What is skipped, and why that is sound:
 *   - open_datagram(): the size check, the envelope header, the drop of
 *     our own datagrams, the sender's replay window (stale sessions and
 *     used counters), AES-GCM open and wire_decode().  What it hands
 *     dispatch() for an authentic, fresh datagram is (from, header, the
 *     sender's record, the decoded message), which is what the harness
 *     builds; it decides nothing about what the message means (open.h).
 *     Every harness message therefore counts as fresh: a message delivered
 *     twice (ch->dup) reaches dispatch() twice, where the real receive path
 *     would drop the copy at the replay window, so the layers behind it are
 *     tested on their own.  The receive counters of open.c
 *     (recv_datagrams, recv_bytes, drop_*) do not move.
 *   - transmit(): sealing under the session key and handing the datagram
 *     to the socket or the send hook; sent_datagrams/sent_bytes do not move.
 *   Both are tested where the envelope is the point, with real datagrams:
 *   unit_hostile (replay, sessions, forgery, malformed input), unit_crypto,
 *   unit_keyring, and every hc-based test, whose traffic is sealed and
 *   opened.  The entry points themselves are only "g->now = clock; open +
 *   dispatch, or maintain_run; transmit; g_deliver" (lib/gossip.c finish()).
 *
 * Public calls that only schedule (gossip_broadcast(), gossip_set_meta())
 * may be used on harness nodes; one that sends at once (gossip_leave())
 * would be sealed by its own finish(), and ch_pump() fails the test when a
 * sealed datagram shows up in the hook cluster's queue.  Callbacks must not
 * call back into the harness.
 *
 * Linking: the Makefile links every test/unit_*.c with the library objects,
 * test/sim.o and test/hc.o only, so a test that uses this harness includes
 * "core_harness.c" (once) instead of this header.  Make does not know that
 * dependency: after editing core_harness.[ch], touch the unit tests that
 * include it (or remove their binaries).
 */
#ifndef LIBGOSSIP_TEST_CORE_HARNESS_H
#define LIBGOSSIP_TEST_CORE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hc.h"
#include "internal.h"

/* One message a node wrote into its outbox, as plaintext. */
struct ch_out {
    unsigned from;            /* the writer's node index */
    unsigned to;              /* the node living at addr, HC_MAX: none */
    gaddr_t addr;             /* the destination as the core wrote it */
    uint64_t t;               /* hc->now when it was written */
    uint64_t sender, session, counter; /* what transmit() would have sealed it under */
    size_t len;
    uint8_t *payload;         /* owned */
};

struct ch_list {
    struct ch_out *v;
    size_t n, cap;
};

struct ch;

/* The capture drain of one node (the outbox's drain_ctx). */
struct ch_drain {
    struct ch *ch;
    unsigned idx;
};

struct ch {
    struct hc *hc;            /* clock, configs, recorded callbacks */
    struct ch_list q;         /* written, not yet delivered */
    size_t q_pos;
    struct ch_list rec;       /* everything written while recording */
    bool recording;
    bool dup;                 /* deliver every message twice (see above) */
    /* selective loss: true drops the message (msg is its decoded payload) */
    bool (*lose)(struct ch *ch, const struct ch_out *o, const struct wire_msg *msg);
    uint64_t delivered;
    uint64_t counter[HC_MAX]; /* the last counter each node "sealed" */
    struct ch_drain drain[HC_MAX];
    struct wire_msg rx;       /* the message being dispatched */
    struct wire_msg view;     /* ch_decode()'s result */
};

/* A sender that exists only as decoded messages (what the tests used to
 * forge as sealed datagrams). */
struct ch_peer {
    uint64_t id, session, counter;
    gaddr_t addr;
};

/* ---- setup ------------------------------------------------------------- */

/* An empty harness over hc_new() (clock at 1000, no node configured). */
struct ch *ch_new(void);
/* ch_new() with nodes 0..n-1 configured as IDS[0..n-1] (hc_cluster()). */
struct ch *ch_cluster(unsigned n);
/* hc_start() and the capture drain (ch_attach()). */
void ch_start(struct ch *ch, unsigned idx);
/* Start nodes 0..n-1 and run the plaintext cluster until they converge. */
void ch_start_all(struct ch *ch, unsigned n);
/* Put node idx's outbox under the harness (done by every ch_ call, so a
 * node started with hc_start() may be used as well). */
void ch_attach(struct ch *ch, unsigned idx);
void ch_free(struct ch *ch);
/* cmocka teardown: frees the harnesses a failed test left open (and their
 * clusters), then whatever hc_teardown() frees. */
int ch_teardown(void **state);

struct gossip *ch_g(const struct ch *ch, unsigned idx);
/* Node idx's address, 10.0.0.(idx+1):1179. */
gaddr_t ch_addr(unsigned idx);

/* ---- in ---------------------------------------------------------------- */

/* Node idx gets msg (decoded) from sender at `from`, opened as (session,
 * counter): dispatch(), then the outbox captured and the callbacks run. */
void ch_dispatch(struct ch *ch, unsigned idx, const gaddr_t *from, uint64_t sender, uint64_t session,
                 uint64_t counter, const struct wire_msg *msg);

struct ch_peer ch_peer(uint64_t id, uint64_t session, const gaddr_t *addr);
/* p's alive record at version 0 (what a forged node said about itself). */
struct wire_member ch_peer_record(const struct ch_peer *p);
/* hdr from p to node idx, with p's own record first when self_record, then
 * recs and events; encoded and decoded as a datagram would be, then
 * dispatched under p's next counter. */
void ch_peer_send(struct ch *ch, unsigned idx, struct ch_peer *p, const struct wire_msg *hdr, bool self_record,
                  const struct wire_member *recs, unsigned n, const struct wire_event *evs, unsigned ne);

/* ---- timers -------------------------------------------------------------- */

/* gossip_tick() of node idx at hc->now, without the seal. */
void ch_tick(struct ch *ch, unsigned idx);
/* ch_tick() of every running node (started, not frozen, not deaf). */
void ch_tick_all(struct ch *ch);
/* Move the clock to the next timer of any running node and tick them all;
 * nothing in flight is delivered. */
void ch_advance(struct ch *ch);

/* ---- out ----------------------------------------------------------------- */

/* Node idx's outbox into ch->q (and ch->rec while recording), then cleared.
 * The ch_ calls above do it; a test that called the core itself does. */
void ch_capture(struct ch *ch, unsigned idx);
/* An entry's payload decoded (into ch->view; valid until the next call). */
const struct wire_msg *ch_decode(struct ch *ch, const struct ch_out *o);
/* The record about id in a decoded message, or NULL. */
const struct wire_member *ch_record(const struct wire_msg *m, uint64_t id);
/* Forget what was recorded (ch->rec). */
void ch_rec_clear(struct ch *ch);

/* ---- between nodes --------------------------------------------------------- */

/* Deliver one message to its destination node, as from its writer (nothing
 * when no running node lives there).  o may point into ch->q. */
void ch_deliver(struct ch *ch, const struct ch_out *o);
/* Deliver everything in flight, and what that causes (hc->cut, node->deaf,
 * ch->lose and ch->dup apply); messages to no node are dropped. */
void ch_pump(struct ch *ch);
/* Drop whatever is in flight. */
void ch_discard(struct ch *ch);
/* hc_run() in plaintext: ms of virtual time, timer to timer, instant delivery. */
void ch_run(struct ch *ch, uint64_t ms);
/* Run until every started node sees every other alive (fails after max_ms). */
void ch_converge(struct ch *ch, uint64_t max_ms);

#endif
