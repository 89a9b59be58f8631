/*
 * select-loop: the smallest complete libgossip program.
 *
 *   select-loop NODE-ID PORT [SEED-ADDR:PORT]
 *
 * e.g. in two terminals:
 *   select-loop 1 47001
 *   select-loop 2 47002 127.0.0.1:47001
 *
 * Stop it with Ctrl-C (no graceful leave here: see gossip-node.c for that).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>

#include "gossip.h"

/* 1. Callbacks run at the end of a library call, never in the middle of one. */
static void on_member(void *ud, enum gossip_event ev, const struct gossip_member *m)
{
    (void)ud;
    printf("member %" PRIu64 ": %s (now %s)\n", m->id, gossip_event_name(ev),
           gossip_state_name(m->state));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s NODE-ID PORT [SEED-ADDR:PORT]\n", argv[0]);
        return 2;
    }

    /* 2. Start from the defaults, then set what matters. */
    static struct gossip_config cfg; /* a few KiB: static, not on the stack */
    gossip_config_init(&cfg);
    cfg.node_id = strtoull(argv[1], NULL, 10);
    cfg.bind_port = (uint16_t)atoi(argv[2]);
    snprintf(cfg.bind_addr, sizeof cfg.bind_addr, "127.0.0.1");
    cfg.cb.member = on_member;

    /* 3. Every node of the cluster uses the same passphrase (scrypt-derived). */
    if (gossip_config_add_key(&cfg, "an example passphrase, change me") < 0)
        return 1;
    /* 4. Seeds: where to join.  The first node of a cluster has none. */
    if (argc > 3 && gossip_config_add_seed(&cfg, argv[3]) < 0) {
        fprintf(stderr, "bad seed %s\n", argv[3]);
        return 1;
    }

    /* 5. Create the node: this validates the config and binds the UDP socket. */
    gossip_t *g;
    int rc = gossip_create(&g, &cfg);
    if (rc < 0) {
        fprintf(stderr, "gossip_create: %s\n", gossip_strerror(rc));
        return 1;
    }

    /* 6. The loop: wait for the socket or for the next timer, whichever is first. */
    for (;;) {
        int fd = gossip_fd(g);
        int ms = gossip_next_timeout_ms(g); /* recompute after every library call */
        struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(fd, &rd);

        int n = select(fd + 1, &rd, NULL, NULL, &tv);
        if (n > 0 && FD_ISSET(fd, &rd))
            gossip_on_readable(g); /* drain datagrams, run the protocol */
        gossip_tick(g);            /* run due timers: probes, gossip, suspicion... */
    }
    /* not reached: a real program would gossip_leave(), tick a little, then: */
    gossip_destroy(g);
    return 0;
}
