/*
 * Sleeps that a shutdown can cut short. In thread-per-connection mode each request owns its
 * thread, so a fault simply sleeps in the handler: MHD does not read the socket meanwhile and
 * TCP back-pressure stalls the client.
 */
#include "sleep.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cv;
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;
static int stopping;

int mock_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

struct timespec mock_deadline_in(uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The condition variable waits on CLOCK_MONOTONIC, so a wall-clock jump cannot stretch a fault. */
static void stop_cv_init(void)
{
    mock_cond_init_monotonic(&stop_cv);
}

void mock_stop_sleepers(void)
{
    pthread_once(&stop_once, stop_cv_init);
    pthread_mutex_lock(&stop_mu);
    stopping = 1;
    pthread_cond_broadcast(&stop_cv);
    pthread_mutex_unlock(&stop_mu);
}

int mock_sleep_ms(uint64_t ms)
{
    pthread_once(&stop_once, stop_cv_init);
    struct timespec until = mock_deadline_in(ms);
    pthread_mutex_lock(&stop_mu);
    int rc = 0;
    while (!stopping && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&stop_cv, &stop_mu, &until);
    int stopped = stopping;
    pthread_mutex_unlock(&stop_mu);
    return stopped ? -1 : 0;
}
