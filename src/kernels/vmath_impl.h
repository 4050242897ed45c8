/* The array functions of kernels/vmath.h, written once over a small set of lane
 * operations that each includer defines for its instruction set (vmath.c: portable
 * 4-lane GNU vectors or plain floats; x86/vmath_avx2.c: 8 lanes; x86/vmath_avx512.c:
 * 16 lanes, from x86/vmath_avx512_lanes.h), on the per-vector math of vmath_fn.h.
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
 *   optionally VM_SCALEF and vf vf_scalef(p, n) = p * 2^n rounded once, for integral
 *       n in [-150, 128] (else vm_scale multiplies by powers of two)
 *   double vf_hsum(vf); float vf_hmax(vf) (NaN lanes never win)
 */
#include <math.h>
#include <stddef.h>

#include "kernels/vmath_fn.h"
#include "kernels/vmath_ops.h"

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

static void map_silu(size_t n, const float *x, float *y) {
    size_t i = 0;
    for (; i + VM_W <= n; i += VM_W) {
        vf v = vf_load(x + i);
        vf_store(y + i, vf_mul(v, vm_sigmoid(v)));
    }
    if (i < n) {
        vf v = vf_load_part(x + i, n - i, 0.0f);
        vf_store_part(y + i, vf_mul(v, vm_sigmoid(v)), n - i);
    }
}

/* alpha = 1 skips a multiply that would change nothing */
static void map_swish(size_t n, float alpha, const float *x, float *y) {
    if (alpha == 1.0f) {
        map_silu(n, x, y);
        return;
    }
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

static double sum(size_t n, const float *x) {
    double a = 0;
    for (size_t i = 0; i < n;) {
        size_t end = n - i > VM_BLOCK ? i + VM_BLOCK : n;
        vf p0 = vf_set(0.0f), p1 = vf_set(0.0f); /* two chains: not bound by add latency */
        for (; i + 2 * VM_W <= end; i += 2 * VM_W) {
            p0 = vf_add(p0, vf_load(x + i));
            p1 = vf_add(p1, vf_load(x + i + VM_W));
        }
        for (; i < end; i += VM_W)
            p0 = vf_add(p0, end - i >= VM_W ? vf_load(x + i) : vf_load_part(x + i, end - i, 0.0f));
        i = end;
        a += vf_hsum(vf_add(p0, p1));
    }
    return a;
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
    sum,       norm_affine,
};
