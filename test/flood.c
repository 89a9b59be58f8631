/*
 * flood: send hostile UDP datagrams to one address as fast as one process
 * can, for a number of seconds (test/flood_test.py drives it).
 *
 *   flood HOST PORT SECONDS [KEY_ID_HEX]
 *
 * The mix, in turn: random bytes of random length (0..1500); the envelope
 * header shape (version 1, flags 0, random key id) with a random body,
 * truncated or with a bit flipped; a plausible header carrying the
 * cluster's key id (KEY_ID_HEX; the id is in every clear header on the
 * wire) with a random sender, session and counter and a random body;
 * another format version; oversized (2000..4000 bytes).  Prints
 * "sent N datagrams in S s (R/s)" and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill(uint8_t *p, size_t n)
{
    while (n >= 8) {
        uint64_t x = next();
        memcpy(p, &x, 8);
        p += 8;
        n -= 8;
    }
    for (uint64_t x = next(); n > 0; n--, x >>= 8)
        *p++ = (uint8_t)x;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* One hostile datagram of class `cls` into buf; returns its length. */
static size_t make(unsigned cls, uint8_t *buf, uint32_t key_id)
{
    size_t len;
    switch (cls) {
    case 0: /* random bytes */
        len = (size_t)(next() % 1501);
        fill(buf, len);
        return len;
    case 1: /* envelope shape, random key id, truncated or bit-flipped */
        len = 46 + (size_t)(next() % (1232 - 46 + 1));
        fill(buf, len);
        buf[0] = 1;
        buf[1] = 0;
        if (next() & 1)
            len = (size_t)(next() % len);
        else
            buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
        return len;
    case 2: /* plausible header with the cluster's key id, random body */
        len = 46 + (size_t)(next() % (1232 - 46 + 1));
        fill(buf, len);
        buf[0] = 1;
        buf[1] = 0;
        put_be32(buf + 2, key_id);
        return len;
    case 3: /* unknown format version */
        len = 46 + (size_t)(next() % 200);
        fill(buf, len);
        buf[0] = (uint8_t)(2 + next() % 250);
        return len;
    default: /* oversized */
        len = 2000 + (size_t)(next() % 2001);
        fill(buf, len);
        buf[0] = 1;
        buf[1] = 0;
        return len;
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: flood HOST PORT SECONDS [KEY_ID_HEX]\n");
        return 2;
    }
    struct sockaddr_in to;
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
        fprintf(stderr, "flood: bad address %s\n", argv[1]);
        return 2;
    }
    double secs = atof(argv[3]);
    uint32_t key_id = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 16) : 0;
    rng ^= (uint64_t)getpid() << 17;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("flood: socket");
        return 1;
    }
    static uint8_t buf[4096];
    unsigned long sent = 0, errors = 0;
    double start = now_s(), end = start + secs;
    for (unsigned i = 0;; i++) {
        if ((i & 255) == 0 && now_s() >= end)
            break;
        size_t len = make(i % 5, buf, key_id);
        if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
            if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED && errno != EINTR) {
                perror("flood: sendto");
                close(fd);
                return 1;
            }
            errors++;
        } else {
            sent++;
        }
    }
    double took = now_s() - start;
    printf("sent %lu datagrams in %.1f s (%.0f/s), %lu send errors\n", sent, took, (double)sent / took, errors);
    close(fd);
    return 0;
}
