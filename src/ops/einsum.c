/* Einsum.
 *
 * The equation is parsed once (prepare). Labels get ids: 'A'..'Z' are 0..25 and
 * 'a'..'z' 26..51 (so id order is ASCII order, as the implicit output needs), and
 * the dims an ellipsis stands for get 52.. (right-aligned across operands, as
 * NumPy broadcasts them). A label's size is the largest of its dims; a dim of 1
 * broadcasts against it. An explicit output without "..." sums the ellipsis dims
 * (NumPy rejects that equation; summing is what the reduce-sum rule implies).
 *
 * Evaluation, in a working type (float32 for float32/float16/bfloat16, float64,
 * or int64 with wrap-around for the integers):
 *   1. each operand drops its repeated labels (taking the diagonal) and sums the
 *      labels no later step needs;
 *   2. operands are contracted left to right: labels in both and needed later are
 *      batch dims, labels in both and not needed are summed (K), the others are
 *      kept rows (M) or columns (N); the pair is packed as [batch][M][K] x
 *      [batch][K][N] (no copy when an operand is already laid out that way, or
 *      transposed) and multiplied with the GEMM kernels;
 *   3. the result is permuted into the output's order and converted.
 */
#include <string.h>

#include "kernels/gemm.h"
#include "ops/elem_common.h"
#include "ops/misc.h"
#include "util/alloc.h"
#include "util/fp16.h"

#define EIN_ELL 100
#define EIN_MAXL (52 + OX_MAX_RANK)

typedef struct {
    size_t n_terms;
    int8_t *codes;  /* every input term's codes, concatenated: 0..51 letters, EIN_ELL */
    size_t *start;  /* n_terms + 1 offsets into codes */
    int explicit_out;
    int8_t out[52 + 1];
    size_t out_len;
} ein_state;

typedef struct {
    int E;                  /* dims the ellipsis stands for (the most of any operand) */
    int64_t size[EIN_MAXL]; /* -1: label unused */
    int n_out;
    int out_lab[EIN_MAXL];
} ein_bind;

enum { W_F32, W_F64, W_I64 };

/* A working tensor: contiguous row-major over ext, one label per dim. */
typedef struct {
    int rank;
    int lab[EIN_MAXL];
    int64_t ext[EIN_MAXL];
    void *data;
    int owned;
} ein_t;

void ox_misc_einsum_destroy(void *state) {
    ein_state *s = state;
    if (!s) return;
    ox_free(s->codes);
    ox_free(s->start);
    ox_free(s);
}

/* ---- parsing ------------------------------------------------------------------------ */

static int letter_id(char ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return 26 + (ch - 'a');
    return -1;
}

/* Parse one term eq[0..len) into codes; *n receives the count. */
static onyx_status parse_term(const char *eq, size_t len, int8_t *codes, size_t *n, int is_out) {
    size_t k = 0;
    int seen_ell = 0;
    unsigned char seen[52] = {0};
    for (size_t i = 0; i < len; i++) {
        int id = letter_id(eq[i]);
        if (id >= 0) {
            if (is_out && seen[id])
                return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'equation': label '%c' appears "
                                "twice in the output", eq[i]);
            seen[id] = 1;
            codes[k++] = (int8_t)id;
        } else if (eq[i] == '.' && i + 2 < len && eq[i + 1] == '.' && eq[i + 2] == '.') {
            if (seen_ell)
                return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'equation': a term has two ellipses");
            seen_ell = 1;
            codes[k++] = EIN_ELL;
            i += 2;
        } else {
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'equation': unexpected character '%c'",
                            eq[i]);
        }
    }
    *n = k;
    return ONYX_OK;
}

onyx_status ox_misc_einsum_prepare(ox_op_ctx *c) {
    const char *eq0 = ox_attr_str(c, "equation", NULL);
    OX_TRY(ox_op_status(c));
    if (!eq0) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'equation' is required");
    ein_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    size_t len0 = strlen(eq0);
    char *eq = ox_malloc(len0 + 1);
    s->codes = ox_malloc(len0 + 1);
    s->start = ox_malloc_array(len0 + 2, sizeof *s->start);
    if (!eq || !s->codes || !s->start) {
        ox_free(eq);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    size_t len = 0;
    for (size_t i = 0; i < len0; i++)
        if (eq0[i] != ' ') eq[len++] = eq0[i];
    eq[len] = 0;
    const char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - eq) : len;
    onyx_status st = ONYX_OK;
    if (arrow) {
        s->explicit_out = 1;
        const char *rhs = arrow + 2;
        st = parse_term(rhs, strlen(rhs), s->out, &s->out_len, 1);
    }
    size_t pos = 0, nc = 0;
    s->n_terms = 0;
    while (st == ONYX_OK) {
        size_t end = pos;
        while (end < lhs_len && eq[end] != ',') end++;
        size_t k = 0;
        s->start[s->n_terms++] = nc;
        st = parse_term(eq + pos, end - pos, s->codes + nc, &k, 0);
        nc += k;
        if (end >= lhs_len) break;
        pos = end + 1;
    }
    s->start[s->n_terms] = nc;
    ox_free(eq);
    OX_TRY(st);
    if (s->n_terms != c->n_in)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'equation' has %zu terms for %zu inputs",
                        s->n_terms, c->n_in);
    return ONYX_OK;
}

/* ---- binding to shapes ---------------------------------------------------------------- */

static size_t term_letters(const ein_state *s, size_t i, int *has_ell) {
    size_t n = 0;
    *has_ell = 0;
    for (size_t k = s->start[i]; k < s->start[i + 1]; k++) {
        if (s->codes[k] == EIN_ELL) *has_ell = 1;
        else n++;
    }
    return n;
}

/* The label of each dim of input i (rank dims). */
static void input_labels(const ein_state *s, size_t i, int rank, int E, int *lab) {
    int has_ell;
    int e = rank - (int)term_letters(s, i, &has_ell), r = 0;
    for (size_t k = s->start[i]; k < s->start[i + 1]; k++) {
        if (s->codes[k] == EIN_ELL)
            for (int q = 0; q < e; q++) lab[r++] = 52 + (E - e) + q;
        else
            lab[r++] = s->codes[k];
    }
}

static onyx_status ein_bind_shapes(const ox_op_ctx *c, const ein_state *s, ein_bind *b) {
    memset(b, 0, sizeof *b);
    for (int l = 0; l < EIN_MAXL; l++) b->size[l] = -1;
    int count[EIN_MAXL] = {0};
    for (size_t i = 0; i < s->n_terms; i++) {
        if (!ox_has_input(c, i)) return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu is missing", i);
        int has_ell;
        int L = (int)term_letters(s, i, &has_ell), r = c->in[i]->rank;
        if ((!has_ell && r != L) || r < L)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu has rank %d but its term has %d labels%s",
                            i, r, L, has_ell ? " and an ellipsis" : "");
        if (r - L > b->E) b->E = r - L;
    }
    for (size_t i = 0; i < s->n_terms; i++) {
        const ox_tensor *t = c->in[i];
        if (t->dtype != c->in[0]->dtype)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu has type %s, input 0 has %s", i,
                            ox_dtype_name(t->dtype), ox_dtype_name(c->in[0]->dtype));
        int lab[OX_MAX_RANK];
        input_labels(s, i, t->rank, b->E, lab);
        for (int d = 0; d < t->rank; d++) {
            int l = lab[d];
            int64_t n = t->dims[d];
            if (l < 52) count[l]++;
            if (b->size[l] < 0 || b->size[l] == 1) b->size[l] = n;
            else if (n != 1 && n != b->size[l])
                return ox_error(ONYX_ERR_INVALID_MODEL, "a label has sizes %lld and %lld (input %zu, dim %d)",
                                (long long)b->size[l], (long long)n, i, d);
        }
    }
    if (s->explicit_out) {
        for (size_t k = 0; k < s->out_len; k++) {
            int code = s->out[k];
            if (code == EIN_ELL) {
                for (int q = 0; q < b->E; q++) b->out_lab[b->n_out++] = 52 + q;
            } else {
                if (b->size[code] < 0)
                    return ox_error(ONYX_ERR_INVALID_MODEL, "output label '%c' is not in any input",
                                    code < 26 ? 'A' + code : 'a' + (code - 26));
                b->out_lab[b->n_out++] = code;
            }
        }
    } else {
        for (int q = 0; q < b->E; q++) b->out_lab[b->n_out++] = 52 + q;
        for (int l = 0; l < 52; l++)
            if (count[l] == 1) b->out_lab[b->n_out++] = l;
    }
    if (b->n_out > OX_MAX_RANK)
        return ox_error(ONYX_ERR_LIMIT, "the output would have rank %d (at most %d)", b->n_out,
                        OX_MAX_RANK);
    return ONYX_OK;
}

static int work_type(int32_t dt) {
    if (dt == ONYX_DTYPE_DOUBLE) return W_F64;
    if (dt == ONYX_DTYPE_FLOAT || dt == ONYX_DTYPE_FLOAT16 || dt == ONYX_DTYPE_BFLOAT16) return W_F32;
    return W_I64;
}

onyx_status ox_misc_einsum_infer(ox_op_ctx *c) {
    const ein_state *s = c->state;
    int32_t dt = c->in[0] ? c->in[0]->dtype : 0;
    if (!(ox_misc_is_float(dt) || (ox_dtype_is_int(dt) && dt != ONYX_DTYPE_INT4 &&
                                   dt != ONYX_DTYPE_UINT4)))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 0 has type %s, expected a numeric type",
                        ox_dtype_name(dt));
    ein_bind b;
    OX_TRY(ein_bind_shapes(c, s, &b));
    int64_t dims[OX_MAX_RANK];
    for (int k = 0; k < b.n_out; k++) dims[k] = b.size[b.out_lab[k]];
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], dt, b.n_out, dims);
    return ONYX_OK;
}

/* ---- strided loops ------------------------------------------------------------------- */

/* dst[sum_k i_k * dstr[k]] (+)= src[sum_k i_k * sstr[k]] over every index in ext. */
typedef struct {
    int n;
    int64_t ext[EIN_MAXL], sstr[EIN_MAXL], dstr[EIN_MAXL];
} ein_loop;

#define EIN_LOOP(T, OP)                                                                    \
    do {                                                                                   \
        const T *sp = src;                                                                 \
        T *dp = dst;                                                                       \
        int n = L->n;                                                                      \
        if (n == 0) {                                                                      \
            dp[0] OP sp[0];                                                                \
            break;                                                                         \
        }                                                                                  \
        for (int k = 0; k < n; k++)                                                        \
            if (L->ext[k] == 0) return;                                                    \
        int64_t idx[EIN_MAXL] = {0}, so = 0, dof = 0;                                      \
        int64_t e = L->ext[n - 1], ss = L->sstr[n - 1], ds = L->dstr[n - 1];               \
        for (;;) {                                                                         \
            for (int64_t i = 0; i < e; i++) dp[dof + i * ds] OP sp[so + i * ss];           \
            int k = n - 2;                                                                 \
            for (; k >= 0; k--) {                                                          \
                so += L->sstr[k];                                                          \
                dof += L->dstr[k];                                                         \
                if (++idx[k] < L->ext[k]) break;                                           \
                so -= L->sstr[k] * L->ext[k];                                              \
                dof -= L->dstr[k] * L->ext[k];                                             \
                idx[k] = 0;                                                                \
            }                                                                              \
            if (k < 0) break;                                                              \
        }                                                                                  \
    } while (0)

static void loop_add(int wt, const void *src, void *dst, const ein_loop *L) {
    if (wt == W_F32) EIN_LOOP(float, +=);
    else if (wt == W_F64) EIN_LOOP(double, +=);
    else EIN_LOOP(uint64_t, +=);
}

static void loop_copy(int wt, const void *src, void *dst, const ein_loop *L) {
    if (wt == W_F32) EIN_LOOP(float, =);
    else if (wt == W_F64) EIN_LOOP(double, =);
    else EIN_LOOP(uint64_t, =);
}

static size_t wsize(int wt) { return wt == W_F32 ? 4 : 8; }

static void ein_free(ein_t *t) {
    if (t->owned) ox_free_aligned(t->data);
    t->data = NULL;
    t->owned = 0;
}

/* Elements of a working tensor, 0 on overflow (checked where tensors are made). */
static int ein_count(int rank, const int64_t *ext, size_t *n) {
    size_t c = 1;
    for (int k = 0; k < rank; k++)
        if (!ox_mul_ok(c, (size_t)ext[k], &c)) return 0;
    *n = c;
    return 1;
}

static onyx_status ein_alloc(int wt, int rank, const int64_t *ext, void **out, size_t *count) {
    size_t n, bytes;
    if (!ein_count(rank, ext, &n) || !ox_mul_ok(n, wsize(wt), &bytes))
        return ox_error(ONYX_ERR_LIMIT, "an intermediate result is too large");
    *out = ox_malloc_aligned(bytes ? bytes : 1);
    if (!*out) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for an intermediate result");
    if (count) *count = n;
    return ONYX_OK;
}

static void strides_of(const ein_t *t, int64_t *st) {
    int64_t s = 1;
    for (int k = t->rank - 1; k >= 0; k--) {
        st[k] = s;
        s *= t->ext[k];
    }
}

/* Keep only the labels in keep (each once: repeats take the diagonal); sum the rest.
 * Consumes *t. */
static onyx_status ein_reduce(int wt, ein_t *t, const unsigned char *keep, ein_t *out) {
    int64_t st[EIN_MAXL];
    strides_of(t, st);
    int uniq[EIN_MAXL], nu = 0, repeats = 0, dropped = 0;
    int64_t uext[EIN_MAXL] = {0}, ustr[EIN_MAXL] = {0};
    for (int k = 0; k < t->rank; k++) {
        int u = 0;
        while (u < nu && uniq[u] != t->lab[k]) u++;
        if (u == nu) uniq[nu++] = t->lab[k];
        else repeats = 1;
        if (t->ext[k] > uext[u]) uext[u] = t->ext[k];
    }
    for (int k = 0; k < t->rank; k++) {
        int u = 0;
        while (uniq[u] != t->lab[k]) u++;
        if (t->ext[k] != 1 || uext[u] == 1) ustr[u] += st[k];
    }
    for (int u = 0; u < nu; u++)
        if (!keep[uniq[u]]) dropped = 1;
    if (!repeats && !dropped) {
        *out = *t;
        t->owned = 0;
        return ONYX_OK;
    }
    ein_t r = {0};
    ein_loop L = {0};
    for (int u = 0; u < nu; u++)
        if (keep[uniq[u]]) {
            r.lab[r.rank] = uniq[u];
            r.ext[r.rank++] = uext[u];
            L.ext[L.n] = uext[u];
            L.sstr[L.n++] = ustr[u];
        }
    int64_t s = 1;
    for (int k = r.rank - 1; k >= 0; k--) {
        L.dstr[k] = s;
        s *= r.ext[k];
    }
    for (int u = 0; u < nu; u++)
        if (!keep[uniq[u]]) {
            L.ext[L.n] = uext[u];
            L.sstr[L.n] = ustr[u];
            L.dstr[L.n++] = 0;
        }
    size_t n;
    onyx_status status = ein_alloc(wt, r.rank, r.ext, &r.data, &n);
    if (status != ONYX_OK) {
        ein_free(t);
        return status;
    }
    r.owned = 1;
    memset(r.data, 0, n * wsize(wt));
    if (dropped) loop_add(wt, t->data, r.data, &L);
    else loop_copy(wt, t->data, r.data, &L);
    ein_free(t);
    *out = r;
    return ONYX_OK;
}

/* Input i as a working tensor (converted to the working type when needed). */
static onyx_status ein_input(const ox_op_ctx *c, const ein_bind *b, size_t i, int wt, ein_t *t) {
    const ein_state *s = c->state;
    const ox_tensor *x = c->in[i];
    memset(t, 0, sizeof *t);
    t->rank = x->rank;
    input_labels(s, i, x->rank, b->E, t->lab);
    for (int d = 0; d < x->rank; d++) t->ext[d] = x->dims[d];
    int32_t dt = x->dtype;
    if (dt == ONYX_DTYPE_FLOAT || dt == ONYX_DTYPE_DOUBLE || dt == ONYX_DTYPE_INT64 ||
        dt == ONYX_DTYPE_UINT64) {
        t->data = x->data;
        return ONYX_OK;
    }
    size_t n;
    OX_TRY(ein_alloc(wt, t->rank, t->ext, &t->data, &n));
    t->owned = 1;
    if (dt == ONYX_DTYPE_FLOAT16) ox_f16_to_f32_n(x->data, t->data, n);
    else if (dt == ONYX_DTYPE_BFLOAT16) ox_bf16_to_f32_n(x->data, t->data, n);
    else elem_load_i64(dt, x->data, 0, 1, n, t->data);
    return ONYX_OK;
}

/* ---- contraction ---------------------------------------------------------------------- */

static int find_lab(const ein_t *t, int l) {
    for (int k = 0; k < t->rank; k++)
        if (t->lab[k] == l) return k;
    return -1;
}

/* Whether t is laid out exactly as labels seq[0..n) with the full extents ext. */
static int laid_out(const ein_t *t, const int *seq, const int64_t *ext, int n) {
    if (t->rank != n) return 0;
    for (int k = 0; k < n; k++)
        if (t->lab[k] != seq[k] || t->ext[k] != ext[k]) return 0;
    return 1;
}

/* Copy t into the order seq (extents ext, broadcasting dims of 1). */
static onyx_status ein_pack(int wt, const ein_t *t, const int *seq, const int64_t *ext, int n,
                            void **out) {
    int64_t st[EIN_MAXL];
    strides_of(t, st);
    ein_loop L = {0};
    L.n = n;
    int64_t s = 1;
    for (int k = n - 1; k >= 0; k--) {
        int p = find_lab(t, seq[k]);
        L.ext[k] = ext[k];
        L.sstr[k] = t->ext[p] == 1 ? 0 : st[p];
        L.dstr[k] = s;
        s *= ext[k];
    }
    OX_TRY(ein_alloc(wt, n, ext, out, NULL));
    loop_copy(wt, t->data, *out, &L);
    return ONYX_OK;
}

static void gemm_i64(int ta, int tb, size_t M, size_t N, size_t K, const uint64_t *A,
                     const uint64_t *B, uint64_t *C) {
    memset(C, 0, M * N * sizeof *C);
    for (size_t i = 0; i < M; i++)
        for (size_t k = 0; k < K; k++) {
            uint64_t a = ta ? A[k * M + i] : A[i * K + k];
            for (size_t j = 0; j < N; j++) C[i * N + j] += a * (tb ? B[j * K + k] : B[k * N + j]);
        }
}

/* a x b summing the shared labels not in keep. Consumes *a and *b. */
static onyx_status ein_contract(ox_op_ctx *c, int wt, ein_t *a, ein_t *b, const unsigned char *keep,
                                ein_t *out) {
    int bat[EIN_MAXL], mm[EIN_MAXL], kk[EIN_MAXL], nn[EIN_MAXL];
    int64_t ebat[EIN_MAXL], emm[EIN_MAXL], ekk[EIN_MAXL], enn[EIN_MAXL];
    int nb = 0, nm = 0, nk = 0, nnn = 0;
    for (int k = 0; k < a->rank; k++) {
        int l = a->lab[k], p = find_lab(b, l);
        int64_t e = p >= 0 && b->ext[p] > a->ext[k] ? b->ext[p] : a->ext[k];
        if (p >= 0 && keep[l]) bat[nb] = l, ebat[nb++] = e;
        else if (p >= 0) kk[nk] = l, ekk[nk++] = e;
        else mm[nm] = l, emm[nm++] = e;
    }
    for (int k = 0; k < b->rank; k++)
        if (find_lab(a, b->lab[k]) < 0) nn[nnn] = b->lab[k], enn[nnn++] = b->ext[k];
    size_t Bt = 0, M = 0, N = 0, K = 0;
    onyx_status st = ONYX_OK;
    if (!ein_count(nb, ebat, &Bt) || !ein_count(nm, emm, &M) || !ein_count(nnn, enn, &N) ||
        !ein_count(nk, ekk, &K))
        st = ox_error(ONYX_ERR_LIMIT, "an intermediate result is too large");
    /* the operands' layouts: [batch][M][K] or [batch][K][M], [batch][K][N] or [batch][N][K] */
    int seq[EIN_MAXL];
    int64_t ext[EIN_MAXL];
    const void *A = a->data, *B = b->data;
    void *Ap = NULL, *Bp = NULL;
    int ta = 0, tb = 0;
#define SEQ(g1, e1, n1, g2, e2, n2)                                                        \
    do {                                                                                   \
        memcpy(seq, bat, sizeof(int) * nb), memcpy(ext, ebat, sizeof(int64_t) * nb);        \
        memcpy(seq + nb, g1, sizeof(int) * n1), memcpy(ext + nb, e1, sizeof(int64_t) * n1); \
        memcpy(seq + nb + n1, g2, sizeof(int) * n2);                                       \
        memcpy(ext + nb + n1, e2, sizeof(int64_t) * n2);                                   \
    } while (0)
    if (st == ONYX_OK) {
        SEQ(kk, ekk, nk, mm, emm, nm);
        if (laid_out(a, seq, ext, nb + nk + nm)) ta = 1;
        SEQ(mm, emm, nm, kk, ekk, nk);
        if (!ta && !laid_out(a, seq, ext, nb + nm + nk)) st = ein_pack(wt, a, seq, ext, nb + nm + nk, &Ap);
    }
    if (st == ONYX_OK) {
        SEQ(nn, enn, nnn, kk, ekk, nk);
        if (laid_out(b, seq, ext, nb + nnn + nk)) tb = 1;
        SEQ(kk, ekk, nk, nn, enn, nnn);
        if (!tb && !laid_out(b, seq, ext, nb + nk + nnn)) st = ein_pack(wt, b, seq, ext, nb + nk + nnn, &Bp);
    }
#undef SEQ
    ein_t r = {0};
    if (st == ONYX_OK) {
        memcpy(r.lab, bat, sizeof(int) * nb);
        memcpy(r.ext, ebat, sizeof(int64_t) * nb);
        memcpy(r.lab + nb, mm, sizeof(int) * nm);
        memcpy(r.ext + nb, emm, sizeof(int64_t) * nm);
        memcpy(r.lab + nb + nm, nn, sizeof(int) * nnn);
        memcpy(r.ext + nb + nm, enn, sizeof(int64_t) * nnn);
        r.rank = nb + nm + nnn;
        size_t n;
        st = ein_alloc(wt, r.rank, r.ext, &r.data, &n);
        if (st == ONYX_OK) {
            r.owned = 1;
            memset(r.data, 0, n * wsize(wt));
        }
    }
    if (st == ONYX_OK && M && N && K) {
        if (Ap) A = Ap;
        if (Bp) B = Bp;
        for (size_t q = 0; q < Bt; q++) {
            size_t ao = q * M * K, bo = q * K * N, co = q * M * N;
            if (wt == W_F32)
                ox_sgemm(ta, tb, M, N, K, 1.0f, (const float *)A + ao, ta ? M : K, (const float *)B + bo,
                         tb ? K : N, 0.0f, (float *)r.data + co, N, c->pool);
            else if (wt == W_F64)
                ox_dgemm(ta, tb, M, N, K, 1.0, (const double *)A + ao, ta ? M : K,
                         (const double *)B + bo, tb ? K : N, 0.0, (double *)r.data + co, N, c->pool);
            else
                gemm_i64(ta, tb, M, N, K, (const uint64_t *)A + ao, (const uint64_t *)B + bo,
                         (uint64_t *)r.data + co);
        }
    }
    ox_free_aligned(Ap);
    ox_free_aligned(Bp);
    ein_free(a);
    ein_free(b);
    if (st != ONYX_OK) {
        ein_free(&r);
        return st;
    }
    *out = r;
    return ONYX_OK;
}

/* ---- run ------------------------------------------------------------------------------ */

/* Write acc (labels a permutation of the output's) into y in the output's order. */
static onyx_status ein_write(int wt, const ein_t *acc, const ein_bind *b, ox_tensor *y) {
    int64_t st[EIN_MAXL];
    strides_of(acc, st);
    ein_loop L = {0};
    L.n = b->n_out;
    int64_t s = 1;
    for (int k = b->n_out - 1; k >= 0; k--) {
        int p = find_lab(acc, b->out_lab[k]);
        L.ext[k] = y->dims[k];
        L.sstr[k] = acc->ext[p] == 1 ? 0 : st[p];
        L.dstr[k] = s;
        s *= y->dims[k];
    }
    int32_t dt = y->dtype;
    if ((wt == W_F32 && dt == ONYX_DTYPE_FLOAT) || (wt == W_F64 && dt == ONYX_DTYPE_DOUBLE) ||
        (wt == W_I64 && (dt == ONYX_DTYPE_INT64 || dt == ONYX_DTYPE_UINT64))) {
        loop_copy(wt, acc->data, y->data, &L);
        return ONYX_OK;
    }
    void *tmp;
    size_t n = ox_tensor_count(y);
    OX_TRY(ein_alloc(wt, y->rank, y->dims, &tmp, NULL));
    loop_copy(wt, acc->data, tmp, &L);
    if (dt == ONYX_DTYPE_FLOAT16) ox_f32_to_f16_n(tmp, y->data, n);
    else if (dt == ONYX_DTYPE_BFLOAT16) ox_f32_to_bf16_n(tmp, y->data, n);
    else elem_store_i64(dt, tmp, n, y->data, 0);
    ox_free_aligned(tmp);
    return ONYX_OK;
}

onyx_status ox_misc_einsum_run(ox_op_ctx *c) {
    const ein_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    ein_bind b;
    OX_TRY(ein_bind_shapes(c, s, &b));
    int wt = work_type(c->in[0]->dtype);
    size_t n = s->n_terms;
    /* later[i]: labels of inputs i.. and of the output */
    unsigned char(*later)[EIN_MAXL] = ox_calloc(n + 1, sizeof *later);
    if (!later) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (int k = 0; k < b.n_out; k++) later[n][b.out_lab[k]] = 1;
    for (size_t i = n; i-- > 0;) {
        memcpy(later[i], later[i + 1], EIN_MAXL);
        int lab[OX_MAX_RANK];
        input_labels(s, i, c->in[i]->rank, b.E, lab);
        for (int d = 0; d < c->in[i]->rank; d++) later[i][lab[d]] = 1;
    }
    ein_t acc = {0}, t = {0};
    onyx_status st = ein_input(c, &b, 0, wt, &t);
    if (st == ONYX_OK) st = ein_reduce(wt, &t, later[1], &acc);
    for (size_t i = 1; i < n && st == ONYX_OK; i++) {
        unsigned char keep[EIN_MAXL];
        ein_t x = {0}, a = {0};
        st = ein_input(c, &b, i, wt, &t);
        if (st != ONYX_OK) break;
        memcpy(keep, later[i + 1], EIN_MAXL);
        for (int k = 0; k < acc.rank; k++) keep[acc.lab[k]] = 1;
        st = ein_reduce(wt, &t, keep, &x);
        if (st != ONYX_OK) break;
        memcpy(keep, later[i + 1], EIN_MAXL);
        for (int k = 0; k < x.rank; k++) keep[x.lab[k]] = 1;
        st = ein_reduce(wt, &acc, keep, &a);
        if (st != ONYX_OK) {
            ein_free(&x);
            break;
        }
        st = ein_contract(c, wt, &a, &x, later[i + 1], &acc);
    }
    if (st == ONYX_OK) {
        ein_t r = {0};
        st = ein_reduce(wt, &acc, later[n], &r);
        if (st == ONYX_OK) {
            st = ein_write(wt, &r, &b, c->out[0]);
            ein_free(&r);
        }
    } else {
        ein_free(&acc);
    }
    ox_free(later);
    return st;
}
