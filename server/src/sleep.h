/* Sleeps that a shutdown cuts short (sleep.c): a fault's stall or delay, Go's RST avoidance. */
#ifndef MOCK_SLEEP_H
#define MOCK_SLEEP_H

#include <stdint.h>

/* Sleeps ms milliseconds unless the server is stopping. Returns 0, or -1 if cut short. */
int mock_sleep_ms(uint64_t ms);

/* Wakes every sleeper for good: called once at shutdown. */
void mock_stop_sleepers(void);

#endif
