/*
 * Log lines to the host and the rate-limited drop warnings (see log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

__attribute__((format(printf, 3, 0)))
static void vlog(const struct gossip_callbacks *cb, enum gossip_log_level lvl, const char *fmt, va_list ap)
{
    if (!cb->log)
        return;
    char msg[256];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    cb->log(cb->ud, lvl, msg);
}

void g_log(struct gossip *g, enum gossip_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(&g->cfg.cb, lvl, fmt, ap);
    va_end(ap);
}

#define WARN_EVERY_MS 10000u

bool g_drop(struct gossip *g, uint64_t *counter, unsigned reason)
{
    ++*counter;
    /* one line per reason per ten seconds, with the count of the silent ones */
    if (reason >= 16 || !g->cfg.cb.log)
        return false;
    if (g->warn_ms[reason] && g->now < g->warn_ms[reason] + WARN_EVERY_MS) {
        g->warn_suppressed[reason]++;
        return false;
    }
    g->warn_ms[reason] = g->now ? g->now : 1;
    return true;
}

void g_drop_log(struct gossip *g, unsigned reason, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* a key we do not hold is a configuration error (a missed rotation),
     * not noise on the port */
    enum gossip_log_level lvl = reason == DR_KEY ? GOSSIP_LOG_ERROR : GOSSIP_LOG_WARN;
    if (reason < 16 && g->warn_suppressed[reason])
        g_log(g, lvl, "%s (and %llu more like it)", msg, (unsigned long long)g->warn_suppressed[reason]);
    else
        g_log(g, lvl, "%s", msg);
    if (reason < 16)
        g->warn_suppressed[reason] = 0;
}

