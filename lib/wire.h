/*
 * The plaintext payload inside the envelope: bounded, allocation-free
 * encode and decode.  Decoding validates the whole payload before anything
 * is applied, and decoded records point into the caller's buffer.
 *
 * Payload (all integers big-endian):
 *   u8  type (enum wire_type)
 *   u8  flags (WIRE_F_*; unknown bits are malformed)
 *   u32 seq
 *   type-specific body:
 *     PING:      u64 target id (ignored when WIRE_F_ANY: a join probe to a seed address);
 *                WIRE_F_WHO: the sender does not know the target and asks
 *                for its record in the ack
 *     ACK, NACK: (none)
 *     PING_REQ:  u64 target id, addr target
 *     SYNC:      (none)  WIRE_F_REPLY: the receiver answers with its own view;
 *                with WIRE_F_RECENT too, only with the records that changed
 *                in the last `seq` milliseconds (its clock); WIRE_F_SETTLED:
 *                the sender's view has settled (it is no fragment)
 *     GOSSIP:    (none)  a gossip round: only the records matter
 *     RESPONSE:  u64 query id, u16 len (>= 1), bytes: an answer to a query
 *     LEAVE_ACK? none -- no other types in version 1
 *   u8  n_members, then n_members member records
 *   u8  n_events, then n_events event records
 *   nothing may follow (trailing bytes are malformed)
 * addr:   u8 family (4 or 6), 4 or 16 bytes address, u16 port (port 0 is malformed)
 * member: u64 id, u64 generation, u32 version, u8 state (0..3, high bit
 *         WIRE_M_DRAINING; the other bits 0),
 *         addr, u64 from (present only when state is suspect(1) or failed(2):
 *         the accuser), u8 meta_len, meta bytes
 * event:  u64 origin, u64 event id, u16 len (>= 1; the high bit,
 *         WIRE_EVENT_QUERY, marks a query), bytes
 */
#ifndef GOSSIP_WIRE_H
#define GOSSIP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wire_type {
    WIRE_PING = 1,
    WIRE_ACK = 2,
    WIRE_PING_REQ = 3,
    WIRE_NACK = 4,
    WIRE_SYNC = 5,
    WIRE_GOSSIP = 6, /* piggybacked updates only; no answer expected */
    WIRE_RESPONSE = 7, /* an answer to a query: target = query id, body = the answer */
};

#define WIRE_F_ANY 0x01u    /* PING: to whoever listens at this address (join) */
#define WIRE_F_REPLY 0x02u  /* SYNC: please answer with your full view */
#define WIRE_F_SUSPECT 0x04u/* PING: the prober suspects the target, who should refute */
#define WIRE_F_RECENT 0x08u /* SYNC with REPLY: answer with the records that changed in the last seq ms only */
#define WIRE_F_WHO 0x10u    /* PING: the prober does not know the target: put your record in the ack */
/* SYNC: the sender's view has settled (lc_settled()): it has waited a
 * reconnect interval and a heartbeat in its cluster, or its view came from
 * a node that had.  A view from such a node is no fragment: the receiver's
 * has settled too, whatever the clocks say. */
#define WIRE_F_SETTLED 0x20u
#define WIRE_F_ALL (WIRE_F_ANY | WIRE_F_REPLY | WIRE_F_SUSPECT | WIRE_F_RECENT | WIRE_F_WHO | WIRE_F_SETTLED)

#define WIRE_MAX_MEMBERS 64
#define WIRE_MAX_EVENTS 32
#define WIRE_HDR_LEN 6

struct wire_addr {
    uint8_t family;   /* 4 or 6 */
    uint8_t ip[16];   /* IPv4 in the first 4 bytes */
    uint16_t port;
};

/* In a HELLO's target: "whoever answers at that address" (a first contact
 * with a seed).  Also a valid node id: a HELLO to that node means the
 * same, which is harmless (either way the answer says who it is). */
#define NODE_ANY UINT64_MAX

/* Member record flags, carried in the high bit of the state byte. */
#define WIRE_M_DRAINING 0x80u /* the member holds no role (gossip_drain()) */

struct wire_member {
    uint64_t id, generation, from;
    uint32_t version;
    uint8_t state;
    uint8_t flags;                /* WIRE_M_* */
    struct wire_addr addr;
    uint8_t meta_len;
    const uint8_t *meta;
};

/* An event record whose length has this bit is a query (query.c reads its
 * payload); a cluster event otherwise.  Lengths stay below it. */
#define WIRE_EVENT_QUERY 0x8000u
#define WIRE_EVENT_LEN_MAX 0x7fffu

struct wire_event {
    uint64_t origin, event_id;
    uint16_t len;
    bool query;                   /* WIRE_EVENT_QUERY */
    const uint8_t *data;
};

struct wire_msg {
    uint8_t type, flags;
    uint32_t seq;
    uint64_t target;              /* PING, PING_REQ; RESPONSE: the query id */
    struct wire_addr target_addr; /* PING_REQ */
    const uint8_t *body;          /* RESPONSE: the answer (points into the buffer) */
    uint16_t body_len;            /* RESPONSE: 1..WIRE_EVENT_LEN_MAX */
    unsigned n_members, n_events;
    struct wire_member members[WIRE_MAX_MEMBERS];
    struct wire_event events[WIRE_MAX_EVENTS];
};

/* 0, or -1 for anything malformed, truncated or out of range (then
 * n_members and n_events are 0).  Flags: ANY and SUSPECT only on PING and
 * never together, REPLY only on SYNC.  Decoded records are canonical: from
 * is 0 unless the state is suspect/failed, IPv4 ip[4..15] are 0, meta is
 * NULL when meta_len is 0, target/target_addr are 0 when the type has none.
 * Whatever decodes re-encodes to the same bytes. */
int wire_decode(const uint8_t *buf, size_t len, struct wire_msg *out);

/* Encoded size of a member / event record. */
size_t wire_member_size(const struct wire_member *m);
size_t wire_event_size(const struct wire_event *e);

struct wire_writer {
    uint8_t *buf;
    size_t cap, len;
    size_t n_members_at, n_events_at; /* offsets of the count bytes */
    unsigned n_members, n_events;
    bool in_events;
};

/* Start a payload: header and body of msg (type, flags, seq, target,
 * target_addr used as the type needs).  -1 if cap is too small or msg would
 * not decode (the writer then refuses everything).  The adders refuse
 * records wire_decode() would reject. */
int wire_begin(struct wire_writer *w, uint8_t *buf, size_t cap, const struct wire_msg *msg);
/* Append a record if it fits (and the count limit allows): 0, or -1 and
 * nothing written.  Members must all come before the first event. */
int wire_add_member(struct wire_writer *w, const struct wire_member *m);
int wire_add_event(struct wire_writer *w, const struct wire_event *e);
/* Bytes still free for records. */
size_t wire_room(const struct wire_writer *w);
/* Finish; returns the payload length. */
size_t wire_finish(struct wire_writer *w);

#endif
