/* RandomUniform, RandomNormal, RandomUniformLike, RandomNormalLike, Bernoulli and
 * Multinomial.
 *
 * With a 'seed' attribute each run draws from a fresh generator seeded with it, the
 * way the ONNX reference uses numpy.random.RandomState(seed): MT19937 with NumPy's
 * legacy seeding, doubles from two 32-bit draws, normals from the polar method, and
 * Bernoulli draws as NumPy's binomial(1, p) makes them. So a seeded node gives the
 * same values on every run (and those of the reference for the uniform and normal
 * ops). Without a seed every run takes a new seed from a clock and a counter.
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "ops/elem_common.h"
#include "ops/misc.h"
#include "util/alloc.h"
#include "util/mt19937.h"

typedef struct {
    ox_mt19937 mt;
    int has_gauss;
    double gauss;
} rng;

static void rng_seed(rng *r, uint32_t seed) {
    ox_mt_seed(&r->mt, seed);
    r->has_gauss = 0;
    r->gauss = 0;
}

static double rng_double(rng *r) { return ox_mt_double(&r->mt); }

/* Standard normal, polar method; the second value of each pair is kept. */
static double rng_gauss(rng *r) {
    if (r->has_gauss) {
        r->has_gauss = 0;
        return r->gauss;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * rng_double(r) - 1.0;
        x2 = 2.0 * rng_double(r) - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    double f = sqrt(-2.0 * log(r2) / r2);
    r->gauss = f * x1;
    r->has_gauss = 1;
    return f * x2;
}

static atomic_uint_fast64_t run_counter;

static uint32_t fresh_seed(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                 (atomic_fetch_add(&run_counter, 1) * 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)(z ^ (z >> 31));
}

typedef struct {
    int normal, like;
    int32_t dtype; /* 0: the input's (Like ops, Bernoulli) */
    double a, b;   /* low, high or mean, scale */
    int has_seed;
    uint32_t seed;
    int32_t rank;
    int64_t dims[OX_MAX_RANK];
    int64_t sample_size;
} rand_state;

static rng *rng_start(const rand_state *s) {
    rng *r = ox_malloc(sizeof *r);
    if (r) rng_seed(r, s->has_seed ? s->seed : fresh_seed());
    return r;
}

static onyx_status read_seed(ox_op_ctx *c, rand_state *s) {
    s->has_seed = ox_attr_get(c, "seed") != NULL;
    float seed = ox_attr_float(c, "seed", 0.0f);
    OX_TRY(ox_op_status(c));
    if (s->has_seed) {
        if (!(seed > -4.2e9f && seed < 4.2e9f))
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'seed' = %g is out of range", seed);
        s->seed = (uint32_t)(int64_t)seed;
    }
    return ONYX_OK;
}

static int rand_type_ok(int32_t t, int64_t opset) {
    return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 ||
           (t == ONYX_DTYPE_BFLOAT16 && opset >= 22);
}

/* ---- RandomUniform / RandomNormal (and Like) ---------------------------------------- */

onyx_status ox_misc_random_prepare(ox_op_ctx *c) {
    rand_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    const char *op = c->node->op_type;
    s->normal = strstr(op, "Normal") != NULL;
    s->like = strstr(op, "Like") != NULL;
    s->a = s->normal ? ox_attr_float(c, "mean", 0.0f) : ox_attr_float(c, "low", 0.0f);
    s->b = s->normal ? ox_attr_float(c, "scale", 1.0f) : ox_attr_float(c, "high", 1.0f);
    s->dtype = (int32_t)ox_attr_int(c, "dtype", s->like ? 0 : ONYX_DTYPE_FLOAT);
    OX_TRY(read_seed(c, s));
    if (s->dtype && !rand_type_ok(s->dtype, c->opset))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'dtype' = %d is not a float type",
                        (int)s->dtype);
    if (!s->like) {
        size_t n;
        const int64_t *shape = ox_attr_ints(c, "shape", &n);
        OX_TRY(ox_op_status(c));
        if (!ox_attr_get(c, "shape"))
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'shape' is required");
        if (n > OX_MAX_RANK) return ox_error(ONYX_ERR_LIMIT, "attribute 'shape' has rank %zu", n);
        for (size_t i = 0; i < n; i++) {
            if (shape[i] < 0)
                return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'shape' has a negative dim");
            s->dims[i] = shape[i];
        }
        s->rank = (int32_t)n;
    }
    return ONYX_OK;
}

onyx_status ox_misc_random_infer(ox_op_ctx *c) {
    const rand_state *s = c->state;
    int32_t dt = s->dtype;
    if (s->like) {
        if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'input' is required");
        if (!dt) dt = c->in[0]->dtype;
        if (!rand_type_ok(dt, c->opset))
            return ox_error(ONYX_ERR_INVALID_MODEL, "the output type %s is not a float type (set 'dtype')",
                            ox_dtype_name(dt));
    }
    if (!ox_has_output(c, 0)) return ONYX_OK;
    if (s->like) ox_set_shape(c->out[0], dt, c->in[0]->rank, c->in[0]->dims);
    else ox_set_shape(c->out[0], dt, s->rank, s->dims);
    return ox_shape_count_checked(c->out[0]->rank, c->out[0]->dims, dt, &(size_t){0}, &(size_t){0})
               ? ONYX_OK
               : ox_error(ONYX_ERR_LIMIT, "the output is too large");
}

onyx_status ox_misc_random_run(ox_op_ctx *c) {
    const rand_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    ox_tensor *y = c->out[0];
    rng *r = rng_start(s);
    if (!r) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    size_t n = ox_tensor_count(y);
    double v[64];
    for (size_t i0 = 0; i0 < n; i0 += 64) {
        size_t m = n - i0 < 64 ? n - i0 : 64;
        for (size_t k = 0; k < m; k++) {
            double u = s->normal ? rng_gauss(r) : rng_double(r);
            /* the reference converts the draw to the output type before scaling */
            if (y->dtype == ONYX_DTYPE_DOUBLE)
                v[k] = s->normal ? u * s->b + s->a : u * (s->b - s->a) + s->a;
            else if (s->normal)
                v[k] = (float)((float)u * (float)s->b) + (float)s->a;
            else
                v[k] = (float)((float)u * (float)(s->b - s->a)) + (float)s->a;
        }
        elem_store_f64(y->dtype, v, m, y->data, i0, 1);
    }
    ox_free(r);
    return ONYX_OK;
}

/* ---- Bernoulli ---------------------------------------------------------------------- */

onyx_status ox_misc_bernoulli_prepare(ox_op_ctx *c) {
    rand_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    s->dtype = (int32_t)ox_attr_int(c, "dtype", 0);
    OX_TRY(read_seed(c, s));
    if (s->dtype && !ox_misc_is_plain_numeric(s->dtype) && s->dtype != ONYX_DTYPE_BOOL)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'dtype' = %d is not a number or bool type",
                        (int)s->dtype);
    return ONYX_OK;
}

onyx_status ox_misc_bernoulli_infer(ox_op_ctx *c) {
    const rand_state *s = c->state;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'input' is required");
    const ox_tensor *x = c->in[0];
    if (!rand_type_ok(x->dtype, c->opset))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'input' has type %s, expected a float type",
                        ox_dtype_name(x->dtype));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], s->dtype ? s->dtype : x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

/* NumPy's binomial(1, p) from one uniform draw u: inversion on min(p, 1 - p). */
static int bernoulli_draw(rng *r, double p) {
    if (p == 0.0) return 0;
    double u = rng_double(r);
    if (p <= 0.5) return u > 1.0 - p;
    double q = 1.0 - p;
    return !(u > 1.0 - q);
}

onyx_status ox_misc_bernoulli_run(ox_op_ctx *c) {
    const rand_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    size_t n = ox_tensor_count(x);
    rng *r = rng_start(s);
    if (!r) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    double p[64];
    onyx_status st = ONYX_OK;
    for (size_t i0 = 0; i0 < n && st == ONYX_OK; i0 += 64) {
        size_t m = n - i0 < 64 ? n - i0 : 64;
        elem_load_f64(x->dtype, x->data, i0, 1, m, p);
        for (size_t k = 0; k < m; k++) {
            if (!(p[k] >= 0.0 && p[k] <= 1.0)) {
                st = ox_error(ONYX_ERR_RUNTIME, "input value %g at element %zu is not a probability",
                              p[k], i0 + k);
                break;
            }
            p[k] = bernoulli_draw(r, p[k]);
        }
        if (st == ONYX_OK) elem_store_f64(y->dtype, p, m, y->data, i0, 1);
    }
    ox_free(r);
    return st;
}

/* ---- Multinomial -------------------------------------------------------------------- */

onyx_status ox_misc_multinomial_prepare(ox_op_ctx *c) {
    rand_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    s->dtype = (int32_t)ox_attr_int(c, "dtype", ONYX_DTYPE_INT32);
    s->sample_size = ox_attr_int(c, "sample_size", 1);
    OX_TRY(read_seed(c, s));
    if (s->dtype != ONYX_DTYPE_INT32 && s->dtype != ONYX_DTYPE_INT64)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'dtype' = %d is not int32 or int64", (int)s->dtype);
    if (s->sample_size < 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'sample_size' = %lld is negative",
                        (long long)s->sample_size);
    return ONYX_OK;
}

onyx_status ox_misc_multinomial_infer(ox_op_ctx *c) {
    const rand_state *s = c->state;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'input' is required");
    const ox_tensor *x = c->in[0];
    if (!rand_type_ok(x->dtype, c->opset) || x->rank != 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'input' must be a 2-D float tensor [batch, classes]");
    int64_t dims[2] = {x->dims[0], s->sample_size};
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], s->dtype, 2, dims);
    size_t ws;
    if (!ox_mul_ok((size_t)x->dims[1], sizeof(double), &ws))
        return ox_error(ONYX_ERR_LIMIT, "input 'input' is too large");
    c->workspace_bytes = ws;
    return ONYX_OK;
}

onyx_status ox_misc_multinomial_run(ox_op_ctx *c) {
    const rand_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    size_t B = (size_t)x->dims[0], C = (size_t)x->dims[1], S = (size_t)s->sample_size;
    if (!B || !S) return ONYX_OK;
    if (!C) return ox_error(ONYX_ERR_RUNTIME, "input 'input' has no classes to draw from");
    double *cdf = c->workspace;
    rng *r = rng_start(s);
    if (!r) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status st = ONYX_OK;
    for (size_t b = 0; b < B && st == ONYX_OK; b++) {
        elem_load_f64(x->dtype, x->data, b * C, 1, C, cdf);
        double mx = -INFINITY, total = 0;
        for (size_t k = 0; k < C; k++)
            if (cdf[k] > mx) mx = cdf[k];
        for (size_t k = 0; k < C; k++) {
            total += exp(cdf[k] - mx);
            cdf[k] = total;
        }
        if (!(total > 0) || !isfinite(total)) {
            st = ox_error(ONYX_ERR_RUNTIME, "row %zu of input 'input' has no finite log-probability", b);
            break;
        }
        for (size_t j = 0; j < S; j++) {
            double u = rng_double(r) * total;
            size_t lo = 0, hi = C - 1; /* first k with cdf[k] > u */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cdf[mid] > u) hi = mid;
                else lo = mid + 1;
            }
            int64_t v = (int64_t)lo;
            elem_store_i64(y->dtype, &v, 1, y->data, b * S + j);
        }
    }
    ox_free(r);
    return st;
}
