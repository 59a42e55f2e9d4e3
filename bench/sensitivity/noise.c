/* Bounded, seeded background noise for the sensitivity benchmark: `noise SEED SECONDS`.
 *
 * Time is cut into epochs of U(1,4) s; each epoch has an intensity L in {0,1,2} with
 * probabilities .3/.4/.3. Within an epoch the load is bursty: ON and OFF phases of
 * Exp(mean 100 ms). While ON, L >= 1 streams 32 MiB memcpy (memory-bandwidth and cache
 * pressure) and L = 2 also burns a second core with a spin loop. The program exits by itself
 * after SECONDS (and can be killed at any time); it only touches this machine's CPU and RAM. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int level_on = 0; /* 0 idle, 1 memcpy, 2 memcpy + burn */
static atomic_int done = 0;
static uint64_t rng_state;

static uint64_t next_u64(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}
static double uniform(void) { return (next_u64() >> 11) * (1.0 / 9007199254740992.0); }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void *mem_thread(void *arg) {
    (void)arg;
    size_t size = 32u << 20;
    char *a = malloc(size), *b = malloc(size);
    memset(a, 1, size);
    memset(b, 2, size);
    while (!atomic_load(&done)) {
        if (atomic_load(&level_on) >= 1) {
            memcpy(b, a, size);
            a[0]++;
        } else {
            sleep_s(0.002);
        }
    }
    free(a);
    free(b);
    return NULL;
}

static void *burn_thread(void *arg) {
    (void)arg;
    volatile uint64_t x = 1;
    while (!atomic_load(&done)) {
        if (atomic_load(&level_on) >= 2) {
            for (int i = 0; i < 100000; i++) x = x * 3 + 1;
        } else {
            sleep_s(0.002);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: noise SEED SECONDS\n");
        return 2;
    }
    rng_state = strtoull(argv[1], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
    double total = atof(argv[2]);
    if (total > 3600) total = 3600; /* bounded whatever the caller asks */
    pthread_t t1, t2;
    pthread_create(&t1, NULL, mem_thread, NULL);
    pthread_create(&t2, NULL, burn_thread, NULL);
    double start = now();
    while (now() - start < total) {
        double epoch_end = now() + 1.0 + 3.0 * uniform();
        double u = uniform();
        int level = u < 0.3 ? 0 : (u < 0.7 ? 1 : 2);
        int on = 0;
        while (now() < epoch_end && now() - start < total) {
            on = !on;
            atomic_store(&level_on, on ? level : 0);
            sleep_s(-0.1 * log(1.0 - uniform()));
        }
    }
    atomic_store(&done, 1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    return 0;
}
