/*
 * Static names for error codes, member states and events, and the
 * library's version.  Kept apart from the configuration code because the
 * core and the examples use them too.
 */
#include "gossip.h"

const char *gossip_strerror(int err)
{
    switch (err) {
    case GOSSIP_OK: return "success";
    case GOSSIP_EINVAL: return "invalid argument";
    case GOSSIP_ENOMEM: return "out of memory";
    case GOSSIP_ENOBIND: return "no bind address configured";
    case GOSSIP_ENOKEY: return "no cluster key configured";
    case GOSSIP_EADDR: return "address cannot be parsed or resolved";
    case GOSSIP_ESOCKET: return "socket error";
    case GOSSIP_ECRYPTO: return "cryptographic library failure";
    case GOSSIP_ENOTFOUND: return "not found";
    case GOSSIP_ETOOBIG: return "payload too large";
    case GOSSIP_ESTATE: return "not allowed in the current state";
    case GOSSIP_EFULL: return "limit reached";
    case GOSSIP_ECONFIG: return "invalid configuration";
    case GOSSIP_EIO: return "input/output error";
    case GOSSIP_ERANGE: return "value out of range";
    case GOSSIP_EBUSY: return "not allowed from inside this callback";
    case GOSSIP_EFORKED: return "handle created in another process (after fork()): destroy it, create a new one";
    default: return "unknown error";
    }
}

const char *gossip_state_name(int state)
{
    switch (state) {
    case GOSSIP_ALIVE: return "alive";
    case GOSSIP_SUSPECT: return "suspect";
    case GOSSIP_FAILED: return "failed";
    case GOSSIP_LEFT: return "left";
    default: return "unknown";
    }
}

const char *gossip_event_name(int event)
{
    switch (event) {
    case GOSSIP_EVENT_JOIN: return "join";
    case GOSSIP_EVENT_ALIVE: return "alive";
    case GOSSIP_EVENT_SUSPECT: return "suspect";
    case GOSSIP_EVENT_FAILED: return "failed";
    case GOSSIP_EVENT_LEFT: return "left";
    case GOSSIP_EVENT_REMOVED: return "removed";
    case GOSSIP_EVENT_UPDATE: return "update";
    case GOSSIP_EVENT_CONFLICT: return "conflict";
    default: return "unknown";
    }
}

const char *gossip_version(void)
{
    return GOSSIP_VERSION_STRING;
}

uint32_t gossip_version_number(void)
{
    return GOSSIP_VERSION_NUMBER;
}
