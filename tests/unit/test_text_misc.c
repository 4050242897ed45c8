/* TfIdfVectorizer and the ai.onnx.ml ops (LabelEncoder, ArrayFeatureExtractor,
 * Binarizer, TreeEnsemble) against references written here with plain loops. */
#include <math.h>
#include <string.h>

#include "nodes.h"
#include "ops/tensor_util.h"
#include "tensor_helpers.h"
#include "test.h"
#include "text_testutil.h"
#include "util/alloc.h"

#define ML "ai.onnx.ml"

static double rnd_range(double lo, double hi) { return lo + (hi - lo) * tt_randf(); }

/* ---- TfIdfVectorizer ------------------------------------------------------------------------------ */

static const char *const vocab[] = {"a", "b", "c", "d", "e"};

TEST(tfidf_random_against_naive_count) {
    static const char *const modes[] = {"TF", "IDF", "TFIDF"};
    for (int iter = 0; iter < 150; iter++) {
        int strings = tx_rnd(3) == 0, dtype = strings ? ONYX_DTYPE_STRING : tx_rnd(2) ? ONYX_DTYPE_INT32 : ONYX_DTYPE_INT64;
        /* pool: levels of 1-, 2-, 3-grams; all n-grams distinct */
        int64_t pool[64], counts[3];
        size_t n_levels = (size_t)tx_rnd(3) + 1, np = 0, n_grams = 0;
        size_t gram_len[32], gram_pos[32];
        for (size_t lv = 0; lv < n_levels; lv++) {
            counts[lv] = (int64_t)np;
            size_t want = (size_t)tx_rnd(5), len = lv + 1;
            for (size_t k = 0; k < want; k++) {
                int64_t g[3];
                for (size_t j = 0; j < len; j++) g[j] = tx_rnd(4);
                int dup = 0;
                for (size_t q = 0; q < n_grams; q++)
                    if (gram_len[q] == len && !memcmp(pool + gram_pos[q], g, len * sizeof *g)) dup = 1;
                if (dup) continue;
                gram_len[n_grams] = len;
                gram_pos[n_grams++] = np;
                memcpy(pool + np, g, len * sizeof *g);
                np += len;
            }
        }
        if (!n_grams) continue;
        int64_t indexes[32], width = 0;
        for (size_t q = 0; q < n_grams; q++) {
            indexes[q] = tx_rnd((int)n_grams + 2); /* gaps and shared columns */
            if (indexes[q] + 1 > width) width = indexes[q] + 1;
        }
        float weights[40];
        for (int64_t i = 0; i < width; i++) weights[i] = (float)rnd_range(0.1, 2);
        int64_t min_n = tx_rnd(3) + 1, max_n = min_n + tx_rnd(4 - (int)min_n), skip = tx_rnd(4);
        const char *mode = modes[tx_rnd(3)];
        int use_w = tx_rnd(2);
        /* input */
        int32_t rank = tx_rnd(2) + 1;
        int64_t dims[2] = {tx_rnd(3) + 1, tx_rnd(9)};
        if (rank == 1) dims[0] = dims[1];
        size_t rows = rank == 2 ? (size_t)dims[0] : 1, cols = (size_t)dims[rank - 1];
        int64_t xv[32];
        const char *xs[32];
        for (size_t i = 0; i < rows * cols; i++) {
            xv[i] = tx_rnd(5); /* 4 is never in the pool */
            xs[i] = vocab[xv[i]];
        }
        ox_tensor x;
        if (strings) x = txt_strings(rank, dims, xs);
        else {
            x = tt_make(dtype, rank, dims, NULL);
            for (size_t i = 0; i < rows * cols; i++) ox_tx_store_int(x.data, i, dtype, xv[i]);
        }
        ox_node *nd = tn_node("TfIdfVectorizer", 1, 1);
        tn_str(nd, "mode", mode);
        tn_int(nd, "min_gram_length", min_n);
        tn_int(nd, "max_gram_length", max_n);
        tn_int(nd, "max_skip_count", skip);
        tn_ints(nd, "ngram_counts", n_levels, counts);
        tn_ints(nd, "ngram_indexes", n_grams, indexes);
        if (strings) {
            const char *ps[64];
            for (size_t i = 0; i < np; i++) ps[i] = vocab[pool[i]];
            txt_attr_strs(nd, "pool_strings", np, ps);
        } else {
            tn_ints(nd, "pool_int64s", np, pool);
        }
        if (use_w) tn_floats(nd, "weights", (size_t)width, weights);
        ox_tensor y;
        REQUIRE_OK(ox_op_run_single(nd, 9, (ox_tensor *[]){&x}, 1, &y, 1));
        int64_t od[2] = {dims[0], width};
        CHECK(y.dtype == ONYX_DTYPE_FLOAT && (rank == 2 ? tx_same_dims(&y, 2, od) : tx_same_dims(&y, 1, od + 1)));
        int bad = 0;
        for (size_t r = 0; r < rows; r++) {
            double ref[40] = {0};
            for (size_t q = 0; q < n_grams; q++) {
                size_t len = gram_len[q];
                if ((int64_t)len < min_n || (int64_t)len > max_n) continue;
                for (int64_t d = 1; d <= skip + 1; d++) {
                    if (len == 1 && d > 1) continue;
                    for (size_t st = 0; st + (len - 1) * (size_t)d < cols; st++) {
                        int eq = 1;
                        for (size_t j = 0; j < len; j++)
                            eq &= xv[r * cols + st + j * (size_t)d] == pool[gram_pos[q] + j];
                        ref[indexes[q]] += eq;
                    }
                }
            }
            for (int64_t i = 0; i < width; i++) {
                double w = use_w ? weights[i] : 1, e = ref[i];
                if (!strcmp(mode, "IDF")) e = e > 0 ? w : 0;
                else if (!strcmp(mode, "TFIDF")) e *= w;
                double got = ((float *)y.data)[r * (size_t)width + (size_t)i];
                bad += fabs(got - e) > 1e-5 * (1 + fabs(e));
            }
        }
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){x, y}, 2);
        txt_reset();
    }
}

TEST(tfidf_rejects_bad_attributes) {
    int64_t x1[3] = {1, 2, 3};
    ox_tensor x = tx_i64(3, x1), y;
    struct {
        const char *what;
        int64_t counts[2], idx[2];
        size_t n_counts, n_idx;
        const char *mode;
    } cases[] = {
        {"counts past pool", {0, 9}, {0, 1}, 2, 2, "TF"},
        {"few indexes", {0, 1}, {0, 0}, 2, 1, "TF"},
        {"negative index", {0, 1}, {-1, 0}, 2, 2, "TF"},
        {"bad mode", {0, 1}, {0, 1}, 2, 2, "TFX"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ox_node *nd = tn_node("TfIdfVectorizer", 1, 1);
        tn_str(nd, "mode", cases[k].mode);
        tn_int(nd, "min_gram_length", 1);
        tn_int(nd, "max_gram_length", 2);
        tn_int(nd, "max_skip_count", 0);
        tn_ints(nd, "ngram_counts", cases[k].n_counts, cases[k].counts);
        tn_ints(nd, "ngram_indexes", cases[k].n_idx, cases[k].idx);
        tn_ints(nd, "pool_int64s", 3, (int64_t[]){1, 2, 3});
        onyx_status st = ox_op_run_single(nd, 9, (ox_tensor *[]){&x}, 1, &y, 1);
        if (st == ONYX_OK) fprintf(stderr, "  accepted: %s\n", cases[k].what);
        CHECK(st != ONYX_OK);
    }
    /* string input for an integer pool */
    ox_tensor s = txt_strings(1, (int64_t[]){1}, (const char *[]){"a"});
    ox_node *nd = tn_node("TfIdfVectorizer", 1, 1);
    tn_str(nd, "mode", "TF");
    tn_int(nd, "min_gram_length", 1);
    tn_int(nd, "max_gram_length", 1);
    tn_int(nd, "max_skip_count", 0);
    tn_ints(nd, "ngram_counts", 1, (int64_t[]){0});
    tn_ints(nd, "ngram_indexes", 1, (int64_t[]){0});
    tn_ints(nd, "pool_int64s", 1, (int64_t[]){1});
    CHECK(ox_op_run_single(nd, 9, (ox_tensor *[]){&s}, 1, &y, 1) != ONYX_OK);
    tx_free_all((ox_tensor[]){x, s}, 2);
    txt_reset();
}

/* ---- LabelEncoder ------------------------------------------------------------------------------ */

TEST(label_encoder_v2_forms) {
    /* strings -> floats, with a repeated key (the last wins) and a default */
    const char *keys[] = {"x", "y", "x", ""};
    float vals[] = {1.5f, 2.5f, 3.5f, 4.5f};
    const char *in[] = {"x", "y", "z", "", "xx"};
    ox_tensor x = txt_strings(1, (int64_t[]){5}, in), y;
    ox_node *nd = txt_node(ML, "LabelEncoder", 1, 1);
    txt_attr_strs(nd, "keys_strings", 4, keys);
    tn_floats(nd, "values_floats", 4, vals);
    tn_float(nd, "default_float", -7.0f);
    REQUIRE_OK(ox_op_run_single(nd, 2, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(y.dtype == ONYX_DTYPE_FLOAT);
    for (size_t i = 0; i < 5; i++) {
        float e = -7.0f;
        for (size_t k = 0; k < 4; k++)
            if (!strcmp(in[i], keys[k])) e = vals[k];
        CHECK(((float *)y.data)[i] == e);
    }
    tx_free_all((ox_tensor[]){x, y}, 2);

    /* floats (NaN, -0) -> int64, default -1 */
    float fk[] = {NAN, 0.0f, 2.5f};
    ox_tensor xf = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){5}, (float[]){-NAN, -0.0f, 2.5f, 3.0f, 0.0f});
    nd = txt_node(ML, "LabelEncoder", 1, 1);
    tn_floats(nd, "keys_floats", 3, fk);
    tn_ints(nd, "values_int64s", 3, (int64_t[]){10, 20, 30});
    REQUIRE_OK(ox_op_run_single(nd, 2, (ox_tensor *[]){&xf}, 1, &y, 1));
    const int64_t *yi = y.data;
    CHECK(yi[0] == 10 && yi[1] == 20 && yi[2] == 30 && yi[3] == -1 && yi[4] == 20);
    tx_free_all((ox_tensor[]){xf, y}, 2);

    /* int64 -> strings, default "_Unused" */
    ox_tensor xi = tx_i64(4, (int64_t[]){5, -3, 7, 5});
    nd = txt_node(ML, "LabelEncoder", 1, 1);
    tn_ints(nd, "keys_int64s", 2, (int64_t[]){5, -3});
    txt_attr_strs(nd, "values_strings", 2, (const char *[]){"five", "minus three"});
    REQUIRE_OK(ox_op_run_single(nd, 2, (ox_tensor *[]){&xi}, 1, &y, 1));
    CHECK(txt_eqz(&y, 0, "five") && txt_eqz(&y, 1, "minus three") && txt_eqz(&y, 2, "_Unused") &&
          txt_eqz(&y, 3, "five"));
    tx_free_all((ox_tensor[]){xi, y}, 2);
    txt_reset();
}

TEST(label_encoder_v4_tensors) {
    /* int32 keys -> double values, default_tensor */
    ox_tensor x = tt_make(ONYX_DTYPE_INT32, 2, (int64_t[]){2, 2}, (int32_t[]){1, 2, 9, 1}), y;
    ox_node *nd = txt_node(ML, "LabelEncoder", 1, 1);
    tn_tensor(nd, "keys_tensor", ONYX_DTYPE_INT32, 1, (int64_t[]){2}, (int32_t[]){1, 2});
    tn_tensor(nd, "values_tensor", ONYX_DTYPE_DOUBLE, 1, (int64_t[]){2}, (double[]){0.25, 0.5});
    tn_tensor(nd, "default_tensor", ONYX_DTYPE_DOUBLE, 1, (int64_t[]){1}, (double[]){-2});
    REQUIRE_OK(ox_op_run_single(nd, 4, (ox_tensor *[]){&x}, 1, &y, 1));
    const double *yd = y.data;
    CHECK(y.dtype == ONYX_DTYPE_DOUBLE && tx_same_dims(&y, 2, (int64_t[]){2, 2}));
    CHECK(yd[0] == 0.25 && yd[1] == 0.5 && yd[2] == -2 && yd[3] == 0.25);
    tx_free_all((ox_tensor[]){x, y}, 2);

    /* string tensor keys -> int16 values, no default: -1 */
    ox_string sk[3] = {{"a", 1}, {"b", 1}, {"c", 1}};
    ox_tensor xs = txt_strings(1, (int64_t[]){4}, (const char *[]){"a", "d", "c", "b"});
    nd = txt_node(ML, "LabelEncoder", 1, 1);
    tn_tensor(nd, "keys_tensor", ONYX_DTYPE_STRING, 1, (int64_t[]){3}, sk);
    tn_tensor(nd, "values_tensor", ONYX_DTYPE_INT16, 1, (int64_t[]){3}, (int16_t[]){7, 8, 9});
    REQUIRE_OK(ox_op_run_single(nd, 4, (ox_tensor *[]){&xs}, 1, &y, 1));
    const int16_t *y16 = y.data;
    CHECK(y.dtype == ONYX_DTYPE_INT16 && y16[0] == 7 && y16[1] == -1 && y16[2] == 9 && y16[3] == 8);
    ox_tensor_free_data(&y);

    /* keys_strings with values_tensor and default_tensor */
    nd = txt_node(ML, "LabelEncoder", 1, 1);
    txt_attr_strs(nd, "keys_strings", 3, (const char *[]){"a", "b", "c"});
    tn_tensor(nd, "values_tensor", ONYX_DTYPE_INT16, 1, (int64_t[]){3}, (int16_t[]){0, 1, 2});
    tn_tensor(nd, "default_tensor", ONYX_DTYPE_INT16, 1, (int64_t[]){1}, (int16_t[]){42});
    REQUIRE_OK(ox_op_run_single(nd, 4, (ox_tensor *[]){&xs}, 1, &y, 1));
    y16 = y.data;
    CHECK(y16[0] == 0 && y16[1] == 42 && y16[2] == 2 && y16[3] == 1);
    ox_tensor_free_data(&y);

    /* tensor attributes are not there before opset 4 */
    nd = txt_node(ML, "LabelEncoder", 1, 1);
    tn_tensor(nd, "keys_tensor", ONYX_DTYPE_STRING, 1, (int64_t[]){3}, sk);
    tn_ints(nd, "values_int64s", 3, (int64_t[]){1, 2, 3});
    CHECK(ox_op_run_single(nd, 2, (ox_tensor *[]){&xs}, 1, &y, 1) != ONYX_OK);
    tx_free_all((ox_tensor[]){xs}, 1);
    txt_reset();
}

TEST(label_encoder_v1_and_errors) {
    const char *cls[] = {"zero", "one", "two", "one"};
    ox_tensor xs = txt_strings(1, (int64_t[]){4}, (const char *[]){"two", "nine", "zero", "one"}), y;
    ox_node *nd = txt_node(ML, "LabelEncoder", 1, 1);
    txt_attr_strs(nd, "classes_strings", 4, cls);
    tn_int(nd, "default_int64", 99);
    REQUIRE_OK(ox_op_run_single(nd, 1, (ox_tensor *[]){&xs}, 1, &y, 1));
    const int64_t *yi = y.data;
    CHECK(y.dtype == ONYX_DTYPE_INT64 && yi[0] == 2 && yi[1] == 99 && yi[2] == 0 && yi[3] == 3);
    ox_tensor_free_data(&y);
    ox_tensor xi = tx_i64(3, (int64_t[]){1, 3, -1});
    nd = txt_node(ML, "LabelEncoder", 1, 1);
    txt_attr_strs(nd, "classes_strings", 3, cls);
    tn_str(nd, "default_string", "?");
    REQUIRE_OK(ox_op_run_single(nd, 1, (ox_tensor *[]){&xi}, 1, &y, 1));
    CHECK(txt_eqz(&y, 0, "one") && txt_eqz(&y, 1, "?") && txt_eqz(&y, 2, "?"));
    ox_tensor_free_data(&y);

    /* v2 errors: lengths differ, two keys_*, input type differs from keys */
    nd = txt_node(ML, "LabelEncoder", 1, 1);
    tn_ints(nd, "keys_int64s", 2, (int64_t[]){1, 2});
    tn_ints(nd, "values_int64s", 1, (int64_t[]){1});
    CHECK(ox_op_run_single(nd, 2, (ox_tensor *[]){&xi}, 1, &y, 1) != ONYX_OK);
    nd = txt_node(ML, "LabelEncoder", 1, 1);
    tn_ints(nd, "keys_int64s", 1, (int64_t[]){1});
    txt_attr_strs(nd, "keys_strings", 1, cls);
    tn_ints(nd, "values_int64s", 1, (int64_t[]){1});
    CHECK(ox_op_run_single(nd, 2, (ox_tensor *[]){&xi}, 1, &y, 1) != ONYX_OK);
    nd = txt_node(ML, "LabelEncoder", 1, 1);
    txt_attr_strs(nd, "keys_strings", 1, cls);
    tn_ints(nd, "values_int64s", 1, (int64_t[]){1});
    CHECK(ox_op_run_single(nd, 2, (ox_tensor *[]){&xi}, 1, &y, 1) != ONYX_OK);
    tx_free_all((ox_tensor[]){xs, xi}, 2);
    txt_reset();
}

/* ---- ArrayFeatureExtractor, Binarizer -------------------------------------------------------- */

TEST(array_feature_extractor_random) {
    static const int32_t types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_INT64,
                                    ONYX_DTYPE_INT32, ONYX_DTYPE_STRING};
    for (int iter = 0; iter < 60; iter++) {
        int32_t rank = tx_rnd(3) + 1, t = types[tx_rnd(5)];
        int64_t dims[3], idx[6];
        tx_rnd_shape(rank, dims, 4);
        size_t k = (size_t)tx_rnd(6), last = (size_t)dims[rank - 1];
        for (size_t j = 0; j < k; j++) idx[j] = tx_rnd((int)last);
        ox_tensor x = tx_rand_tensor(t, rank, dims), ix = tx_i64(k, idx), y;
        ox_node *nd = txt_node(ML, "ArrayFeatureExtractor", 2, 1);
        REQUIRE_OK(ox_op_run_single(nd, 1, (ox_tensor *[]){&x, &ix}, 2, &y, 1));
        size_t rows = ox_tensor_count(&x) / last;
        int64_t od[3] = {1};
        if (rank > 1) memcpy(od, dims, sizeof(int64_t) * (size_t)(rank - 1));
        od[rank > 1 ? rank - 1 : 1] = (int64_t)k;
        CHECK(tx_same_dims(&y, rank > 1 ? rank : 2, od));
        int bad = 0;
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < k; j++) bad += !tx_elem_eq(&y, r * k + j, &x, r * last + (size_t)idx[j]);
        CHECK(bad == 0);
        ox_tensor_free_data(&y);
        /* an index past the end is an error, not a read */
        ox_tensor_free_data(&ix);
        ix = tx_i64(1, (int64_t[]){(int64_t)last});
        CHECK(ox_op_run_single(nd, 1, (ox_tensor *[]){&x, &ix}, 2, &y, 1) == ONYX_ERR_RUNTIME);
        tx_free_all((ox_tensor[]){x, ix}, 2);
        txt_reset();
    }
}

TEST(binarizer_types) {
    float fx[6] = {-1, 0, 0.5f, 0.75f, 2, NAN};
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){6}, fx), y;
    ox_node *nd = txt_node(ML, "Binarizer", 1, 1);
    tn_float(nd, "threshold", 0.5f);
    REQUIRE_OK(ox_op_run_single(nd, 1, (ox_tensor *[]){&x}, 1, &y, 1));
    for (int i = 0; i < 6; i++) CHECK(((float *)y.data)[i] == (fx[i] > 0.5f ? 1.0f : 0.0f));
    tx_free_all((ox_tensor[]){x, y}, 2);
    int64_t iv[4] = {-5, 0, 1, 7};
    x = tx_i64(4, iv);
    REQUIRE_OK(ox_op_run_single(nd, 1, (ox_tensor *[]){&x}, 1, &y, 1));
    for (int i = 0; i < 4; i++) CHECK(((int64_t *)y.data)[i] == (iv[i] > 0 ? 1 : 0));
    tx_free_all((ox_tensor[]){x, y}, 2);
    x = txt_strings(1, (int64_t[]){1}, (const char *[]){"1"});
    CHECK(ox_op_run_single(nd, 1, (ox_tensor *[]){&x}, 1, &y, 1) != ONYX_OK);
    ox_tensor_free_data(&x);
    txt_reset();
}

/* ---- TreeEnsemble ---------------------------------------------------------------------------------- */

typedef struct forest {
    int64_t feat[64], tid[64], fid[64], tl[64], fl[64], miss[64], targets[64];
    uint8_t modes[64];
    double splits[64], weights[64], members[64];
    size_t n_nodes, n_leaves, n_members;
    int64_t roots[8];
    size_t n_roots;
} forest;

/* A random subtree rooted at node id; returns the node's index. */
static int64_t grow_tree(forest *f, int depth, int n_feat, int n_targets) {
    size_t id = f->n_nodes++;
    f->feat[id] = tx_rnd(n_feat);
    f->modes[id] = (uint8_t)tx_rnd(7);
    f->splits[id] = (double)tx_rnd(5) - 2;
    f->miss[id] = tx_rnd(2);
    for (int b = 0; b < 2; b++) {
        int64_t *ids = b ? f->tid : f->fid, *leaf = b ? f->tl : f->fl;
        if (depth >= 3 || tx_rnd(3) == 0 || f->n_nodes > 50) {
            leaf[id] = 1;
            ids[id] = (int64_t)f->n_leaves;
            f->targets[f->n_leaves] = tx_rnd(n_targets);
            f->weights[f->n_leaves++] = rnd_range(-3, 3);
        } else {
            leaf[id] = 0;
            ids[id] = grow_tree(f, depth + 1, n_feat, n_targets);
        }
    }
    return (int64_t)id;
}

static size_t ref_leaf(const forest *f, const size_t *set_off, const size_t *set_n, int64_t node,
                       const double *x) {
    for (;;) {
        double v = x[f->feat[node]], s = f->splits[node];
        int t;
        switch (f->modes[node]) {
        case 0: t = v <= s; break;
        case 1: t = v < s; break;
        case 2: t = v >= s; break;
        case 3: t = v > s; break;
        case 4: t = v == s; break;
        case 5: t = v != s; break;
        default:
            t = 0;
            for (size_t k = 0; k < set_n[node]; k++) t |= f->members[set_off[node] + k] == v;
        }
        if (isnan(v) && f->miss[node]) t = 1;
        int64_t next = t ? f->tid[node] : f->fid[node];
        if (t ? f->tl[node] : f->fl[node]) return (size_t)next;
        node = next;
    }
}

TEST(tree_ensemble_random) {
    for (int iter = 0; iter < 60; iter++) {
        forest f;
        memset(&f, 0, sizeof f);
        int n_feat = tx_rnd(3) + 1, n_targets = tx_rnd(3) + 1;
        f.n_roots = (size_t)tx_rnd(3) + 1;
        for (size_t t = 0; t < f.n_roots; t++) f.roots[t] = grow_tree(&f, 0, n_feat, n_targets);
        /* sets for membership nodes, in node order, NaN-separated */
        size_t set_off[64], set_n[64];
        for (size_t i = 0; i < f.n_nodes; i++) {
            if (f.modes[i] != 6) continue;
            set_off[i] = f.n_members;
            set_n[i] = (size_t)tx_rnd(3);
            for (size_t k = 0; k < set_n[i]; k++) f.members[f.n_members++] = (double)tx_rnd(5) - 2;
            f.members[f.n_members++] = NAN;
        }
        int agg = tx_rnd(4), post = tx_rnd(5), dbl = tx_rnd(2);
        int32_t dt = dbl ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT;
        size_t N = (size_t)tx_rnd(5);
        double xv[5 * 3];
        for (size_t i = 0; i < N * (size_t)n_feat; i++) xv[i] = tx_rnd(7) == 0 ? NAN : (double)tx_rnd(5) - 2;
        ox_tensor x = tt_make(dt, 2, (int64_t[]){(int64_t)N, n_feat}, NULL), y;
        for (size_t i = 0; i < N * (size_t)n_feat; i++) ox_tx_store_float(x.data, i, dt, xv[i]);
        ox_node *nd = txt_node(ML, "TreeEnsemble", 1, 1);
        tn_int(nd, "n_targets", n_targets);
        tn_int(nd, "aggregate_function", agg);
        tn_int(nd, "post_transform", post);
        tn_ints(nd, "tree_roots", f.n_roots, f.roots);
        tn_ints(nd, "nodes_featureids", f.n_nodes, f.feat);
        tn_ints(nd, "nodes_truenodeids", f.n_nodes, f.tid);
        tn_ints(nd, "nodes_falsenodeids", f.n_nodes, f.fid);
        tn_ints(nd, "nodes_trueleafs", f.n_nodes, f.tl);
        tn_ints(nd, "nodes_falseleafs", f.n_nodes, f.fl);
        tn_ints(nd, "nodes_missing_value_tracks_true", f.n_nodes, f.miss);
        tn_tensor(nd, "nodes_modes", ONYX_DTYPE_UINT8, 1, (int64_t[]){(int64_t)f.n_nodes}, f.modes);
        tn_tensor(nd, "nodes_splits", ONYX_DTYPE_DOUBLE, 1, (int64_t[]){(int64_t)f.n_nodes}, f.splits);
        tn_ints(nd, "leaf_targetids", f.n_leaves, f.targets);
        tn_tensor(nd, "leaf_weights", ONYX_DTYPE_DOUBLE, 1, (int64_t[]){(int64_t)f.n_leaves}, f.weights);
        if (f.n_members)
            tn_tensor(nd, "membership_values", ONYX_DTYPE_DOUBLE, 1, (int64_t[]){(int64_t)f.n_members}, f.members);
        REQUIRE_OK(ox_op_run_single(nd, 5, (ox_tensor *[]){&x}, 1, &y, 1));
        CHECK(y.dtype == dt && tx_same_dims(&y, 2, (int64_t[]){(int64_t)N, n_targets}));
        int bad = 0;
        for (size_t r = 0; r < N; r++) {
            double acc[3], big = dbl ? 1.7976931348623157e308 : 3.4028234663852886e38;
            int hit[3] = {0};
            for (int k = 0; k < n_targets; k++) acc[k] = agg == 2 ? big : agg == 3 ? -big : 0;
            for (size_t t = 0; t < f.n_roots; t++) {
                size_t leaf = ref_leaf(&f, set_off, set_n, f.roots[t], xv + r * (size_t)n_feat);
                size_t k = (size_t)f.targets[leaf];
                double w = f.weights[leaf];
                hit[k] = 1;
                if (agg == 0) acc[k] += w / (double)f.n_roots;
                else if (agg == 1) acc[k] += w;
                else if (agg == 2) acc[k] = fmin(acc[k], w);
                else acc[k] = fmax(acc[k], w);
            }
            (void)hit;
            if (post == 1 || post == 3) {
                double m = -INFINITY, sum = 0, e[3];
                for (int k = 0; k < n_targets; k++) m = fmax(m, acc[k]);
                for (int k = 0; k < n_targets; k++) {
                    e[k] = post == 3 && acc[k] == 0 ? 0 : exp(acc[k] - m);
                    sum += e[k];
                }
                for (int k = 0; k < n_targets; k++) acc[k] = sum > 0 ? e[k] / sum : e[k];
            } else if (post == 2) {
                for (int k = 0; k < n_targets; k++) acc[k] = 1 / (1 + exp(-acc[k]));
            } else if (post == 4) {
                /* the inverse of the normal CDF: check through the CDF itself below */
            }
            for (int k = 0; k < n_targets; k++) {
                double got = ox_tensor_get_double(&y, r * (size_t)n_targets + (size_t)k);
                if (post == 4) {
                    double p = acc[k];
                    if (p > 0 && p < 1) bad += fabs(0.5 * erfc(-got / sqrt(2.0)) - p) > 1e-5;
                    else bad += !(isnan(got) || isinf(got));
                } else if (fabs(acc[k]) > 1e30) {
                    bad += got != (dbl ? acc[k] : (double)(float)acc[k]);
                } else {
                    bad += fabs(got - acc[k]) > (dbl ? 1e-12 : 1e-5) * (1 + fabs(acc[k]));
                }
            }
        }
        if (bad) fprintf(stderr, "  agg %d post %d: %d mismatches\n", agg, post, bad);
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){x, y}, 2);
        txt_reset();
    }
}

TEST(tree_ensemble_rejects_bad_trees) {
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){1, 2}, (float[]){1, 2}), y;
    for (int k = 0; k < 5; k++) {
        ox_node *nd = txt_node(ML, "TreeEnsemble", 1, 1);
        tn_int(nd, "n_targets", 1);
        tn_ints(nd, "tree_roots", 1, (int64_t[]){0});
        tn_ints(nd, "nodes_featureids", 2, (int64_t[]){k == 0 ? 5 : 0, 1});
        /* k == 1: node 1 points back at node 0, a cycle */
        tn_ints(nd, "nodes_truenodeids", 2, (int64_t[]){1, k == 1 ? 0 : 0});
        tn_ints(nd, "nodes_falsenodeids", 2, (int64_t[]){k == 2 ? 7 : 0, 0});
        tn_ints(nd, "nodes_trueleafs", 2, (int64_t[]){0, k == 1 ? 0 : 1});
        tn_ints(nd, "nodes_falseleafs", 2, (int64_t[]){1, k == 1 ? 0 : 1});
        tn_tensor(nd, "nodes_modes", ONYX_DTYPE_UINT8, 1, (int64_t[]){2}, (uint8_t[]){k == 3 ? 9 : 1, 1});
        tn_tensor(nd, "nodes_splits", ONYX_DTYPE_FLOAT, 1, (int64_t[]){2}, (float[]){5, 5});
        tn_ints(nd, "leaf_targetids", 1, (int64_t[]){k == 4 ? 1 : 0});
        tn_tensor(nd, "leaf_weights", ONYX_DTYPE_FLOAT, 1, (int64_t[]){1}, (float[]){1});
        onyx_status st = ox_op_run_single(nd, 5, (ox_tensor *[]){&x}, 1, &y, 1);
        if (st == ONYX_OK) {
            fprintf(stderr, "  case %d accepted\n", k);
            ox_tensor_free_data(&y);
        }
        CHECK(st != ONYX_OK);
    }
    ox_tensor_free_data(&x);
    txt_reset();
}
