/*
 * Peer addresses as comparable values (see addr.h): parsing, conversion
 * to and from sockaddr, comparison, formatting.  No sockets.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip.h"

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

