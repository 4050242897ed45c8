/* The vector math of kernels/vmath.h, written once over a small set of lane
 * operations that each includer defines for its instruction set (vmath.c: portable
 * 4-lane GNU vectors or plain floats; x86/vmath_avx2.c: 8 lanes; x86/vmath_avx512.c:
 * 16 lanes). The algorithms are those of vmath_scalar.h, step for step, with
 * a * b + c as a fused multiply-add where the machine has one.
 *
 * The includer defines, before including this file:
 *   VM_W                 lanes per vector
 *   VM_OPS               the name of the ox_vmath_ops table to define
 *   vf, vm               the float vector type and its lane mask type
 *   vf vf_set(float)     every lane the same
 *   vf vf_load(const float *), void vf_store(float *, vf)          unaligned
 *   vf vf_load_part(const float *p, size_t k, float pad)   lanes >= k are pad;
 *   void vf_store_part(float *p, vf v, size_t k)           writes lanes < k only
 *   vf vf_add, vf_sub, vf_mul, vf_div (a, b); vf vf_fma(a, b, c) = a * b + c
 *   vf vf_max(a, b) = a > b ? a : b;  vf vf_min(a, b) = a < b ? a : b (NaN a: b)
 *   vf vf_abs(a); vf vf_negabs(a) = -|a|; vf vf_sign_to(a, s): |a| with s's sign
 *       (a must be >= 0)
 *   vm vf_lt(a, b), vf_ge(a, b), vf_isnan(a); vf vf_sel(vm m, vf a, vf b) = m ? a : b
 *   int vm_all(vm)        every lane set
 *   vf vf_pow2(vf k)     2^k for integral k in [-126, 127] (as float lanes)
 *   double vf_hsum(vf); float vf_hmax(vf) (NaN lanes never win)
 */
#include <math.h>
#include <stddef.h>

#include "kernels/vmath_ops.h"

/* The integer part of shifter + t, for |t| < 2^22, sits in the low mantissa bits:
 * adding and subtracting it rounds t to an integer (round to nearest even). */
#define VM_SHIFTER 12582912.0f /* 1.5 * 2^23 */

static inline vf vm_exp(vf x) {
    /* e^x = 2^n e^r, n = round(x / ln2), |r| <= ln2 / 2; x clamped so n stays in
     * [-150, 128] (beyond, the result is 0 or inf anyway); NaN put back at the end */
    vf xc = vf_min(vf_max(x, vf_set(-104.0f)), vf_set(89.0f));
    vf n = vf_sub(vf_fma(xc, vf_set(1.44269504088896341f), vf_set(VM_SHIFTER)), vf_set(VM_SHIFTER));
    vf r = vf_fma(n, vf_set(-0.693359375f), xc); /* n * 0.693359375 is exact */
    r = vf_fma(n, vf_set(2.12194440e-4f), r);
    vf r2 = vf_mul(r, r);
    vf p = vf_set(1.9890980753e-04f); /* (e^r - 1 - r) / r^2 */
    p = vf_fma(p, r, vf_set(1.3933641031e-03f));
    p = vf_fma(p, r, vf_set(8.3333109346e-03f));
    p = vf_fma(p, r, vf_set(4.1666465006e-02f));
    p = vf_fma(p, r, vf_set(1.6666666682e-01f));
    p = vf_fma(p, r, vf_set(5.0000000135e-01f));
    p = vf_add(vf_fma(p, r2, r), vf_set(1.0f));
    /* scale in two halves, h = floor(n / 2), so each power stays a normal number */
    vf h = vf_sub(vf_add(vf_fma(n, vf_set(0.5f), vf_set(-0.25f)), vf_set(VM_SHIFTER)),
                  vf_set(VM_SHIFTER));
    vf y = vf_mul(vf_mul(p, vf_pow2(h)), vf_pow2(vf_sub(n, h)));
    return vf_sel(vf_isnan(x), x, y);
}

static inline vf vm_sigmoid(vf x) {
    /* e^-|x| never overflows; for x < 0, e^x / (1 + e^x) keeps the tiny tail */
    vf e = vm_exp(vf_negabs(x));
    vf s = vf_div(vf_set(1.0f), vf_add(vf_set(1.0f), e));
    return vf_sel(vf_ge(x, vf_set(0.0f)), s, vf_mul(e, s));
}

static inline vf vm_tanh(vf x) {
    vf ax = vf_abs(x);
    /* small |x|: odd polynomial (no cancellation); else 1 - 2 / (e^2|x| + 1) */
    vf z = vf_mul(x, x);
    vf p = vf_set(-6.0967141649e-03f);
    p = vf_fma(p, z, vf_set(2.0997178999e-02f));
    p = vf_fma(p, z, vf_set(-5.3850909578e-02f));
    p = vf_fma(p, z, vf_set(1.3332769737e-01f));
    p = vf_fma(p, z, vf_set(-3.3333328944e-01f));
    /* tanh is odd: the sign of x also for x = -0, which the sum would make +0 */
    vf small = vf_sign_to(vf_abs(vf_fma(vf_mul(p, z), x, x)), x);
    vm small_lanes = vf_lt(ax, vf_set(0.625f));
    if (vm_all(small_lanes)) return small;
    vf e = vm_exp(vf_mul(vf_set(2.0f), vf_min(ax, vf_set(20.0f))));
    vf big = vf_sub(vf_set(1.0f), vf_div(vf_set(2.0f), vf_add(e, vf_set(1.0f))));
    big = vf_sel(vf_isnan(x), x, vf_sign_to(big, x));
    return vf_sel(small_lanes, small, big);
}

/* erfc(a) * e^(a^2) for a in [0.9, 6], in s = (2a - 6.9) / 5.1 */
static inline vf vm_erfc_scaled(vf a) {
    vf s = vf_fma(a, vf_set(2.0f / 5.1f), vf_set(-(6.9f / 5.1f)));
    vf q = vf_set(2.434289559e-04f);
    q = vf_fma(q, s, vf_set(-4.872417397e-04f));
    q = vf_fma(q, s, vf_set(4.912796918e-05f));
    q = vf_fma(q, s, vf_set(-4.552719616e-05f));
    q = vf_fma(q, s, vf_set(1.354690395e-03f));
    q = vf_fma(q, s, vf_set(-2.508511291e-03f));
    q = vf_fma(q, s, vf_set(3.527934484e-03f));
    q = vf_fma(q, s, vf_set(-6.116366244e-03f));
    q = vf_fma(q, s, vf_set(1.079826653e-02f));
    q = vf_fma(q, s, vf_set(-1.802445791e-02f));
    q = vf_fma(q, s, vf_set(2.929756152e-02f));
    q = vf_fma(q, s, vf_set(-4.654963826e-02f));
    q = vf_fma(q, s, vf_set(7.199626952e-02f));
    q = vf_fma(q, s, vf_set(-1.081457896e-01f));
    return vf_fma(q, s, vf_set(1.573868256e-01f));
}

/* erf(x) / x as a function of u = x^2 in [0, 0.81], in s = 2u / 0.81 - 1 */
static inline vf vm_erf_small(vf u) {
    vf s = vf_fma(u, vf_set(2.0f / 0.81f), vf_set(-1.0f));
    vf p = vf_set(3.763991978e-07f);
    p = vf_fma(p, s, vf_set(-6.654296658e-06f));
    p = vf_fma(p, s, vf_set(1.010980878e-04f));
    p = vf_fma(p, s, vf_set(-1.305894018e-03f));
    p = vf_fma(p, s, vf_set(1.391165900e-02f));
    p = vf_fma(p, s, vf_set(-1.201502503e-01f));
    return vf_fma(p, s, vf_set(9.929032347e-01f));
}

static inline vf vm_erf(vf x) {
    vf ax = vf_abs(x);
    vm small_lanes = vf_lt(ax, vf_set(0.9f));
    vf small = vf_mul(x, vm_erf_small(vf_mul(x, x)));
    if (vm_all(small_lanes)) return small;
    /* from 0.9: 1 - erfc; erf is 1 in float from 3.92 on, so clamping is exact */
    vf a = vf_min(ax, vf_set(6.0f));
    vf big = vf_sub(vf_set(1.0f), vf_mul(vm_exp(vf_mul(vf_negabs(a), a)), vm_erfc_scaled(a)));
    big = vf_sel(vf_isnan(x), x, vf_sign_to(big, x));
    return vf_sel(small_lanes, small, big);
}

/* x * Phi(x); below 0 the 1 + erf is erfc, computed without cancellation */
static inline vf vm_gelu(vf x) {
    vf z = vf_mul(x, vf_set(0.70710678118654752f));
    vf az = vf_abs(z);
    vm near_lanes = vf_lt(az, vf_set(0.9f));
    vf ope = vf_fma(z, vm_erf_small(vf_mul(z, z)), vf_set(1.0f));
    if (!vm_all(near_lanes)) {
        /* past the fitted range the e^-z^2 factor still decays (to 0 at infinity) */
        vf a = vf_min(az, vf_set(6.0f));
        vf t = vf_mul(vm_exp(vf_mul(vf_negabs(az), az)), vm_erfc_scaled(a));
        vf far_part = vf_sel(vf_lt(z, vf_set(0.0f)), t, vf_sub(vf_set(2.0f), t));
        ope = vf_sel(near_lanes, ope, far_part);
    }
    return vf_mul(vf_mul(vf_set(0.5f), x), ope);
}

static inline vf vm_gelu_tanh(vf x) {
    vf c = vf_mul(vf_mul(vf_mul(vf_set(0.044715f), x), x), x);
    vf inner = vf_mul(vf_set(0.79788456080286535588f), vf_add(x, c));
    return vf_mul(vf_mul(vf_set(0.5f), x), vf_add(vf_set(1.0f), vm_tanh(inner)));
}

/* y[i] = F(x[i]) over whole vectors, then the tail through a partial load */
#define VM_MAP(name, F)                                                                    \
    static void name(size_t n, const float *x, float *y) {                                 \
        size_t i = 0;                                                                      \
        for (; i + VM_W <= n; i += VM_W) vf_store(y + i, F(vf_load(x + i)));               \
        if (i < n) vf_store_part(y + i, F(vf_load_part(x + i, n - i, 0.0f)), n - i);       \
    }
VM_MAP(map_exp, vm_exp)
VM_MAP(map_sigmoid, vm_sigmoid)
VM_MAP(map_tanh, vm_tanh)
VM_MAP(map_erf, vm_erf)
VM_MAP(map_gelu, vm_gelu)
VM_MAP(map_gelu_tanh, vm_gelu_tanh)
#undef VM_MAP

static void map_swish(size_t n, float alpha, const float *x, float *y) {
    vf a = vf_set(alpha);
    size_t i = 0;
    for (; i + VM_W <= n; i += VM_W) {
        vf v = vf_load(x + i);
        vf_store(y + i, vf_mul(v, vm_sigmoid(vf_mul(a, v))));
    }
    if (i < n) {
        vf v = vf_load_part(x + i, n - i, 0.0f);
        vf_store_part(y + i, vf_mul(v, vm_sigmoid(vf_mul(a, v))), n - i);
    }
}

/* Sums run in float lanes for at most BLOCK values, then move into a double. */
#define VM_BLOCK 1024

static float row_max(size_t n, const float *x) {
    vf m = vf_set(-INFINITY);
    size_t i = 0;
    for (; i + VM_W <= n; i += VM_W) m = vf_max(vf_load(x + i), m);
    if (i < n) m = vf_max(vf_load_part(x + i, n - i, -INFINITY), m);
    return vf_hmax(m);
}

static double exp_sum(size_t n, const float *x, float shift, float *y) {
    vf sh = vf_set(shift);
    double s = 0;
    size_t i = 0;
    while (i + VM_W <= n) {
        size_t end = n - i > VM_BLOCK ? i + VM_BLOCK : n;
        vf acc = vf_set(0.0f);
        for (; i + VM_W <= end; i += VM_W) {
            vf e = vm_exp(vf_sub(vf_load(x + i), sh));
            if (y) vf_store(y + i, e);
            acc = vf_add(acc, e);
        }
        s += vf_hsum(acc);
    }
    if (i < n) { /* the padding lanes are left out of the sum */
        float t[VM_W];
        vf_store(t, vm_exp(vf_sub(vf_load_part(x + i, n - i, 0.0f), sh)));
        for (size_t k = 0; k < n - i; k++) {
            if (y) y[i + k] = t[k];
            s += t[k];
        }
    }
    return s;
}

static void exp_sub_acc(size_t n, const float *x, const float *m, float *y, float *acc) {
    size_t i = 0;
    for (; i + VM_W <= n; i += VM_W) {
        vf e = vm_exp(vf_sub(vf_load(x + i), vf_load(m + i)));
        vf_store(y + i, e);
        vf_store(acc + i, vf_add(vf_load(acc + i), e));
    }
    if (i < n) {
        size_t k = n - i;
        vf e = vm_exp(vf_sub(vf_load_part(x + i, k, 0.0f), vf_load_part(m + i, k, 0.0f)));
        vf_store_part(y + i, e, k);
        vf_store_part(acc + i, vf_add(vf_load_part(acc + i, k, 0.0f), e), k);
    }
}

static void scale(size_t n, const float *x, float a, float *y) {
    vf av = vf_set(a);
    size_t i = 0;
    for (; i + VM_W <= n; i += VM_W) vf_store(y + i, vf_mul(vf_load(x + i), av));
    if (i < n) vf_store_part(y + i, vf_mul(vf_load_part(x + i, n - i, 0.0f), av), n - i);
}

static void sub2(size_t n, const float *x, float a, float b, float *y) {
    vf av = vf_set(a), bv = vf_set(b);
    size_t i = 0;
    for (; i + VM_W <= n; i += VM_W) vf_store(y + i, vf_sub(vf_sub(vf_load(x + i), av), bv));
    if (i < n)
        vf_store_part(y + i, vf_sub(vf_sub(vf_load_part(x + i, n - i, 0.0f), av), bv), n - i);
}

/* sum of (x[i] - c) and of its square; padding lanes load c, adding 0 */
static void centred_sums(size_t n, const float *x, float c, double *s1, double *s2) {
    vf cv = vf_set(c);
    double a1 = 0, a2 = 0;
    for (size_t i = 0; i < n;) {
        size_t end = n - i > VM_BLOCK ? i + VM_BLOCK : n;
        vf p1 = vf_set(0.0f), p2 = vf_set(0.0f);
        for (; i < end; i += VM_W) {
            vf d = vf_sub(end - i >= VM_W ? vf_load(x + i) : vf_load_part(x + i, end - i, c), cv);
            p1 = vf_add(p1, d);
            p2 = vf_fma(d, d, p2);
        }
        i = end;
        a1 += vf_hsum(p1);
        a2 += vf_hsum(p2);
    }
    *s1 = a1;
    *s2 = a2;
}

static void mean_var(size_t n, const float *x, double *mean, double *var) {
    if (n == 0) {
        *mean = *var = 0;
        return;
    }
    double s, s2;
    centred_sums(n, x, 0.0f, &s, &s2);
    /* centred on the float nearest the mean; the sum of the residuals corrects
     * for that float being a little off */
    float c = (float)(s / (double)n);
    centred_sums(n, x, c, &s, &s2);
    double v = (s2 - s * s / (double)n) / (double)n;
    *mean = (double)c + s / (double)n;
    *var = v > 0 ? v : 0;
}

static double sum_sq(size_t n, const float *x) {
    double s, s2;
    centred_sums(n, x, 0.0f, &s, &s2);
    return s2;
}

static void norm_affine(size_t n, const float *x, float mean, float inv, const float *sc,
                        const float *bias, float *y) {
    vf m = vf_set(mean), iv = vf_set(inv);
    size_t i = 0;
    for (; i + VM_W <= n; i += VM_W) {
        vf t = vf_mul(vf_mul(vf_sub(vf_load(x + i), m), iv), vf_load(sc + i));
        vf_store(y + i, bias ? vf_add(t, vf_load(bias + i)) : t);
    }
    if (i < n) {
        size_t k = n - i;
        vf t = vf_mul(vf_mul(vf_sub(vf_load_part(x + i, k, 0.0f), m), iv), vf_load_part(sc + i, k, 0.0f));
        vf_store_part(y + i, bias ? vf_add(t, vf_load_part(bias + i, k, 0.0f)) : t, k);
    }
}

const ox_vmath_ops VM_OPS = {
    map_exp,   map_sigmoid, map_tanh, map_erf,  map_gelu,    map_gelu_tanh, map_swish,
    row_max,   exp_sum,     exp_sub_acc, scale, sub2,        mean_var,      sum_sq,
    norm_affine,
};
