/* The per-vector math of kernels/vmath.h (exp, sigmoid, tanh, erf, gelu), written
 * once over the lane operations listed in vmath_impl.h, which each includer defines
 * for its instruction set. vmath_impl.h builds the array functions on these; other
 * kernels that apply an activation to a tile while it is in registers (the fused
 * bias + Sigmoid or SiLU of x86/bias_act_avx512.c) include this file with the same lanes
 * (x86/vmath_avx512_lanes.h), so there is one implementation of the math.
 * The algorithms are those of vmath_scalar.h, step for step, with a * b + c as a
 * fused multiply-add where the machine has one. */
#ifndef OX_KERNELS_VMATH_FN_H
#define OX_KERNELS_VMATH_FN_H

/* The integer part of shifter + t, for |t| < 2^22, sits in the low mantissa bits:
 * adding and subtracting it rounds t to an integer (round to nearest even). */
#define VM_SHIFTER 12582912.0f /* 1.5 * 2^23 */

/* p * 2^n for integral n in [-150, 128] (NaN n or p: NaN). The includer may
 * define VM_SCALEF and vf_scalef(p, n) (one instruction that scales with a single
 * rounding, as AVX-512's vscalefps); otherwise one power of two when it is a normal
 * number (the product still rounds once, also to a denormal), else two halves,
 * h = floor(n / 2), so each power stays a normal number. */
static inline vf vm_scale(vf p, vf n) {
#ifdef VM_SCALEF
    return vf_scalef(p, n);
#else
    /* n in [-126, 127] <=> |n - 0.5| < 127 for integral n (false for NaN) */
    if (vm_all(vf_lt(vf_abs(vf_sub(n, vf_set(0.5f))), vf_set(127.0f))))
        return vf_mul(p, vf_pow2(n));
    vf h = vf_sub(vf_add(vf_fma(n, vf_set(0.5f), vf_set(-0.25f)), vf_set(VM_SHIFTER)),
                  vf_set(VM_SHIFTER));
    return vf_mul(vf_mul(p, vf_pow2(h)), vf_pow2(vf_sub(n, h)));
#endif
}

/* e^x for x in [-104, 89] or NaN: e^x = 2^n e^r, n = round(x / ln2) in
 * [-150, 128], |r| <= ln2 / 2; NaN goes through every step as NaN. */
static inline vf vm_exp_clamped(vf xc) {
    vf n = vf_sub(vf_fma(xc, vf_set(1.44269504088896341f), vf_set(VM_SHIFTER)), vf_set(VM_SHIFTER));
    vf r = vf_fma(n, vf_set(-0.693359375f), xc); /* n * 0.693359375 is exact */
    r = vf_fma(n, vf_set(2.12194440e-4f), r);
    vf r2 = vf_mul(r, r);
    vf p = vf_set(1.3814610429e-03f); /* (e^r - 1 - r) / r^2 */
    p = vf_fma(p, r, vf_set(8.3687109873e-03f));
    p = vf_fma(p, r, vf_set(4.1668388993e-02f));
    p = vf_fma(p, r, vf_set(1.6666521132e-01f));
    p = vf_fma(p, r, vf_set(4.9999994040e-01f));
    p = vf_add(vf_fma(p, r2, r), vf_set(1.0f));
    return vm_scale(p, n);
}

static inline vf vm_exp(vf x) {
    /* beyond the clamps the result is 0 or inf anyway; the constant goes first so a
     * NaN x is the one returned (vf_max and vf_min return b when either is NaN) */
    return vm_exp_clamped(vf_min(vf_set(89.0f), vf_max(vf_set(-104.0f), x)));
}

static inline vf vm_sigmoid(vf x) {
    /* e^-|x| never overflows; for x < 0 the quotient e^x / (1 + e^x) keeps the tiny
     * tail, rounded once. (A 14-bit reciprocal and a correction step is no faster
     * than the division on Zen 5, and less accurate.) */
    vf e = vm_exp_clamped(vf_max(vf_set(-104.0f), vf_negabs(x)));
    vf num = vf_sel(vf_ge(x, vf_set(0.0f)), vf_set(1.0f), e);
    return vf_div(num, vf_add(vf_set(1.0f), e));
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

#endif
