/* Sliding windows over increasing counters (see window.h). */
#include "window.h"

bool replay_check(const struct replay_window *w, uint64_t ctr)
{
    if (ctr == 0)
        return false;
    if (ctr > w->top)
        return true;
    uint64_t back = w->top - ctr;
    if (back >= 64)
        return false;
    return !(w->bits >> back & 1u);
}

void replay_commit(struct replay_window *w, uint64_t ctr)
{
    if (ctr == 0)
        return;
    if (ctr > w->top) {
        uint64_t shift = ctr - w->top;
        w->bits = shift >= 64 ? 0 : w->bits << shift;
        w->bits |= 1u;
        w->top = ctr;
        return;
    }
    uint64_t back = w->top - ctr;
    if (back < 64)
        w->bits |= UINT64_C(1) << back;
}
