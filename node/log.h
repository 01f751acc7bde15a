/* node/log.h - storenode's names for the shared structured logger.
 *
 * The logger is proto_rt's (rt/log.h: one line per call, `ts= level= msg=`
 * then the caller's key=value tail, values escaped with rt_log_esc); these
 * aliases keep the node's call sites as they were.  PINs and session tokens
 * are never passed to the logger.
 */
#ifndef NODE_LOG_H
#define NODE_LOG_H

#include "rt/log.h"

typedef rt_log node_log;
typedef rt_log_level node_log_level;

#define NODE_LOG_DEBUG RT_LOG_DEBUG
#define NODE_LOG_INFO RT_LOG_INFO
#define NODE_LOG_WARN RT_LOG_WARN
#define NODE_LOG_ERROR RT_LOG_ERROR

#define node_log_init rt_log_init
#define node_log_level_name rt_log_level_name
#define node_logf rt_logf
#define node_log_esc rt_log_esc
#define node_log_route_lws rt_log_route_lws

#endif
