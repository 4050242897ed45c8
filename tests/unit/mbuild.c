/* Small models built in the tests: see mbuild.h. */
#include "mbuild.h"

#include <math.h>
#include <string.h>

#include "test.h"

char mb_labels[32][64];
int mb_n_labels;
void mb_record(void *user, const char *name, const char *op, double s) {
    (void)user;
    (void)name;
    (void)s;
    if (mb_n_labels < 32) snprintf(mb_labels[mb_n_labels++], 64, "%s", op);
}

int mb_any_label(const char *want) {
    for (int i = 0; i < mb_n_labels; i++)
        if (!strcmp(mb_labels[i], want)) return 1;
    return 0;
}


void mb_node(mbuild *m, const char *op, const char *a, const char *b, const char *c,
             const char *out) {
    pbuf n = {0};
    f_str(&n, 1, a);
    if (b) f_str(&n, 1, b);
    if (c) f_str(&n, 1, c);
    f_str(&n, 2, out);
    f_str(&n, 3, out); /* node named after its output */
    f_str(&n, 4, op);
    f_msg(&m->g, 1, &n);
}

/* A float32 initializer with the given dims and values. */
void mb_init(mbuild *m, const char *name, int rank, const int64_t *dims, const float *v) {
    pbuf t = {0};
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        f_int(&t, 1, dims[i]);
        n *= (size_t)dims[i];
    }
    f_int(&t, 2, ONYX_DTYPE_FLOAT);
    for (size_t i = 0; i < n; i++) f_float(&t, 4, v[i]);
    f_str(&t, 8, name);
    f_msg(&m->g, 5, &t);
}

void mb_scalar(mbuild *m, const char *name, float v) { mb_init(m, name, 0, NULL, &v); }

/* A float32 graph output of unknown shape. */
void mb_output(mbuild *m, const char *name) {
    pbuf tp = {0}, v = {0};
    enc_tensor_type(&tp, 1, ONYX_DTYPE_FLOAT, -1, NULL, NULL);
    f_str(&v, 1, name);
    f_msg(&v, 2, &tp);
    f_msg(&m->g, 12, &v);
}

/* Start a graph whose input "x" has the given shape. */
void mb_begin(mbuild *m, int rank, const int64_t *dims) {
    memset(m, 0, sizeof *m);
    m->rank = rank;
    memcpy(m->dims, dims, (size_t)rank * sizeof *dims);
    pbuf tp = {0}, v = {0};
    enc_tensor_type(&tp, 1, ONYX_DTYPE_FLOAT, rank, dims, NULL);
    f_str(&v, 1, "x");
    f_msg(&v, 2, &tp);
    f_msg(&m->g, 11, &v);
}

size_t mb_last_arena; /* the arena of mb_run's last session */
int mb_threads;       /* mb_run's session threads (0: the calling thread) */

/* Run the model (opset 17) on x for the requested names. */
void mb_model(const mbuild *mb, pbuf *m) {
    pbuf g = {0};
    put(&g, mb->g.p, mb->g.n);
    f_str(&g, 2, "g");
    f_int(m, 1, 8);
    enc_opset(m, 8, "", 17);
    f_msg(m, 7, &g);
}

static size_t n_allocs;
static void *count_alloc(size_t size, void *user) {
    (void)user;
    n_allocs++;
    return malloc(size);
}
static void *count_realloc(void *p, size_t size, void *user) {
    (void)user;
    n_allocs++;
    return realloc(p, size);
}
static void count_free(void *p, void *user) {
    (void)user;
    free(p);
}

void mb_count_start(void) {
    static const onyx_allocator a = {count_alloc, count_realloc, count_free, NULL};
    n_allocs = 0;
    onyx_set_allocator(&a);
}

size_t mb_count_stop(void) {
    onyx_set_allocator(NULL);
    return n_allocs;
}

onyx_status mb_run(const mbuild *mb, int disable_fusion, const float *x, size_t n_req,
                   const char *const *req, onyx_tensor **outs) {
    pbuf m = {0};
    mb_model(mb, &m);
    onyx_model *model = NULL;
    onyx_session *s = NULL;
    onyx_tensor *in = NULL;
    onyx_status st = onyx_model_load_buffer(m.p, m.n, &model);
    onyx_session_options o;
    onyx_session_options_init(&o);
    o.disable_fusion = disable_fusion;
    o.node_callback = mb_record;
    o.threads = mb_threads;
    if (st == ONYX_OK) st = onyx_session_create(model, &o, &s);
    int known = 0;
    mb_last_arena = st == ONYX_OK ? onyx_session_arena_bytes(s, &known) : 0;
    size_t xn = 1;
    for (int i = 0; i < mb->rank; i++) xn *= (size_t)mb->dims[i];
    if (st == ONYX_OK) st = onyx_tensor_wrap(ONYX_DTYPE_FLOAT, mb->rank, mb->dims, (void *)x, xn * 4, &in);
    const char *name = "x";
    mb_n_labels = 0;
    if (st == ONYX_OK) st = onyx_session_run(s, 1, &name, (const onyx_tensor *const *)&in, n_req, req, outs);
    onyx_tensor_free(in);
    onyx_session_free(s);
    onyx_model_free(model);
    free(m.p);
    return st;
}

void mb_print_labels(const char *what) {
    fprintf(stderr, "  %s; steps:", what);
    for (int i = 0; i < mb_n_labels; i++) fprintf(stderr, " %s", mb_labels[i]);
    fprintf(stderr, "\n");
    ox_test_failures++;
}

/* Run without and with fusion. fused_label: the step the fused run must have; NULL:
 * the fused run must have exactly the steps of the unfused one. Returns the largest
 * difference of the requested values, relative to max(1, |unfused|); *fused gets the
 * fused run's output 0 (the caller frees it). Negative when a run fails. */
double mb_fused_vs_plain(const mbuild *mb, const float *x, size_t n_req, const char *const *req,
                         const char *fused_label, onyx_tensor **fused) {
    onyx_tensor *a[2] = {0}, *b[2] = {0};
    char plain[32][64];
    int n_plain;
    *fused = NULL;
    if (mb_run(mb, 1, x, n_req, req, a) != ONYX_OK) {
        fprintf(stderr, "  unfused run: %s\n", onyx_last_error());
        return -1;
    }
    n_plain = mb_n_labels;
    memcpy(plain, mb_labels, sizeof plain);
    if (mb_run(mb, 0, x, n_req, req, b) != ONYX_OK) {
        fprintf(stderr, "  fused run: %s\n", onyx_last_error());
        for (size_t k = 0; k < n_req; k++) onyx_tensor_free(a[k]);
        return -1;
    }
    if (fused_label && *fused_label && !mb_any_label(fused_label)) mb_print_labels("no fused step");
    if (!fused_label) {
        int same = n_plain == mb_n_labels;
        for (int i = 0; same && i < mb_n_labels; i++) same = !strcmp(plain[i], mb_labels[i]);
        if (!same) mb_print_labels("fused where it must not");
    }
    double worst = 0;
    for (size_t k = 0; k < n_req; k++) {
        const float *p = onyx_tensor_data_const(a[k]), *q = onyx_tensor_data_const(b[k]);
        if (onyx_tensor_count(a[k]) != onyx_tensor_count(b[k])) worst = 1e9;
        else
            for (size_t i = 0; i < onyx_tensor_count(a[k]); i++)
                worst = fmax(worst, fabs((double)p[i] - q[i]) / fmax(1.0, fabs((double)p[i])));
        onyx_tensor_free(a[k]);
        if (k) onyx_tensor_free(b[k]);
    }
    *fused = b[0];
    return worst;
}
