/* DFT and STFT, on a complex FFT in double precision.
 *
 * Lengths that are powers of two use an iterative radix-2 FFT; other lengths up
 * to SMALL_N a direct O(n^2) sum over a table of roots; longer ones Bluestein's
 * algorithm (a chirp convolution done with power-of-two FFTs). Roots of unity are
 * computed from exact integer exponents (k*j mod n), not by repeated products, so
 * errors stay near one rounding.
 *
 * Signals are [.., n, .., 1] (real) or [.., n, .., 2] (complex, real then
 * imaginary). Inputs are widened to double once, transformed line by line and the
 * results converted back to the input type.
 */
#include <math.h>
#include <string.h>

#include "ops/elem_common.h"
#include "ops/misc.h"
#include "util/alloc.h"

#define SMALL_N 64
#define TWO_PI 6.283185307179586476925286766559

/* ---- FFT ---------------------------------------------------------------------------- */

typedef struct {
    size_t n;
    int kind;      /* FFT_POW2, FFT_DIRECT, FFT_BLUESTEIN */
    double *w;     /* POW2: n/2 roots e^{-2 pi i k/n}; DIRECT: n roots */
    size_t m;      /* BLUESTEIN: the power-of-two convolution length */
    double *wm;    /* BLUESTEIN: m/2 roots for length m */
    double *chirp; /* BLUESTEIN: n values e^{-pi i k^2/n} */
    double *bf;    /* BLUESTEIN: FFT of the conjugate chirp, m values */
    double *tmp;   /* scratch: 2n (DIRECT) or 2m (BLUESTEIN) values */
} fft_plan;

enum { FFT_POW2, FFT_DIRECT, FFT_BLUESTEIN };

static int is_pow2(size_t n) { return n && !(n & (n - 1)); }

static void fft_plan_free(fft_plan *p) {
    ox_free(p->w);
    ox_free(p->wm);
    ox_free(p->chirp);
    ox_free(p->bf);
    ox_free(p->tmp);
    memset(p, 0, sizeof *p);
}

/* e^{-2 pi i k/n} for k < count, interleaved re, im. */
static void roots(double *w, size_t count, size_t n) {
    for (size_t k = 0; k < count; k++) {
        double a = -TWO_PI * (double)k / (double)n;
        w[2 * k] = cos(a);
        w[2 * k + 1] = sin(a);
    }
}

/* In-place radix-2 FFT of n (a power of two) interleaved values; w has n/2 roots of
 * length n (or of a multiple: wstep picks every wstep-th). Forward: e^{-}. */
static void fft_pow2(double *x, size_t n, const double *w, size_t wstep, int inverse) {
    for (size_t i = 1, j = 0; i < n; i++) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double tr = x[2 * i], ti = x[2 * i + 1];
            x[2 * i] = x[2 * j], x[2 * i + 1] = x[2 * j + 1];
            x[2 * j] = tr, x[2 * j + 1] = ti;
        }
    }
    double sgn = inverse ? -1.0 : 1.0;
    for (size_t len = 2; len <= n; len <<= 1) {
        size_t half = len / 2, step = (n / len) * wstep;
        for (size_t s = 0; s < n; s += len)
            for (size_t k = 0; k < half; k++) {
                double wr = w[2 * k * step], wi = sgn * w[2 * k * step + 1];
                double *a = x + 2 * (s + k), *b = x + 2 * (s + k + half);
                double br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;
                b[0] = a[0] - br, b[1] = a[1] - bi;
                a[0] += br, a[1] += bi;
            }
    }
}

static onyx_status fft_plan_make(size_t n, fft_plan *p) {
    memset(p, 0, sizeof *p);
    p->n = n;
    if (n <= 1 || is_pow2(n)) {
        p->kind = FFT_POW2;
        p->w = ox_malloc_array(n / 2 + 1, 2 * sizeof(double));
        if (!p->w) goto oom;
        roots(p->w, n / 2, n);
        return ONYX_OK;
    }
    if (n <= SMALL_N) {
        p->kind = FFT_DIRECT;
        p->w = ox_malloc_array(n, 2 * sizeof(double));
        p->tmp = ox_malloc_array(n, 2 * sizeof(double));
        if (!p->w || !p->tmp) goto oom;
        roots(p->w, n, n);
        return ONYX_OK;
    }
    p->kind = FFT_BLUESTEIN;
    size_t m = 1;
    while (m < 2 * n - 1) {
        if (m > ((size_t)-1 >> 3)) return ox_error(ONYX_ERR_LIMIT, "DFT length %zu is too large", n);
        m <<= 1;
    }
    p->m = m;
    p->wm = ox_malloc_array(m / 2, 2 * sizeof(double));
    p->chirp = ox_malloc_array(n, 2 * sizeof(double));
    p->bf = ox_malloc_array(m, 2 * sizeof(double));
    p->tmp = ox_malloc_array(m, 2 * sizeof(double));
    if (!p->wm || !p->chirp || !p->bf || !p->tmp) goto oom;
    roots(p->wm, m / 2, m);
    for (size_t k = 0; k < n; k++) {
        /* k^2 mod 2n keeps the angle small and exact */
        size_t q = (size_t)(((unsigned long long)k * k) % (2ull * n));
        double a = -TWO_PI * 0.5 * (double)q / (double)n;
        p->chirp[2 * k] = cos(a);
        p->chirp[2 * k + 1] = sin(a);
    }
    memset(p->bf, 0, m * 2 * sizeof(double));
    for (size_t k = 0; k < n; k++) {
        p->bf[2 * k] = p->chirp[2 * k];
        p->bf[2 * k + 1] = -p->chirp[2 * k + 1];
        if (k) {
            p->bf[2 * (m - k)] = p->chirp[2 * k];
            p->bf[2 * (m - k) + 1] = -p->chirp[2 * k + 1];
        }
    }
    fft_pow2(p->bf, m, p->wm, 1, 0);
    return ONYX_OK;
oom:
    fft_plan_free(p);
    return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for a DFT of length %zu", n);
}

/* In-place transform of n interleaved complex values, unnormalised:
 * X[k] = sum_j x[j] e^{-+2 pi i jk/n} (minus: forward, plus: inverse). */
static void fft_exec(const fft_plan *p, double *x, int inverse) {
    size_t n = p->n;
    if (p->kind == FFT_POW2) {
        if (n > 1) fft_pow2(x, n, p->w, 1, inverse);
        return;
    }
    double sgn = inverse ? -1.0 : 1.0;
    if (p->kind == FFT_DIRECT) {
        double *y = p->tmp;
        for (size_t k = 0; k < n; k++) {
            double sr = 0, si = 0;
            size_t e = 0; /* j*k mod n */
            for (size_t j = 0; j < n; j++) {
                double wr = p->w[2 * e], wi = sgn * p->w[2 * e + 1];
                sr += x[2 * j] * wr - x[2 * j + 1] * wi;
                si += x[2 * j] * wi + x[2 * j + 1] * wr;
                e += k;
                if (e >= n) e -= n;
            }
            y[2 * k] = sr, y[2 * k + 1] = si;
        }
        memcpy(x, y, n * 2 * sizeof(double));
        return;
    }
    /* Bluestein: X[k] = c[k] * sum_j (x[j] c[j]) conj(c[k-j]), c[k] = e^{-+pi i k^2/n} */
    size_t m = p->m;
    double *a = p->tmp;
    memset(a, 0, m * 2 * sizeof(double));
    for (size_t k = 0; k < n; k++) {
        double cr = p->chirp[2 * k], ci = sgn * p->chirp[2 * k + 1];
        a[2 * k] = x[2 * k] * cr - x[2 * k + 1] * ci;
        a[2 * k + 1] = x[2 * k] * ci + x[2 * k + 1] * cr;
    }
    fft_pow2(a, m, p->wm, 1, 0);
    for (size_t k = 0; k < m; k++) {
        /* the inverse uses the conjugate chirp: its FFT is bf reversed and conjugated */
        size_t kk = inverse ? (m - k) % m : k;
        double br = p->bf[2 * kk], bi = sgn * p->bf[2 * kk + 1];
        double ar = a[2 * k], ai = a[2 * k + 1];
        a[2 * k] = ar * br - ai * bi;
        a[2 * k + 1] = ar * bi + ai * br;
    }
    fft_pow2(a, m, p->wm, 1, 1);
    double inv_m = 1.0 / (double)m;
    for (size_t k = 0; k < n; k++) {
        double cr = p->chirp[2 * k], ci = sgn * p->chirp[2 * k + 1];
        double ar = a[2 * k] * inv_m, ai = a[2 * k + 1] * inv_m;
        x[2 * k] = ar * cr - ai * ci;
        x[2 * k + 1] = ar * ci + ai * cr;
    }
}

/* ---- DFT ---------------------------------------------------------------------------- */

typedef struct {
    int inverse, onesided;
    int64_t axis; /* opset 17-19 attribute */
} dft_state;

onyx_status ox_misc_dft_prepare(ox_op_ctx *c) {
    dft_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    s->inverse = ox_attr_int(c, "inverse", 0) != 0;
    s->onesided = ox_attr_int(c, "onesided", 0) != 0;
    s->axis = c->opset < 20 ? ox_attr_int(c, "axis", 1) : -2;
    return ox_op_status(c);
}

typedef struct {
    int32_t axis;
    size_t n;        /* transform length */
    size_t out_len;  /* output extent along axis */
} dft_geom;

static onyx_status dft_geometry(const ox_op_ctx *c, dft_geom *g) {
    const dft_state *s = c->state;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'input' is required");
    const ox_tensor *x = c->in[0];
    if (!ox_misc_is_float(x->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'input' has type %s, expected a float type",
                        ox_dtype_name(x->dtype));
    int32_t r = x->rank;
    if (r < 2 || (x->dims[r - 1] != 1 && x->dims[r - 1] != 2))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'input' must end with a dim of 1 (real) or 2 "
                        "(complex)");
    int64_t axis = s->axis;
    if (c->opset >= 20 && ox_has_input(c, 2)) OX_TRY(ox_misc_scalar_int(c->in[2], "axis", &axis));
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r - 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "axis must be in [-%d, -2] or [0, %d]", r, r - 2);
    g->axis = (int32_t)axis;
    int64_t dim = x->dims[axis], n;
    if (ox_has_input(c, 1)) {
        OX_TRY(ox_misc_scalar_int(c->in[1], "dft_length", &n));
        if (n <= 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input 'dft_length' = %lld must be positive",
                            (long long)n);
    } else {
        n = s->inverse && s->onesided ? 2 * (dim - 1) : dim;
        if (n <= 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "the signal along axis %d is too short for a DFT",
                            g->axis);
    }
    if (n > ((int64_t)1 << 40)) return ox_error(ONYX_ERR_LIMIT, "DFT length %lld is too large", (long long)n);
    g->n = (size_t)n;
    g->out_len = s->onesided && !s->inverse ? g->n / 2 + 1 : g->n;
    return ONYX_OK;
}

onyx_status ox_misc_dft_infer(ox_op_ctx *c) {
    const dft_state *s = c->state;
    dft_geom g;
    OX_TRY(dft_geometry(c, &g));
    const ox_tensor *x = c->in[0];
    int64_t dims[OX_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    dims[g.axis] = (int64_t)g.out_len;
    dims[x->rank - 1] = s->inverse && s->onesided ? 1 : 2;
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    return ONYX_OK;
}

/* x and y as doubles: allocate both, load x. */
static onyx_status widen(const ox_tensor *x, const ox_tensor *y, double **xd, double **yd) {
    size_t nx = ox_tensor_count(x), ny = ox_tensor_count(y);
    *xd = ox_malloc_array(nx + 1, sizeof(double));
    *yd = ox_malloc_array(ny + 1, sizeof(double));
    if (!*xd || !*yd) {
        ox_free(*xd);
        ox_free(*yd);
        *xd = *yd = NULL;
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    elem_load_f64(x->dtype, x->data, 0, 1, nx, *xd);
    return ONYX_OK;
}

onyx_status ox_misc_dft_run(ox_op_ctx *c) {
    const dft_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    dft_geom g;
    OX_TRY(dft_geometry(c, &g));
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    int32_t r = x->rank;
    size_t outer = ox_shape_count(g.axis, x->dims);
    size_t inner = ox_shape_count(r - 2 - g.axis, x->dims + g.axis + 1);
    size_t in_len = (size_t)x->dims[g.axis], n = g.n;
    size_t cin = (size_t)x->dims[r - 1], cout = (size_t)y->dims[r - 1];
    int irfft = s->inverse && s->onesided;
    double *xd, *yd, *line = ox_malloc_array(n, 2 * sizeof(double));
    if (!line) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status st = widen(x, y, &xd, &yd);
    fft_plan p = {0};
    if (st == ONYX_OK) st = fft_plan_make(n, &p);
    if (st != ONYX_OK) {
        if (xd) ox_free(xd), ox_free(yd);
        ox_free(line);
        return st;
    }
    /* IRFFT reads bins 0..n/2 and mirrors them (conjugated) into the upper half */
    size_t use = irfft ? n / 2 + 1 : n;
    if (use > in_len) use = in_len;
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            memset(line, 0, n * 2 * sizeof(double));
            for (size_t k = 0; k < use; k++) {
                const double *e = xd + ((o * in_len + k) * inner + i) * cin;
                line[2 * k] = e[0];
                line[2 * k + 1] = cin == 2 ? e[1] : 0.0;
            }
            if (irfft)
                for (size_t k = 1; k < use && n - k > k; k++) {
                    line[2 * (n - k)] = line[2 * k];
                    line[2 * (n - k) + 1] = -line[2 * k + 1];
                }
            fft_exec(&p, line, s->inverse);
            double scale = s->inverse ? 1.0 / (double)n : 1.0;
            for (size_t k = 0; k < g.out_len; k++) {
                double *e = yd + ((o * g.out_len + k) * inner + i) * cout;
                e[0] = line[2 * k] * scale;
                if (cout == 2) e[1] = line[2 * k + 1] * scale;
            }
        }
    elem_store_f64(y->dtype, yd, ox_tensor_count(y), y->data, 0, 1);
    fft_plan_free(&p);
    ox_free(line);
    ox_free(xd);
    ox_free(yd);
    return ONYX_OK;
}

/* ---- STFT --------------------------------------------------------------------------- */

typedef struct {
    int onesided;
} stft_state;

onyx_status ox_misc_stft_prepare(ox_op_ctx *c) {
    stft_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    s->onesided = ox_attr_int(c, "onesided", 1) != 0;
    return ox_op_status(c);
}

typedef struct {
    size_t step, frame_len, win_len, frames, bins;
} stft_geom;

static onyx_status stft_geometry(const ox_op_ctx *c, stft_geom *g) {
    const stft_state *s = c->state;
    if (!ox_has_input(c, 0) || !ox_has_input(c, 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs 'signal' and 'frame_step' are required");
    const ox_tensor *x = c->in[0];
    if (!ox_misc_is_float(x->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'signal' has type %s, expected a float type",
                        ox_dtype_name(x->dtype));
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'signal' must be [batch][length][1 or 2]");
    int64_t step, fl = -1, L = x->dims[1];
    OX_TRY(ox_misc_scalar_int(c->in[1], "frame_step", &step));
    if (step <= 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'frame_step' = %lld must be positive",
                        (long long)step);
    const ox_tensor *w = ox_has_input(c, 2) ? c->in[2] : NULL;
    if (w && (w->dtype != x->dtype || w->rank != 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'window' must be a 1-D %s tensor",
                        ox_dtype_name(x->dtype));
    if (ox_has_input(c, 3)) {
        OX_TRY(ox_misc_scalar_int(c->in[3], "frame_length", &fl));
        if (fl <= 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input 'frame_length' = %lld must be positive",
                            (long long)fl);
    } else {
        fl = w ? w->dims[0] : L;
    }
    if (fl <= 0 || fl > L)
        return ox_error(ONYX_ERR_INVALID_MODEL, "frame length %lld does not fit the signal's %lld "
                        "samples", (long long)fl, (long long)L);
    g->step = (size_t)step;
    g->frame_len = (size_t)fl;
    g->win_len = w ? (size_t)w->dims[0] : (size_t)fl;
    g->frames = 1 + (size_t)(L - fl) / (size_t)step;
    g->bins = s->onesided ? (size_t)fl / 2 + 1 : (size_t)fl;
    return ONYX_OK;
}

onyx_status ox_misc_stft_infer(ox_op_ctx *c) {
    stft_geom g;
    OX_TRY(stft_geometry(c, &g));
    const ox_tensor *x = c->in[0];
    int64_t dims[4] = {x->dims[0], (int64_t)g.frames, (int64_t)g.bins, 2};
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], x->dtype, 4, dims);
    return ONYX_OK;
}

onyx_status ox_misc_stft_run(ox_op_ctx *c) {
    if (!ox_has_output(c, 0)) return ONYX_OK;
    stft_geom g;
    OX_TRY(stft_geometry(c, &g));
    const ox_tensor *x = c->in[0], *w = ox_has_input(c, 2) ? c->in[2] : NULL;
    ox_tensor *y = c->out[0];
    size_t B = (size_t)x->dims[0], L = (size_t)x->dims[1], cin = (size_t)x->dims[2];
    size_t n = g.frame_len, used = g.win_len < n ? g.win_len : n;
    double *xd, *yd, *line = ox_malloc_array(n, 2 * sizeof(double));
    double *wd = ox_malloc_array(used + 1, sizeof(double));
    if (!line || !wd) {
        ox_free(line);
        ox_free(wd);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t k = 0; k < used; k++) wd[k] = w ? ox_tensor_get_double(w, k) : 1.0;
    onyx_status st = widen(x, y, &xd, &yd);
    fft_plan p = {0};
    if (st == ONYX_OK) st = fft_plan_make(n, &p);
    if (st != ONYX_OK) {
        if (xd) ox_free(xd), ox_free(yd);
        ox_free(line);
        ox_free(wd);
        return st;
    }
    for (size_t b = 0; b < B; b++)
        for (size_t f = 0; f < g.frames; f++) {
            memset(line, 0, n * 2 * sizeof(double));
            for (size_t k = 0; k < used && f * g.step + k < L; k++) {
                const double *e = xd + (b * L + f * g.step + k) * cin;
                line[2 * k] = e[0] * wd[k];
                line[2 * k + 1] = cin == 2 ? e[1] * wd[k] : 0.0;
            }
            fft_exec(&p, line, 0);
            memcpy(yd + ((b * g.frames + f) * g.bins) * 2, line, g.bins * 2 * sizeof(double));
        }
    elem_store_f64(y->dtype, yd, ox_tensor_count(y), y->data, 0, 1);
    fft_plan_free(&p);
    ox_free(line);
    ox_free(wd);
    ox_free(xd);
    ox_free(yd);
    return ONYX_OK;
}
