/* The sequence and optional ops, against naive references written here: a
 * sequence is modelled as a plain array of tensors, and every expected item is
 * computed element by element from the inputs. Also a session running them. */
#include <stdlib.h>
#include <string.h>

#include "nodes.h"
#include "runtime/session.h"
#include "tensor_helpers.h"
#include "test.h"
#include "util/alloc.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* A sequence holding copies of items[0..n). */
static ox_tensor make_seq(int32_t elem_dtype, const ox_tensor *items, size_t n) {
    ox_tensor s;
    if (ox_sequence_init(&s, elem_dtype) != ONYX_OK) abort();
    for (size_t i = 0; i < n; i++) {
        ox_tensor c;
        if (ox_value_copy(&items[i], &c) != ONYX_OK || ox_sequence_insert(s.data, i, &c) != ONYX_OK)
            abort();
    }
    return s;
}

static const ox_sequence *seq_of(const ox_tensor *t) {
    return t->dtype == OX_DTYPE_SEQUENCE ? t->data : NULL;
}

/* Same dtype, shape and elements, stored separately (a real copy). */
static int same_tensor(const ox_tensor *a, const ox_tensor *b) {
    if (!ox_tensor_same_shape(a, b)) return 0;
    size_t n = ox_tensor_count(a);
    if (n && a->data == b->data) return 0;
    for (size_t i = 0; i < n; i++)
        if (!tx_elem_eq(a, i, b, i)) return 0;
    return 1;
}

/* Random dims in [0, maxd] when zeros allowed, else [1, maxd]. */
static void rnd_dims(int32_t rank, int64_t *dims, int maxd, int allow_zero) {
    for (int32_t i = 0; i < rank; i++) dims[i] = allow_zero ? tx_rnd(maxd + 1) : 1 + tx_rnd(maxd);
}

/* n random tensors of one dtype with random ranks (0..3) and shapes (zeros allowed). */
static void rnd_items(int32_t dtype, ox_tensor *items, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int64_t dims[3];
        int32_t rank = tx_rnd(4);
        rnd_dims(rank, dims, 3, tx_rnd(4) == 0);
        items[i] = tx_rand_tensor(dtype, rank, dims);
    }
}

/* A position scalar (int32 or int64; sometimes a one-element 1-D tensor). */
static ox_tensor pos_tensor(int64_t p) {
    int32_t dtype = tx_rnd(2) ? ONYX_DTYPE_INT64 : ONYX_DTYPE_INT32;
    int32_t rank = tx_rnd(4) == 0 ? 1 : 0;
    int64_t one = 1;
    ox_tensor t = tt_make(dtype, rank, &one, NULL);
    if (dtype == ONYX_DTYPE_INT64)
        *(int64_t *)t.data = p;
    else
        *(int32_t *)t.data = (int32_t)p;
    return t;
}

/* The message of the last failure contains every needle. */
static int msg_has(const char *a, const char *b) {
    const char *m = onyx_last_error();
    int ok = strstr(m, a) && (!b || strstr(m, b));
    if (!ok) fprintf(stderr, "  message '%s' lacks '%s'%s%s\n", m, a, b ? " or " : "", b ? b : "");
    return ok;
}

static int64_t fix_pos(int64_t p, size_t n) { return p < 0 ? p + (int64_t)n : p; }

/* A type_proto attribute on node n (the node helpers have none). */
static ox_attr type_attrs[4];
static ox_type type_protos[4];
static void set_type_attr(ox_node *n, size_t slot, int kind, int32_t elem) {
    memset(&type_attrs[slot], 0, sizeof type_attrs[slot]);
    memset(&type_protos[slot], 0, sizeof type_protos[slot]);
    type_protos[slot].kind = kind;
    type_protos[slot].elem_type = elem;
    type_attrs[slot].name = "type";
    type_attrs[slot].type = OX_ATTR_TYPE_PROTO;
    type_attrs[slot].tp = &type_protos[slot];
    n->attrs = &type_attrs[slot];
    n->n_attrs = 1;
}

/* ---- SequenceEmpty / SequenceConstruct / SequenceLength ---------------------------------- */

TEST(sequence_empty_dtype) {
    ox_node *n = tn_node("SequenceEmpty", 0, 1);
    ox_tensor out;
    REQUIRE_OK(ox_op_run_single(n, 11, NULL, 0, &out, 1));
    REQUIRE(seq_of(&out));
    CHECK(seq_of(&out)->n == 0 && seq_of(&out)->elem_dtype == ONYX_DTYPE_FLOAT);
    ox_tensor_free_data(&out);
    for (int k = 0; k < TX_N_TYPES; k++) {
        n = tn_node("SequenceEmpty", 0, 1);
        tn_int(n, "dtype", tx_types[k]);
        REQUIRE_OK(ox_op_run_single(n, 17, NULL, 0, &out, 1));
        CHECK(seq_of(&out) && seq_of(&out)->n == 0 && seq_of(&out)->elem_dtype == tx_types[k]);
        ox_tensor_free_data(&out);
    }
    n = tn_node("SequenceEmpty", 0, 1);
    tn_int(n, "dtype", 4242);
    CHECK(ox_op_run_single(n, 11, NULL, 0, &out, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(msg_has("dtype", "4242"));
    tn_reset();
}

TEST(sequence_construct_and_length) {
    for (int iter = 0; iter < 40; iter++) {
        int32_t dtype = tx_types[tx_rnd(TX_N_TYPES)];
        size_t k = 1 + (size_t)tx_rnd(5);
        ox_tensor items[5], seq, len;
        rnd_items(dtype, items, k);
        ox_tensor *in[5];
        for (size_t i = 0; i < k; i++) in[i] = &items[i];
        ox_node *n = tn_node("SequenceConstruct", k, 1);
        REQUIRE_OK(ox_op_run_single(n, 11, in, k, &seq, 1));
        const ox_sequence *s = seq_of(&seq);
        REQUIRE(s);
        CHECK(s->n == k && s->elem_dtype == dtype);
        for (size_t i = 0; i < k && i < s->n; i++) CHECK(same_tensor(&items[i], &s->items[i]));
        ox_node *l = tn_node("SequenceLength", 1, 1);
        REQUIRE_OK(ox_op_run_single(l, 11, (ox_tensor *[]){&seq}, 1, &len, 1));
        CHECK(len.dtype == ONYX_DTYPE_INT64 && len.rank == 0 && *(int64_t *)len.data == (int64_t)k);
        ox_tensor_free_data(&len);
        ox_tensor_free_data(&seq);
        tx_free_all(items, k);
    }
    /* the length of an empty sequence */
    ox_tensor e = make_seq(ONYX_DTYPE_INT8, NULL, 0), len;
    REQUIRE_OK(ox_op_run_single(tn_node("SequenceLength", 1, 1), 11, (ox_tensor *[]){&e}, 1, &len, 1));
    CHECK(*(int64_t *)len.data == 0);
    ox_tensor_free_data(&len);
    ox_tensor_free_data(&e);
    /* mixed types; a tensor given to SequenceLength */
    int64_t d = 2;
    ox_tensor a = tt_make(ONYX_DTYPE_FLOAT, 1, &d, NULL), b = tt_make(ONYX_DTYPE_INT64, 1, &d, NULL), out;
    CHECK(ox_op_run_single(tn_node("SequenceConstruct", 2, 1), 11, (ox_tensor *[]){&a, &b}, 2, &out, 1) ==
          ONYX_ERR_INVALID_ARGUMENT);
    CHECK(msg_has("input 1", "int64"));
    CHECK(ox_op_run_single(tn_node("SequenceLength", 1, 1), 11, (ox_tensor *[]){&a}, 1, &out, 1) ==
          ONYX_ERR_INVALID_ARGUMENT);
    CHECK(msg_has("expected a sequence", NULL));
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    tn_reset();
}

/* ---- SequenceInsert / SequenceAt / SequenceErase ----------------------------------------- */

TEST(sequence_insert_positions) {
    for (int iter = 0; iter < 60; iter++) {
        int32_t dtype = tx_types[tx_rnd(TX_N_TYPES)];
        size_t n = (size_t)tx_rnd(5);
        ox_tensor items[5], t, out;
        rnd_items(dtype, items, n);
        rnd_items(dtype, &t, 1);
        ox_tensor seq = make_seq(dtype, items, n);
        int with_pos = tx_rnd(3) != 0;
        int64_t p = with_pos ? (int64_t)tx_rnd(2 * (int)n + 1) - (int64_t)n : (int64_t)n; /* [-n, n] */
        ox_tensor pt = pos_tensor(p);
        ox_node *node = tn_node("SequenceInsert", with_pos ? 3 : 2, 1);
        REQUIRE_OK(ox_op_run_single(node, 11, (ox_tensor *[]){&seq, &t, &pt}, with_pos ? 3 : 2, &out, 1));
        const ox_sequence *s = seq_of(&out);
        REQUIRE(s && s->n == n + 1);
        size_t at = (size_t)fix_pos(p, n);
        /* expected: items before at, t, then the rest */
        for (size_t i = 0; i <= n; i++) {
            const ox_tensor *want = i < at ? &items[i] : i == at ? &t : &items[i - 1];
            CHECK(same_tensor(want, &s->items[i]));
        }
        CHECK(seq_of(&seq)->n == n); /* the input is untouched */
        ox_tensor_free_data(&out);
        /* just outside the accepted range [-n, n], on either side */
        for (int side = 0; side < 2; side++) {
            int64_t bad = side ? (int64_t)n + 1 + tx_rnd(3) : -(int64_t)n - 1 - tx_rnd(3);
            ox_tensor bt = pos_tensor(bad);
            node = tn_node("SequenceInsert", 3, 1);
            CHECK(ox_op_run_single(node, 11, (ox_tensor *[]){&seq, &t, &bt}, 3, &out, 1) == ONYX_ERR_RUNTIME);
            char want_pos[40], want_len[40];
            snprintf(want_pos, sizeof want_pos, "position %lld", (long long)bad);
            snprintf(want_len, sizeof want_len, "length %zu", n);
            CHECK(msg_has(want_pos, want_len));
            ox_tensor_free_data(&bt);
        }
        ox_tensor_free_data(&pt);
        ox_tensor_free_data(&t);
        ox_tensor_free_data(&seq);
        tx_free_all(items, n);
    }
    /* a tensor of another type than the sequence's */
    int64_t d = 1;
    ox_tensor seq = make_seq(ONYX_DTYPE_FLOAT, NULL, 0), t = tt_make(ONYX_DTYPE_INT32, 1, &d, NULL), out;
    CHECK(ox_op_run_single(tn_node("SequenceInsert", 2, 1), 11, (ox_tensor *[]){&seq, &t}, 2, &out, 1) ==
          ONYX_ERR_INVALID_ARGUMENT);
    CHECK(msg_has("int32", "float32"));
    /* a position that is not a scalar, or not an integer */
    ox_tensor p2 = tx_i64(2, (int64_t[]){0, 0});
    ox_tensor pf = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, NULL);
    ox_tensor tf = tt_make(ONYX_DTYPE_FLOAT, 1, &d, NULL);
    CHECK(ox_op_run_single(tn_node("SequenceInsert", 3, 1), 11, (ox_tensor *[]){&seq, &tf, &p2}, 3, &out, 1) ==
          ONYX_ERR_INVALID_ARGUMENT);
    CHECK(msg_has("scalar", NULL));
    CHECK(ox_op_run_single(tn_node("SequenceInsert", 3, 1), 11, (ox_tensor *[]){&seq, &tf, &pf}, 3, &out, 1) ==
          ONYX_ERR_INVALID_ARGUMENT);
    CHECK(msg_has("position", "int64"));
    ox_tensor_free_data(&p2);
    ox_tensor_free_data(&pf);
    ox_tensor_free_data(&tf);
    ox_tensor_free_data(&t);
    ox_tensor_free_data(&seq);
    tn_reset();
}

TEST(sequence_at_and_erase_positions) {
    for (int iter = 0; iter < 60; iter++) {
        int32_t dtype = tx_types[tx_rnd(TX_N_TYPES)];
        size_t n = 1 + (size_t)tx_rnd(5);
        ox_tensor items[6], out;
        rnd_items(dtype, items, n);
        ox_tensor seq = make_seq(dtype, items, n);
        int64_t p = (int64_t)tx_rnd(2 * (int)n) - (int64_t)n; /* [-n, n-1] */
        size_t at = (size_t)fix_pos(p, n);
        ox_tensor pt = pos_tensor(p);
        REQUIRE_OK(ox_op_run_single(tn_node("SequenceAt", 2, 1), 11, (ox_tensor *[]){&seq, &pt}, 2, &out, 1));
        CHECK(same_tensor(&items[at], &out));
        ox_tensor_free_data(&out);

        int with_pos = tx_rnd(3) != 0;
        if (!with_pos) at = n - 1; /* the default erases the last item */
        ox_node *en = tn_node("SequenceErase", with_pos ? 2 : 1, 1);
        REQUIRE_OK(ox_op_run_single(en, 11, (ox_tensor *[]){&seq, &pt}, with_pos ? 2 : 1, &out, 1));
        const ox_sequence *s = seq_of(&out);
        REQUIRE(s && s->n == n - 1);
        CHECK(s->elem_dtype == dtype);
        for (size_t i = 0; i + 1 < n; i++) CHECK(same_tensor(&items[i < at ? i : i + 1], &s->items[i]));
        ox_tensor_free_data(&out);

        for (int side = 0; side < 2; side++) {
            int64_t bad = side ? (int64_t)n + tx_rnd(3) : -(int64_t)n - 1 - tx_rnd(3);
            ox_tensor bt = pos_tensor(bad);
            char want_pos[40], want_len[40];
            snprintf(want_pos, sizeof want_pos, "position %lld", (long long)bad);
            snprintf(want_len, sizeof want_len, "length %zu", n);
            CHECK(ox_op_run_single(tn_node("SequenceAt", 2, 1), 11, (ox_tensor *[]){&seq, &bt}, 2, &out, 1) ==
                  ONYX_ERR_RUNTIME);
            CHECK(msg_has(want_pos, want_len));
            CHECK(ox_op_run_single(tn_node("SequenceErase", 2, 1), 11, (ox_tensor *[]){&seq, &bt}, 2, &out,
                                   1) == ONYX_ERR_RUNTIME);
            CHECK(msg_has(want_pos, want_len));
            ox_tensor_free_data(&bt);
        }
        ox_tensor_free_data(&pt);
        ox_tensor_free_data(&seq);
        tx_free_all(items, n);
    }
    /* nothing to get or erase in an empty sequence */
    ox_tensor e = make_seq(ONYX_DTYPE_FLOAT, NULL, 0), p0 = pos_tensor(0), out;
    CHECK(ox_op_run_single(tn_node("SequenceAt", 2, 1), 11, (ox_tensor *[]){&e, &p0}, 2, &out, 1) ==
          ONYX_ERR_RUNTIME);
    CHECK(msg_has("position 0", "length 0"));
    CHECK(ox_op_run_single(tn_node("SequenceErase", 1, 1), 11, (ox_tensor *[]){&e}, 1, &out, 1) ==
          ONYX_ERR_RUNTIME);
    CHECK(msg_has("position -1", "length 0"));
    ox_tensor_free_data(&p0);
    ox_tensor_free_data(&e);
    tn_reset();
}

/* ---- SplitToSequence ------------------------------------------------------------------------ */

/* Check part k (rows [start, start+len) on axis) against x, element by element. */
static int check_part(const ox_tensor *x, int32_t axis, int64_t start, int64_t len, int squeeze,
                      const ox_tensor *part) {
    int64_t pd[OX_MAX_RANK];
    int32_t pr = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        if (d == axis && squeeze) continue;
        pd[pr++] = d == axis ? len : x->dims[d];
    }
    if (part->dtype != x->dtype || !tx_same_dims(part, pr, pd)) return 0;
    size_t n = ox_tensor_count(part);
    for (size_t i = 0; i < n; i++) {
        int64_t pi[OX_MAX_RANK], xi[OX_MAX_RANK];
        tx_unravel(i, pr, pd, pi);
        for (int32_t d = 0, j = 0; d < x->rank; d++) {
            if (d == axis && squeeze)
                xi[d] = start;
            else
                xi[d] = pi[j++] + (d == axis ? start : 0);
        }
        if (!tx_elem_eq(part, i, x, tx_ravel(x->rank, x->dims, xi))) return 0;
    }
    return 1;
}

TEST(split_to_sequence_modes) {
    for (int iter = 0; iter < 80; iter++) {
        int32_t dtype = tx_types[tx_rnd(TX_N_TYPES)];
        int32_t rank = 1 + tx_rnd(4);
        int64_t dims[4];
        rnd_dims(rank, dims, 4, tx_rnd(5) == 0);
        int32_t axis = tx_rnd(rank);
        ox_tensor x = tx_rand_tensor(dtype, rank, dims), split = {0}, out;
        int64_t dim = dims[axis], lens[16];
        size_t parts = 0;
        int mode = tx_rnd(3), keepdims = tx_rnd(2);
        if (mode == 0) { /* no split: parts of 1 */
            for (int64_t i = 0; i < dim; i++) lens[parts++] = 1;
        } else if (mode == 1) { /* scalar split: equal parts, the last shorter */
            int64_t chunk = 1 + tx_rnd(5);
            for (int64_t s = 0; s < dim; s += chunk) lens[parts++] = dim - s < chunk ? dim - s : chunk;
            split = tt_make(tx_rnd(2) ? ONYX_DTYPE_INT64 : ONYX_DTYPE_INT32, 0, NULL, NULL);
            if (split.dtype == ONYX_DTYPE_INT64)
                *(int64_t *)split.data = chunk;
            else
                *(int32_t *)split.data = (int32_t)chunk;
        } else { /* 1-D split: a random partition of dim, zero sizes allowed */
            int64_t left = dim;
            while (left > 0 && parts < 15) {
                int64_t l = tx_rnd((int)left + 1);
                lens[parts++] = l;
                left -= l;
            }
            if (left > 0 || parts == 0 || tx_rnd(3) == 0) lens[parts++] = left;
            split = tx_rnd(2) ? tx_i64(parts, lens) : tx_i32(parts, lens);
        }
        ox_node *n = tn_node("SplitToSequence", mode ? 2 : 1, 1);
        tn_int(n, "axis", tx_rnd(2) ? axis : axis - rank);
        tn_int(n, "keepdims", keepdims);
        REQUIRE_OK(ox_op_run_single(n, tx_rnd(2) ? 11 : 24, (ox_tensor *[]){&x, &split}, mode ? 2 : 1, &out, 1));
        const ox_sequence *s = seq_of(&out);
        REQUIRE(s);
        CHECK(s->n == parts && s->elem_dtype == dtype);
        int64_t start = 0;
        for (size_t k = 0; k < parts && k < s->n; k++) {
            CHECK(check_part(&x, axis, start, lens[k], mode == 0 && !keepdims, &s->items[k]));
            start += lens[k];
        }
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&split);
        ox_tensor_free_data(&x);
    }
    tn_reset();
}

TEST(split_to_sequence_errors) {
    int64_t dims[2] = {5, 2};
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, dims, NULL), out;
    ox_tensor bad_sum = tx_i64(2, (int64_t[]){2, 2}), neg = tx_i64(3, (int64_t[]){6, -1, 0});
    ox_tensor zero = tt_make(ONYX_DTYPE_INT64, 0, NULL, NULL), fsplit = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, NULL);
    CHECK(ox_op_run_single(tn_node("SplitToSequence", 2, 1), 11, (ox_tensor *[]){&x, &bad_sum}, 2, &out, 1) ==
          ONYX_ERR_RUNTIME);
    CHECK(msg_has("add up to 4", "5"));
    CHECK(ox_op_run_single(tn_node("SplitToSequence", 2, 1), 11, (ox_tensor *[]){&x, &neg}, 2, &out, 1) ==
          ONYX_ERR_RUNTIME);
    CHECK(ox_op_run_single(tn_node("SplitToSequence", 2, 1), 11, (ox_tensor *[]){&x, &zero}, 2, &out, 1) ==
          ONYX_ERR_RUNTIME);
    CHECK(msg_has("positive", NULL));
    CHECK(ox_op_run_single(tn_node("SplitToSequence", 2, 1), 11, (ox_tensor *[]){&x, &fsplit}, 2, &out, 1) ==
          ONYX_ERR_INVALID_ARGUMENT);
    ox_node *n = tn_node("SplitToSequence", 1, 1);
    tn_int(n, "axis", 2);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&x}, 1, &out, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(msg_has("axis 2", NULL));
    ox_tensor s0 = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, NULL);
    CHECK(ox_op_run_single(tn_node("SplitToSequence", 1, 1), 11, (ox_tensor *[]){&s0}, 1, &out, 1) ==
          ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&s0);
    ox_tensor_free_data(&x);
    ox_tensor_free_data(&bad_sum);
    ox_tensor_free_data(&neg);
    ox_tensor_free_data(&zero);
    ox_tensor_free_data(&fsplit);
    tn_reset();
}

/* ---- ConcatFromSequence --------------------------------------------------------------------- */

TEST(concat_from_sequence_axes) {
    for (int iter = 0; iter < 80; iter++) {
        int32_t dtype = tx_types[tx_rnd(TX_N_TYPES)];
        int new_axis = tx_rnd(2);
        int32_t rank = (new_axis ? 0 : 1) + tx_rnd(3);
        int32_t out_rank = rank + new_axis;
        int32_t axis = tx_rnd(out_rank);
        size_t n = 1 + (size_t)tx_rnd(4);
        int64_t base[3];
        rnd_dims(rank, base, 3, tx_rnd(6) == 0);
        ox_tensor items[4], out;
        for (size_t k = 0; k < n; k++) {
            int64_t d[3];
            memcpy(d, base, sizeof d);
            if (!new_axis) d[axis] = tx_rnd(4); /* items differ on the axis, empty included */
            items[k] = tx_rand_tensor(dtype, rank, d);
        }
        ox_tensor seq = make_seq(dtype, items, n);
        ox_node *node = tn_node("ConcatFromSequence", 1, 1);
        tn_int(node, "axis", tx_rnd(2) ? axis : axis - out_rank);
        if (new_axis || tx_rnd(2)) tn_int(node, "new_axis", new_axis);
        REQUIRE_OK(ox_op_run_single(node, 11, (ox_tensor *[]){&seq}, 1, &out, 1));
        /* expected shape */
        int64_t od[4];
        for (int32_t d = 0, j = 0; d < out_rank; d++) od[d] = new_axis && d == axis ? (int64_t)n : base[j++];
        if (!new_axis) {
            od[axis] = 0;
            for (size_t k = 0; k < n; k++) od[axis] += items[k].dims[axis];
        }
        REQUIRE(out.dtype == dtype && tx_same_dims(&out, out_rank, od));
        /* every output element, traced back to its item and index */
        size_t total = ox_tensor_count(&out);
        int ok = 1;
        for (size_t i = 0; i < total && ok; i++) {
            int64_t oi[4], ii[3];
            tx_unravel(i, out_rank, od, oi);
            size_t k = 0;
            int64_t a = oi[axis];
            if (new_axis) {
                k = (size_t)a;
            } else {
                while (a >= items[k].dims[axis]) a -= items[k++].dims[axis];
            }
            for (int32_t d = 0, j = 0; d < out_rank; d++) {
                if (new_axis && d == axis) continue;
                ii[j++] = d == axis ? a : oi[d];
            }
            ok = tx_elem_eq(&out, i, &items[k], tx_ravel(rank, items[k].dims, ii));
        }
        CHECK(ok);
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&seq);
        tx_free_all(items, n);
    }
    tn_reset();
}

TEST(concat_from_sequence_errors) {
    int64_t d1[2] = {2, 3}, d2[2] = {3, 3};
    ox_tensor items[2] = {tt_make(ONYX_DTYPE_FLOAT, 2, d1, NULL), tt_make(ONYX_DTYPE_FLOAT, 2, d2, NULL)};
    ox_tensor seq = make_seq(ONYX_DTYPE_FLOAT, items, 2), empty = make_seq(ONYX_DTYPE_FLOAT, NULL, 0), out;
    ox_node *n = tn_node("ConcatFromSequence", 1, 1);
    tn_int(n, "axis", 1); /* dims differ on axis 0 */
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&seq}, 1, &out, 1) == ONYX_ERR_INVALID_ARGUMENT);
    CHECK(msg_has("item 1", "[3,3]"));
    n = tn_node("ConcatFromSequence", 1, 1);
    tn_int(n, "axis", 0);
    tn_int(n, "new_axis", 1); /* stacking needs equal shapes */
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&seq}, 1, &out, 1) == ONYX_ERR_INVALID_ARGUMENT);
    n = tn_node("ConcatFromSequence", 1, 1);
    tn_int(n, "axis", 0);
    REQUIRE_OK(ox_op_run_single(n, 11, (ox_tensor *[]){&seq}, 1, &out, 1));
    CHECK(out.rank == 2 && out.dims[0] == 5 && out.dims[1] == 3);
    ox_tensor_free_data(&out);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&empty}, 1, &out, 1) == ONYX_ERR_RUNTIME);
    CHECK(msg_has("empty", NULL));
    n = tn_node("ConcatFromSequence", 1, 1);
    tn_int(n, "axis", 2); /* rank 2, no new axis: [-2, 1] */
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&seq}, 1, &out, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("ConcatFromSequence", 1, 1);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&seq}, 1, &out, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(msg_has("'axis' is required", NULL));
    ox_tensor_free_data(&seq);
    ox_tensor_free_data(&empty);
    tx_free_all(items, 2);
    tn_reset();
}

/* ---- Optional / OptionalHasElement / OptionalGetElement ---------------------------------- */

TEST(optional_ops) {
    int64_t d = 3;
    ox_tensor t = tx_rand_tensor(ONYX_DTYPE_STRING, 1, &d), out, has;
    ox_tensor items[2];
    rnd_items(ONYX_DTYPE_FLOAT, items, 2);
    ox_tensor seq = make_seq(ONYX_DTYPE_FLOAT, items, 2);
    ox_tensor none = {.dtype = OX_DTYPE_NONE};
    const ox_tensor *values[3] = {&t, &seq, &none};
    for (int v = 0; v < 3; v++) {
        /* Optional(x) is x, copied; an empty optional passes through */
        ox_tensor *x = (ox_tensor *)values[v];
        REQUIRE_OK(ox_op_run_single(tn_node("Optional", 1, 1), 15, (ox_tensor *[]){x}, 1, &out, 1));
        CHECK(out.dtype == x->dtype);
        for (int opset = 15; opset <= 18; opset += 3) {
            REQUIRE_OK(ox_op_run_single(tn_node("OptionalHasElement", 1, 1), opset, (ox_tensor *[]){&out}, 1,
                                        &has, 1));
            CHECK(has.dtype == ONYX_DTYPE_BOOL && has.rank == 0 && *(uint8_t *)has.data == (v != 2));
            ox_tensor_free_data(&has);
            ox_tensor got;
            onyx_status st = ox_op_run_single(tn_node("OptionalGetElement", 1, 1), opset,
                                              (ox_tensor *[]){&out}, 1, &got, 1);
            if (v == 2) {
                CHECK(st == ONYX_ERR_RUNTIME);
                CHECK(msg_has("empty optional", NULL));
                continue;
            }
            REQUIRE_OK(st);
            if (v == 0) CHECK(same_tensor(&t, &got));
            if (v == 1) {
                const ox_sequence *a = seq_of(&seq), *b = seq_of(&got);
                CHECK(b && b != a && b->n == 2 && same_tensor(&a->items[0], &b->items[0]) &&
                      same_tensor(&a->items[1], &b->items[1]));
            }
            ox_tensor_free_data(&got);
        }
        if (v == 0) CHECK(same_tensor(&t, &out));
        ox_tensor_free_data(&out);
    }
    /* an empty optional from the type attribute */
    ox_node *n = tn_node("Optional", 0, 1);
    set_type_attr(n, 0, OX_TYPE_TENSOR, ONYX_DTYPE_FLOAT);
    REQUIRE_OK(ox_op_run_single(n, 15, NULL, 0, &out, 1));
    CHECK(out.dtype == OX_DTYPE_NONE && out.data == NULL);
    ox_tensor_free_data(&out);
    CHECK(ox_op_run_single(tn_node("Optional", 0, 1), 15, NULL, 0, &out, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(msg_has("'type'", NULL));
    n = tn_node("Optional", 0, 1);
    set_type_attr(n, 1, OX_TYPE_MAP, ONYX_DTYPE_INT64);
    CHECK(ox_op_run_single(n, 15, NULL, 0, &out, 1) == ONYX_ERR_UNSUPPORTED);
    /* OptionalHasElement without an input: false from opset 18, an error before */
    n = tn_node("OptionalHasElement", 1, 1);
    tn_omit_input(n, 0);
    REQUIRE_OK(ox_op_run_single(n, 18, (ox_tensor *[]){NULL}, 1, &has, 1));
    CHECK(*(uint8_t *)has.data == 0);
    ox_tensor_free_data(&has);
    REQUIRE_OK(ox_op_run_single(tn_node("OptionalHasElement", 0, 1), 18, NULL, 0, &has, 1));
    CHECK(*(uint8_t *)has.data == 0);
    ox_tensor_free_data(&has);
    CHECK(ox_op_run_single(n, 15, (ox_tensor *[]){NULL}, 1, &has, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(msg_has("opset 18", NULL));
    ox_tensor_free_data(&seq);
    ox_tensor_free_data(&t);
    tx_free_all(items, 2);
    tn_reset();
}

/* ---- in a session -------------------------------------------------------------------------- */

/* x: float[r, c], s: a sequence of float tensors (graph inputs) ->
 *   parts = SplitToSequence(x, axis 1)       (c parts [r,1])
 *   more  = SequenceInsert(parts, x)         (x at the back)
 *   cat   = ConcatFromSequence(more, axis 1) ([r, 2c])
 *   len   = SequenceLength(s)
 *   last  = SequenceAt(s, -1)
 *   empty = Optional(type float)             (an empty optional)
 *   grown = SequenceInsert(SequenceEmpty(), x) */
typedef struct {
    onyx_model model;
    ox_graph g;
    ox_node nodes[8];
    ox_opset opset;
    ox_value_info inputs[2], outputs[6];
    ox_type tx, ts, ts_elem;
    ox_tensor_proto minus1;
    int64_t minus1_v;
    ox_attr a_axis1[1], a_axis1b[1];
    ox_type opt_type;
    ox_attr a_type[1];
    const char *io[8][4];
} seq_model;

static void sm_node(seq_model *m, const char *op, const char *in0, const char *in1, const char *out,
                    ox_attr *attrs, size_t n_attrs) {
    ox_node *n = &m->nodes[m->g.n_nodes];
    const char **io = m->io[m->g.n_nodes++];
    memset(n, 0, sizeof *n);
    io[0] = in0;
    io[1] = in1;
    io[2] = out;
    n->name = out;
    n->op_type = op;
    n->domain = n->overload = n->doc = "";
    n->inputs = io;
    n->n_inputs = in0 ? (in1 ? 2 : 1) : 0;
    n->outputs = io + 2;
    n->n_outputs = 1;
    n->attrs = attrs;
    n->n_attrs = n_attrs;
}

static void sm_init(seq_model *m) {
    memset(m, 0, sizeof *m);
    m->opset = (ox_opset){"", 18};
    m->model.m.opsets = &m->opset;
    m->model.m.n_opsets = 1;
    m->model.m.graph = &m->g;
    m->g.name = m->g.doc = "";
    m->tx = (ox_type){.kind = OX_TYPE_TENSOR, .elem_type = ONYX_DTYPE_FLOAT};
    m->ts_elem = m->tx;
    m->ts = (ox_type){.kind = OX_TYPE_SEQUENCE, .elem = &m->ts_elem};
    m->inputs[0] = (ox_value_info){"x", "", &m->tx};
    m->inputs[1] = (ox_value_info){"s", "", &m->ts};
    m->g.inputs = m->inputs;
    m->g.n_inputs = 2;
    m->minus1_v = -1;
    m->minus1 = (ox_tensor_proto){.name = "minus1", .doc = "", .dtype = ONYX_DTYPE_INT64, .rank = 0,
                                  .data = &m->minus1_v, .nbytes = 8};
    m->g.initializers = &m->minus1;
    m->g.n_initializers = 1;
    m->a_axis1[0] = (ox_attr){.name = "axis", .type = OX_ATTR_INT, .i = 1};
    m->a_axis1b[0] = m->a_axis1[0];
    m->opt_type = m->tx;
    m->a_type[0] = (ox_attr){.name = "type", .type = OX_ATTR_TYPE_PROTO, .tp = &m->opt_type};
    m->g.nodes = m->nodes;
    sm_node(m, "SplitToSequence", "x", NULL, "parts", m->a_axis1, 1);
    sm_node(m, "SequenceInsert", "parts", "x", "more", NULL, 0);
    sm_node(m, "ConcatFromSequence", "more", NULL, "cat", m->a_axis1b, 1);
    sm_node(m, "SequenceLength", "s", NULL, "len", NULL, 0);
    sm_node(m, "SequenceAt", "s", "minus1", "last", NULL, 0);
    sm_node(m, "Optional", NULL, NULL, "empty", m->a_type, 1);
    sm_node(m, "SequenceEmpty", NULL, NULL, "e0", NULL, 0);
    sm_node(m, "SequenceInsert", "e0", "x", "grown", NULL, 0);
    const char *outs[6] = {"cat", "len", "last", "empty", "grown", "more"};
    for (int i = 0; i < 6; i++) m->outputs[i] = (ox_value_info){outs[i], "", NULL};
    m->g.outputs = m->outputs;
    m->g.n_outputs = 6;
}

TEST(sequence_ops_in_a_session) {
    seq_model m;
    sm_init(&m);
    onyx_session *s;
    REQUIRE_OK(onyx_session_create(&m.model, NULL, &s));
    const ox_rgraph *g = s->graph;
    for (int run = 0; run < 3; run++) {
        int64_t xd[2] = {1 + tx_rnd(3), 1 + tx_rnd(3)};
        ox_tensor in[2];
        in[0] = tx_rand_tensor(ONYX_DTYPE_FLOAT, 2, xd);
        size_t ns = 1 + (size_t)run;
        ox_tensor items[3];
        rnd_items(ONYX_DTYPE_FLOAT, items, ns);
        in[1] = make_seq(ONYX_DTYPE_FLOAT, items, ns);
        ox_tensor res[6];
        REQUIRE_OK(ox_session_run_values(s, in, g->outputs, 6, res));
        /* cat = [x, x] side by side: x's columns, then x itself */
        const ox_tensor *cat = &res[0];
        REQUIRE(cat->dtype == ONYX_DTYPE_FLOAT && tx_same_dims(cat, 2, (int64_t[]){xd[0], 2 * xd[1]}));
        for (int64_t r = 0; r < xd[0]; r++)
            for (int64_t c = 0; c < 2 * xd[1]; c++)
                CHECK(tx_elem_eq(cat, (size_t)(r * 2 * xd[1] + c), &in[0], (size_t)(r * xd[1] + c % xd[1])));
        CHECK(res[1].dtype == ONYX_DTYPE_INT64 && *(int64_t *)res[1].data == (int64_t)ns);
        CHECK(same_tensor(&items[ns - 1], &res[2]));
        CHECK(res[3].dtype == OX_DTYPE_NONE);
        const ox_sequence *gr = seq_of(&res[4]);
        CHECK(gr && gr->n == 1 && same_tensor(&in[0], &gr->items[0]));
        const ox_sequence *mo = seq_of(&res[5]);
        CHECK(mo && mo->n == (size_t)xd[1] + 1);
        tx_free_all(res, 6);
        /* only the length: a static plan reads the fed sequence directly */
        int len_v = ox_rgraph_find(g, "len");
        REQUIRE_OK(ox_session_run_values(s, in, &len_v, 1, res));
        CHECK(*(int64_t *)res[0].data == (int64_t)ns);
        ox_tensor_free_data(&res[0]);
        int found_static = 0;
        for (size_t i = 0; i < s->n_plans; i++)
            if (s->plans[i]->n_requested == 1 && s->plans[i]->requested[0] == len_v)
                found_static = s->plans[i]->is_static;
        CHECK(found_static);
        tx_free_all(in, 2);
        tx_free_all(items, ns);
    }
    onyx_session_free(s);
}
