/* NonMaxSuppression (opsets 10, 11): per batch and class, take boxes by
 * decreasing score (ties: lower box index first), dropping those at or below
 * score_threshold and those overlapping an already kept box with IoU above
 * iou_threshold, up to max_output_boxes_per_class. The output,
 * [num_selected, 3] rows of (batch, class, box), is sized only by running. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/image_ops.h"
#include "ops/tensor_util.h"
#include "util/alloc.h"

typedef struct {
    int center_point_box;
} nms_state;

onyx_status ox_img_nms_prepare(ox_op_ctx *c) {
    nms_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    int64_t cpb = ox_attr_int(c, "center_point_box", 0);
    onyx_status s = ox_op_status(c);
    if (s == ONYX_OK && cpb != 0 && cpb != 1)
        s = ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'center_point_box' must be 0 or 1");
    if (s != ONYX_OK) {
        ox_free(st);
        return s;
    }
    st->center_point_box = (int)cpb;
    c->state = st;
    return ONYX_OK;
}

static onyx_status nms_check(ox_op_ctx *c) {
    OX_TRY(ox_img_need(c, 2));
    const ox_tensor *boxes = c->in[0], *scores = c->in[1];
    if (!ox_img_floatlike(boxes->dtype) || !ox_img_floatlike(scores->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs 'boxes' and 'scores' must be float tensors");
    if (boxes->rank != 3 || boxes->dims[2] != 4)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "input 'boxes' must have shape (num_batches, spatial_dimension, 4)");
    if (scores->rank != 3 || scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "input 'scores' must have shape (num_batches, num_classes, "
                        "spatial_dimension) matching 'boxes'");
    static const char *const names[] = {NULL, NULL, "max_output_boxes_per_class", "iou_threshold",
                                        "score_threshold"};
    for (size_t i = 2; i < 5; i++) {
        if (!ox_has_input(c, i)) continue;
        const ox_tensor *t = c->in[i];
        int ok = i == 2 ? ox_dtype_is_int(t->dtype) : ox_img_floatlike(t->dtype);
        if (!ok || ox_tensor_count(t) > 1)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' must be a %s scalar", names[i],
                            i == 2 ? "int64" : "float");
    }
    return ONYX_OK;
}

onyx_status ox_img_nms_infer(ox_op_ctx *c) {
    OX_TRY(nms_check(c));
    int64_t dims[2] = {0, 3}; /* the row count is known only by running */
    ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 2, dims);
    return ONYX_OK;
}

typedef struct {
    double score;
    int64_t idx;
} nms_cand;

static int nms_cmp(const void *pa, const void *pb) {
    const nms_cand *a = pa, *b = pb;
    /* descending score with NaN last, then ascending index */
    int an = a->score != a->score, bn = b->score != b->score;
    if (an != bn) return an - bn;
    if (!an && a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* Corners (xmin, ymin, xmax, ymax) of box i. */
static void nms_corners(const ox_tensor *boxes, size_t base, int center, double *q) {
    double v[4];
    for (int k = 0; k < 4; k++) v[k] = ox_tensor_get_double(boxes, base + (size_t)k);
    if (center) { /* (x_center, y_center, width, height) */
        q[0] = v[0] - v[2] / 2;
        q[2] = v[0] + v[2] / 2;
        q[1] = v[1] - v[3] / 2;
        q[3] = v[1] + v[3] / 2;
    } else { /* (y1, x1, y2, x2), either corner order */
        q[0] = fmin(v[1], v[3]);
        q[2] = fmax(v[1], v[3]);
        q[1] = fmin(v[0], v[2]);
        q[3] = fmax(v[0], v[2]);
    }
}

static int nms_suppress(const double *a, const double *b, double iou_threshold) {
    double ix0 = fmax(a[0], b[0]), ix1 = fmin(a[2], b[2]);
    if (!(ix1 > ix0)) return 0;
    double iy0 = fmax(a[1], b[1]), iy1 = fmin(a[3], b[3]);
    if (!(iy1 > iy0)) return 0;
    double inter = (ix1 - ix0) * (iy1 - iy0);
    double area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
    double uni = area_a + area_b - inter;
    if (!(inter > 0) || !(area_a > 0) || !(area_b > 0) || !(uni > 0)) return 0;
    return inter / uni > iou_threshold;
}

onyx_status ox_img_nms_run(ox_op_ctx *c) {
    const nms_state *st = c->state;
    OX_TRY(nms_check(c));
    const ox_tensor *boxes = c->in[0], *scores = c->in[1];
    int64_t max_out = 0;
    double iou = 0, score_thr = 0;
    int use_score = 0;
    if (ox_has_input(c, 2) && ox_tensor_count(c->in[2]) == 1) max_out = ox_tensor_get_int(c->in[2], 0);
    if (ox_has_input(c, 3) && ox_tensor_count(c->in[3]) == 1) iou = ox_tensor_get_double(c->in[3], 0);
    if (ox_has_input(c, 4) && ox_tensor_count(c->in[4]) == 1) {
        score_thr = ox_tensor_get_double(c->in[4], 0);
        use_score = 1;
    }
    size_t B = (size_t)boxes->dims[0], nb = (size_t)boxes->dims[1], C = (size_t)scores->dims[1];
    size_t limit = max_out > 0 ? ((uint64_t)max_out < nb ? (size_t)max_out : nb) : 0;
    nms_cand *cand = ox_malloc_array(nb ? nb : 1, sizeof *cand);
    double *kept = ox_malloc_array(limit ? limit : 1, 4 * sizeof(double));
    int64_t *rows = NULL;
    size_t n_rows = 0, cap = 0;
    onyx_status s = cand && kept ? ONYX_OK : ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t b = 0; b < B && s == ONYX_OK && limit; b++)
        for (size_t k = 0; k < C && s == ONYX_OK; k++) {
            size_t n = 0, n_kept = 0;
            for (size_t i = 0; i < nb; i++) {
                double sc = ox_tensor_get_double(scores, (b * C + k) * nb + i);
                if (use_score && !(sc > score_thr)) continue;
                cand[n].score = sc;
                cand[n].idx = (int64_t)i;
                n++;
            }
            qsort(cand, n, sizeof *cand, nms_cmp);
            for (size_t i = 0; i < n && n_kept < limit; i++) {
                double q[4];
                nms_corners(boxes, (b * nb + (size_t)cand[i].idx) * 4, st->center_point_box, q);
                int keep = 1;
                for (size_t j = 0; j < n_kept && keep; j++)
                    if (nms_suppress(q, kept + 4 * j, iou)) keep = 0;
                if (!keep) continue;
                memcpy(kept + 4 * n_kept++, q, sizeof q);
                if (n_rows == cap) {
                    size_t ncap = cap ? 2 * cap : 64;
                    int64_t *nr = ox_realloc(rows, ncap * 3 * sizeof *rows);
                    if (!nr) {
                        s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
                        break;
                    }
                    rows = nr;
                    cap = ncap;
                }
                rows[3 * n_rows] = (int64_t)b;
                rows[3 * n_rows + 1] = (int64_t)k;
                rows[3 * n_rows + 2] = cand[i].idx;
                n_rows++;
            }
        }
    if (s == ONYX_OK) {
        int64_t dims[2] = {(int64_t)n_rows, 3};
        ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 2, dims);
        s = c->alloc_output(c, 0);
        if (s == ONYX_OK && n_rows) memcpy(c->out[0]->data, rows, n_rows * 3 * sizeof *rows);
    }
    ox_free(cand);
    ox_free(kept);
    ox_free(rows);
    return s;
}
