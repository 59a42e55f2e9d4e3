/* Calibrated CPU-bound target for the sensitivity benchmark: `spin N` runs N steps of a
 * dependent 64-bit LCG (no memory traffic, no parallelism), so run time is linear in N and
 * a candidate slower by d is simply `spin N*(1+d)`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: spin N\n");
        return 2;
    }
    uint64_t n = strtoull(argv[1], NULL, 10);
    uint64_t x = 1;
    for (uint64_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    volatile uint64_t sink = x;
    (void)sink;
    return 0;
}
