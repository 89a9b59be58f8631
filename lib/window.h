/*
 * A sliding window over increasing counters (WireGuard's replay window):
 * which of the last 64 counters below the highest were seen.  Used for a
 * sender session's datagram counters and for an origin's cluster event
 * ids.  A pure value.
 */
#ifndef GOSSIP_WINDOW_H
#define GOSSIP_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

struct replay_window {
    uint64_t top;  /* highest counter accepted; 0 = none yet */
    uint64_t bits; /* bit i set: counter top - i was accepted */
};

/* true if counter ctr is new for this window (not seen, not older than 64 behind top). */
bool replay_check(const struct replay_window *w, uint64_t ctr);
/* Record ctr as seen (call only after replay_check() and successful open). */
void replay_commit(struct replay_window *w, uint64_t ctr);

#endif
