/* Exact first-spike times of non-leaky integrate-and-fire neurons with ramp synapses.
 *
 * v_i(t) = sum_j w_ij max(0, t - t_j); neuron i fires at the first t in [0, t_max] with
 * v_i(t) >= v_th. Between two consecutive input times the potential is linear, S t - A with
 * S = sum w_ij and A = sum w_ij t_j over the inputs seen so far, so the crossing is found by
 * scanning the inputs in time order and stopping at the first segment that reaches v_th.
 * Every sample sorts its inputs once; all its neurons share the order.
 *
 * Everything is double precision; the Python side converts. See model/neuron.py for the
 * contract and model/regularizer.py for the v_hat area.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

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

/* Sorted indices of the inputs of sample b that spike before t_max, and their times in buf
 * followed by t_max; returns their count. */
static int32_t sort_inputs(const double *tin, int32_t n_in, double t_max, event *buf,
                           int32_t *order)
{
    int32_t m = 0;
    for (int32_t j = 0; j < n_in; j++)
        if (tin[j] < t_max) {
            buf[m].t = tin[j];
            buf[m].j = j;
            m++;
        }
    qsort(buf, (size_t)m, sizeof(event), by_time_then_index);
    for (int32_t k = 0; k < m; k++) order[k] = buf[k].j;
    buf[m].t = t_max;  /* sentinel: the last segment ends at t_max */
    return m;
}

#define LANES 4

/* Scan LANES neurons in lockstep over the sorted inputs of one sample: the loads of the
 * input order and times are shared and the lanes' running sums are independent, so the
 * additions overlap instead of waiting on each other. Each lane does exactly the
 * operations of a scan of its own; it stops being checked once it has fired, and the
 * block stops when all lanes (only the first `lanes` are real) have fired. */
static void scan_lanes(const event *buf, const int32_t *ord, int32_t m,
                       const double *const *wl, int lanes, double v_th, double *fire,
                       double *s_out, int32_t *nc)
{
    double S[LANES] = {0.0}, A[LANES] = {0.0};
    int open[LANES], active = lanes;
    for (int l = 0; l < LANES; l++) {
        open[l] = l < lanes;
        fire[l] = INFINITY;
        s_out[l] = 0.0;
        nc[l] = 0;
    }
    for (int32_t k = 0; k < m && active > 0; k++) {
        int32_t j = ord[k];
        double tj = buf[k].t, next = buf[k + 1].t;
        for (int l = 0; l < LANES; l++) {
            double wj = wl[l][j];
            S[l] += wj;
            A[l] += wj * tj;
        }
        if (next == tj) continue;  /* ties: one segment starts after the group */
        for (int l = 0; l < LANES; l++) {
            /* v(next) >= v_th without a division; the crossing is then (v_th + A)/S */
            if (open[l] && S[l] > 0.0 && v_th + A[l] <= S[l] * next) {
                double c = (v_th + A[l]) / S[l];
                if (c <= next) {
                    fire[l] = c;
                    s_out[l] = S[l];
                    nc[l] = k + 1;
                    open[l] = 0;
                    active--;
                }
            }
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
    int failed = 0;
#pragma omp parallel num_threads(threads)
    {
        event *buf = malloc(sizeof(event) * ((size_t)n_in + 1));
        if (buf == NULL) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 4)
        for (int32_t b = 0; b < B; b++) {
            if (buf == NULL) continue;
            const double *t = tin + (size_t)b * n_in;
            int32_t *ord = order + (size_t)b * n_in;
            int32_t m = sort_inputs(t, n_in, t_max, buf, ord);
            count[b] = m;
            for (int32_t i0 = 0; i0 < n_out; i0 += LANES) {
                int lanes = n_out - i0 < LANES ? n_out - i0 : LANES;
                const double *wl[LANES];
                double fire[LANES], s_out[LANES];
                int32_t nc[LANES];
                for (int l = 0; l < LANES; l++)
                    wl[l] = w + (size_t)(i0 + (l < lanes ? l : 0)) * n_in;
                scan_lanes(buf, ord, m, wl, lanes, v_th, fire, s_out, nc);
                for (int l = 0; l < lanes; l++) {
                    size_t o = (size_t)b * n_out + i0 + l;
                    tout[o] = fire[l];
                    slope[o] = s_out[l];
                    ncausal[o] = nc[l];
                }
            }
        }
        free(buf);
    }
    return failed;
}

/* Rows of gw that one thread owns at a time: the weight gradients are partitioned by output
 * neuron, so every element is summed by one thread over the samples in index order. */
#define ROWS 8

/* Backward pass of (tout, slope) with respect to (tin, w).
 * gt, gs [B, n_out]: upstream gradients of tout and slope. gw [n_out, n_in] and gtin [B, n_in]
 * are overwritten. dt_i/dw_ij = (t_j - t_i)/S_i, dt_i/dt_j = w_ij/S_i, dS_i/dw_ij = 1 for j in
 * the causal set; 1/S_i is capped at 1/min_slope so that no gradient overflows.
 * Deterministic whatever the thread count: gw[i, j] is summed over b = 0, 1, ... by the
 * thread owning row i, gtin[b, j] over i = 0, 1, ... by the thread owning sample b. */
int ttfs_backward(int32_t B, int32_t n_in, int32_t n_out, const double *tin, const double *w,
                  const double *tout, const double *slope, const int32_t *ncausal,
                  const int32_t *order, const double *gt, const double *gs, double min_slope,
                  int32_t threads, double *gw, double *gtin)
{
    /* gtin == NULL: the input times need no gradient (the encoded images) */
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(dynamic, 1)
        for (int32_t i0 = 0; i0 < n_out; i0 += ROWS) {
            int32_t i1 = n_out - i0 < ROWS ? n_out : i0 + ROWS;
            memset(gw + (size_t)i0 * n_in, 0, sizeof(double) * (size_t)(i1 - i0) * n_in);
            for (int32_t b = 0; b < B; b++) {
                const double *t = tin + (size_t)b * n_in;
                const int32_t *ord = order + (size_t)b * n_in;
                for (int32_t i = i0; i < i1; i++) {
                    size_t o = (size_t)b * n_out + i;
                    int32_t nc = ncausal[o];
                    if (nc == 0 || (gt[o] == 0.0 && gs[o] == 0.0)) continue;
                    double g = gt[o] / fmax(slope[o], min_slope), h = gs[o], ti = tout[o];
                    double *gi = gw + (size_t)i * n_in;
                    for (int32_t k = 0; k < nc; k++) {
                        int32_t j = ord[k];
                        gi[j] += g * (t[j] - ti) + h;
                    }
                }
            }
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
