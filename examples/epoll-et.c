/*
 * epoll-et: libgossip in an edge-triggered epoll loop (EPOLLET), the way
 * a mail server that already runs its sockets edge-triggered embeds it.
 *
 *   epoll-et NODE-ID PORT [SEED-ADDR:PORT] [SECONDS]
 *
 * An edge-triggered registration wakes the loop once per burst of
 * datagrams, not once per datagram still queued: the loop must read until
 * the socket is empty.  gossip_on_readable() reads a bounded budget and
 * returns 1 while more may be waiting, so the loop calls it again (doing
 * its other work in between, here: nothing) until it returns 0.  The
 * timer is a timerfd armed from gossip_next_timeout_ms() after every call.
 * Runs SECONDS (default: until killed), then leaves gracefully.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "gossip.h"

static void on_member(void *ud, enum gossip_event ev, const struct gossip_member *m)
{
    (void)ud;
    printf("member %" PRIu64 ": %s\n", m->id, gossip_event_name(ev));
    fflush(stdout);
}

/* Arm the timerfd for the library's next deadline (0 ms: fire at once). */
static void arm(int tfd, gossip_t *g)
{
    int ms = gossip_next_timeout_ms(g);
    struct itimerspec its = {0};
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L + (ms == 0); /* 0 would disarm */
    timerfd_settime(tfd, 0, &its, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s NODE-ID PORT [SEED-ADDR:PORT] [SECONDS]\n", argv[0]);
        return 2;
    }
    static struct gossip_config cfg;
    gossip_config_init(&cfg);
    cfg.node_id = strtoull(argv[1], NULL, 10);
    cfg.bind_port = (uint16_t)atoi(argv[2]);
    snprintf(cfg.bind_addr, sizeof cfg.bind_addr, "127.0.0.1");
    cfg.cb.member = on_member;
    if (gossip_config_add_key(&cfg, "an example passphrase, change me") < 0)
        return 1;
    if (argc > 3 && argv[3][0] && gossip_config_add_seed(&cfg, argv[3]) < 0) {
        fprintf(stderr, "bad seed %s\n", argv[3]);
        return 1;
    }
    long seconds = argc > 4 ? atol(argv[4]) : 0;

    gossip_t *g;
    int rc = gossip_create(&g, &cfg);
    if (rc < 0) {
        fprintf(stderr, "gossip_create: %s\n", gossip_strerror(rc));
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ep < 0 || tfd < 0) {
        perror("epoll/timerfd");
        return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = gossip_fd(g)};
    epoll_ctl(ep, EPOLL_CTL_ADD, gossip_fd(g), &ev);
    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = tfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    arm(tfd, g);

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct epoll_event evs[4];
        int n = epoll_wait(ep, evs, 4, 1000);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == tfd) {
                uint64_t expirations;
                (void)!read(tfd, &expirations, sizeof expirations);
                gossip_tick(g);
            } else {
                /* edge-triggered: read until drained, or nothing wakes us for the rest */
                while ((rc = gossip_on_readable(g)) > 0)
                    ;
                if (rc < 0)
                    fprintf(stderr, "receive: %s\n", gossip_strerror(rc));
            }
        }
        arm(tfd, g);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (seconds > 0 && now.tv_sec - start.tv_sec >= seconds)
            break;
    }
    gossip_leave(g);
    for (int i = 0; i < 10 && !gossip_leave_done(g); i++) {
        struct timespec pause = {0, 20 * 1000000L};
        nanosleep(&pause, NULL);
        gossip_on_readable(g);
        gossip_tick(g);
    }
    gossip_destroy(g);
    close(tfd);
    close(ep);
    return 0;
}
