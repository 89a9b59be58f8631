/*
 * The one UDP socket: dual stack when bound to "::", non-blocking, read
 * in batches with recvmmsg() and handed back to the caller (gossip.c).
 * Per-datagram errors (EAGAIN, EINTR, ICMP errors reported on the socket)
 * never lose state: they end a batch or are counted.  Addresses are kept
 * as gaddr_t (addr.h), IPv4-mapped IPv6 unmapped, so that the same peer
 * always compares equal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "udp.h"

#define RX_BATCH UDP_BATCH

struct udp_batch {
    struct mmsghdr msgs[RX_BATCH];
    struct iovec iov[RX_BATCH];
    struct sockaddr_storage from[RX_BATCH];
    uint8_t *bufs; /* RX_BATCH * slot bytes */
    size_t slot;
};

int udp_open(struct gossip *g)
{
    gaddr_t bind_at;
    int rc = addr_parse(g->cfg.bind_addr, g->cfg.bind_port, &bind_at);
    if (rc < 0)
        return rc;
    bind_at.port = g->cfg.bind_port;
    int family = bind_at.family == 4 ? AF_INET : AF_INET6;
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return GOSSIP_ESOCKET;
    int zero = 0, bufsz = 1 << 20;
    /* "::" means both families: a cluster may mix them */
    if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
        goto fail;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
    struct sockaddr_storage ss;
    socklen_t sl;
    if (addr_to_sockaddr(&bind_at, family, &ss, &sl) < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0)
        goto fail;

    struct udp_batch *b = calloc(1, sizeof(*b));
    if (!b) {
        close(fd);
        return GOSSIP_ENOMEM;
    }
    /* one byte more than the largest datagram we accept, to see oversize ones */
    b->slot = g->cfg.max_datagram + 1;
    b->bufs = malloc(RX_BATCH * b->slot);
    if (!b->bufs) {
        free(b);
        close(fd);
        return GOSSIP_ENOMEM;
    }
    g->fd = fd;
    g->sock_family = family;
    g->udp = b;
    return 0;
fail:
    rc = errno;
    close(fd);
    errno = rc;
    return GOSSIP_ESOCKET;
}

void udp_close(struct gossip *g)
{
    struct udp_batch *b = g->udp;
    if (b) {
        free(b->bufs);
        free(b);
        g->udp = NULL;
    }
    if (g->fd >= 0)
        close(g->fd);
    g->fd = -1;
}

int udp_send(struct gossip *g, const gaddr_t *to, const uint8_t *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int family = g->cfg.hooks.send ? (to->family == 4 ? AF_INET : AF_INET6) : g->sock_family;
    if (addr_to_sockaddr(to, family, &ss, &sl) < 0)
        return -1;
    if (g->cfg.hooks.send)
        return g->cfg.hooks.send(g->cfg.hooks.ctx, (struct sockaddr *)&ss, sl, buf, len) < 0 ? -1 : 0;
    for (int tries = 0; tries < 3; tries++) {
        if (sendto(g->fd, buf, len, 0, (struct sockaddr *)&ss, sl) >= 0)
            return 0;
        if (errno != EINTR)
            break;
    }
    return -1; /* EAGAIN, unreachable, refused: the protocol tolerates a lost datagram */
}

int udp_recv_batch(struct gossip *g, struct udp_rx *rx)
{
    struct udp_batch *b = g->udp;
    rx->n = 0;
    rx->more = false;
    if (!b)
        return 0;
    for (int i = 0; i < RX_BATCH; i++) {
        b->iov[i].iov_base = b->bufs + (size_t)i * b->slot;
        b->iov[i].iov_len = b->slot;
        memset(&b->msgs[i].msg_hdr, 0, sizeof(b->msgs[i].msg_hdr));
        b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
        b->msgs[i].msg_hdr.msg_iovlen = 1;
        b->msgs[i].msg_hdr.msg_name = &b->from[i];
        b->msgs[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
    }
    /* MSG_TRUNC: msg_len is the datagram's real length even when it did
     * not fit, so an oversize one is counted at its size; open.c drops
     * anything above max_datagram before it reads a byte, and anything
     * that fits is whole in the slot. */
    int n = recvmmsg(g->fd, b->msgs, RX_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH ||
            errno == EHOSTDOWN || errno == ENETDOWN) {
            rx->more = true; /* an ICMP error was queued on the socket; the data behind it is fine */
            return 0;
        }
        return GOSSIP_ESOCKET;
    }
    for (int i = 0; i < n; i++) {
        unsigned k = rx->n;
        if (addr_from_sockaddr((struct sockaddr *)&b->from[i], b->msgs[i].msg_hdr.msg_namelen, &rx->from[k]) < 0)
            continue;
        rx->buf[k] = b->iov[i].iov_base;
        rx->len[k] = b->msgs[i].msg_len;
        rx->n++;
    }
    rx->more = n == RX_BATCH;
    return 0;
}
