/*
 * The one UDP socket: dual stack when bound to "::", non-blocking, drained
 * in batches with recvmmsg().  Per-datagram errors (EAGAIN, EINTR, ICMP
 * errors reported on the socket) never lose state: they end a batch or are
 * counted.  Addresses are kept as gaddr_t, IPv4-mapped IPv6 unmapped, so
 * that the same peer always compares equal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define RX_BATCH 16
#define RX_MAX_BATCHES 8 /* bound the work per gossip_on_readable() call */

struct udp_batch {
    struct mmsghdr msgs[RX_BATCH];
    struct iovec iov[RX_BATCH];
    struct sockaddr_storage from[RX_BATCH];
    uint8_t *bufs; /* RX_BATCH * slot bytes */
    size_t slot;
};

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int addr_parse(const char *text, uint16_t default_port, gaddr_t *out)
{
    char host[GOSSIP_ADDR_MAX];
    const char *port_s = NULL;
    memset(out, 0, sizeof(*out));
    size_t len = strlen(text);
    if (len == 0 || len >= sizeof(host))
        return GOSSIP_EADDR;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            return GOSSIP_EADDR;
        size_t hl = (size_t)(close - text - 1);
        memcpy(host, text + 1, hl);
        host[hl] = 0;
        if (close[1] == ':')
            port_s = close + 2;
        else if (close[1])
            return GOSSIP_EADDR;
    } else {
        const char *colon = strchr(text, ':');
        if (colon && !strchr(colon + 1, ':')) { /* host:port */
            memcpy(host, text, (size_t)(colon - text));
            host[colon - text] = 0;
            port_s = colon + 1;
        } else { /* no port, or a bare IPv6 address */
            memcpy(host, text, len + 1);
        }
    }
    unsigned long port = default_port;
    if (port_s) {
        char *end;
        errno = 0;
        port = strtoul(port_s, &end, 10);
        if (!*port_s || *end || errno || port == 0 || port > 65535)
            return GOSSIP_ERANGE;
    }
    out->port = (uint16_t)port;
    if (inet_pton(AF_INET, host, out->ip) == 1) {
        out->family = 4;
    } else if (inet_pton(AF_INET6, host, out->ip) == 1) {
        out->family = 6;
        if (memcmp(out->ip, v4mapped, 12) == 0) {
            memmove(out->ip, out->ip + 12, 4);
            memset(out->ip + 4, 0, 12);
            out->family = 4;
        }
    } else {
        return GOSSIP_EADDR;
    }
    return 0;
}

int addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, gaddr_t *out)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        out->family = 4;
        memcpy(out->ip, &s4->sin_addr, 4);
        out->port = ntohs(s4->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        out->port = ntohs(s6->sin6_port);
        if (memcmp(&s6->sin6_addr, v4mapped, 12) == 0) {
            out->family = 4;
            memcpy(out->ip, (const uint8_t *)&s6->sin6_addr + 12, 4);
        } else {
            out->family = 6;
            memcpy(out->ip, &s6->sin6_addr, 16);
        }
        return 0;
    }
    return GOSSIP_EADDR;
}

int addr_to_sockaddr(const gaddr_t *a, int family, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == 4 && family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a->port);
        memcpy(&s4->sin_addr, a->ip, 4);
        *len = sizeof(*s4);
        return 0;
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a->port);
        if (a->family == 4) {
            memcpy(&s6->sin6_addr, v4mapped, 12);
            memcpy((uint8_t *)&s6->sin6_addr + 12, a->ip, 4);
        } else {
            memcpy(&s6->sin6_addr, a->ip, 16);
        }
        *len = sizeof(*s6);
        return 0;
    }
    return GOSSIP_EADDR;
}

bool addr_equal(const gaddr_t *a, const gaddr_t *b)
{
    return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, 16) == 0;
}

bool addr_is_unspecified(const gaddr_t *a)
{
    static const uint8_t zero[16];
    return memcmp(a->ip, zero, 16) == 0;
}

void addr_format(const gaddr_t *a, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->ip, ip, sizeof(ip));
    snprintf(buf, len, a->family == 4 ? "%s:%u" : "[%s]:%u", ip, a->port);
}

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

int udp_drain(struct gossip *g)
{
    struct udp_batch *b = g->udp;
    if (!b)
        return 0;
    for (int round = 0; round < RX_MAX_BATCHES; round++) {
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
         * not fit, so an oversize one is counted at its size;
         * proto_receive() drops anything above max_datagram before it reads
         * a byte, and anything that fits is whole in the slot. */
        int n = recvmmsg(g->fd, b->msgs, RX_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
                errno == ENETUNREACH || errno == EHOSTDOWN || errno == ENETDOWN)
                continue; /* an ICMP error was queued on the socket; the data behind it is fine */
            return GOSSIP_ESOCKET;
        }
        for (int i = 0; i < n; i++) {
            gaddr_t from;
            size_t len = b->msgs[i].msg_len;
            if (addr_from_sockaddr((struct sockaddr *)&b->from[i], b->msgs[i].msg_hdr.msg_namelen, &from) < 0)
                continue;
            proto_receive(g, &from, b->iov[i].iov_base, len);
        }
        if (n < RX_BATCH)
            return 0;
    }
    return 0;
}
