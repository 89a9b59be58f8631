/*
 * Role holders computed from a membership view.  Pure functions: no state,
 * no packets; the caller keeps the previous answer to detect changes.
 */
#ifndef GOSSIP_ROLES_H
#define GOSSIP_ROLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip.h"

struct roles_member {
    uint64_t id;
    uint8_t state; /* enum gossip_state */
    bool draining; /* counts for the quorum, holds nothing (gossip_drain()) */
};

/*
 * Holders of `role` in the view `members` (n entries, self included, any
 * order, ids unique).  Rules:
 *  - no node list: every member that is alive or suspect holds it;
 *  - with a list: the listed members that are alive or suspect (a suspected
 *    holder keeps the role until it is declared failed);
 *  - none of them: unless GOSSIP_ROLE_NO_FAILOVER, the one alive-or-suspect
 *    member with the highest rendezvous hash of (role name, id) (64-bit
 *    FNV-1a of the name, mixed with the id by a splitmix64 finaliser);
 *  - a draining member is skipped as a holder (listed or by failover), so
 *    its roles go where they would go without it, but it still counts as
 *    live for the quorum;
 *  - GOSSIP_ROLE_QUORUM: if the alive-or-suspect count is not a strict
 *    majority of the members that are not left, nobody holds it in this
 *    view (each node applies this to its own view, so a minority side
 *    gives the role up).
 * Writes up to max holder ids to out in ascending order; returns the number
 * of holders.
 */
size_t roles_holders(const struct gossip_role *role, const struct roles_member *members, size_t n,
                     uint64_t *out, size_t max);

/* Does `self` hold `role` in this view? */
bool roles_held(const struct gossip_role *role, const struct roles_member *members, size_t n,
                uint64_t self);

/* A role name: 1..GOSSIP_ROLE_NAME_MAX-1 chars of [a-z0-9._-], starting with a letter. */
bool roles_name_valid(const char *name);

#endif
