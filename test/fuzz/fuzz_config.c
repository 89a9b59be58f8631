/*
 * libFuzzer target: the gossip.conf(5) loader (lib/config_ini.c over inih)
 * and the formatter.
 *
 * The input, made a NUL-terminated string, goes through
 * gossip_config_load_string() on a fresh default config with a log
 * callback that discards; then the result is checked with
 * gossip_config_validate() and written with gossip_config_format(), first
 * to measure, then into a buffer of exactly that size (snprintf-style
 * contract), then into a short one.
 *
 * Two things are replaced so one input stays fast and local:
 *  - EVP_PBE_scrypt (passphrase keys: 0.4 s and 128 MiB each) by a single
 *    SHA-256 of the passphrase;
 *  - getaddrinfo() without AI_NUMERICHOST (seed host names) by a fake
 *    resolver: "localhost" and names ending in ".test" resolve to
 *    numeric addresses, anything else does not: no DNS traffic.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gossip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "fuzz_config: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* ---- replacements -------------------------------------------------------- */

int EVP_PBE_scrypt(const char *pass, size_t passlen, const unsigned char *salt, size_t saltlen,
                   uint64_t N, uint64_t r, uint64_t p, uint64_t maxmem, unsigned char *key,
                   size_t keylen)
{
    (void)salt, (void)saltlen, (void)N, (void)r, (void)p, (void)maxmem;
    unsigned char md[SHA256_DIGEST_LENGTH];
    if (!key || keylen > sizeof md)
        return 0;
    SHA256((const unsigned char *)pass, passlen, md);
    memcpy(key, md, keylen);
    return 1;
}

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static gai_fn real;
    if (!real)
        real = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    CHECK(real != NULL);
    if (hints && (hints->ai_flags & AI_NUMERICHOST))
        return real(node, service, hints, res);
    if (!node)
        return EAI_NONAME;
    struct addrinfo h;
    memset(&h, 0, sizeof h);
    if (hints)
        h = *hints;
    h.ai_flags |= AI_NUMERICHOST;
    size_t n = strlen(node);
    if (strcmp(node, "localhost") == 0)
        return real("127.0.0.1", service, &h, res);
    if (n > 5 && strcmp(node + n - 5, ".test") == 0) {
        char ip[32];
        /* a stable answer per name; "*6.test" names get an IPv6 address */
        unsigned x = 0;
        for (size_t i = 0; i < n; i++)
            x = x * 31u + (unsigned char)node[i];
        if (n > 6 && node[n - 6] == '6')
            snprintf(ip, sizeof ip, "fd00::%x", x & 0xffffu);
        else
            snprintf(ip, sizeof ip, "192.0.2.%u", x % 254u + 1u);
        return real(ip, service, &h, res);
    }
    return EAI_NONAME;
}

/* ---- target -------------------------------------------------------------- */

static volatile uint8_t sink;

static void cb_log(void *ud, enum gossip_log_level level, const char *msg)
{
    (void)ud;
    CHECK((unsigned)level <= GOSSIP_LOG_DEBUG);
    uint8_t x = 0;
    for (const char *p = msg; *p; p++)
        x ^= (uint8_t)*p;
    sink ^= x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    static struct gossip_config cfg, before;
    gossip_config_init(&cfg);
    cfg.cb.log = cb_log;
    before = cfg;

    char err[256];
    memset(err, 0x5a, sizeof err);
    int rc = gossip_config_load_string(&cfg, text, "fuzz.conf", err, sizeof err);
    CHECK(memchr(err, '\0', sizeof err) != NULL);
    if (rc != GOSSIP_OK) {
        CHECK(rc < 0 && strcmp(gossip_strerror(rc), "") != 0);
        CHECK(err[0] != '\0');
        /* a failed load leaves the config untouched */
        CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
    } else {
        char verr[256];
        CHECK(gossip_config_validate(&cfg, verr, sizeof verr) == 0);
    }

    /* Also without an error buffer. */
    struct gossip_config cfg2;
    gossip_config_init(&cfg2);
    cfg2.cb.log = cb_log;
    int rc2 = gossip_config_load_string(&cfg2, text, NULL, NULL, 0);
    CHECK(rc2 == rc);

    int need = gossip_config_format(&cfg, NULL, 0);
    CHECK(need > 0);
    char *out = malloc((size_t)need + 1);
    CHECK(out != NULL);
    CHECK(gossip_config_format(&cfg, out, (size_t)need + 1) == need);
    CHECK(strlen(out) == (size_t)need);
    /* A short buffer: truncated, terminated, same answer. */
    size_t shortlen = (size_t)need / 2 + 1;
    char *sbuf = malloc(shortlen);
    CHECK(sbuf != NULL);
    CHECK(gossip_config_format(&cfg, sbuf, shortlen) == need);
    CHECK(strlen(sbuf) == shortlen - 1 && memcmp(sbuf, out, shortlen - 1) == 0);

    free(sbuf);
    free(out);
    free(text);
    return 0;
}
