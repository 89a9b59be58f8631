/*
 * hc: the hook cluster, the in-process harness of the unit tests
 * (unit_api, unit_hostile, unit_keyring, unit_protocol).
 *
 * Real handles in one process, wired together by their hooks: a fake clock
 * (hc->now, moved only by the test), a deterministic random hook per node,
 * and a send hook that queues datagrams (and optionally records them);
 * hc_pump() delivers the queue with gossip_feed().  Node i lives at
 * 10.0.0.(i+1):1179.  Nothing sleeps and nothing reads a real clock.
 *
 * Why beside test/sim.c: sim is the full network simulator the scenarios run
 * on (seeded loss, latency, jitter, partitions, restarts); hc is the small,
 * explicit harness a unit test steers one datagram at a time (instant
 * delivery, cut[][], lose, dup, recording, hc_feed of hand-made datagrams).
 */
#ifndef LIBGOSSIP_TEST_HC_H
#define LIBGOSSIP_TEST_HC_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gossip.h"

#define HC_MAX 10
#define HC_EV_MAX 1024
#define HC_LOG_MAX 512
#define HC_USER_MAX 64

struct hc_ev {
    uint64_t t;
    uint64_t id, generation;
    uint32_t version;
    int event, state;
    uint8_t meta[255];
    size_t meta_len;
    bool is_self;
    struct sockaddr_storage addr;
};

struct hc;

struct hc_node {
    struct hc *hc;
    unsigned idx;
    gossip_t *g;
    struct gossip_config cfg;
    uint64_t rng;
    bool deaf;    /* datagrams to it are dropped (crashed or cut off) */
    bool frozen;  /* not ticked */
    struct hc_ev ev[HC_EV_MAX];
    unsigned n_ev;
    char log[HC_LOG_MAX][256];
    unsigned n_log;
    uint64_t user_origin[HC_USER_MAX];
    uint8_t user_data[HC_USER_MAX][64];
    size_t user_len[HC_USER_MAX];
    unsigned n_user;
    /* test hooks run inside the callbacks */
    void (*on_member)(struct hc_node *n, enum gossip_event ev, const struct gossip_member *m);
    void (*on_user)(struct hc_node *n, uint64_t origin, const void *data, size_t len);
    void (*on_role)(struct hc_node *n, const char *role, bool held);
    int depth, max_depth; /* callback nesting */
    char role_ev[64][GOSSIP_ROLE_NAME_MAX + 2]; /* "+name" / "-name" */
    unsigned n_role_ev;
};

struct hc_dgram {
    unsigned from, to; /* node indices; to = HC_MAX when nobody lives there */
    size_t len;
    uint8_t *buf;
    uint64_t t;
};

struct hc_dlist {
    struct hc_dgram *v;
    size_t n, cap;
};

struct hc {
    uint64_t now;
    struct hc_node node[HC_MAX];
    struct hc_dlist q;      /* in flight */
    size_t q_pos;
    struct hc_dlist rec;    /* recorded (when recording) */
    bool recording;
    bool dup;               /* deliver every datagram twice */
    bool cut[HC_MAX][HC_MAX]; /* cut[a][b]: datagrams from node a to node b are lost */
    /* more selective loss: true drops the datagram (may also just observe) */
    bool (*lose)(struct hc *hc, const struct hc_dgram *d);
    uint64_t delivered;
};

/* Two test keys: every hc_config() node starts with KEY_A. */
extern const uint8_t KEY_A[GOSSIP_KEY_LEN];
extern const uint8_t KEY_B[GOSSIP_KEY_LEN];

/* Node ids the tests give nodes 0..3 (IDS[i] for node i). */
#define ID0 0x1001u
#define ID1 0x2002u
#define ID2 0x3003u
#define ID3 0x4004u
#define HC_N_IDS 4
extern const uint64_t IDS[HC_N_IDS];

/* Node idx's address, 10.0.0.(idx+1):1179. */
struct sockaddr_in hc_addr(unsigned idx);
/* The send hook hc_config() installs (hooks.ctx is the node). */
int hc_send(void *ctx, const struct sockaddr *to, socklen_t to_len, const void *buf, size_t len);
void hc_dlist_free(struct hc_dlist *l);

/* A cluster with no node configured; the clock starts at 1000. */
struct hc *hc_new(void);
/* A config for node idx with this id, key A, seeded with node 0 (except
 * node 0 itself); the test may change it before hc_start(). */
struct gossip_config *hc_config(struct hc *hc, unsigned idx, uint64_t id);
/* hc_new() with nodes 0..n-1 configured as IDS[0..n-1] (n <= HC_N_IDS). */
struct hc *hc_cluster(unsigned n);
void hc_start(struct hc *hc, unsigned idx);
/* Start nodes 0..n-1 and run until they converge. */
void hc_start_all(struct hc *hc, unsigned n);
void hc_stop(struct hc *hc, unsigned idx);
void hc_free(struct hc *hc);
/* cmocka teardown: frees the clusters a failed test left open. */
int hc_teardown(void **state);

/* Feed one datagram to node `to` as if it came from node `from`'s address. */
void hc_feed(struct hc *hc, unsigned from, unsigned to, const void *buf, size_t len);
/* Deliver everything in flight (and what that causes). */
void hc_pump(struct hc *hc);
/* Drop whatever is in flight. */
void hc_discard(struct hc *hc);
void hc_tick_all(struct hc *hc);
/* Milliseconds to the next timer of any running node (INT32_MAX: none);
 * checks gossip_next_timeout_ms() is never negative. */
int hc_next_timeout(struct hc *hc);
/* Run the cluster for ms of fake time, jumping from one timer to the next,
 * with instant delivery. */
void hc_run(struct hc *hc, uint64_t ms);
/* Run until converged (fails after max_ms of fake time). */
void hc_converge(struct hc *hc, uint64_t max_ms);

/* Events of one kind that node n got about member id (id 0: any). */
unsigned hc_count_ev(const struct hc_node *n, uint64_t id, int event);
/* The first such event at or after from_t, or NULL. */
const struct hc_ev *hc_first_ev(const struct hc_node *n, uint64_t id, int event, uint64_t from_t);
/* Log lines of node n from index `from` on that contain needle. */
unsigned hc_count_log(const struct hc_node *n, unsigned from, const char *needle);
/* Does node idx see member id in state st? */
bool hc_sees(const struct hc *hc, unsigned idx, uint64_t id, enum gossip_state st);
/* Every started node sees every other started node alive. */
bool hc_converged(const struct hc *hc);

#endif
