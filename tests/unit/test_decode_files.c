/* The ONNX loader with files: external data, the model API, malformed and truncated
 * input, allocation failures, and the ONNX conformance files on disk. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format/testdata.h"
#include "ir/model.h"
#include "pbenc.h"
#include "test.h"
#include "util/alloc.h"

/* ---- external data ------------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const void *p, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(p, 1, n, f) != n) abort();
    fclose(f);
}

/* An initializer of `count` floats (or int64) whose data lives in an external file. */
static void enc_ext_init(pbuf *g, const char *name, int32_t dtype, int64_t count, const char *loc,
                         const char *off, const char *len) {
    pbuf t = {0};
    f_str(&t, 8, name);
    f_int(&t, 1, count);
    f_int(&t, 2, dtype);
    if (loc) enc_kv(&t, 13, "location", loc);
    if (off) enc_kv(&t, 13, "offset", off);
    if (len) enc_kv(&t, 13, "length", len);
    enc_kv(&t, 13, "checksum", "ignored");
    f_int(&t, 14, 1);
    f_msg(g, 5, &t);
}

static void write_model(const char *dir, const char *name, pbuf *g) {
    pbuf m = {0};
    f_int(&m, 1, 8);
    f_msg(&m, 7, g);
    write_file(dir, name, m.p, m.n);
    free(m.p);
}

static char tmpdir[256];
static float ext_w[1024];
static int64_t ext_v[2] = {-5, (int64_t)1 << 50};

static void make_ext_dir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/onyx-decode-XXXXXX");
    if (!mkdtemp(tmpdir)) abort();
    for (int i = 0; i < 1024; i++) ext_w[i] = (float)i * 0.5f - 7.0f;
    write_file(tmpdir, "w.bin", ext_w, sizeof ext_w);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/sub", tmpdir);
    mkdir(sub, 0700);
    write_file(tmpdir, "sub/v.bin", ext_v, sizeof ext_v);
    write_file(tmpdir, "empty.onnx", "", 0);
}

static void remove_ext_dir(void) {
    const char *files[] = {"w.bin", "sub/v.bin", "empty.onnx", "good.onnx", "bad.onnx"};
    char path[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/sub", tmpdir);
    rmdir(path);
    rmdir(tmpdir);
}

static onyx_status load_in_tmp(const char *name, onyx_model **om) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    *om = NULL;
    return onyx_model_load_file(path, om);
}

static void enc_good_ext_graph(pbuf *g) {
    memset(g, 0, sizeof *g);
    enc_ext_init(g, "A", ONYX_DTYPE_FLOAT, 4, "w.bin", "0", "16");
    enc_ext_init(g, "B", ONYX_DTYPE_FLOAT, 2, "./w.bin", "4088", "8");
    enc_ext_init(g, "C", ONYX_DTYPE_INT64, 2, "sub/v.bin", NULL, NULL);
    enc_ext_init(g, "D", ONYX_DTYPE_FLOAT, 1, "w.bin", "6", "4"); /* unaligned: copied */
    enc_ext_init(g, "E", ONYX_DTYPE_FLOAT, 0, "w.bin", "4096", "0");
}

TEST(decode_external_data) {
    make_ext_dir();
    pbuf g;
    enc_good_ext_graph(&g);
    write_model(tmpdir, "good.onnx", &g);
    onyx_model *om;
    onyx_status st = load_in_tmp("good.onnx", &om);
    CHECK(st == ONYX_OK);
    if (st == ONYX_OK) {
        const ox_graph *gr = om->m.graph;
        const float *a = gr->initializers[0].data, *b = gr->initializers[1].data;
        CHECK(gr->initializers[0].external && gr->initializers[0].n_external_data == 4);
        CHECK(a[0] == ext_w[0] && a[3] == ext_w[3]);
        CHECK(b[0] == ext_w[1022] && b[1] == ext_w[1023]);
        const int64_t *cv = gr->initializers[2].data;
        CHECK(cv[0] == ext_v[0] && cv[1] == ext_v[1]);
        float d;
        memcpy(&d, (const uint8_t *)ext_w + 6, 4);
        CHECK(memcmp(gr->initializers[3].data, &d, 4) == 0);
        CHECK(gr->initializers[4].nbytes == 0 && gr->initializers[4].data == NULL);
        CHECK(om->m.n_ext_maps == 3); /* one map per location: w.bin, ./w.bin, sub/v.bin */
        onyx_model_free(om);
    } else {
        fprintf(stderr, "  %s\n", onyx_last_error());
    }
    /* many files: each mapped once, however often it is named */
    pbuf many = {0};
    char fname[32];
    for (int i = 0; i < 40; i++) {
        float v = (float)i + 0.5f;
        snprintf(fname, sizeof fname, "f%d.bin", i);
        write_file(tmpdir, fname, &v, 4);
    }
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 40; i++) {
            snprintf(fname, sizeof fname, "f%d.bin", (i * 7 + r) % 40);
            enc_ext_init(&many, fname, ONYX_DTYPE_FLOAT, 1, fname, NULL, NULL);
        }
    write_model(tmpdir, "good.onnx", &many);
    REQUIRE_OK(load_in_tmp("good.onnx", &om));
    CHECK(om->m.n_ext_maps == 40 && om->m.graph->n_initializers == 120);
    for (size_t i = 0; i < om->m.graph->n_initializers; i++) {
        const ox_tensor_proto *t = &om->m.graph->initializers[i];
        int k = atoi(t->name + 1);
        CHECK(*(const float *)t->data == (float)k + 0.5f);
    }
    onyx_model_free(om);
    for (int i = 0; i < 40; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/f%d.bin", tmpdir, i);
        unlink(path);
    }
    /* the same model from a buffer cannot reach its files */
    pbuf m = {0};
    enc_good_ext_graph(&g);
    f_msg(&m, 7, &g);
    om = NULL;
    CHECK(onyx_model_load_buffer(m.p, m.n, &om) == ONYX_ERR_INVALID_MODEL && om == NULL);
    free(m.p);

    char abs_loc[400];
    snprintf(abs_loc, sizeof abs_loc, "%s/w.bin", tmpdir);
    const struct {
        const char *loc, *off, *len;
        onyx_status want;
    } bad[] = {
        {"../w.bin", NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {abs_loc, NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {"sub/../../w.bin", NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {"sub/..", NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {"sub\\..\\..\\w.bin", NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {"", NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {NULL, NULL, "16", ONYX_ERR_INVALID_MODEL},
        {"w.bin", "4097", NULL, ONYX_ERR_INVALID_MODEL}, /* offset past the end */
        {"w.bin", "4090", "16", ONYX_ERR_INVALID_MODEL}, /* range past the end */
        {"w.bin", "18446744073709551615", "16", ONYX_ERR_INVALID_MODEL},
        {"w.bin", "0", "12", ONYX_ERR_INVALID_MODEL},  /* length != tensor size */
        {"w.bin", NULL, NULL, ONYX_ERR_INVALID_MODEL}, /* whole file != tensor size */
        {"w.bin", "-1", "16", ONYX_ERR_INVALID_MODEL},
        {"w.bin", "1x", "16", ONYX_ERR_INVALID_MODEL},
        {"missing.bin", NULL, "16", ONYX_ERR_IO},
        {"sub", NULL, "16", ONYX_ERR_IO},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pbuf gb = {0};
        enc_ext_init(&gb, "A", ONYX_DTYPE_FLOAT, 4, "w.bin", "0", "16"); /* fine */
        enc_ext_init(&gb, "X", ONYX_DTYPE_FLOAT, 4, bad[i].loc, bad[i].off, bad[i].len);
        write_model(tmpdir, "bad.onnx", &gb);
        st = load_in_tmp("bad.onnx", &om);
        if (st != bad[i].want)
            fprintf(stderr, "  case %zu (%s): got %d: %s\n", i, bad[i].loc ? bad[i].loc : "-",
                    (int)st, onyx_last_error());
        CHECK(st == bad[i].want && om == NULL);
        CHECK(strstr(onyx_last_error(), "'X'") != NULL || bad[i].want == ONYX_ERR_IO);
    }
    remove_ext_dir();
}

TEST(model_api_files_and_arguments) {
    make_ext_dir();
    onyx_model *om = NULL;
    CHECK(load_in_tmp("empty.onnx", &om) == ONYX_ERR_PARSE && om == NULL);
    CHECK(strlen(onyx_last_error()) > 0);
    CHECK(load_in_tmp("nothere.onnx", &om) == ONYX_ERR_IO && om == NULL);
    CHECK(load_in_tmp("sub", &om) == ONYX_ERR_IO && om == NULL);
    CHECK(onyx_model_load_file(NULL, &om) == ONYX_ERR_INVALID_ARGUMENT);
    CHECK(onyx_model_load_buffer(NULL, 4, &om) == ONYX_ERR_INVALID_ARGUMENT);
    CHECK(onyx_model_load_buffer("x", 0, &om) != ONYX_OK);
    CHECK(onyx_model_load_buffer("\x08\x07", 2, NULL) == ONYX_ERR_INVALID_ARGUMENT);
    /* a model without a graph loads; metadata defaults */
    REQUIRE_OK(onyx_model_load_buffer("\x08\x07", 2, &om));
    CHECK(strcmp(onyx_last_error(), "") == 0);
    CHECK(onyx_model_ir_version(om) == 7 && strcmp(onyx_model_producer(om), "") == 0);
    CHECK(om->m.graph == NULL && om->m.dir == NULL && onyx_model_opset(om, "") == 0);
    onyx_model_free(om);
    onyx_model_free(NULL);
    CHECK(onyx_model_ir_version(NULL) == 0 && onyx_model_opset(NULL, "") == 0);
    /* m->dir is the file's folder */
    pbuf g = {0};
    f_str(&g, 2, "g");
    write_model(tmpdir, "good.onnx", &g);
    REQUIRE_OK(load_in_tmp("good.onnx", &om));
    CHECK(om->m.dir && strcmp(om->m.dir, tmpdir) == 0);
    onyx_model_free(om);
    remove_ext_dir();
}

/* ---- malformed input ----------------------------------------------------------------- */

TEST(decode_truncated_and_corrupted_models) {
    pbuf b;
    enc_full_model(&b);
    size_t ok = 0, failed = 0;
    uint8_t *copy = malloc(b.n);
    /* Every prefix: an exact-size heap copy so ASan sees any read past the end. */
    for (size_t cut = 1; cut < b.n; cut++) {
        uint8_t *p = malloc(cut);
        memcpy(p, b.p, cut);
        onyx_model *om = NULL;
        onyx_status st = onyx_model_load_buffer(p, cut, &om);
        if (st == ONYX_OK) {
            ok++;
            onyx_model_free(om);
        } else {
            failed++;
            CHECK(om == NULL && strlen(onyx_last_error()) > 0);
        }
        free(p);
    }
    CHECK(failed > b.n / 2);
    /* every byte replaced by a few values */
    const uint8_t subst[] = {0x00, 0xff, 0x80, 0x7f, 0x0a, 0x12};
    for (size_t i = 0; i < b.n; i++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(copy, b.p, b.n);
            copy[i] = subst[k];
            onyx_model *om = NULL;
            if (onyx_model_load_buffer(copy, b.n, &om) == ONYX_OK) onyx_model_free(om);
        }
    }
    /* random bytes, and random bytes behind a valid prefix */
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 1 + rnd() % 300;
        uint8_t *p = malloc(n);
        size_t keep = iter % 2 ? rnd() % (n < b.n ? n : b.n) : 0;
        memcpy(p, b.p, keep);
        for (size_t i = keep; i < n; i++) p[i] = (uint8_t)rnd();
        onyx_model *om = NULL;
        if (onyx_model_load_buffer(p, n, &om) == ONYX_OK) onyx_model_free(om);
        ox_tensor t;
        if (ox_decode_tensor_file(p, n, &t, NULL) == ONYX_OK) ox_tensor_free_data(&t);
        for (int kind = OX_TESTDATA_TENSOR; kind <= OX_TESTDATA_OPTIONAL; kind++) {
            ox_testdata v;
            if (ox_testdata_decode(p, n, kind, &v) == ONYX_OK) ox_testdata_free(&v);
        }
        free(p);
    }
    free(copy);
    free(b.p);
    (void)ok;
}

/* ---- SequenceProto / OptionalProto ------------------------------------------------------ */

/* optional(sequence([float[2], string[1], optional(int64 scalar)])) */
static void enc_nested_value(pbuf *opt) {
    pbuf seq = {0}, t = {0}, inner = {0};
    memset(opt, 0, sizeof *opt);
    f_str(&seq, 1, "s");
    f_int(&seq, 2, 1);
    enc_small_tensor(&seq, 3, ONYX_DTYPE_FLOAT, 2, "a", 3);
    f_int(&t, 1, 1);
    f_int(&t, 2, ONYX_DTYPE_STRING);
    f_str(&t, 6, "hi");
    f_msg(&seq, 3, &t);
    f_int(&inner, 2, 1);
    f_int(&t, 2, ONYX_DTYPE_INT64);
    f_int(&t, 7, -9);
    f_msg(&inner, 3, &t);
    f_msg(&seq, 7, &inner);
    f_str(opt, 1, "o");
    f_int(opt, 2, 3);
    f_msg(opt, 5, &seq);
}

TEST(decode_sequence_and_optional_files) {
    pbuf b;
    enc_nested_value(&b);
    ox_testdata v;
    REQUIRE_OK(ox_testdata_decode(b.p, b.n, OX_TESTDATA_OPTIONAL, &v));
    CHECK(v.kind == OX_TESTDATA_OPTIONAL && v.present && strcmp(v.name, "o") == 0);
    REQUIRE(v.elem && v.elem->kind == OX_TESTDATA_SEQUENCE && v.elem->n_items == 3);
    const ox_testdata *it = v.elem->items;
    CHECK(it[0].kind == OX_TESTDATA_TENSOR && it[0].tensor.dtype == ONYX_DTYPE_FLOAT);
    CHECK(((float *)it[0].tensor.data)[1] == 4.0f && strcmp(it[0].name, "a") == 0);
    CHECK(it[1].tensor.dtype == ONYX_DTYPE_STRING);
    const ox_string *str = it[1].tensor.data;
    CHECK(str[0].len == 2 && memcmp(str[0].data, "hi", 3) == 0);
    REQUIRE(it[2].kind == OX_TESTDATA_OPTIONAL && it[2].present && it[2].elem);
    CHECK(it[2].elem->tensor.rank == 0 && *(int64_t *)it[2].elem->tensor.data == -9);
    ox_testdata_free(&v);
    /* the same bytes read as the wrong kind fail cleanly */
    CHECK(ox_testdata_decode(b.p, b.n, OX_TESTDATA_TENSOR, &v) != ONYX_OK);
    free(b.p);
    /* an empty optional, an empty sequence */
    pbuf e = {0};
    f_str(&e, 1, "none");
    f_int(&e, 2, 1);
    REQUIRE_OK(ox_testdata_decode(e.p, e.n, OX_TESTDATA_OPTIONAL, &v));
    CHECK(!v.present && v.elem == NULL && strcmp(v.name, "none") == 0);
    ox_testdata_free(&v);
    REQUIRE_OK(ox_testdata_decode(e.p, e.n, OX_TESTDATA_SEQUENCE, &v));
    CHECK(v.kind == OX_TESTDATA_SEQUENCE && v.n_items == 0);
    ox_testdata_free(&v);
    /* maps and sparse tensors are not supported; two optional values are malformed */
    pbuf x = {0};
    f_msg(&x, 6, &e);
    CHECK(ox_testdata_decode(x.p, x.n, OX_TESTDATA_SEQUENCE, &v) == ONYX_ERR_UNSUPPORTED);
    x.n = 0;
    enc_small_tensor(&x, 3, ONYX_DTYPE_FLOAT, 1, NULL, 0);
    enc_small_tensor(&x, 3, ONYX_DTYPE_FLOAT, 1, NULL, 0);
    CHECK(ox_testdata_decode(x.p, x.n, OX_TESTDATA_OPTIONAL, &v) == ONYX_ERR_PARSE);
    free(x.p);
    /* a bad element deep inside frees what was decoded before it */
    pbuf bad = {0}, t = {0};
    enc_small_tensor(&bad, 3, ONYX_DTYPE_FLOAT, 2, "ok", 0);
    f_int(&t, 1, 3);
    f_int(&t, 2, ONYX_DTYPE_FLOAT);
    f_float(&t, 4, 1.0f);
    f_msg(&bad, 3, &t);
    CHECK(ox_testdata_decode(bad.p, bad.n, OX_TESTDATA_SEQUENCE, &v) == ONYX_ERR_INVALID_MODEL);
    CHECK(strstr(onyx_last_error(), "sequence element 1") != NULL);
    free(bad.p);
}

/* ---- allocation failures --------------------------------------------------------------- */

static long fail_after, live_allocs;
static void *fa_alloc(size_t n, void *u) {
    (void)u;
    if (fail_after-- <= 0) return NULL;
    void *p = malloc(n);
    if (p) live_allocs++;
    return p;
}
static void *fa_realloc(void *p, size_t n, void *u) {
    (void)u;
    if (fail_after-- <= 0) return NULL;
    void *q = realloc(p, n);
    if (q && !p) live_allocs++;
    return q;
}
static void fa_free(void *p, void *u) {
    (void)u;
    live_allocs--;
    free(p);
}

TEST(decode_out_of_memory_leaks_nothing) {
    make_ext_dir();
    pbuf g;
    enc_good_ext_graph(&g);
    write_model(tmpdir, "good.onnx", &g);
    pbuf b;
    enc_full_model(&b);
    onyx_allocator fa = {fa_alloc, fa_realloc, fa_free, NULL};
    pbuf v;
    enc_nested_value(&v);
    for (int which = 0; which < 3; which++) {
        int done = 0;
        for (long k = 0; k < 10000 && !done; k++) {
            fail_after = k;
            live_allocs = 0;
            onyx_set_allocator(&fa);
            onyx_model *om = NULL;
            onyx_status st;
            if (which < 2) {
                st = which ? load_in_tmp("good.onnx", &om) : onyx_model_load_buffer(b.p, b.n, &om);
            } else {
                ox_testdata td;
                st = ox_testdata_decode(v.p, v.n, OX_TESTDATA_OPTIONAL, &td);
                if (st == ONYX_OK) ox_testdata_free(&td);
            }
            if (st == ONYX_OK) {
                done = 1;
                onyx_model_free(om);
            } else {
                CHECK(st == ONYX_ERR_OUT_OF_MEMORY && om == NULL);
            }
            onyx_set_allocator(NULL);
            CHECK(live_allocs == 0);
        }
        CHECK(done);
    }
    free(v.p);
    free(b.p);
    remove_ext_dir();
}

/* ---- the ONNX conformance files ---------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 12, len = 0;
    uint8_t *p = malloc(cap);
    size_t got;
    while ((got = fread(p + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) p = realloc(p, cap *= 2);
    }
    fclose(f);
    *n = len;
    return p;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in dir starting with prefix (caller frees each and the array). */
static char **list_dir(const char *dir, const char *prefix, size_t *n) {
    DIR *d = opendir(dir);
    *n = 0;
    if (!d) return NULL;
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        if (*n == cap) names = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (*n) qsort(names, *n, sizeof *names, by_name);
    return names;
}

static void free_list(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Graph input k that is fed by input_k.pb: the k-th input that is not an initializer. */
static const ox_value_info *fed_input(const ox_graph *g, size_t k) {
    for (size_t i = 0; i < g->n_inputs; i++) {
        int init = 0;
        for (size_t j = 0; j < g->n_initializers && !init; j++)
            init = strcmp(g->initializers[j].name, g->inputs[i].name) == 0;
        if (init) continue;
        if (k-- == 0) return &g->inputs[i];
    }
    return NULL;
}

typedef struct walk_counts {
    size_t models, models_ok, models_unsupported, files, files_ok, files_unsupported;
    size_t seq, opt;
} walk_counts;

static void check_data_file(const char *path, const ox_value_info *vi, walk_counts *c) {
    size_t n;
    uint8_t *p = slurp(path, &n);
    if (!p) {
        CHECK(0);
        return;
    }
    c->files++;
    int kind = ox_testdata_kind_of(vi ? vi->type : NULL);
    ox_testdata v;
    onyx_status st = ox_testdata_decode(p, n, kind, &v);
    if (st == ONYX_OK) {
        c->files_ok++;
        c->seq += kind == OX_TESTDATA_SEQUENCE;
        c->opt += kind == OX_TESTDATA_OPTIONAL;
        if (kind == OX_TESTDATA_TENSOR && vi && vi->type && vi->type->kind == OX_TYPE_TENSOR &&
            vi->type->elem_type)
            CHECK(v.tensor.dtype == vi->type->elem_type);
        ox_testdata_free(&v);
    } else if (st == ONYX_ERR_UNSUPPORTED) {
        c->files_unsupported++;
        if (getenv("ONYX_TEST_VERBOSE")) printf("  unsupported: %s: %s\n", path, onyx_last_error());
    } else {
        fprintf(stderr, "  %s: %s\n", path, onyx_last_error());
        CHECK(0);
    }
    free(p);
}

/* Load every <folder>/<case>/model.onnx and decode its test data; returns 0 when the
 * folder is missing. */
static int walk_folder(const char *folder, walk_counts *c) {
    size_t n_cases;
    char **cases = list_dir(folder, "", &n_cases);
    if (!cases) return 0;
    for (size_t i = 0; i < n_cases; i++) {
        char dir[2048], path[4096];
        snprintf(dir, sizeof dir, "%s/%s", folder, cases[i]);
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        if (access(path, R_OK) != 0) continue;
        c->models++;
        onyx_model *om = NULL;
        onyx_status st = onyx_model_load_file(path, &om);
        if (st == ONYX_ERR_UNSUPPORTED) {
            c->models_unsupported++;
            continue;
        }
        if (st != ONYX_OK) {
            fprintf(stderr, "  %s: %s\n", path, onyx_last_error());
            CHECK(0);
            continue;
        }
        c->models_ok++;
        const ox_graph *g = om->m.graph;
        CHECK(g != NULL);
        size_t n_sets;
        char **sets = list_dir(dir, "test_data_set_", &n_sets);
        for (size_t s = 0; g && s < n_sets; s++) {
            char sdir[3072];
            snprintf(sdir, sizeof sdir, "%s/%s", dir, sets[s]);
            size_t n_files;
            char **files = list_dir(sdir, "", &n_files);
            for (size_t f = 0; f < n_files; f++) {
                unsigned k;
                const ox_value_info *vi = NULL;
                if (sscanf(files[f], "input_%u.pb", &k) == 1)
                    vi = fed_input(g, k);
                else if (sscanf(files[f], "output_%u.pb", &k) == 1)
                    vi = k < g->n_outputs ? &g->outputs[k] : NULL;
                else
                    continue;
                snprintf(path, sizeof path, "%s/%s", sdir, files[f]);
                check_data_file(path, vi, c);
            }
            free_list(files, n_files);
        }
        free_list(sets, n_sets);
        onyx_model_free(om);
    }
    free_list(cases, n_cases);
    return 1;
}

/* The ONNX test folders (ONYX_ONNX_TESTS, default ../shared/onnx-tests) and the repo's
 * examples/: every model and data file must decode. */
TEST(decode_conformance_files) {
    const char *root = getenv("ONYX_ONNX_TESTS");
    const char *folders[] = {"node", "pytorch-converted", "pytorch-operator", "simple", NULL};
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
        char dir[1024];
        if (folders[i])
            snprintf(dir, sizeof dir, "%s/%s", root ? root : "../shared/onnx-tests", folders[i]);
        else
            snprintf(dir, sizeof dir, "examples");
        walk_counts c;
        memset(&c, 0, sizeof c);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (!walk_folder(dir, &c)) {
            printf("  decode_conformance_files: %s not found, skipped\n", dir);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        printf("  decode_conformance_files: %s: %zu models: %zu ok, %zu unsupported; "
               "%zu data files: %zu ok (%zu sequences, %zu optionals), %zu unsupported dtype; "
               "%.0f ms\n",
               dir, c.models, c.models_ok, c.models_unsupported, c.files, c.files_ok, c.seq, c.opt,
               c.files_unsupported, ms);
        CHECK(c.models_ok > 0);
    }
}
