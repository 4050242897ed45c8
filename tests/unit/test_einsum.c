/* Einsum on random equations (repeated labels, ellipses, broadcasting, implicit and
 * explicit outputs, 1 to 3 operands) against a loop over every label assignment,
 * plus the matrix-product layouts the GEMM path takes. */
#include "misc_testutil.h"

#define NL 60 /* letter ids 0..51 as in the op, then ellipsis dims 52.. */

typedef struct {
    int n_in;
    char eq[256];
    int32_t rank[3];
    int64_t dims[3][OX_MAX_RANK];
    int lab[3][OX_MAX_RANK]; /* label of each dim */
    int out_rank;
    int out_lab[OX_MAX_RANK];
    int64_t size[NL];
} eprob;

static int lid(char ch) { return ch >= 'A' && ch <= 'Z' ? ch - 'A' : 26 + (ch - 'a'); }

/* A random problem; letters from a small pool so labels repeat and are shared. */
static void make_problem(eprob *p) {
    static const char pool[] = "abcdAB";
    memset(p, 0, sizeof *p);
    p->n_in = 1 + et_rnd(3);
    int64_t base[NL];
    for (int l = 0; l < NL; l++) base[l] = 1 + et_rnd(3);
    int E = et_rnd(3) == 0 ? 1 + et_rnd(2) : 0, use_ell = E > 0 || et_rnd(6) == 0, maxe = 0;
    char *e = p->eq;
    int count[NL] = {0};
    for (int i = 0; i < p->n_in; i++) {
        if (i) *e++ = ',';
        int nlet = et_rnd(4), ell_at = use_ell && et_rnd(3) ? et_rnd(nlet + 1) : -1;
        int ei = ell_at >= 0 ? E - et_rnd(E + 1) : 0; /* this operand's ellipsis dims */
        if (ei > maxe) maxe = ei;
        for (int k = 0; k <= nlet; k++) {
            if (k == ell_at) {
                memcpy(e, "...", 3), e += 3;
                if (et_rnd(4) == 0) *e++ = ' ';
                for (int q = 0; q < ei; q++) {
                    int l = 52 + (E - ei) + q;
                    p->lab[i][p->rank[i]] = l;
                    p->dims[i][p->rank[i]++] = et_rnd(4) == 0 ? 1 : base[l];
                }
            }
            if (k == nlet) break;
            char ch = pool[et_rnd((int)sizeof pool - 1)];
            *e++ = ch;
            int l = lid(ch);
            count[l]++;
            p->lab[i][p->rank[i]] = l;
            p->dims[i][p->rank[i]++] = et_rnd(5) == 0 ? 1 : base[l];
        }
    }
    /* the op counts ellipsis dims from the most any operand has */
    for (int i = 0; i < p->n_in; i++)
        for (int d = 0; d < p->rank[i]; d++)
            if (p->lab[i][d] >= 52) p->lab[i][d] -= E - maxe;
    E = maxe;
    /* a label's size is the largest of its dims */
    for (int l = 0; l < NL; l++) {
        int64_t sz = 1;
        for (int i = 0; i < p->n_in; i++)
            for (int d = 0; d < p->rank[i]; d++)
                if (p->lab[i][d] == l && p->dims[i][d] > sz) sz = p->dims[i][d];
        p->size[l] = sz;
    }
    /* a label repeated in one operand (a diagonal) takes its full size there */
    for (int i = 0; i < p->n_in; i++)
        for (int d = 0; d < p->rank[i]; d++) {
            int l = p->lab[i][d], reps = 0;
            for (int d2 = 0; d2 < p->rank[i]; d2++) reps += p->lab[i][d2] == l;
            if (reps > 1) p->dims[i][d] = p->size[l];
        }
    if (et_rnd(2)) { /* implicit: ellipsis dims, then letters seen once in ASCII order */
        for (int q = 0; q < E; q++) p->out_lab[p->out_rank++] = 52 + q;
        for (int l = 0; l < 52; l++)
            if (count[l] == 1) p->out_lab[p->out_rank++] = l;
        *e = 0;
        return;
    }
    const char *arrow = et_rnd(2) ? " -> " : "->";
    memcpy(e, arrow, strlen(arrow));
    e += strlen(arrow);
    int cand[52], nc = 0;
    for (int l = 0; l < 52; l++)
        if (count[l] && et_rnd(3)) cand[nc++] = l;
    for (int k = nc - 1; k > 0; k--) { /* shuffle */
        int j = et_rnd(k + 1), t = cand[k];
        cand[k] = cand[j], cand[j] = t;
    }
    int ell_pos = use_ell && et_rnd(4) ? et_rnd(nc + 1) : -1; /* -1: ellipsis dims summed */
    for (int k = 0; k <= nc; k++) {
        if (k == ell_pos) {
            memcpy(e, "...", 3), e += 3;
            for (int q = 0; q < E; q++) p->out_lab[p->out_rank++] = 52 + q;
        }
        if (k == nc) break;
        int l = cand[k];
        *e++ = (char)(l < 26 ? 'A' + l : 'a' + (l - 26));
        p->out_lab[p->out_rank++] = l;
    }
    *e = 0;
}

/* The naive sum over every assignment of the labels in use. */
static void reference(const eprob *p, ox_tensor *const *in, double *out, size_t n_out) {
    int used[NL], nu = 0;
    for (int l = 0; l < NL; l++) {
        int u = 0;
        for (int i = 0; i < p->n_in && !u; i++)
            for (int d = 0; d < p->rank[i]; d++) u |= p->lab[i][d] == l;
        for (int k = 0; k < p->out_rank; k++) u |= p->out_lab[k] == l;
        if (u) used[nu++] = l;
    }
    memset(out, 0, n_out * sizeof *out);
    int64_t idx[NL] = {0};
    for (;;) {
        double prod = 1;
        for (int i = 0; i < p->n_in; i++) {
            size_t off = 0;
            for (int d = 0; d < p->rank[i]; d++)
                off = off * (size_t)p->dims[i][d] + (size_t)(p->dims[i][d] == 1 ? 0 : idx[p->lab[i][d]]);
            prod *= mt_get(in[i], off);
        }
        size_t o = 0;
        for (int k = 0; k < p->out_rank; k++)
            o = o * (size_t)p->size[p->out_lab[k]] + (size_t)idx[p->out_lab[k]];
        out[o] += prod;
        int k = nu - 1;
        for (; k >= 0; k--) {
            if (++idx[used[k]] < p->size[used[k]]) break;
            idx[used[k]] = 0;
        }
        if (k < 0) break;
    }
}

static void check_problem(const eprob *p, int32_t dt) {
    ox_tensor in[3], *ins[3], y;
    for (int i = 0; i < p->n_in; i++) {
        in[i] = mt_make(dt, p->rank[i], p->dims[i]);
        ins[i] = &in[i];
        size_t n = ox_tensor_count(&in[i]);
        for (size_t k = 0; k < n; k++)
            mt_set(&in[i], k, et_is_int(dt) ? (double)(et_rnd(7) - (dt == ONYX_DTYPE_UINT8 ? 0 : 3))
                                            : mt_uniform(-2, 2));
    }
    ox_node *n = tn_node("Einsum", (size_t)p->n_in, 1);
    tn_str(n, "equation", p->eq);
    onyx_status st = mt_run(n, 12, ins, (size_t)p->n_in, &y, 1);
    if (st != ONYX_OK) fprintf(stderr, "  equation '%s': %s\n", p->eq, onyx_last_error());
    REQUIRE_OK(st);
    CHECK(y.rank == p->out_rank && y.dtype == dt);
    size_t ny = 1;
    for (int k = 0; k < p->out_rank; k++) {
        CHECK(y.dims[k] == p->size[p->out_lab[k]]);
        ny *= (size_t)p->size[p->out_lab[k]];
    }
    double *want = ox_malloc_array(ny + 1, sizeof(double));
    reference(p, ins, want, ny);
    int bad = 0;
    for (size_t k = 0; k < ny && bad < 3; k++) {
        double w = et_is_int(dt) ? et_as(dt, want[k]) : want[k], g = mt_get(&y, k);
        double tol = dt == ONYX_DTYPE_FLOAT16 ? 1e-2 : dt == ONYX_DTYPE_FLOAT ? 1e-5 : 1e-12;
        if (et_is_int(dt) ? g != w : !mt_close(g, w, tol)) {
            fprintf(stderr, "  '%s' (%s): y[%zu] = %g, expected %g\n", p->eq, ox_dtype_name(dt), k, g, w);
            bad++;
        }
    }
    CHECK(bad == 0);
    ox_free(want);
    ox_tensor_free_data(&y);
    for (int i = 0; i < p->n_in; i++) ox_tensor_free_data(&in[i]);
}

TEST(einsum_random_equations) {
    const int32_t dts[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_INT32, ONYX_DTYPE_INT64,
                           ONYX_DTYPE_FLOAT16, ONYX_DTYPE_UINT8};
    for (int rep = 0; rep < 400; rep++) {
        eprob p;
        make_problem(&p);
        check_problem(&p, dts[rep % 6]);
        if (rep % 50 == 49) tn_reset();
    }
    tn_reset();
}

/* Fixed equations that reach each operand layout of the GEMM path, with sizes big
 * enough for the blocked kernel. */
static void check_fixed(const char *eq, int n_in, const int64_t (*dims)[3], const int32_t *ranks,
                        int32_t dt) {
    eprob p;
    memset(&p, 0, sizeof p);
    p.n_in = n_in;
    snprintf(p.eq, sizeof p.eq, "%s", eq);
    const char *s = eq;
    for (int i = 0; i < n_in; i++) {
        p.rank[i] = ranks[i];
        for (int d = 0; d < ranks[i]; d++, s++) {
            p.lab[i][d] = lid(*s);
            p.dims[i][d] = dims[i][d];
            p.size[lid(*s)] = dims[i][d];
        }
        s++; /* ',' or '-' */
    }
    s += 1; /* '>' */
    for (; *s; s++) p.out_lab[p.out_rank++] = lid(*s);
    check_problem(&p, dt);
}

TEST(einsum_matmul_layouts) {
    const int64_t d_bmm[][3] = {{3, 17, 19}, {3, 19, 23}};
    const int64_t d_nt[][3] = {{33, 20}, {41, 20}};
    const int64_t d_tn[][3] = {{20, 33}, {20, 41}};
    const int64_t d_chain[][3] = {{5, 7}, {7, 9}, {9, 4}};
    const int64_t d_outer[][3] = {{6}, {5}};
    for (int t = 0; t < 3; t++) {
        int32_t dt = t == 0 ? ONYX_DTYPE_FLOAT : t == 1 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_INT64;
        check_fixed("bij,bjk->bik", 2, d_bmm, (int32_t[]){3, 3}, dt);
        check_fixed("bij,bjk->bki", 2, d_bmm, (int32_t[]){3, 3}, dt);
        check_fixed("ik,jk->ij", 2, d_nt, (int32_t[]){2, 2}, dt);
        check_fixed("ki,kj->ij", 2, d_tn, (int32_t[]){2, 2}, dt);
        check_fixed("ki,kj->ji", 2, d_tn, (int32_t[]){2, 2}, dt);
        check_fixed("ij,jk,kl->il", 3, d_chain, (int32_t[]){2, 2, 2}, dt);
        check_fixed("i,j->ij", 2, d_outer, (int32_t[]){1, 1}, dt);
    }
    tn_reset();
}

TEST(einsum_scalar_and_empty) {
    double v = 3.5;
    ox_tensor x = tt_make(ONYX_DTYPE_DOUBLE, 0, NULL, &v), y;
    ox_node *n = tn_node("Einsum", 1, 1);
    tn_str(n, "equation", "->");
    REQUIRE_OK(mt_run(n, 12, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(y.rank == 0 && mt_get(&y, 0) == 3.5);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    /* an empty contracted dim gives zeros; an empty kept dim an empty output */
    ox_tensor a = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){3, 0}, NULL);
    ox_tensor b = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){0, 4}, NULL);
    n = tn_node("Einsum", 2, 1);
    tn_str(n, "equation", "ij,jk");
    REQUIRE_OK(mt_run(n, 12, (ox_tensor *[]){&a, &b}, 2, &y, 1));
    CHECK(y.rank == 2 && y.dims[0] == 3 && y.dims[1] == 4);
    for (size_t i = 0; i < 12; i++) CHECK(mt_get(&y, i) == 0);
    ox_tensor_free_data(&y);
    n = tn_node("Einsum", 2, 1);
    tn_str(n, "equation", "ji,jk->ik");
    REQUIRE_OK(mt_run(n, 12, (ox_tensor *[]){&a, &a}, 2, &y, 1));
    CHECK(y.rank == 2 && y.dims[0] == 0 && y.dims[1] == 0);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    tn_reset();
}

TEST(einsum_errors) {
    ox_tensor a = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, NULL);
    ox_tensor b = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){4, 5}, NULL);
    ox_tensor c = tt_make(ONYX_DTYPE_INT32, 2, (int64_t[]){3, 2}, NULL), y;
    static const char *bad1[] = {"ij,jk->ik", "ij->i,j", "i$->i", "ijk->i", "ij->ik", "ij->ii",
                                 "i....j->i", "......->", "ij->.i.", ""};
    for (size_t k = 0; k < sizeof bad1 / sizeof *bad1; k++) {
        ox_node *n = tn_node("Einsum", 1, 1);
        tn_str(n, "equation", bad1[k]);
        onyx_status st = mt_run(n, 12, (ox_tensor *[]){&a}, 1, &y, 1);
        if (st == ONYX_OK) {
            fprintf(stderr, "  equation '%s' was accepted\n", bad1[k]);
            ox_tensor_free_data(&y);
        }
        CHECK(st != ONYX_OK);
    }
    ox_node *n = tn_node("Einsum", 2, 1); /* j is 3 in a and 4 in b */
    tn_str(n, "equation", "ij,jk->ik");
    CHECK(mt_run(n, 12, (ox_tensor *[]){&a, &b}, 2, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("Einsum", 2, 1); /* types differ */
    tn_str(n, "equation", "ij,jk->ik");
    CHECK(mt_run(n, 12, (ox_tensor *[]){&a, &c}, 2, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("Einsum", 1, 1);
    CHECK(mt_run(n, 12, (ox_tensor *[]){&a}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    ox_tensor_free_data(&c);
    tn_reset();
}
