/* kernels/vmath.h: the portable lanes for vmath_impl.h, and the choice per call of
 * the code this processor runs (kernels/cpu.h). */
#include "kernels/vmath.h"

#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/vmath_ops.h"

#if defined(__GNUC__) && !defined(OX_NO_VECTOR_EXT)
/* ---- 4 lanes of the GNU vector extension (SSE2, NEON, or whatever the target has) */
typedef float vf __attribute__((vector_size(16)));
typedef int32_t vm __attribute__((vector_size(16)));
typedef uint32_t vu __attribute__((vector_size(16)));
#define VM_W 4

static inline vf vf_set(float f) { return (vf){f, f, f, f}; }
static inline vu vu_set(uint32_t u) { return (vu){u, u, u, u}; }
static inline vf vf_load(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void vf_store(float *p, vf v) { memcpy(p, &v, sizeof v); }
static inline vf vf_load_part(const float *p, size_t k, float pad) {
    float t[VM_W] = {pad, pad, pad, pad};
    memcpy(t, p, k * sizeof *p);
    return vf_load(t);
}
static inline void vf_store_part(float *p, vf v, size_t k) {
    float t[VM_W];
    vf_store(t, v);
    memcpy(p, t, k * sizeof *p);
}
static inline vf vf_add(vf a, vf b) { return a + b; }
static inline vf vf_sub(vf a, vf b) { return a - b; }
static inline vf vf_mul(vf a, vf b) { return a * b; }
static inline vf vf_div(vf a, vf b) { return a / b; }
static inline vf vf_fma(vf a, vf b, vf c) { return a * b + c; }
static inline vf vf_sel(vm m, vf a, vf b) {
    return (vf)(((vu)m & (vu)a) | (~(vu)m & (vu)b));
}
static inline vm vf_lt(vf a, vf b) { return a < b; }
static inline vm vf_ge(vf a, vf b) { return a >= b; }
static inline vm vf_isnan(vf a) { return a != a; }
static inline vf vf_max(vf a, vf b) { return vf_sel(a > b, a, b); }
static inline vf vf_min(vf a, vf b) { return vf_sel(a < b, a, b); }
static inline vf vf_abs(vf a) { return (vf)((vu)a & vu_set(0x7fffffffu)); }
static inline vf vf_negabs(vf a) { return (vf)((vu)a | vu_set(0x80000000u)); }
static inline vf vf_sign_to(vf a, vf s) { return (vf)((vu)a | ((vu)s & vu_set(0x80000000u))); }
static inline int vm_all(vm m) { return (m[0] & m[1] & m[2] & m[3]) != 0; }
static inline vf vf_pow2(vf k) {
    vu b = (vu)(k + vf_set(12582912.0f)) - vu_set(0x4b400000u - 127u);
    return (vf)(b << 23);
}
static inline double vf_hsum(vf v) { return ((double)v[0] + v[1]) + ((double)v[2] + v[3]); }
static inline float vf_hmax(vf v) {
    float m = v[0];
    for (int i = 1; i < VM_W; i++) m = v[i] > m ? v[i] : m;
    return m;
}

#else
/* ---- one lane: plain C for compilers without vector types */
typedef float vf;
typedef int vm;
#define VM_W 1

static inline uint32_t vf_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float vf_from(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline vf vf_set(float f) { return f; }
static inline vf vf_load(const float *p) { return *p; }
static inline void vf_store(float *p, vf v) { *p = v; }
static inline vf vf_load_part(const float *p, size_t k, float pad) { return k ? *p : pad; }
static inline void vf_store_part(float *p, vf v, size_t k) {
    if (k) *p = v;
}
static inline vf vf_add(vf a, vf b) { return a + b; }
static inline vf vf_sub(vf a, vf b) { return a - b; }
static inline vf vf_mul(vf a, vf b) { return a * b; }
static inline vf vf_div(vf a, vf b) { return a / b; }
static inline vf vf_fma(vf a, vf b, vf c) { return a * b + c; }
static inline vf vf_sel(vm m, vf a, vf b) { return m ? a : b; }
static inline vm vf_lt(vf a, vf b) { return a < b; }
static inline vm vf_ge(vf a, vf b) { return a >= b; }
static inline vm vf_isnan(vf a) { return a != a; }
static inline vf vf_max(vf a, vf b) { return a > b ? a : b; }
static inline vf vf_min(vf a, vf b) { return a < b ? a : b; }
static inline vf vf_abs(vf a) { return vf_from(vf_bits(a) & 0x7fffffffu); }
static inline vf vf_negabs(vf a) { return vf_from(vf_bits(a) | 0x80000000u); }
static inline vf vf_sign_to(vf a, vf s) { return vf_from(vf_bits(a) | (vf_bits(s) & 0x80000000u)); }
static inline int vm_all(vm m) { return m != 0; }
static inline vf vf_pow2(vf k) { return vf_from((vf_bits(k + 12582912.0f) - (0x4b400000u - 127u)) << 23); }
static inline double vf_hsum(vf v) { return v; }
static inline float vf_hmax(vf v) { return v; }
#endif

#define VM_OPS ox_vmath_generic
#include "kernels/vmath_impl.h"

/* ---- dispatch ------------------------------------------------------------ */

static const ox_vmath_ops *pick(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) return &ox_vmath_avx512;
    if (ox_cpu_has(OX_CPU_AVX2 | OX_CPU_FMA)) return &ox_vmath_avx2;
#endif
    return &ox_vmath_generic;
}

const char *ox_vmath_kernel_name(void) {
    const ox_vmath_ops *o = pick();
#if defined(__x86_64__) || defined(__i386__)
    if (o == &ox_vmath_avx512) return "avx512";
    if (o == &ox_vmath_avx2) return "avx2";
#endif
    (void)o;
    return "generic";
}

void ox_vexp(size_t n, const float *x, float *y) { pick()->exp(n, x, y); }
void ox_vsigmoid(size_t n, const float *x, float *y) { pick()->sigmoid(n, x, y); }
void ox_vtanh(size_t n, const float *x, float *y) { pick()->tanh(n, x, y); }
void ox_verf(size_t n, const float *x, float *y) { pick()->erf(n, x, y); }
void ox_vgelu(size_t n, const float *x, float *y) { pick()->gelu(n, x, y); }
void ox_vgelu_tanh(size_t n, const float *x, float *y) { pick()->gelu_tanh(n, x, y); }
void ox_vswish(size_t n, float alpha, const float *x, float *y) { pick()->swish(n, alpha, x, y); }
void ox_vsilu(size_t n, const float *x, float *y) { pick()->swish(n, 1.0f, x, y); }
float ox_vmax(size_t n, const float *x) { return pick()->max(n, x); }
double ox_vexp_sum(size_t n, const float *x, float shift, float *y) {
    return pick()->exp_sum(n, x, shift, y);
}
void ox_vexp_sub_acc(size_t n, const float *x, const float *m, float *y, float *acc) {
    pick()->exp_sub_acc(n, x, m, y, acc);
}
void ox_vscale(size_t n, const float *x, float a, float *y) { pick()->scale(n, x, a, y); }
void ox_vsub2(size_t n, const float *x, float a, float b, float *y) { pick()->sub2(n, x, a, b, y); }
void ox_vmean_var(size_t n, const float *x, double *mean, double *var) {
    pick()->mean_var(n, x, mean, var);
}
double ox_vsum_sq(size_t n, const float *x) { return pick()->sum_sq(n, x); }
double ox_vsum(size_t n, const float *x) { return pick()->sum(n, x); }
void ox_vnorm_affine(size_t n, const float *x, float mean, float inv, const float *scale,
                     const float *bias, float *y) {
    pick()->norm_affine(n, x, mean, inv, scale, bias, y);
}
