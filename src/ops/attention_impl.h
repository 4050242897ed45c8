/* Scaled dot-product attention, written once for an element type. attention.c
 * includes this file with REAL (float or double), SUF, GEMM (ox_sgemm or
 * ox_dgemm), EXP and TANH of that type.
 *
 * Keys and values (past then new) are gathered into contiguous per-head blocks;
 * each (batch, query head) pair is then two GEMMs around a masked softmax, and
 * the pairs run in parallel. */

#define ATT_CAT2(a, b) a##_##b
#define ATT_CAT(a, b) ATT_CAT2(a, b)
#define AF(name) ATT_CAT(name, SUF)

/* dst[b, h, 0:T, 0:d] = past[b, h] then the new rows of src (3-D or 4-D). */
static void AF(gather_kv)(const att_run *r, const REAL *past, const REAL *src, size_t d,
                          REAL *dst) {
    const att_geom *g = &r->g;
    for (size_t b = 0; b < g->B; b++)
        for (size_t h = 0; h < g->Hkv; h++) {
            REAL *o = dst + (b * g->Hkv + h) * g->T * d;
            if (g->P) {
                const REAL *p = past + (b * g->Hkv + h) * g->P * d;
                for (size_t i = 0; i < g->P * d; i++) o[i] = p[i];
            }
            o += g->P * d;
            for (size_t s = 0; s < g->Skv; s++) {
                const REAL *row = g->q3d ? src + (b * g->Skv + s) * g->Hkv * d + h * d
                                         : src + ((b * g->Hkv + h) * g->Skv + s) * d;
                for (size_t j = 0; j < d; j++) o[s * d + j] = row[j];
            }
        }
}

typedef struct AF(att_task) {
    const att_run *r;
    const REAL *Q, *Kt, *Vt;
    REAL *Y, *QK;
    atomic_int oom;
} AF(att_task);

static void AF(att_pairs)(void *arg, size_t begin, size_t end) {
    AF(att_task) *tk = arg;
    const att_run *r = tk->r;
    const att_geom *g = &r->g;
    const size_t Sq = g->Sq, T = g->T, Dh = g->Dh, Dv = g->Dv;
    const int mode = r->st->qk_mode;
    const double softcap = r->st->softcap;
    /* scores (Sq x T) and one bias row (T doubles) */
    size_t n_s = Sq * T;
    REAL *S = ox_malloc_array(n_s ? n_s : 1, sizeof(REAL));
    double *bias = ox_malloc_array(T ? T : 1, sizeof(double));
    if (!S || !bias) {
        atomic_store(&tk->oom, 1);
        ox_free(S);
        ox_free(bias);
        return;
    }
    for (size_t pair = begin; pair < end; pair++) {
        size_t b = pair / g->Hq, h = pair % g->Hq;
        size_t hk = h / (g->Hq / g->Hkv);
        const REAL *q = g->q3d ? tk->Q + b * Sq * g->Hq * Dh + h * Dh
                               : tk->Q + (b * g->Hq + h) * Sq * Dh;
        size_t ldq = g->q3d ? g->Hq * Dh : Dh;
        const REAL *kt = tk->Kt + (b * g->Hkv + hk) * T * Dh;
        const REAL *vt = tk->Vt + (b * g->Hkv + hk) * T * Dv;
        REAL *qk = tk->QK ? tk->QK + (b * g->Hq + h) * Sq * T : NULL;
        GEMM(0, 1, Sq, T, Dh, (REAL)r->scale, q, ldq, kt, Dh, 0, S, T, NULL);
        if (qk && mode == 0)
            for (size_t i = 0; i < n_s; i++) qk[i] = S[i];
        if (softcap > 0) {
            const REAL cap = (REAL)softcap;
            for (size_t i = 0; i < n_s; i++) S[i] = cap * TANH(S[i] / cap);
        }
        if (qk && mode == 1)
            for (size_t i = 0; i < n_s; i++) qk[i] = S[i];
        for (size_t i = 0; i < Sq; i++) {
            REAL *row = S + i * T;
            int masked = att_bias_row(r, b, h, i, bias);
            for (size_t j = 0; j < T; j++) row[j] = (REAL)(row[j] + bias[j]);
            if (qk && mode == 2)
                for (size_t j = 0; j < T; j++) qk[i * T + j] = row[j];
            if (masked) {
                /* no key may be attended: a zero row, not NaN */
                for (size_t j = 0; j < T; j++) row[j] = 0;
            } else {
                REAL mx = row[0];
                for (size_t j = 1; j < T; j++) mx = row[j] > mx ? row[j] : mx;
                double sum = 0;
                for (size_t j = 0; j < T; j++) {
                    row[j] = EXP(row[j] - mx);
                    sum += row[j];
                }
                const REAL inv = (REAL)(1.0 / sum);
                for (size_t j = 0; j < T; j++) row[j] *= inv;
            }
            if (qk && mode == 3)
                for (size_t j = 0; j < T; j++) qk[i * T + j] = row[j];
        }
        REAL *y = g->q3d ? tk->Y + b * Sq * g->Hq * Dv + h * Dv
                         : tk->Y + (b * g->Hq + h) * Sq * Dv;
        size_t ldy = g->q3d ? g->Hq * Dv : Dv;
        GEMM(0, 0, Sq, Dv, T, 1, S, T, vt, Dv, 0, y, ldy, NULL);
    }
    ox_free(S);
    ox_free(bias);
}

/* Kt, Vt: the present key and value ([B, Hkv, T, D]), outputs or scratch. */
static onyx_status AF(att_compute)(const att_run *r, REAL *Kt, REAL *Vt, REAL *Y, REAL *QK,
                                   ox_threadpool *pool) {
    AF(gather_kv)(r, r->past_k, r->K, r->g.Dh, Kt);
    AF(gather_kv)(r, r->past_v, r->V, r->g.Dv, Vt);
    AF(att_task) tk = {.r = r, .Q = r->Q, .Kt = Kt, .Vt = Vt, .Y = Y, .QK = QK};
    atomic_init(&tk.oom, 0);
    size_t pairs = r->g.B * r->g.Hq;
    if (pairs && r->g.Sq) ox_parallel_for(pool, pairs, 1, AF(att_pairs), &tk);
    if (atomic_load(&tk.oom)) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for attention scores");
    return ONYX_OK;
}

#undef AF
#undef ATT_CAT
#undef ATT_CAT2
