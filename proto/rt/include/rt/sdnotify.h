/* rt/sdnotify.h - systemd's notify protocol (sd_notify(3)) without
 * libsystemd: readiness, watchdog keep-alives, stopping.
 *
 * Under a unit with Type=notify, systemd passes $NOTIFY_SOCKET (a unix
 * datagram socket: a path, or "@name" in the abstract namespace); a message
 * is one datagram of newline-separated VAR=value assignments:
 *   READY=1      start-up finished (Type=notify units wait for it)
 *   WATCHDOG=1   keep-alive; WatchdogSec= without one restarts the unit
 *   STOPPING=1   shutting down
 * With WatchdogSec= set, systemd also passes $WATCHDOG_USEC (and
 * $WATCHDOG_PID): the daemon should send WATCHDOG=1 every half of it.
 * Outside systemd the variables are absent and every call is a no-op.
 */
#ifndef RT_SDNOTIFY_H
#define RT_SDNOTIFY_H

#include <stdint.h>

/* Send state (e.g. "READY=1") to $NOTIFY_SOCKET.  1 sent, 0 no socket to
 * send to (not started by systemd), -1 error (errno set). */
int rt_sd_notify(const char *state);

/* The watchdog interval from $WATCHDOG_USEC in microseconds, or 0 when
 * there is none, it is malformed, or $WATCHDOG_PID names another process. */
uint64_t rt_sd_watchdog_usec(void);

#endif
