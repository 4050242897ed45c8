/* Small models built in the tests (test_fusion.c, test_conv_chain.c): a graph whose
 * input "x" has a given shape, its nodes and float32 initializers, and runs with and
 * without the planner's fusion; each run records the labels of the steps it ran. */
#ifndef OX_TEST_MBUILD_H
#define OX_TEST_MBUILD_H

#include "onyx.h"
#include "pbenc.h"

/* the step labels of mb_run's last run (its node_callback, mb_record) */
extern char mb_labels[32][64];
extern int mb_n_labels;
void mb_record(void *user, const char *name, const char *op, double s);
int mb_any_label(const char *want);
/* print the last run's steps after `what` and count a test failure */
void mb_print_labels(const char *what);

/* A graph being built: its GraphProto fields and the shape of its input "x". */
typedef struct mbuild {
    pbuf g;
    int rank;
    int64_t dims[4];
} mbuild;

/* Start a graph whose input "x" has the given shape. */
void mb_begin(mbuild *m, int rank, const int64_t *dims);
/* A node of up to three inputs (b, c: NULL when absent), named after its output. */
void mb_node(mbuild *m, const char *op, const char *a, const char *b, const char *c,
             const char *out);
/* A float32 initializer with the given dims and values. */
void mb_init(mbuild *m, const char *name, int rank, const int64_t *dims, const float *v);
void mb_scalar(mbuild *m, const char *name, float v);
/* A float32 graph output of unknown shape. */
void mb_output(mbuild *m, const char *name);

/* The ModelProto (opset 17) of the graph into m (the caller frees m->p). */
void mb_model(const mbuild *mb, pbuf *m);

/* Count the library's allocations from mb_count_start() to mb_count_stop(), which
 * returns how many there were (onyx_set_allocator). */
void mb_count_start(void);
size_t mb_count_stop(void);

extern size_t mb_last_arena; /* the arena of mb_run's last session */
extern int mb_threads;       /* mb_run's session threads (0: the calling thread) */
/* Run the model (opset 17) on x for the requested names. */
onyx_status mb_run(const mbuild *mb, int disable_fusion, const float *x, size_t n_req,
                   const char *const *req, onyx_tensor **outs);
/* Run without and with fusion. fused_label: the step the fused run must have; NULL:
 * the fused run must have exactly the steps of the unfused one; "": any steps. Returns the largest
 * difference of the requested values, relative to max(1, |unfused|); *fused gets the
 * fused run's output 0 (the caller frees it). Negative when a run fails. */
double mb_fused_vs_plain(const mbuild *mb, const float *x, size_t n_req, const char *const *req,
                         const char *fused_label, onyx_tensor **fused);

#endif
