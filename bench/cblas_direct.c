/* Times OpenBLAS cblas_sgemm called directly from C, square n x n, with the same method as
 * MMEureka.Torch.Blas.GemmBenchmark (warm-up, samples of >= 50 ms, median of 7), and prints JSON.
 * Build: gcc -O2 bench/cblas_direct.c -o /tmp/cblas_direct -l:libopenblas.so.0
 * Run:   /tmp/cblas_direct [n ...]        (default 128 256 512 1024) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* cblas.h is not installed with the runtime package, so declare the two entry points used. */
void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);
int openblas_get_num_threads(void);

enum { ROW_MAJOR = 101, NO_TRANS = 111, SAMPLES = 7 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv) {
    int defaults[] = {128, 256, 512, 1024};
    int count = argc > 1 ? argc - 1 : 4;
    const double min_sample = 0.05;
    srand(1);
    printf("{\"backend\": \"cblas_direct\", \"threads\": %d, \"results\": [", openblas_get_num_threads());
    for (int s = 0; s < count; s++) {
        int n = argc > 1 ? atoi(argv[s + 1]) : defaults[s];
        float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = calloc((size_t)n * n, sizeof(float));
        for (long i = 0; i < (long)n * n; i++) {
            a[i] = 2.0f * rand() / RAND_MAX - 1.0f;
            b[i] = 2.0f * rand() / RAND_MAX - 1.0f;
        }
        double t0 = now();
        int warm = 0;
        do { cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n); warm++; }
        while (warm < 2 || now() - t0 < min_sample);
        t0 = now();
        cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double per = now() - t0;
        int calls = per >= min_sample ? 1 : (int)(min_sample / per) + 1;
        double times[SAMPLES];
        for (int r = 0; r < SAMPLES; r++) {
            t0 = now();
            for (int i = 0; i < calls; i++)
                cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            times[r] = (now() - t0) / calls;
        }
        qsort(times, SAMPLES, sizeof(double), cmp);
        double med = times[SAMPLES / 2];
        printf("%s{\"n\": %d, \"median_seconds\": %.9f, \"gflops\": %.2f, \"calls_per_sample\": %d}",
               s ? ", " : "", n, med, 2.0 * n * n * n / med / 1e9, calls);
        free(a); free(b); free(c);
    }
    printf("]}\n");
    return 0;
}
