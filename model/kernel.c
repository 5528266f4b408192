/* Exact first-spike times of non-leaky integrate-and-fire neurons with ramp synapses.
 *
 * v_i(t) = sum_j w_ij max(0, t - t_j); neuron i fires at the first t in [0, t_max] with
 * v_i(t) >= v_th. Between two consecutive input times the potential is linear, S t - A with
 * S = sum w_ij and A = sum w_ij t_j over the inputs seen so far, so the crossing is found by
 * scanning the inputs in time order and stopping at the first segment that reaches v_th.
 * Every sample sorts its inputs once; all its neurons share the order. No sum depends on the
 * thread partition (see ttfs_backward), so results are bitwise the same at any thread count.
 *
 * Everything is double precision; the Python side converts. See model/neuron.py for the
 * contract and model/regularizer.py for the v_hat area.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

typedef struct {
    double t;
    int32_t j;
} event;

static int by_time_then_index(const void *pa, const void *pb)
{
    const event *a = pa, *b = pb;
    if (a->t < b->t) return -1;
    if (a->t > b->t) return 1;
    return (a->j > b->j) - (a->j < b->j);
}

/* Sorted indices of the inputs of one sample that spike before t_max in order, their times
 * in ts followed by t_max (ts has n_in + 1 places); returns their count. */
static int32_t sort_inputs(const double *tin, int32_t n_in, double t_max, event *buf,
                           int32_t *order, double *ts)
{
    int32_t m = 0;
    for (int32_t j = 0; j < n_in; j++)
        if (tin[j] < t_max) {
            buf[m].t = tin[j];
            buf[m].j = j;
            m++;
        }
    qsort(buf, (size_t)m, sizeof(event), by_time_then_index);
    for (int32_t k = 0; k < m; k++) {
        order[k] = buf[k].j;
        ts[k] = buf[k].t;
    }
    ts[m] = t_max;  /* sentinel: the last segment ends at t_max */
    return m;
}

/* LANES neurons (a panel) are processed side by side in GCC/Clang vectors: the weights are
 * repacked into panels [np / LANES, n_in, LANES] (np: n_out rounded up to LANES, zero
 * weights in the padding), so a panel's weights of one input are one contiguous load, and
 * a panel (n_in * 64 bytes) stays in cache while it is scanned over a block of samples.
 * Every lane does exactly the operations of a scalar loop of its own, and model/kernel.py
 * compiles with -ffp-contract=off (no fused multiply-add), so the results are bitwise those
 * of one neuron at a time whatever the vector width. */
#define LANES 8
#if defined(__AVX__)
#define VBYTES 32
#else
#define VBYTES 16
#endif
#define VL (VBYTES / 8)    /* lanes per hardware vector */
#define NV (LANES / VL)    /* hardware vectors per lane block */
typedef double vec __attribute__((vector_size(VBYTES)));
typedef int64_t vmask __attribute__((vector_size(VBYTES)));

static size_t padded(int32_t n_out)
{
    return ((size_t)n_out + LANES - 1) / LANES * LANES;
}

/* A 64-byte aligned buffer of panels [np / LANES, n_in, LANES] (NULL when out of memory). */
static double *panel_buffer(int32_t n_in, size_t np)
{
    size_t bytes = sizeof(double) * (n_in > 0 ? (size_t)n_in : 1) * np;
    return aligned_alloc(64, bytes > 0 ? bytes : 64);
}

static inline vec splat(double x)
{
    return (vec){0} + x;
}

/* Whether any lane of m is set (one movemask on x86). */
static inline int any_lane(vmask m)
{
#if defined(__AVX__)
    return _mm256_movemask_pd((__m256d)m) != 0;
#elif defined(__SSE2__)
    return _mm_movemask_pd((__m128d)m) != 0;
#else
    int64_t a = 0;
    for (int l = 0; l < VL; l++) a |= m[l];
    return a != 0;
#endif
}

/* Scan the neurons of one panel over the sorted inputs of one sample. A lane stops being
 * checked once it has fired; the scan stops when all its `lanes` real lanes have fired. */
static void scan_lanes(const double *ts, const int32_t *ord, int32_t m, const double *panel,
                       int lanes, double v_th, double *fire, double *s_out,
                       int32_t *nc)
{
    vec S[NV], A[NV];
    vmask open[NV] = {{0}};
    int active = lanes;
    for (int v = 0; v < NV; v++) {
        S[v] = splat(0.0);
        A[v] = splat(0.0);
        for (int l = 0; l < VL; l++) open[v][l] = v * VL + l < lanes ? -1 : 0;
    }
    for (int l = 0; l < LANES; l++) {
        fire[l] = INFINITY;
        s_out[l] = 0.0;
        nc[l] = 0;
    }
    for (int32_t k = 0; k < m && active > 0; k++) {
        const vec *wj = (const vec *)(panel + (size_t)ord[k] * LANES);
        double tj = ts[k], next = ts[k + 1];
        for (int v = 0; v < NV; v++) {
            S[v] += wj[v];
            A[v] += wj[v] * tj;
        }
        if (next == tj) continue;  /* ties: one segment starts after the group */
        /* v(next) >= v_th without a division; the crossing is then (v_th + A)/S (S > 0 is
         * checked on the rare lanes that pass) */
        vmask hit[NV], any = {0};
        for (int v = 0; v < NV; v++) {
            hit[v] = open[v] & (v_th + A[v] <= S[v] * next);
            any |= hit[v];
        }
        if (!any_lane(any)) continue;
        for (int v = 0; v < NV; v++)
            for (int l = 0; l < VL; l++) {
                if (!hit[v][l] || !(S[v][l] > 0.0)) continue;
                double c = (v_th + A[v][l]) / S[v][l];
                if (c <= next) {
                    fire[v * VL + l] = c;
                    s_out[v * VL + l] = S[v][l];
                    nc[v * VL + l] = k + 1;
                    open[v][l] = 0;
                    active--;
                }
            }
    }
}

/* Samples per task of the forward pass: a task sorts the inputs of a block of samples and
 * scans every panel over the block, so a panel is loaded into cache once per block rather
 * than once per sample. */
#define SAMPLES 32

/* Scan panel p over samples [b0, b1) and write their outputs. */
static void scan_panel(const double *sorted, size_t stride, const int32_t *order,
                       const int32_t *count, int32_t n_in, int32_t n_out, const double *wt,
                       int32_t p, int32_t b0, int32_t b1, double v_th, double *tout,
                       double *slope, int32_t *ncausal)
{
    int32_t i0 = p * LANES, lanes = n_out - i0 < LANES ? n_out - i0 : LANES;
    for (int32_t b = b0; b < b1; b++) {
        double fire[LANES], s_out[LANES];
        int32_t nc[LANES];
        scan_lanes(sorted + (size_t)b * stride, order + (size_t)b * n_in, count[b],
                   wt + (size_t)i0 * n_in, lanes, v_th, fire, s_out, nc);
        for (int l = 0; l < lanes; l++) {
            size_t o = (size_t)b * n_out + i0 + l;
            tout[o] = fire[l];
            slope[o] = s_out[l];
            ncausal[o] = nc[l];
        }
    }
}

/* Forward pass.
 * tin [B, n_in], w [n_out, n_in] -> tout [B, n_out] (+inf when silent), slope [B, n_out]
 * (causal weight sum, 0 when silent), ncausal [B, n_out] (causal prefix length, 0 when
 * silent), order [B, n_in] and count [B] (time-sorted inputs before t_max). */
int ttfs_forward(int32_t B, int32_t n_in, int32_t n_out, const double *tin, const double *w,
                 double v_th, double t_max, int32_t threads, double *tout, double *slope,
                 int32_t *ncausal, int32_t *order, int32_t *count)
{
    size_t np = padded(n_out), stride = (size_t)n_in + 1;
    int team = threads > 0 ? threads : 1;
    /* samples per task: up to SAMPLES, fewer when there are few per thread */
    int32_t block = B / (4 * team) < SAMPLES ? B / (4 * team) : SAMPLES;
    block = block > 0 ? block : 1;
    double *wt = panel_buffer(n_in, np);
    double *sorted = malloc(sizeof(double) * stride * (B > 0 ? (size_t)B : 1));
    event *bufs = malloc(sizeof(event) * stride * (size_t)team);
    int failed = wt == NULL || sorted == NULL || bufs == NULL;
    if (!failed) {
#pragma omp parallel num_threads(team)
        {
            event *buf = bufs + stride * (size_t)omp_get_thread_num();
#pragma omp for schedule(static)
            for (size_t i = 0; i < np; i++)
                for (int32_t j = 0; j < n_in; j++)
                    wt[((i / LANES) * n_in + j) * LANES + i % LANES] =
                        i < (size_t)n_out ? w[i * n_in + j] : 0.0;
#pragma omp for schedule(dynamic, 1)
            for (int32_t b0 = 0; b0 < B; b0 += block) {
                int32_t b1 = B - b0 < block ? B : b0 + block;
                for (int32_t b = b0; b < b1; b++)
                    count[b] = sort_inputs(tin + (size_t)b * n_in, n_in, t_max, buf,
                                           order + (size_t)b * n_in, sorted + (size_t)b * stride);
                for (int32_t p = 0; p < (int32_t)(np / LANES); p++)
                    scan_panel(sorted, stride, order, count, n_in, n_out, wt, p, b0, b1, v_th,
                               tout, slope, ncausal);
            }
        }
    }
    free(wt);
    free(sorted);
    free(bufs);
    return failed;
}

/* Add one sample's weight gradients of a panel into the gradient panel gt: lane l adds
 * g_l (t_j - t_l) + h_l to its element of input j for the first nc_l sorted inputs j, and
 * leaves the others' bits untouched. */
static void gradient_lanes(const double *t, const int32_t *ord, const int32_t *ncl,
                           const double *gtl, const double *gsl, const double *slopel,
                           const double *toutl, int lanes, double min_slope, double *gt)
{
    vec g[NV], h[NV], ti[NV];
    vec nc[NV];  /* as doubles: SSE2 compares doubles but not 64-bit integers */
    int32_t kmax = 0;
    for (int v = 0; v < NV; v++)
        for (int q = 0; q < VL; q++) {
            int l = v * VL + q;
            int on = l < lanes && ncl[l] > 0 && (gtl[l] != 0.0 || gsl[l] != 0.0);
            nc[v][q] = on ? ncl[l] : 0;
            g[v][q] = on ? gtl[l] / fmax(slopel[l], min_slope) : 0.0;
            h[v][q] = on ? gsl[l] : 0.0;
            ti[v][q] = on ? toutl[l] : 0.0;
            kmax = on && ncl[l] > kmax ? ncl[l] : kmax;
        }
    for (int32_t k = 0; k < kmax; k++) {
        int32_t j = ord[k];
        double tj = t[j];
        vec *row = (vec *)(gt + (size_t)j * LANES);
        for (int v = 0; v < NV; v++) {
            vec sum = row[v] + (g[v] * (tj - ti[v]) + h[v]);
            vmask take = nc[v] > (double)k;
            row[v] = (vec)(((vmask)sum & take) | ((vmask)row[v] & ~take));
        }
    }
}

/* Backward pass of (tout, slope) with respect to (tin, w).
 * gt, gs [B, n_out]: upstream gradients of tout and slope. gw [n_out, n_in] and gtin [B, n_in]
 * are overwritten. dt_i/dw_ij = (t_j - t_i)/S_i, dt_i/dt_j = w_ij/S_i, dS_i/dw_ij = 1 for j in
 * the causal set; 1/S_i is capped at 1/min_slope so that no gradient overflows.
 * Deterministic whatever the thread count: gw[i, j] is summed over b = 0, 1, ... by the
 * thread owning neuron i, gtin[b, j] over i = 0, 1, ... by the thread owning sample b. */
int ttfs_backward(int32_t B, int32_t n_in, int32_t n_out, const double *tin, const double *w,
                  const double *tout, const double *slope, const int32_t *ncausal,
                  const int32_t *order, const double *gt, const double *gs, double min_slope,
                  int32_t threads, double *gw, double *gtin)
{
    /* gtin == NULL: the input times need no gradient (the encoded images) */
    size_t np = padded(n_out);
    double *gwt = panel_buffer(n_in, np);
    if (gwt == NULL) return 1;
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(dynamic, 1) nowait
        for (int32_t i0 = 0; i0 < n_out; i0 += LANES) {
            /* one task per panel: its gradient panel stays in cache over all the samples */
            int lanes = n_out - i0 < LANES ? n_out - i0 : LANES;
            double *panel = gwt + (size_t)i0 * n_in;
            memset(panel, 0, sizeof(double) * LANES * (size_t)n_in);
            for (int32_t b = 0; b < B; b++) {
                size_t o = (size_t)b * n_out + i0;
                gradient_lanes(tin + (size_t)b * n_in, order + (size_t)b * n_in, ncausal + o,
                               gt + o, gs + o, slope + o, tout + o, lanes, min_slope, panel);
            }
            for (int l = 0; l < lanes; l++)
                for (int32_t j = 0; j < n_in; j++)
                    gw[(size_t)(i0 + l) * n_in + j] = panel[(size_t)j * LANES + l];
        }
        if (gtin != NULL) {
#pragma omp for schedule(static)
            for (int32_t b = 0; b < B; b++) {
                const int32_t *ord = order + (size_t)b * n_in;
                double *gtb = gtin + (size_t)b * n_in;
                memset(gtb, 0, sizeof(double) * (size_t)n_in);
                for (int32_t i = 0; i < n_out; i++) {
                    size_t o = (size_t)b * n_out + i;
                    int32_t nc = ncausal[o];
                    if (nc == 0 || gt[o] == 0.0) continue;
                    double g = gt[o] / fmax(slope[o], min_slope);
                    const double *wi = w + (size_t)i * n_in;
                    for (int32_t k = 0; k < nc; k++) gtb[ord[k]] += g * wi[ord[k]];
                }
            }
        }
    }
    free(gwt);
    return 0;
}

/* Integral of max(0, S t - A - v_hat) over [a, e] and its partial derivatives in S and A. */
static double segment_area(double S, double A, double v_hat, double a, double e, double *dS,
                           double *dA)
{
    double fa = S * a - A - v_hat, fe = S * e - A - v_hat, lo, hi, area;
    *dS = 0.0;
    *dA = 0.0;
    if (e <= a || (fa <= 0.0 && fe <= 0.0)) return 0.0;
    if (fa >= 0.0 && fe >= 0.0) {
        lo = a;
        hi = e;
        area = 0.5 * (e - a) * (fa + fe);
    } else {
        double c = (v_hat + A) / S;
        if (fa < 0.0) {
            lo = c;
            hi = e;
            area = 0.5 * (e - c) * fe;
        } else {
            lo = a;
            hi = c;
            area = 0.5 * (c - a) * fa;
        }
    }
    *dS = 0.5 * (hi * hi - lo * lo);
    *dA = -(hi - lo);
    return area;
}

/* Rows of gw that one thread owns at a time in ttfs_vhat's gradient. */
#define ROWS 8

/* Segment areas of neuron row wi over its first `last` sorted inputs: their sum, and their
 * partial derivatives in (S, A) in seg[2k], seg[2k+1]. */
static double neuron_segments(const double *t, const int32_t *ord, const double *wi,
                              int32_t last, double v_hat, double t_max, double *seg)
{
    double S = 0.0, A = 0.0, total = 0.0;
    for (int32_t k = 0; k < last; k++) {
        double tj = t[ord[k]];
        S += wi[ord[k]];
        A += wi[ord[k]] * tj;
        double e = k + 1 < last ? t[ord[k + 1]] : t_max;
        total += segment_area(S, A, v_hat, tj, e, seg + 2 * k, seg + 2 * k + 1);
    }
    return total;
}

/* The v_hat area of every neuron: integral over [0, t_max] of max(0, u_i(t) - v_hat), where
 * u_i is the potential before firing and continues with the causal slope after it (which is
 * the same line as the firing segment). Uses ncausal and order from ttfs_forward. With
 * gr == NULL it writes area [B, n_out]; otherwise it writes the gradients gw and gtin of
 * sum(gr * area) instead, partitioned like ttfs_backward (deterministic whatever the thread
 * count; the segments are recomputed for gtin instead of stored). */
int ttfs_vhat(int32_t B, int32_t n_in, int32_t n_out, const double *tin, const double *w,
              const int32_t *ncausal, const int32_t *order, const int32_t *count, double v_hat,
              double t_max, int32_t threads, double *area, const double *gr, double *gw,
              double *gtin)
{
    int failed = 0;
#pragma omp parallel num_threads(threads)
    {
        double *seg = malloc(sizeof(double) * 2 * (size_t)(n_in > 0 ? n_in : 1));
        if (seg == NULL) {
#pragma omp atomic write
            failed = 1;
        }
        if (gr == NULL) {
#pragma omp for schedule(static)
            for (int32_t b = 0; b < B; b++) {
                if (seg == NULL) continue;
                const double *t = tin + (size_t)b * n_in;
                const int32_t *ord = order + (size_t)b * n_in;
                for (int32_t i = 0; i < n_out; i++) {
                    size_t o = (size_t)b * n_out + i;
                    int32_t last = ncausal[o] > 0 ? ncausal[o] : count[b];
                    area[o] = neuron_segments(t, ord, w + (size_t)i * n_in, last, v_hat, t_max,
                                              seg);
                }
            }
        } else {
#pragma omp for schedule(dynamic, 1)
            for (int32_t i0 = 0; i0 < n_out; i0 += ROWS) {
                int32_t i1 = n_out - i0 < ROWS ? n_out : i0 + ROWS;
                memset(gw + (size_t)i0 * n_in, 0, sizeof(double) * (size_t)(i1 - i0) * n_in);
                if (seg == NULL) continue;
                for (int32_t b = 0; b < B; b++) {
                    const double *t = tin + (size_t)b * n_in;
                    const int32_t *ord = order + (size_t)b * n_in;
                    for (int32_t i = i0; i < i1; i++) {
                        size_t o = (size_t)b * n_out + i;
                        if (gr[o] == 0.0) continue;
                        int32_t last = ncausal[o] > 0 ? ncausal[o] : count[b];
                        const double *wi = w + (size_t)i * n_in;
                        double *gi = gw + (size_t)i * n_in, GS = 0.0, GA = 0.0, g = gr[o];
                        neuron_segments(t, ord, wi, last, v_hat, t_max, seg);
                        for (int32_t k = last - 1; k >= 0; k--) {
                            GS += seg[2 * k];
                            GA += seg[2 * k + 1];
                            gi[ord[k]] += g * (GS + t[ord[k]] * GA);
                        }
                    }
                }
            }
            if (gtin != NULL) {
#pragma omp for schedule(static)
                for (int32_t b = 0; b < B; b++) {
                    const double *t = tin + (size_t)b * n_in;
                    const int32_t *ord = order + (size_t)b * n_in;
                    double *gtb = gtin + (size_t)b * n_in;
                    memset(gtb, 0, sizeof(double) * (size_t)n_in);
                    if (seg == NULL) continue;
                    for (int32_t i = 0; i < n_out; i++) {
                        size_t o = (size_t)b * n_out + i;
                        if (gr[o] == 0.0) continue;
                        int32_t last = ncausal[o] > 0 ? ncausal[o] : count[b];
                        const double *wi = w + (size_t)i * n_in;
                        double GA = 0.0, g = gr[o];
                        neuron_segments(t, ord, wi, last, v_hat, t_max, seg);
                        for (int32_t k = last - 1; k >= 0; k--) {
                            GA += seg[2 * k + 1];
                            gtb[ord[k]] += g * wi[ord[k]] * GA;
                        }
                    }
                }
            }
        }
        free(seg);
    }
    return failed;
}
