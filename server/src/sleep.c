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

/* The condition variable waits on CLOCK_MONOTONIC, so a wall-clock jump cannot stretch a fault. */
static void stop_cv_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&stop_cv, &a);
    pthread_condattr_destroy(&a);
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
    struct timespec until;
    pthread_once(&stop_once, stop_cv_init);
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&stop_mu);
    int rc = 0;
    while (!stopping && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&stop_cv, &stop_mu, &until);
    int stopped = stopping;
    pthread_mutex_unlock(&stop_mu);
    return stopped ? -1 : 0;
}
