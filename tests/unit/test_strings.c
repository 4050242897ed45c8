/* StringConcat, StringSplit, StringNormalizer and the case mapping behind it, against
 * references written here (plain loops; the split reference restates Python's
 * str.split as "all pieces, then the tail re-joined"). RegexFullMatch is in
 * test_regex.c. */
#include <locale.h>
#include <string.h>
#include <wctype.h>

#include "nodes.h"
#include "ops/text_util.h"
#include "tensor_helpers.h"
#include "test.h"
#include "text_testutil.h"
#include "util/alloc.h"

static const char *const words[] = {"", "a", "bc", "def", "\xc3\xa9t\xc3\xa9", "\xe7\x9a\x84",
                                    "\xff\xfe", "ghij"};
#define N_WORDS (sizeof words / sizeof *words)

/* ---- StringConcat ------------------------------------------------------------------------------ */

/* Input shape broadcast to out: the trailing rank dims, some replaced by 1. */
static void bcast_input_shape(int32_t orank, const int64_t *od, int32_t *rank, int64_t *dims) {
    *rank = tx_rnd(orank + 1);
    for (int32_t d = 0; d < *rank; d++) {
        dims[d] = od[orank - *rank + d];
        if (tx_rnd(3) == 0) dims[d] = 1;
    }
}

static size_t bcast_index(int32_t orank, const int64_t *oi, int32_t rank, const int64_t *dims) {
    size_t lin = 0;
    for (int32_t d = 0; d < rank; d++) {
        int64_t i = dims[d] == 1 ? 0 : oi[orank - rank + d];
        lin = lin * (size_t)dims[d] + (size_t)i;
    }
    return lin;
}

static ox_tensor random_words(int32_t rank, const int64_t *dims, const char **pick) {
    size_t n = ox_shape_count(rank, dims);
    for (size_t i = 0; i < n; i++) pick[i] = words[tx_rnd((int)N_WORDS)];
    return txt_strings(rank, dims, pick);
}

TEST(string_concat_broadcasting_random) {
    for (int iter = 0; iter < 80; iter++) {
        int32_t orank = tx_rnd(4), ra, rb;
        int64_t od[4], da[4], db[4], oi[4];
        for (int32_t d = 0; d < orank; d++) od[d] = tx_rnd(4); /* 0..3: empty dims too */
        bcast_input_shape(orank, od, &ra, da);
        bcast_input_shape(orank, od, &rb, db);
        /* the broadcast output may be smaller than od where both inputs have 1 */
        int64_t ed[4];
        int32_t er = ra > rb ? ra : rb;
        for (int32_t d = 0; d < er; d++) {
            int64_t x = d - (er - ra) >= 0 ? da[d - (er - ra)] : 1;
            int64_t y = d - (er - rb) >= 0 ? db[d - (er - rb)] : 1;
            ed[d] = x == 1 ? y : x;
        }
        const char *pa[64], *pb[64];
        ox_tensor a = random_words(ra, da, pa), b = random_words(rb, db, pb), z;
        ox_node *n = tn_node("StringConcat", 2, 1);
        REQUIRE_OK(ox_op_run_single(n, 20, (ox_tensor *[]){&a, &b}, 2, &z, 1));
        CHECK(tx_same_dims(&z, er, ed));
        int bad = 0;
        for (size_t k = 0; k < ox_tensor_count(&z); k++) {
            tx_unravel(k, er, ed, oi);
            char buf[64];
            const char *x = pa[bcast_index(er, oi, ra, da)], *y = pb[bcast_index(er, oi, rb, db)];
            snprintf(buf, sizeof buf, "%s%s", x, y);
            bad += !txt_eqz(&z, k, buf);
        }
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){a, b, z}, 3);
        txt_reset();
    }
}

TEST(string_concat_errors) {
    ox_tensor a = txt_strings(1, (int64_t[]){2}, (const char *[]){"a", "b"});
    ox_tensor b = txt_strings(1, (int64_t[]){3}, (const char *[]){"a", "b", "c"});
    ox_tensor f = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){2}, NULL), z;
    ox_node *n = tn_node("StringConcat", 2, 1);
    CHECK(ox_op_run_single(n, 20, (ox_tensor *[]){&a, &b}, 2, &z, 1) != ONYX_OK);
    CHECK(ox_op_run_single(n, 20, (ox_tensor *[]){&a, &f}, 2, &z, 1) != ONYX_OK);
    CHECK(ox_op_find("", "StringConcat", 19) == NULL);
    tx_free_all((ox_tensor[]){a, b, f}, 3);
    txt_reset();
}

/* ---- StringSplit --------------------------------------------------------------------------------- */

typedef struct piece {
    size_t start, len;
} piece;

static int ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Python's s.split(sep, maxsplit) (sep NULL or "": whitespace); returns the count. */
static size_t ref_split(const char *s, size_t n, const char *sep, long maxsplit, piece *out) {
    piece all[64];
    size_t k = 0;
    if (sep && *sep) {
        size_t sl = strlen(sep), start = 0, i = 0;
        while (i + sl <= n) {
            if (!strncmp(s + i, sep, sl)) {
                all[k++] = (piece){start, i - start};
                i += sl;
                start = i;
            } else {
                i++;
            }
        }
        all[k++] = (piece){start, n - start};
        if (maxsplit >= 0 && k > (size_t)maxsplit + 1) {
            all[maxsplit].len = n - all[maxsplit].start; /* the tail, separators included */
            k = (size_t)maxsplit + 1;
        }
    } else {
        for (size_t i = 0; i < n;) {
            if (ws(s[i])) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < n && !ws(s[j])) j++;
            all[k++] = (piece){i, j - i};
            i = j;
        }
        if (maxsplit >= 0 && k > (size_t)maxsplit) {
            all[maxsplit].len = n - all[maxsplit].start;
            k = (size_t)maxsplit + 1;
        }
    }
    memcpy(out, all, k * sizeof *out);
    return k;
}

TEST(string_split_random) {
    static const char *const seps[] = {NULL, "", "-", "--", "ab", " "};
    static const long maxs[] = {-2, 0, 1, 2, 5, -1}; /* -2: attribute not set */
    const char alphabet[] = "ab -\t";
    for (int iter = 0; iter < 150; iter++) {
        int32_t rank = tx_rnd(3);
        int64_t dims[2];
        for (int32_t d = 0; d < rank; d++) dims[d] = tx_rnd(4);
        size_t n = ox_shape_count(rank, dims);
        char text[16][12];
        const char *ptr[16];
        for (size_t i = 0; i < n; i++) {
            size_t len = (size_t)tx_rnd(11);
            for (size_t k = 0; k < len; k++) text[i][k] = alphabet[tx_rnd(5)];
            text[i][len] = 0;
            ptr[i] = text[i];
        }
        const char *sep = seps[tx_rnd(6)];
        long maxsplit = maxs[tx_rnd(6)];
        ox_tensor x = txt_strings(rank, dims, ptr), y[2];
        ox_node *nd = tn_node("StringSplit", 1, 2);
        if (sep) tn_str(nd, "delimiter", sep);
        if (maxsplit != -2) tn_int(nd, "maxsplit", maxsplit);
        REQUIRE_OK(ox_op_run_single(nd, 20, (ox_tensor *[]){&x}, 1, y, 2));
        piece p[16][64];
        size_t cnt[16], width = 0;
        for (size_t i = 0; i < n; i++) {
            cnt[i] = ref_split(ptr[i], strlen(ptr[i]), sep, maxsplit < -1 ? -1 : maxsplit, p[i]);
            if (cnt[i] > width) width = cnt[i];
        }
        int64_t od[3];
        memcpy(od, dims, sizeof(int64_t) * (size_t)rank);
        od[rank] = (int64_t)width;
        CHECK(tx_same_dims(&y[0], rank + 1, od));
        CHECK(tx_same_dims(&y[1], rank, dims) && y[1].dtype == ONYX_DTYPE_INT64);
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            bad += ((int64_t *)y[1].data)[i] != (int64_t)cnt[i];
            for (size_t k = 0; k < width; k++) {
                if (k < cnt[i]) bad += !txt_eq(&y[0], i * width + k, ptr[i] + p[i][k].start, p[i][k].len);
                else bad += !txt_eq(&y[0], i * width + k, "", 0);
            }
        }
        if (bad) fprintf(stderr, "  split sep=%s maxsplit=%ld: %d mismatches\n", sep ? sep : "(none)", maxsplit, bad);
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){x, y[0], y[1]}, 3);
        txt_reset();
    }
}

TEST(string_split_needs_value_while_planning) {
    ox_tensor x = {.dtype = ONYX_DTYPE_STRING, .rank = 1, .dims = {3}}, y[2];
    ox_node *nd = tn_node("StringSplit", 1, 2);
    CHECK(tx_infer_only(nd, 20, (ox_tensor *[]){&x}, 1, y, 2) == OX_NEED_VALUE);
    ox_tensor f = tt_make(ONYX_DTYPE_INT32, 1, (int64_t[]){2}, NULL);
    CHECK(tx_infer_only(nd, 20, (ox_tensor *[]){&f}, 1, y, 2) != ONYX_OK);
    ox_tensor_free_data(&f);
    txt_reset();
}

/* ---- StringNormalizer --------------------------------------------------------------------------- */

/* Words with their lower and upper forms, worked out by hand. */
static const struct {
    const char *w, *lower, *upper;
} cased[] = {
    {"Monday", "monday", "MONDAY"},
    {"monday", "monday", "MONDAY"},
    {"Stra\xc3\x9f" "e", "stra\xc3\x9f" "e", "STRA\xc3\x9f" "E"},             /* sharp s stays */
    {"\xc3\x89" "cole", "\xc3\xa9" "cole", "\xc3\x89" "COLE"},                 /* E acute */
    {"\xc3\xa9" "cole", "\xc3\xa9" "cole", "\xc3\x89" "COLE"},
    {"\xce\xa9mega", "\xcf\x89mega", "\xce\xa9MEGA"},                          /* Omega */
    {"\xd0\x9f\xd1\x80\xd0\xb8", "\xd0\xbf\xd1\x80\xd0\xb8", "\xd0\x9f\xd0\xa0\xd0\x98"}, /* Pri */
    {"\xc3\xbf" "es", "\xc3\xbf" "es", "\xc5\xb8" "ES"},                       /* y diaeresis */
    {"\xff\xfe" "Ab", "\xff\xfe" "ab", "\xff\xfe" "AB"},                       /* invalid bytes */
    {"\xe7\x9a\x84", "\xe7\x9a\x84", "\xe7\x9a\x84"},                          /* no case */
    {"", "", ""},
};
#define N_CASED (sizeof cased / sizeof *cased)

TEST(string_normalizer_random) {
    static const char *const actions[] = {NULL, "NONE", "LOWER", "UPPER"};
    for (int iter = 0; iter < 120; iter++) {
        size_t C = (size_t)tx_rnd(6) + 1, n_stop = (size_t)tx_rnd(4);
        int two_d = tx_rnd(2), sensitive = tx_rnd(2);
        const char *act = actions[tx_rnd(4)];
        size_t pick[8], stop[4];
        const char *xs[8], *sw[4];
        for (size_t i = 0; i < C; i++) xs[i] = cased[pick[i] = (size_t)tx_rnd((int)N_CASED)].w;
        for (size_t i = 0; i < n_stop; i++) {
            stop[i] = (size_t)tx_rnd((int)N_CASED);
            sw[i] = tx_rnd(2) ? cased[stop[i]].upper : cased[stop[i]].w;
        }
        int64_t dims[2] = {1, (int64_t)C};
        ox_tensor x = txt_strings(two_d ? 2 : 1, two_d ? dims : dims + 1, xs), y;
        ox_node *nd = tn_node("StringNormalizer", 1, 1);
        if (act) tn_str(nd, "case_change_action", act);
        if (sensitive || tx_rnd(2)) tn_int(nd, "is_case_sensitive", sensitive);
        if (n_stop || tx_rnd(2)) txt_attr_strs(nd, "stopwords", n_stop, sw);
        if (tx_rnd(2)) tn_str(nd, "locale", "en_US");
        REQUIRE_OK(ox_op_run_single(nd, 10, (ox_tensor *[]){&x}, 1, &y, 1));
        const char *expect[8];
        size_t k = 0;
        for (size_t i = 0; i < C; i++) {
            int hit = 0;
            for (size_t s = 0; s < n_stop; s++) {
                if (sensitive) hit |= !strcmp(xs[i], sw[s]);
                else hit |= !strcmp(cased[pick[i]].lower, cased[stop[s]].lower);
            }
            if (hit) continue;
            expect[k++] = !act || !strcmp(act, "NONE") ? xs[i]
                          : !strcmp(act, "LOWER")      ? cased[pick[i]].lower
                                                       : cased[pick[i]].upper;
        }
        int64_t od[2] = {1, (int64_t)(k ? k : 1)};
        CHECK(tx_same_dims(&y, two_d ? 2 : 1, two_d ? od : od + 1));
        if (!k) CHECK(txt_eqz(&y, 0, ""));
        for (size_t i = 0; i < k; i++) CHECK(txt_eqz(&y, i, expect[i]));
        tx_free_all((ox_tensor[]){x, y}, 2);
        txt_reset();
    }
}

TEST(string_normalizer_rejects) {
    const char *v[4] = {"a", "b", "c", "d"};
    ox_tensor x = txt_strings(2, (int64_t[]){2, 2}, v), y;
    ox_node *nd = tn_node("StringNormalizer", 1, 1);
    CHECK(ox_op_run_single(nd, 10, (ox_tensor *[]){&x}, 1, &y, 1) != ONYX_OK); /* [2, 2] */
    ox_tensor_free_data(&x);
    x = txt_strings(1, (int64_t[]){2}, v);
    nd = tn_node("StringNormalizer", 1, 1);
    tn_str(nd, "case_change_action", "TITLE");
    CHECK(ox_op_run_single(nd, 10, (ox_tensor *[]){&x}, 1, &y, 1) != ONYX_OK);
    ox_tensor u = {.dtype = ONYX_DTYPE_STRING, .rank = 1, .dims = {4}};
    nd = tn_node("StringNormalizer", 1, 1);
    CHECK(tx_infer_only(nd, 10, (ox_tensor *[]){&u}, 1, &y, 1) == OX_NEED_VALUE);
    ox_tensor_free_data(&x);
    txt_reset();
}

/* The case mapping against the C library's towlower/towupper in a UTF-8 locale,
 * over the ranges it claims to cover. */
TEST(case_mapping_matches_libc) {
    const char *old = setlocale(LC_CTYPE, NULL);
    char saved[64];
    snprintf(saved, sizeof saved, "%s", old ? old : "C");
    if (!setlocale(LC_CTYPE, "C.UTF-8") && !setlocale(LC_CTYPE, "en_US.UTF-8")) {
        fprintf(stderr, "  (no UTF-8 locale: skipped)\n");
        return;
    }
    static const uint32_t ranges[][2] = {{0, 0x17F}, {0x386, 0x3CE}, {0x400, 0x52F}};
    int bad = 0;
    for (size_t r = 0; r < 3; r++)
        for (uint32_t c = ranges[r][0]; c <= ranges[r][1]; c++) {
            uint32_t l = (uint32_t)towlower((wint_t)c), u = (uint32_t)towupper((wint_t)c);
            if (ox_case_lower(c) != l || ox_case_upper(c) != u) {
                if (bad < 5)
                    fprintf(stderr, "  U+%04X: lower %04X (libc %04X), upper %04X (libc %04X)\n", c,
                            ox_case_lower(c), l, ox_case_upper(c), u);
                bad++;
            }
        }
    setlocale(LC_CTYPE, saved);
    CHECK(bad == 0);
    /* outside the covered ranges nothing changes */
    CHECK(ox_case_upper(0x1E01) == 0x1E01 && ox_case_lower(0x10400) == 0x10400);
}

TEST(utf8_decoding_never_fails) {
    /* every 1-3 byte sequence over a set of interesting bytes decodes and re-encodes
     * to the same bytes */
    static const unsigned char bytes[] = {0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0,
                                          0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0xA0, 0x9F, 0x90};
    size_t nb = sizeof bytes;
    int bad = 0;
    for (size_t a = 0; a < nb; a++)
        for (size_t b = 0; b < nb; b++)
            for (size_t c = 0; c < nb; c++) {
                unsigned char in[3] = {bytes[a], bytes[b], bytes[c]}, out[12];
                size_t i = 0, o = 0;
                while (i < 3) {
                    uint32_t cp = ox_utf8_next(in, 3, &i);
                    bad += cp > OX_UTF8_MAX_VALUE || (cp >= 0xD800 && cp <= 0xDFFF);
                    o += ox_utf8_put(cp, out + o);
                }
                bad += o != 3 || memcmp(in, out, 3) != 0;
            }
    CHECK(bad == 0);
}
