/* The regex engine and RegexFullMatch. Random patterns are built as trees here,
 * printed in RE2 syntax, and matched by a reference that computes, for each tree
 * node, the set of text positions where a match starting at a given position can
 * end (a bit mask) — a definition-following evaluator unrelated to the NFA. */
#include <string.h>
#include <time.h>

#include "nodes.h"
#include "ops/regex.h"
#include "tensor_helpers.h"
#include "test.h"
#include "text_testutil.h"
#include "util/alloc.h"

/* ---- reference -------------------------------------------------------------------------------- */

enum { R_LIT, R_DOT, R_CLASS, R_CAT, R_ALT, R_REP, R_BOL, R_EOL, R_WORDB };

typedef struct rt {
    int kind, c, a, b, min, max; /* c: literal or class number; max -1: unbounded */
} rt;

typedef struct gen {
    rt n[64];
    int count;
} gen;

static const char *const class_text[] = {"[ab]", "[^a]", "[a-c]", "\\d", "\\s", "\\w",
                                         "\\W", "[[:space:]]", "[^\\d]", "[ -]", "[\\w-]"};
#define N_CLASSES 11

static int is_w(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_sp(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static int class_has(int k, char c) {
    switch (k) {
    case 0: return c == 'a' || c == 'b';
    case 1: return c != 'a';
    case 2: return c >= 'a' && c <= 'c';
    case 3: return c >= '0' && c <= '9';
    case 4: return is_sp(c);
    case 5: return is_w(c);
    case 6: return !is_w(c);
    case 7: return is_sp(c);
    case 8: return !(c >= '0' && c <= '9');
    case 9: return c == ' ' || c == '-';
    default: return is_w(c) || c == '-';
    }
}

typedef uint32_t mask;

static mask ends(const gen *g, int node, const char *s, int n, int start);

static mask step_all(const gen *g, int node, const char *s, int n, mask from) {
    mask r = 0;
    for (int p = 0; p <= n; p++)
        if (from & (1u << p)) r |= ends(g, node, s, n, p);
    return r;
}

static mask ends(const gen *g, int node, const char *s, int n, int start) {
    const rt *t = &g->n[node];
    char c = start < n ? s[start] : 0;
    int more = start < n;
    switch (t->kind) {
    case R_LIT: return more && c == t->c ? 1u << (start + 1) : 0;
    case R_DOT: return more && c != '\n' ? 1u << (start + 1) : 0;
    case R_CLASS: return more && class_has(t->c, c) ? 1u << (start + 1) : 0;
    case R_CAT: return step_all(g, t->b, s, n, ends(g, t->a, s, n, start));
    case R_ALT: return ends(g, t->a, s, n, start) | ends(g, t->b, s, n, start);
    case R_BOL: return start == 0 ? 1u << start : 0;
    case R_EOL: return start == n ? 1u << start : 0;
    case R_WORDB: {
        int before = start > 0 && is_w(s[start - 1]), after = more && is_w(c);
        return before != after ? 1u << start : 0;
    }
    default: { /* R_REP */
        mask cur = 1u << start, res = 0;
        for (int k = 0; k < t->min; k++) cur = step_all(g, t->a, s, n, cur);
        res = cur;
        if (t->max < 0) { /* every count >= min: close under one more repetition */
            for (;;) {
                mask nx = res | step_all(g, t->a, s, n, res);
                if (nx == res) break;
                res = nx;
            }
        } else {
            for (int k = t->min; k < t->max; k++) {
                cur = step_all(g, t->a, s, n, cur);
                res |= cur;
            }
        }
        return res;
    }
    }
}

/* ---- random patterns ----------------------------------------------------------------------------- */

static int gen_node(gen *g, int depth) {
    int id = g->count++;
    rt *t = &g->n[id];
    memset(t, 0, sizeof *t);
    int r = depth >= 3 || g->count > 40 ? tx_rnd(6) : tx_rnd(10);
    static const char lits[] = "ab1 -";
    switch (r) {
    case 0: case 1: t->kind = R_LIT; t->c = lits[tx_rnd(5)]; break;
    case 2: t->kind = R_DOT; break;
    case 3: t->kind = R_CLASS; t->c = tx_rnd(N_CLASSES); break;
    case 4: t->kind = tx_rnd(3) == 0 ? R_WORDB : tx_rnd(2) ? R_BOL : R_EOL; break;
    case 5: t->kind = tx_rnd(2) ? R_LIT : R_EOL; t->c = 'a'; break;
    case 6: case 7: t->kind = R_CAT; break;
    case 8: t->kind = R_ALT; break;
    default: t->kind = R_REP; break;
    }
    if (t->kind == R_CAT || t->kind == R_ALT) {
        int a = gen_node(g, depth + 1), b = gen_node(g, depth + 1);
        g->n[id].a = a;
        g->n[id].b = b;
    } else if (t->kind == R_REP) {
        int a = gen_node(g, depth + 1);
        static const int mm[][2] = {{0, -1}, {1, -1}, {0, 1}, {2, 2}, {1, 3}, {2, -1}, {0, 0}};
        int k = tx_rnd(7);
        g->n[id].a = a;
        g->n[id].min = mm[k][0];
        g->n[id].max = mm[k][1];
    }
    return id;
}

static void print_node(const gen *g, int node, char *buf, size_t *len) {
    const rt *t = &g->n[node];
    char tmp[32];
    const char *txt = NULL;
    switch (t->kind) {
    case R_LIT: tmp[0] = (char)t->c; tmp[1] = 0; txt = tmp; break;
    case R_DOT: txt = "."; break;
    case R_CLASS: txt = class_text[t->c]; break;
    case R_BOL: txt = "^"; break;
    case R_EOL: txt = "$"; break;
    case R_WORDB: txt = "\\b"; break;
    default: break;
    }
    if (txt) {
        *len += (size_t)sprintf(buf + *len, "%s", txt);
        return;
    }
    /* compound: always grouped, in one of the group spellings */
    static const char *const open[] = {"(", "(?:", "(?P<g>", "(?<h>"};
    *len += (size_t)sprintf(buf + *len, "%s", open[tx_rnd(4)]);
    if (t->kind == R_REP) {
        print_node(g, t->a, buf, len);
        *len += (size_t)sprintf(buf + *len, ")");
        if (t->min == 0 && t->max == -1 && tx_rnd(2)) *len += (size_t)sprintf(buf + *len, "*");
        else if (t->min == 1 && t->max == -1 && tx_rnd(2)) *len += (size_t)sprintf(buf + *len, "+");
        else if (t->min == 0 && t->max == 1 && tx_rnd(2)) *len += (size_t)sprintf(buf + *len, "?");
        else if (t->max < 0) *len += (size_t)sprintf(buf + *len, "{%d,}", t->min);
        else if (t->min == t->max && tx_rnd(2)) *len += (size_t)sprintf(buf + *len, "{%d}", t->min);
        else *len += (size_t)sprintf(buf + *len, "{%d,%d}", t->min, t->max);
        if (tx_rnd(4) == 0) *len += (size_t)sprintf(buf + *len, "?"); /* lazy */
        return;
    }
    print_node(g, t->a, buf, len);
    if (t->kind == R_ALT) *len += (size_t)sprintf(buf + *len, "|");
    print_node(g, t->b, buf, len);
    *len += (size_t)sprintf(buf + *len, ")");
}

static int full_match(const char *pattern, const char *s, size_t n, onyx_status *st) {
    ox_regex *re = NULL;
    *st = ox_regex_compile(pattern, strlen(pattern), &re);
    if (*st) return -1;
    void *scratch = ox_malloc(ox_regex_scratch_bytes(re));
    int m = ox_regex_full_match(re, s, n, scratch);
    ox_free(scratch);
    ox_regex_free(re);
    return m;
}

static int fm(const char *pattern, const char *s) {
    onyx_status st;
    int m = full_match(pattern, s, strlen(s), &st);
    if (st) fprintf(stderr, "  pattern %s: %s\n", pattern, onyx_last_error());
    return m;
}

TEST(regex_random_patterns_match_reference) {
    static const char alphabet[] = "ab1 -\n";
    int bad = 0, checked = 0;
    for (int iter = 0; iter < 400; iter++) {
        gen g = {.count = 0};
        gen_node(&g, 0);
        char pat[2048];
        size_t plen = 0;
        print_node(&g, 0, pat, &plen);
        ox_regex *re = NULL;
        onyx_status st = ox_regex_compile(pat, plen, &re);
        if (st) {
            fprintf(stderr, "  %s: %s\n", pat, onyx_last_error());
            bad++;
            continue;
        }
        void *scratch = ox_malloc(ox_regex_scratch_bytes(re));
        for (int k = 0; k < 25; k++) {
            char s[12];
            int n = tx_rnd(9);
            for (int i = 0; i < n; i++) s[i] = alphabet[tx_rnd(6)];
            s[n] = 0;
            int want = (ends(&g, 0, s, n, 0) >> n) & 1;
            int got = ox_regex_full_match(re, s, (size_t)n, scratch);
            if (want != got) {
                if (bad < 5) fprintf(stderr, "  /%s/ on \"%s\": %d, expected %d\n", pat, s, got, want);
                bad++;
            }
            checked++;
        }
        ox_free(scratch);
        ox_regex_free(re);
    }
    CHECK(bad == 0);
    CHECK(checked > 9000);
}

TEST(regex_syntax_features) {
    CHECK(fm("a{,2}", "a{,2}") == 1);     /* not a count: literal braces */
    CHECK(fm("a{", "a{") == 1);
    CHECK(fm("a{2}", "aa") == 1 && fm("a{2}", "aaa") == 0);
    CHECK(fm("(?i)h\xc3\xa9llo", "H\xc3\x89LLO") == 1);
    CHECK(fm("(?i:ab)c", "ABc") == 1 && fm("(?i:ab)c", "ABC") == 0);
    CHECK(fm("(?i)[a-c]+", "AbC") == 1 && fm("(?i)(?-i:a)b", "aB") == 1 && fm("(?i)(?-i:a)b", "AB") == 0);
    CHECK(fm("a.b", "a\nb") == 0 && fm("(?s)a.b", "a\nb") == 1 && fm("a[^x]b", "a\nb") == 1);
    CHECK(fm("(?m)a$\\n^b", "a\nb") == 1 && fm("a$\\n^b", "a\nb") == 0);
    CHECK(fm("\\Aab\\z", "ab") == 1);
    CHECK(fm("a$b", "ab") == 0 && fm("a^b", "ab") == 0 && fm("^a$", "a") == 1 && fm("a$$", "a") == 1);
    CHECK(fm("(?m)a$b", "ab") == 0 && fm("a\\zb", "ab") == 0 && fm("a\\Ab", "ab") == 0);
    CHECK(fm("[\xc3\xa0-\xc3\xbf]+", "\xc3\xa9\xc3\xa8\xc3\xbc") == 1);
    CHECK(fm("...", "\xe7\x9a\x84\xe7\x9a\x84\xe7\x9a\x84") == 1); /* three code points */
    CHECK(fm("\\x{7684}\\x41", "\xe7\x9a\x84" "A") == 1);
    CHECK(fm("a.b", "a\xff" "b") == 1 && fm("[^x]", "\xff") == 1 && fm("a\xff", "a\xff") == 1);
    CHECK(fm("\xc3\xa9", "\xc3") == 0);
    CHECK(fm("[[:alpha:]]+[[:digit:]][[:^space:]]", "abc1x") == 1);
    CHECK(fm("[[:alpha:]]", "1") == 0);
    CHECK(fm("\\Qa.b\\E", "a.b") == 1 && fm("\\Qa.b\\E", "axb") == 0);
    CHECK(fm("\\bab\\b c", "ab c") == 1 && fm("a\\Bb", "ab") == 1 && fm("a\\bb", "ab") == 0);
    CHECK(fm("[]a]+", "]a]") == 1 && fm("[^]]", "]") == 0 && fm("[a-]+", "-a") == 1);
    CHECK(fm("[\\]\\-\\\\]+", "]-\\") == 1);
    CHECK(fm("\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$", ".*+?()[]{}|^$") == 1);
    CHECK(fm("a*?b+?c??", "aabc") == 1);
    CHECK(fm("(|a)b", "b") == 1 && fm("()", "") == 1 && fm("", "") == 1 && fm("", "a") == 0);
    CHECK(fm("\\t\\n\\r\\f\\v", "\t\n\r\f\v") == 1);
    CHECK(fm("(\\W|^)[\\w.\\-]{0,25}@(yahoo|gmail)\\.com(\\W|$)", "account@gmail.com") == 1);
    CHECK(fm("(\\W|^)[\\w.\\-]{0,25}@(yahoo|gmail)\\.com(\\W|$)", "account@hotmail.com") == 0);
    CHECK(fm("www\\.[\\w.-]+\\.\\bcom\\b", "www.facebook.com") == 1);
    CHECK(fm("www\\.[\\w.-]+\\.\\bcom\\b", "www.bbc.co.uk") == 0);
}

TEST(regex_rejects_unsupported_and_malformed) {
    static const char *const bad[] = {"(a", "a)", "[a", "*a", "a**", "a+*", "\\1", "(?=a)",
                                      "(?!a)", "(?<=a)b", "(?<!a)b", "\\pL", "\\p{Greek}", "a{1001}",
                                      "a{3,2}", "[b-a]", "\\", "(?z)", "\\C", "[[:nope:]]", "\\e",
                                      "\\x4", "\\x{110000}", "(?P=name)"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ox_regex *re = NULL;
        onyx_status st = ox_regex_compile(bad[i], strlen(bad[i]), &re);
        if (st == ONYX_OK) fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK(st != ONYX_OK);
        CHECK(strstr(onyx_last_error(), "offset") != NULL || st == ONYX_ERR_LIMIT);
        ox_regex_free(re);
    }
    /* a program that would be enormous is refused, not built */
    ox_regex *re = NULL;
    CHECK(ox_regex_compile("((a{1000}){1000}){1000}", 23, &re) == ONYX_ERR_LIMIT);
    /* nesting deeper than the limit */
    char deep[1200];
    for (int i = 0; i < 600; i++) deep[i] = '(';
    for (int i = 0; i < 600; i++) deep[600 + i] = ')';
    CHECK(ox_regex_compile(deep, 1200, &re) != ONYX_OK);
}

TEST(regex_linear_time_on_pathological_patterns) {
    size_t n = 20000;
    char *s = ox_malloc(n + 1);
    memset(s, 'a', n);
    s[n] = 0;
    clock_t t0 = clock();
    CHECK(fm("(a*)*b", s) == 0);
    CHECK(fm("(a|aa)*c", s) == 0);
    CHECK(fm("(a+a+)+", s) == 1);
    CHECK(fm("(a?){30}a{30}", s) == 0);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(secs < 10); /* a backtracking engine would never finish */
    ox_free(s);
}

TEST(regex_full_match_op) {
    const char *v[6] = {"ab", "aab", "b", "", "abab", "\xff"};
    ox_tensor x = txt_strings(2, (int64_t[]){2, 3}, v), y;
    ox_node *nd = tn_node("RegexFullMatch", 1, 1);
    tn_str(nd, "pattern", "(a|ab)*b?");
    REQUIRE_OK(ox_op_run_single(nd, 20, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(y.dtype == ONYX_DTYPE_BOOL && tx_same_dims(&y, 2, (int64_t[]){2, 3}));
    const uint8_t *b = y.data;
    for (int i = 0; i < 6; i++) {
        onyx_status st;
        CHECK(b[i] == full_match("(a|ab)*b?", v[i], strlen(v[i]), &st));
    }
    tx_free_all((ox_tensor[]){x, y}, 2);
    /* empty input */
    x = tt_make(ONYX_DTYPE_STRING, 2, (int64_t[]){2, 0}, NULL);
    REQUIRE_OK(ox_op_run_single(nd, 20, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){2, 0}));
    tx_free_all((ox_tensor[]){x, y}, 2);
    /* errors: a bad pattern, no pattern, a non-string input */
    x = txt_strings(1, (int64_t[]){1}, v);
    nd = tn_node("RegexFullMatch", 1, 1);
    tn_str(nd, "pattern", "a(b");
    CHECK(ox_op_run_single(nd, 20, (ox_tensor *[]){&x}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    nd = tn_node("RegexFullMatch", 1, 1);
    CHECK(ox_op_run_single(nd, 20, (ox_tensor *[]){&x}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor f = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){1}, NULL);
    nd = tn_node("RegexFullMatch", 1, 1);
    tn_str(nd, "pattern", "a");
    CHECK(ox_op_run_single(nd, 20, (ox_tensor *[]){&f}, 1, &y, 1) != ONYX_OK);
    tx_free_all((ox_tensor[]){x, f}, 2);
    txt_reset();
}

/* Random byte soup over the metacharacters: compiling either fails cleanly or gives
 * a program that matches without reading out of bounds (run under ASan/UBSan). */
TEST(regex_random_bytes_never_crash) {
    static const char soup[] = "()[]{}|*+?.^$\\-,:0123abPpQEdwsbBAzxi<>=!\xc3\xa9\xff";
    int compiled = 0;
    for (int iter = 0; iter < 3000; iter++) {
        char pat[24], text[16];
        size_t n = (size_t)tx_rnd(24), m = (size_t)tx_rnd(16);
        for (size_t i = 0; i < n; i++) pat[i] = soup[tx_rnd((int)sizeof soup - 1)];
        for (size_t i = 0; i < m; i++) text[i] = soup[tx_rnd((int)sizeof soup - 1)];
        ox_regex *re = NULL;
        if (ox_regex_compile(pat, n, &re) != ONYX_OK) continue;
        compiled++;
        void *scratch = ox_malloc(ox_regex_scratch_bytes(re));
        int r = ox_regex_full_match(re, text, m, scratch);
        CHECK(r == 0 || r == 1);
        ox_free(scratch);
        ox_regex_free(re);
    }
    CHECK(compiled > 100);
}
