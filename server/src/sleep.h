/* Sleeps that a shutdown cuts short (sleep.c): a fault's stall or delay, Go's RST avoidance. */
#ifndef MOCK_SLEEP_H
#define MOCK_SLEEP_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Sleeps ms milliseconds unless the server is stopping. Returns 0, or -1 if cut short. */
int mock_sleep_ms(uint64_t ms);

/* Wakes every sleeper for good: called once at shutdown. */
void mock_stop_sleepers(void);

/* Initialises cv to wait on CLOCK_MONOTONIC, so that a wall-clock jump stretches no wait.
 * Returns pthread_cond_init's result. */
int mock_cond_init_monotonic(pthread_cond_t *cv);

/* The CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait on such a cv. */
struct timespec mock_deadline_in(uint64_t ms);

#endif
