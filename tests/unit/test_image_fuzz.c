/* Malformed and extreme inputs for the image ops: random shapes (empty ones
 * included), types, attributes and values (NaN, infinities, huge and negative
 * numbers). Every run must either succeed or fail with a message; the sanitizer
 * build checks that none reads or writes out of bounds. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tensor_helpers.h"
#include "test.h"
#include "test_image.h"

static double wild_double(void) {
    static const double v[] = {0, 1, -1, 0.5, 2, 3.7, -2.2, 7, 0.25, 1e-30, 1e20, 1e30, -1e30};
    switch (img_rnd(16)) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    default: return v[img_rnd((int)(sizeof v / sizeof *v))];
    }
}

static int64_t wild_int(void) {
    static const int64_t v[] = {-1, 0, 1, 2, 3, 4, 5, -7, INT64_MAX, INT64_MIN};
    return v[img_rnd((int)(sizeof v / sizeof *v))];
}

static ox_tensor wild_tensor(int32_t dtype, int32_t rank, const int64_t *dims) {
    if (dtype == ONYX_DTYPE_STRING) return tx_rand_tensor(dtype, rank, dims);
    ox_tensor t = tt_make(dtype, rank, dims, NULL);
    size_t n = ox_tensor_count(&t);
    for (size_t i = 0; i < n; i++) {
        switch (dtype) {
        case ONYX_DTYPE_FLOAT: ((float *)t.data)[i] = (float)wild_double(); break;
        case ONYX_DTYPE_DOUBLE: ((double *)t.data)[i] = wild_double(); break;
        case ONYX_DTYPE_INT64: ((int64_t *)t.data)[i] = wild_int(); break;
        case ONYX_DTYPE_INT32: ((int32_t *)t.data)[i] = (int32_t)img_rnd(9) - 3; break;
        case ONYX_DTYPE_UINT8: ((uint8_t *)t.data)[i] = (uint8_t)img_rnd(256); break;
        default: break;
        }
    }
    return t;
}

/* A random tensor: mostly small sane shapes, sometimes odd ranks or empty dims. */
static ox_tensor rand_input(int32_t dtype, int32_t rank_hint, int64_t last) {
    int32_t rank = img_rnd(5) ? rank_hint : img_rnd(6);
    int64_t dims[6];
    for (int32_t i = 0; i < rank; i++) dims[i] = img_rnd(8) ? 1 + img_rnd(4) : 0;
    if (rank && last >= 0 && img_rnd(4)) dims[rank - 1] = last;
    return wild_tensor(dtype, rank, dims);
}

static ox_tensor rand_vec(int32_t dtype, int64_t n) {
    if (!img_rnd(6)) n = img_rnd(6);
    return wild_tensor(dtype, 1, &n);
}

static const int32_t data_types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE,
                                     ONYX_DTYPE_UINT8, ONYX_DTYPE_INT64, ONYX_DTYPE_STRING};
static int32_t rand_type(void) { return data_types[img_rnd(6)]; }

static void pick_str(ox_node *n, const char *attr, const char *const *names, int count) {
    if (img_rnd(3)) tn_str(n, attr, names[img_rnd(count)]);
}

static int n_ok[6], n_refused[6], which;

static int run_one(ox_node *n, int64_t opset, ox_tensor **in, size_t n_in) {
    ox_tensor y;
    onyx_status s = img_run(n, opset, in, n_in, &y, 1, NULL);
    if (s == ONYX_OK) {
        n_ok[which]++;
        ox_tensor_free_data(&y);
        return 0;
    }
    n_refused[which]++;
    if (s == OX_NEED_VALUE || onyx_last_error()[0] == '\0') {
        fprintf(stderr, "  %s-%lld failed without a message (%d)\n", n->op_type, (long long)opset, s);
        return 1;
    }
    return 0;
}

static int fuzz_resize(void) {
    static const char *modes[] = {"nearest", "linear", "cubic", "bilinear", "x"};
    static const char *ctms[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                 "align_corners", "asymmetric", "tf_crop_and_resize",
                                 "tf_half_pixel_for_nn"};
    static const char *nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    static const char *pol[] = {"stretch", "not_larger", "not_smaller"};
    static const int64_t opsets[] = {1, 7, 9, 10, 11, 13, 18, 19};
    int64_t opset = opsets[img_rnd(8)];
    int upsample = opset < 10 || !img_rnd(8);
    int32_t r = 1 + img_rnd(4);
    ox_node *n = tn_node(upsample ? "Upsample" : "Resize", 4, 1);
    pick_str(n, "mode", modes, 5);
    pick_str(n, "coordinate_transformation_mode", ctms, 7);
    pick_str(n, "nearest_mode", nms, 4);
    pick_str(n, "keep_aspect_ratio_policy", pol, 3);
    if (img_rnd(3)) tn_int(n, "antialias", img_rnd(2));
    if (img_rnd(3)) tn_int(n, "exclude_outside", img_rnd(2));
    if (img_rnd(3)) tn_float(n, "cubic_coeff_a", (float)wild_double());
    if (img_rnd(3)) tn_float(n, "extrapolation_value", (float)wild_double());
    if (img_rnd(3)) {
        int64_t axes[5];
        size_t na = (size_t)img_rnd(5);
        for (size_t i = 0; i < na; i++) axes[i] = img_rnd(11) - 5;
        tn_ints(n, "axes", na, axes);
    }
    if (img_rnd(2)) {
        float sc[5];
        size_t ns = (size_t)(img_rnd(4) ? r : img_rnd(6));
        for (size_t i = 0; i < ns; i++) sc[i] = img_rnd(3) ? (float)(0.5 * (1 + img_rnd(5))) : (float)wild_double();
        tn_floats(n, "scales", ns, sc);
    }
    if (img_rnd(2)) tn_float(n, "height_scale", (float)(1 + img_rnd(3)));
    if (img_rnd(2)) tn_float(n, "width_scale", (float)(1 + img_rnd(3)));
    ox_tensor x = rand_input(rand_type(), r, -1);
    ox_tensor roi = rand_vec(img_rnd(4) ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_INT64, 2 * (int64_t)r);
    ox_tensor sc = wild_tensor(ONYX_DTYPE_FLOAT, 1, (int64_t[]){img_rnd(4) ? r : img_rnd(6)});
    int sane = img_rnd(4) != 0;
    for (size_t i = 0; sane && i < ox_tensor_count(&sc); i++)
        ((float *)sc.data)[i] = (float)(0.5 * (1 + img_rnd(6)));
    for (size_t i = 0; roi.dtype == ONYX_DTYPE_FLOAT && img_rnd(3) && i < ox_tensor_count(&roi); i++)
        ((float *)roi.data)[i] = (float)img_uniform(-0.5, 1.5);
    ox_tensor sz = rand_vec(img_rnd(6) ? ONYX_DTYPE_INT64 : ONYX_DTYPE_FLOAT, r);
    sane = img_rnd(4) != 0;
    for (size_t i = 0; sz.dtype == ONYX_DTYPE_INT64 && sane && i < ox_tensor_count(&sz); i++)
        ((int64_t *)sz.data)[i] = img_rnd(9);
    int pick = img_rnd(5); /* 0..1 scales, 2..3 sizes, 4 any */
    int use_sc = pick < 2 || (pick == 4 && img_rnd(2)), use_sz = pick == 2 || pick == 3 || (pick == 4 && img_rnd(2));
    ox_tensor *in[4] = {&x, img_rnd(3) ? &roi : NULL, use_sc ? &sc : NULL, use_sz ? &sz : NULL};
    size_t n_in = upsample && opset < 9 ? 1 : opset < 11 ? 2 : 4;
    if (opset < 11) in[1] = &sc;
    int f = run_one(n, opset, in, n_in);
    img_free((ox_tensor[]){x, roi, sc, sz}, 4);
    return f;
}

static int fuzz_grid_sample(void) {
    static const char *modes[] = {"linear", "nearest", "cubic", "bilinear", "bicubic", "x"};
    static const char *pads[] = {"zeros", "border", "reflection", "x"};
    int32_t r = 1 + img_rnd(3);
    ox_node *n = tn_node("GridSample", 2, 1);
    pick_str(n, "mode", modes, 6);
    pick_str(n, "padding_mode", pads, 4);
    if (img_rnd(2)) tn_int(n, "align_corners", img_rnd(3));
    ox_tensor x = rand_input(rand_type(), r + 2, -1);
    int32_t gt = img_rnd(5) ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_DOUBLE;
    ox_tensor g;
    if (img_rnd(3)) { /* a well-formed grid for X's batch, with wild values */
        int64_t gd[6] = {x.rank ? x.dims[0] : 1};
        for (int32_t i = 1; i <= r; i++) gd[i] = img_rnd(6) ? 1 + img_rnd(3) : 0;
        gd[r + 1] = r;
        g = wild_tensor(gt, r + 2, gd);
    } else {
        g = rand_input(gt, r + 2, r);
    }
    int f = run_one(n, img_rnd(2) ? 16 : 20, (ox_tensor *[]){&x, &g}, 2);
    img_free((ox_tensor[]){x, g}, 2);
    return f;
}

static int fuzz_affine_grid(void) {
    int nd = 2 + img_rnd(2);
    ox_node *n = tn_node("AffineGrid", 2, 1);
    if (img_rnd(2)) tn_int(n, "align_corners", img_rnd(2));
    int64_t td[3] = {img_rnd(3), nd, nd + 1};
    if (!img_rnd(5)) td[2] = 2;
    ox_tensor th = wild_tensor(img_rnd(5) ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_INT64, 3, td);
    ox_tensor sz = rand_vec(ONYX_DTYPE_INT64, nd + 2);
    for (size_t i = 0; img_rnd(5) && i < ox_tensor_count(&sz); i++)
        ((int64_t *)sz.data)[i] = i == 0 ? td[0] : img_rnd(5);
    int f = run_one(n, 20, (ox_tensor *[]){&th, &sz}, 2);
    img_free((ox_tensor[]){th, sz}, 2);
    return f;
}

static int fuzz_roi(void) {
    static const char *modes[] = {"avg", "max", "x"};
    static const char *ctms[] = {"half_pixel", "output_half_pixel", "x"};
    int align = img_rnd(2);
    ox_node *n = tn_node(align ? "RoiAlign" : "MaxRoiPool", align ? 3 : 2, 1);
    if (align) {
        pick_str(n, "mode", modes, 3);
        pick_str(n, "coordinate_transformation_mode", ctms, 3);
        if (img_rnd(2)) tn_int(n, "output_height", img_rnd(8) ? 1 + img_rnd(3) : -1);
        if (img_rnd(2)) tn_int(n, "output_width", img_rnd(8) ? 1 + img_rnd(3) : 0);
        if (img_rnd(2)) tn_int(n, "sampling_ratio", img_rnd(8) ? img_rnd(3) : -1);
    } else if (img_rnd(8)) {
        tn_ints(n, "pooled_shape", 2, (int64_t[]){img_rnd(8) ? 1 + img_rnd(3) : 0, 1 + img_rnd(3)});
    }
    if (img_rnd(2)) tn_float(n, "spatial_scale", img_rnd(4) ? 0.5f : (float)wild_double());
    ox_tensor x = rand_input(img_rnd(12) ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_INT64, 4, -1);
    ox_tensor rois = rand_input(ONYX_DTYPE_FLOAT, 2, align ? 4 : 5);
    int64_t batch = x.rank ? x.dims[0] : 1;
    int sane = img_rnd(4) != 0;
    for (size_t i = 0; sane && i < ox_tensor_count(&rois); i++)
        ((float *)rois.data)[i] = (float)(align || i % 5 ? img_uniform(-2, 8) : img_rnd((int)batch + 1));
    ox_tensor bi = rand_vec(ONYX_DTYPE_INT64, rois.rank ? rois.dims[0] : 1);
    sane = img_rnd(4) != 0;
    for (size_t i = 0; sane && i < ox_tensor_count(&bi); i++)
        ((int64_t *)bi.data)[i] = img_rnd((int)batch + (img_rnd(8) ? 0 : 1));
    int64_t opset = align ? (img_rnd(2) ? 10 : 16) : 22;
    int f = run_one(n, opset, (ox_tensor *[]){&x, &rois, &bi}, align ? 3 : 2);
    img_free((ox_tensor[]){x, rois, bi}, 3);
    return f;
}

static int fuzz_nms(void) {
    ox_node *n = tn_node("NonMaxSuppression", 5, 1);
    if (img_rnd(2)) tn_int(n, "center_point_box", img_rnd(3));
    ox_tensor boxes = rand_input(ONYX_DTYPE_FLOAT, 3, 4);
    int64_t sd[3] = {boxes.rank > 0 ? boxes.dims[0] : 1, 1 + img_rnd(3), boxes.rank > 1 ? boxes.dims[1] : 1};
    ox_tensor scores = img_rnd(5) ? wild_tensor(ONYX_DTYPE_FLOAT, 3, sd) : rand_input(ONYX_DTYPE_FLOAT, 3, -1);
    ox_tensor mo = rand_vec(img_rnd(6) ? ONYX_DTYPE_INT64 : ONYX_DTYPE_FLOAT, 1);
    ox_tensor iou = rand_vec(ONYX_DTYPE_FLOAT, 1), st = rand_vec(ONYX_DTYPE_FLOAT, 1);
    ox_tensor *in[5] = {&boxes, &scores, img_rnd(4) ? &mo : NULL, img_rnd(2) ? &iou : NULL,
                        img_rnd(2) ? &st : NULL};
    int f = run_one(n, 11, in, 5);
    img_free((ox_tensor[]){boxes, scores, mo, iou, st}, 5);
    return f;
}

static int fuzz_col2im(void) {
    int nd = 1 + img_rnd(3);
    ox_node *n = tn_node("Col2Im", 3, 1);
    int64_t v[6];
    for (int i = 0; i < 2 * nd; i++) v[i] = img_rnd(12) ? 0 : wild_int();
    if (img_rnd(2)) tn_ints(n, "pads", (size_t)(img_rnd(6) ? 2 * nd : nd), v);
    for (int i = 0; i < nd; i++) v[i] = img_rnd(12) ? 1 : wild_int();
    if (img_rnd(2)) tn_ints(n, "strides", (size_t)nd, v);
    if (img_rnd(2)) tn_ints(n, "dilations", (size_t)nd, v);
    ox_tensor im = rand_vec(ONYX_DTYPE_INT64, nd), bl = rand_vec(ONYX_DTYPE_INT64, nd);
    int sane = img_rnd(4) != 0;
    for (size_t i = 0; sane && i < ox_tensor_count(&im); i++) ((int64_t *)im.data)[i] = 2 + img_rnd(4);
    for (size_t i = 0; sane && i < ox_tensor_count(&bl); i++) ((int64_t *)bl.data)[i] = 1 + img_rnd(2);
    ox_tensor x;
    if (sane && ox_tensor_count(&im) == (size_t)nd && ox_tensor_count(&bl) == (size_t)nd) {
        /* the input the unpadded, undilated, stride-1 geometry asks for (attributes may differ) */
        int64_t K = 1, L = 1;
        for (int i = 0; i < nd; i++) {
            K *= ((int64_t *)bl.data)[i];
            L *= ((int64_t *)im.data)[i] - ((int64_t *)bl.data)[i] + 1;
        }
        x = wild_tensor(rand_type(), 3, (int64_t[]){1 + img_rnd(2), K * (1 + img_rnd(2)), L});
    } else {
        x = rand_input(rand_type(), 3, -1);
    }
    int f = run_one(n, 18, (ox_tensor *[]){&x, &im, &bl}, 3);
    img_free((ox_tensor[]){x, im, bl}, 3);
    return f;
}

TEST(image_ops_fuzz) {
    int fails = 0;
    for (int it = 0; it < 3000; it++) {
        which = it % 6;
        switch (which) {
        case 0: fails += fuzz_resize(); break;
        case 1: fails += fuzz_grid_sample(); break;
        case 2: fails += fuzz_affine_grid(); break;
        case 3: fails += fuzz_roi(); break;
        case 4: fails += fuzz_nms(); break;
        default: fails += fuzz_col2im(); break;
        }
        if (it % 200 == 199) tn_reset();
    }
    CHECK(fails == 0);
    fprintf(stderr, "  image_ops_fuzz: ran/refused Resize %d/%d GridSample %d/%d AffineGrid %d/%d "
            "RoiAlign+MaxRoiPool %d/%d NMS %d/%d Col2Im %d/%d\n", n_ok[0], n_refused[0], n_ok[1],
            n_refused[1], n_ok[2], n_refused[2], n_ok[3], n_refused[3], n_ok[4], n_refused[4],
            n_ok[5], n_refused[5]);
    tn_reset();
}
