/*
 * Peer addresses as values (see addr.h): parsing, formatting and the
 * struct sockaddr conversions.  The configuration and the core use these
 * same functions, so an address the configuration accepts is one the core
 * can bind, send to and compare.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "gossip.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int addr_split(const char *text, char *host, size_t hostlen, const char **port)
{
    const char *colon;
    size_t n;

    *port = NULL;
    if (!text || hostlen == 0)
        return GOSSIP_EADDR;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end)
            return GOSSIP_EADDR;
        n = (size_t)(end - text - 1);
        if (end[1] == ':')
            *port = end + 2;
        else if (end[1] != '\0')
            return GOSSIP_EADDR;
        text++;
    } else if ((colon = strchr(text, ':')) != NULL && !strchr(colon + 1, ':')) {
        n = (size_t)(colon - text); /* host:port */
        *port = colon + 1;
    } else {
        n = strlen(text); /* no port, or a bare IPv6 address */
    }
    if (n == 0 || n >= hostlen)
        return GOSSIP_EADDR;
    memcpy(host, text, n);
    host[n] = '\0';
    return 0;
}

int addr_parse_port(const char *text, uint16_t *out)
{
    unsigned long v = 0;

    if (!text || !*text)
        return GOSSIP_ERANGE;
    for (; *text; text++) {
        if (*text < '0' || *text > '9')
            return GOSSIP_ERANGE;
        v = v * 10 + (unsigned long)(*text - '0');
        if (v > 65535)
            return GOSSIP_ERANGE;
    }
    if (v == 0)
        return GOSSIP_ERANGE;
    *out = (uint16_t)v;
    return 0;
}

/* inet_pton() only: getaddrinfo() would also take "10.1" and the other
 * inet_aton() shorthands nobody means in a configuration, and zones. */
static int parse_numeric(const char *host, uint16_t port, gaddr_t *out)
{
    memset(out, 0, sizeof(*out));
    out->port = port;
    if (inet_pton(AF_INET, host, out->ip) == 1) {
        out->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, out->ip) == 1) {
        out->family = 6;
        if (memcmp(out->ip, v4mapped, 12) == 0) {
            memmove(out->ip, out->ip + 12, 4);
            memset(out->ip + 4, 0, 12);
            out->family = 4;
        }
        return 0;
    }
    memset(out, 0, sizeof(*out));
    return GOSSIP_EADDR;
}

int addr_parse_host(const char *text, uint16_t port, gaddr_t *out)
{
    char host[GOSSIP_ADDR_MAX];
    size_t n;

    memset(out, 0, sizeof(*out));
    if (!text)
        return GOSSIP_EADDR;
    n = strlen(text);
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
        text++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(host))
        return GOSSIP_EADDR;
    memcpy(host, text, n);
    host[n] = '\0';
    return parse_numeric(host, port, out);
}

int addr_parse(const char *text, uint16_t default_port, gaddr_t *out)
{
    char host[GOSSIP_ADDR_MAX];
    const char *port_s;
    uint16_t port = default_port;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = addr_split(text, host, sizeof(host), &port_s)) != 0)
        return rc;
    if (port_s && (rc = addr_parse_port(port_s, &port)) != 0)
        return rc;
    return parse_numeric(host, port, out);
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

bool addr_is_link_local(const gaddr_t *a)
{
    return a->family == 6 && a->ip[0] == 0xfe && (a->ip[1] & 0xc0) == 0x80;
}

void addr_format(const gaddr_t *a, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->ip, ip, sizeof(ip));
    snprintf(buf, len, a->family == 4 ? "%s:%u" : "[%s]:%u", ip, a->port);
}
