/*
 * Every internal header at once, for the white-box tests under test/.
 * Library files include only the headers of what they use (test/layers.sh
 * checks which way those includes and calls run).
 */
#ifndef GOSSIP_INTERNAL_H
#define GOSSIP_INTERNAL_H

#include "addr.h"
#include "core.h"
#include "crypto.h"
#include "deliver.h"
#include "dispatch.h"
#include "dissem.h"
#include "handshake.h"
#include "inbound.h"
#include "lives.h"
#include "log.h"
#include "maintain.h"
#include "members.h"
#include "merge.h"
#include "message.h"
#include "open.h"
#include "outbox.h"
#include "probe.h"
#include "query.h"
#include "resolve.h"
#include "rng.h"
#include "send.h"
#include "udp.h"
#include "window.h"
#include "wire.h"

#endif
