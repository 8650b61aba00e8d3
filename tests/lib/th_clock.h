/* Clocks for tests: a monotonic millisecond count and a sleep that survives signals. */
#ifndef TH_CLOCK_H
#define TH_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: only differences mean anything. */
int64_t th_now_ms(void);

/* Sleeps ms milliseconds, resuming after a signal. */
void th_sleep_ms(int ms);

#endif
