/* DeformConv (opset 19; 22 adds bfloat16): a convolution whose kernel taps sample
 * the input at positions moved by learned offsets, by multilinear interpolation
 * (samples outside the input are zero), each tap scaled by an optional mask.
 * Any number of spatial dims; groups and offset groups.
 *
 * Per image, output positions are taken in tiles: for each tile the sampled values
 * of every (input channel, kernel tap) are gathered into a column matrix, and each
 * output channel is a dot product of its filter with those columns. Tiles run in
 * parallel. Arithmetic is in double; inputs may be float, double, float16, bfloat16. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "ops/text_util.h"
#include "util/alloc.h"
#include "util/threadpool.h"

#define MAX_SP 8   /* spatial dims supported (2^MAX_SP interpolation corners) */
#define TILE 64    /* output positions per task */

typedef struct dc_state {
    ox_text_state base;
    int64_t group, offset_group;
    const int64_t *kernel, *pads, *strides, *dils;
    size_t n_kernel, n_pads, n_strides, n_dils;
} dc_state;

onyx_status ox_text_deform_conv_prepare(ox_op_ctx *c) {
    dc_state *s = ox_text_state_new(c, sizeof *s, NULL);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    s->group = ox_attr_int(c, "group", 1);
    s->offset_group = ox_attr_int(c, "offset_group", 1);
    s->kernel = ox_attr_ints(c, "kernel_shape", &s->n_kernel);
    s->pads = ox_attr_ints(c, "pads", &s->n_pads);
    s->strides = ox_attr_ints(c, "strides", &s->n_strides);
    s->dils = ox_attr_ints(c, "dilations", &s->n_dils);
    OX_TRY(ox_op_status(c));
    if (s->group < 1) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute group must be >= 1");
    if (s->offset_group < 1) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute offset_group must be >= 1");
    return ONYX_OK;
}

/* The geometry of one call, from the shapes. */
typedef struct dc_geom {
    int nd;
    size_t N, C, M, Cg, Mg, G, OG, Cog; /* Cog: input channels per offset group */
    int64_t in[MAX_SP], k[MAX_SP], out[MAX_SP], pad[MAX_SP], stride[MAX_SP], dil[MAX_SP];
    size_t K, O, I; /* kernel taps, output positions, input positions (per channel) */
} dc_geom;

static onyx_status bad_attr(const char *name, size_t n, int nd) {
    return ox_error(ONYX_ERR_INVALID_MODEL, "attribute %s has %zu values; expected %d", name, n, nd);
}

static onyx_status dc_geometry(const ox_op_ctx *c, dc_geom *g) {
    const dc_state *s = c->state;
    for (size_t i = 0; i < 3; i++)
        if (!ox_has_input(c, i))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %s is required", i == 0 ? "X" : i == 1 ? "W" : "offset");
    const ox_tensor *X = c->in[0], *W = c->in[1], *off = c->in[2];
    const ox_tensor *B = ox_has_input(c, 3) ? c->in[3] : NULL, *mask = ox_has_input(c, 4) ? c->in[4] : NULL;
    if (!ox_text_is_real(X->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X is %s; expected a float type", ox_dtype_name(X->dtype));
    const ox_tensor *all[5] = {X, W, off, B, mask};
    static const char *const names[5] = {"X", "W", "offset", "B", "mask"};
    for (int i = 1; i < 5; i++)
        if (all[i] && all[i]->dtype != X->dtype)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %s is %s; X is %s", names[i],
                            ox_dtype_name(all[i]->dtype), ox_dtype_name(X->dtype));
    if (X->rank < 3 || X->rank - 2 > MAX_SP)
        return ox_error(ONYX_ERR_UNSUPPORTED, "input X has rank %d; expected 3 to %d", X->rank, MAX_SP + 2);
    int nd = g->nd = X->rank - 2;
    if (W->rank != X->rank || off->rank != X->rank || (mask && mask->rank != X->rank))
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs W, offset and mask must have X's rank %d", X->rank);
    g->N = (size_t)X->dims[0];
    g->C = (size_t)X->dims[1];
    g->M = (size_t)W->dims[0];
    g->Cg = (size_t)W->dims[1];
    g->G = (size_t)s->group;
    g->OG = (size_t)s->offset_group;
    if (g->Cg * g->G != g->C || g->M % g->G)
        return ox_error(ONYX_ERR_INVALID_MODEL, "X has %zu channels and W is [%zu, %zu, ...]; with "
                        "group %zu they do not fit", g->C, g->M, g->Cg, g->G);
    if (g->C % g->OG)
        return ox_error(ONYX_ERR_INVALID_MODEL, "X's %zu channels are not divisible by offset_group %zu",
                        g->C, g->OG);
    g->Mg = g->M / g->G;
    g->Cog = g->C / g->OG;
    if (s->n_kernel && s->n_kernel != (size_t)nd) return bad_attr("kernel_shape", s->n_kernel, nd);
    if (s->n_pads && s->n_pads != 2 * (size_t)nd) return bad_attr("pads", s->n_pads, 2 * nd);
    if (s->n_strides && s->n_strides != (size_t)nd) return bad_attr("strides", s->n_strides, nd);
    if (s->n_dils && s->n_dils != (size_t)nd) return bad_attr("dilations", s->n_dils, nd);
    g->K = 1;
    g->O = 1;
    g->I = 1;
    for (int i = 0; i < nd; i++) {
        g->in[i] = X->dims[2 + i];
        g->k[i] = W->dims[2 + i];
        if (s->n_kernel && s->kernel[i] != g->k[i])
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute kernel_shape[%d] is %lld; W has %lld", i,
                            (long long)s->kernel[i], (long long)g->k[i]);
        g->stride[i] = s->n_strides ? s->strides[i] : 1;
        g->dil[i] = s->n_dils ? s->dils[i] : 1;
        g->pad[i] = s->n_pads ? s->pads[i] : 0;
        int64_t pe = s->n_pads ? s->pads[nd + i] : 0;
        if (g->stride[i] < 1 || g->stride[i] > (1 << 20) || g->dil[i] < 1 || g->dil[i] > (1 << 20) ||
            g->pad[i] < 0 || pe < 0 || g->pad[i] > (1 << 30) || pe > (1 << 30))
            return ox_error(ONYX_ERR_INVALID_MODEL, "strides, dilations and pads of axis %d are out of range", i);
        if (g->k[i] < 1 || g->k[i] > (1 << 20))
            return ox_error(ONYX_ERR_INVALID_MODEL, "W's kernel dim %d is %lld", i, (long long)g->k[i]);
        int64_t span = (g->k[i] - 1) * g->dil[i] + 1;
        int64_t o = (g->in[i] + g->pad[i] + pe - span) / g->stride[i] + 1;
        if (g->in[i] + g->pad[i] + pe < span) o = 0;
        g->out[i] = o;
        if (off->dims[2 + i] != o || (mask && mask->dims[2 + i] != o))
            return ox_error(ONYX_ERR_INVALID_MODEL, "offset/mask spatial dim %d is %lld; the output "
                            "has %lld", i, (long long)off->dims[2 + i], (long long)o);
        g->K *= (size_t)g->k[i];
        g->O *= (size_t)o;
        g->I *= (size_t)g->in[i];
    }
    if ((size_t)off->dims[0] != g->N || (size_t)off->dims[1] != g->OG * g->K * (size_t)nd)
        return ox_error(ONYX_ERR_INVALID_MODEL, "offset must be [N, offset_group * %zu * %d, ...]", g->K, nd);
    if (mask && ((size_t)mask->dims[0] != g->N || (size_t)mask->dims[1] != g->OG * g->K))
        return ox_error(ONYX_ERR_INVALID_MODEL, "mask must be [N, offset_group * %zu, ...]", g->K);
    if (B && (B->rank != 1 || (size_t)B->dims[0] != g->M))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input B must be [%zu]", g->M);
    return ONYX_OK;
}

onyx_status ox_text_deform_conv_infer(ox_op_ctx *c) {
    dc_geom g;
    OX_TRY(dc_geometry(c, &g));
    int64_t d[OX_MAX_RANK] = {(int64_t)g.N, (int64_t)g.M};
    for (int i = 0; i < g.nd; i++) d[2 + i] = g.out[i];
    ox_set_shape(c->out[0], c->in[0]->dtype, g.nd + 2, d);
    return ONYX_OK;
}

typedef struct dc_job {
    const dc_geom *g;
    const ox_tensor *X, *W, *off, *B, *mask;
    ox_tensor *Y;
    size_t n;      /* image */
    atomic_int failed;
} dc_job;

/* Sample channel plane x (I values) at a fractional position. */
static double sample(const dc_job *j, size_t plane, const double *pos) {
    const dc_geom *g = j->g;
    int nd = g->nd;
    int64_t base[MAX_SP];
    double frac[MAX_SP];
    for (int a = 0; a < nd; a++) {
        double f = floor(pos[a]);
        /* positions far outside give zero; also keeps the casts below in range */
        if (!(f >= -2 && f <= (double)g->in[a])) return 0;
        base[a] = (int64_t)f;
        frac[a] = pos[a] - f;
    }
    double sum = 0;
    for (unsigned corner = 0; corner < (1u << nd); corner++) {
        double w = 1;
        size_t idx = 0;
        int inside = 1;
        for (int a = 0; a < nd && inside; a++) {
            int hi = (corner >> a) & 1;
            int64_t p = base[a] + hi;
            w *= hi ? frac[a] : 1 - frac[a];
            inside = p >= 0 && p < g->in[a];
            idx = idx * (size_t)g->in[a] + (size_t)(inside ? p : 0);
        }
        if (inside && w != 0) sum += w * ox_text_get_f(j->X->data, j->X->dtype, plane * g->I + idx);
    }
    return sum;
}

static void dc_tile(void *arg, size_t begin, size_t end) {
    dc_job *j = arg;
    const dc_geom *g = j->g;
    int nd = g->nd;
    size_t rows = g->C * g->K;
    double *col = ox_malloc_array(rows * TILE, sizeof(double));
    if (!col) {
        atomic_store(&j->failed, 1);
        return;
    }
    for (size_t tile = begin; tile < end; tile++) {
        size_t o0 = tile * TILE, nt = g->O - o0 < TILE ? g->O - o0 : TILE;
        /* gather: col[(c * K + k) * TILE + t] */
        for (size_t t = 0; t < nt; t++) {
            size_t o = o0 + t, rem = o;
            int64_t oi[MAX_SP], ki[MAX_SP];
            for (int a = nd - 1; a >= 0; a--) {
                oi[a] = (int64_t)(rem % (size_t)g->out[a]);
                rem /= (size_t)g->out[a];
            }
            for (size_t og = 0; og < g->OG; og++) {
                for (size_t k = 0; k < g->K; k++) {
                    size_t kr = k;
                    for (int a = nd - 1; a >= 0; a--) {
                        ki[a] = (int64_t)(kr % (size_t)g->k[a]);
                        kr /= (size_t)g->k[a];
                    }
                    double pos[MAX_SP], m = 1;
                    for (int a = 0; a < nd; a++) {
                        size_t ch = (og * g->K + k) * (size_t)nd + (size_t)a;
                        double dv = ox_text_get_f(j->off->data, j->off->dtype,
                                                  (j->n * g->OG * g->K * (size_t)nd + ch) * g->O + o);
                        pos[a] = (double)(oi[a] * g->stride[a] - g->pad[a] + ki[a] * g->dil[a]) + dv;
                    }
                    if (j->mask)
                        m = ox_text_get_f(j->mask->data, j->mask->dtype,
                                          ((j->n * g->OG + og) * g->K + k) * g->O + o);
                    for (size_t ci = 0; ci < g->Cog; ci++) {
                        size_t ch = og * g->Cog + ci;
                        double v = m == 0 ? 0 : m * sample(j, j->n * g->C + ch, pos);
                        col[(ch * g->K + k) * TILE + t] = v;
                    }
                }
            }
        }
        /* reduce: Y[n, oc, o] = B[oc] + sum over the group's (c, k) of W * col */
        for (size_t oc = 0; oc < g->M; oc++) {
            size_t grp = oc / g->Mg;
            double acc[TILE];
            double b = j->B ? ox_text_get_f(j->B->data, j->B->dtype, oc) : 0;
            for (size_t t = 0; t < nt; t++) acc[t] = b;
            for (size_t ci = 0; ci < g->Cg; ci++) {
                size_t ch = grp * g->Cg + ci;
                for (size_t k = 0; k < g->K; k++) {
                    double w = ox_text_get_f(j->W->data, j->W->dtype, (oc * g->Cg + ci) * g->K + k);
                    const double *cr = col + (ch * g->K + k) * TILE;
                    for (size_t t = 0; t < nt; t++) acc[t] += w * cr[t];
                }
            }
            for (size_t t = 0; t < nt; t++)
                ox_text_put_f(j->Y->data, j->Y->dtype, (j->n * g->M + oc) * g->O + o0 + t, acc[t]);
        }
    }
    ox_free(col);
}

onyx_status ox_text_deform_conv_run(ox_op_ctx *c) {
    dc_geom g;
    OX_TRY(dc_geometry(c, &g));
    size_t rows;
    if (!ox_mul_ok(g.C, g.K, &rows) || !ox_mul_ok(rows, TILE * sizeof(double), &rows))
        return ox_error(ONYX_ERR_LIMIT, "DeformConv: too many channels x kernel taps");
    size_t tiles = (g.O + TILE - 1) / TILE;
    for (size_t n = 0; n < g.N; n++) {
        dc_job j = {&g, c->in[0], c->in[1], c->in[2], ox_has_input(c, 3) ? c->in[3] : NULL,
                    ox_has_input(c, 4) ? c->in[4] : NULL, c->out[0], n, 0};
        atomic_init(&j.failed, 0);
        ox_parallel_for(c->pool, tiles, 1, dc_tile, &j);
        if (atomic_load(&j.failed)) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for DeformConv columns");
    }
    return ONYX_OK;
}
