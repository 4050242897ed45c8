/* The regex compiler of ops/regex.h: parses a pattern into a small tree (nodes
 * linked as child lists), then emits a program of SET (consume one character from a
 * range set), SPLIT, JMP, ASSERT and MATCH instructions (ops/regex_impl.h). Sets are
 * sorted, merged range lists over decoded UTF-8 values (ops/text_util.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/regex_impl.h"
#include "ops/text_util.h"
#include "util/alloc.h"

#define MAX_REPEAT 1000
#define MAX_DEPTH 200        /* nested groups */
#define MAX_INSTS 200000     /* compiled program size */
#define MAX_NODES 1000000

enum { N_EMPTY, N_SET, N_CAT, N_ALT, N_REP, N_ASSERT }; /* tree nodes */
enum { F_I = 1, F_S = 2, F_M = 4 };                      /* flags i, s, m */

typedef struct rnode {
    int kind;
    int child, last, next; /* first child, last child, next sibling (-1: none) */
    int min, max;          /* N_REP (max -1: unbounded) */
    int arg;               /* N_SET: set index; N_ASSERT: kind */
} rnode;

typedef struct parser {
    const unsigned char *p;
    size_t n, i;
    rnode *nodes;
    size_t n_nodes, cap_nodes;
    rx_range *ranges;
    size_t n_ranges, cap_ranges;
    rx_set *sets;
    size_t n_sets, cap_sets;
    rx_range *tmp; /* the set being built */
    size_t n_tmp, cap_tmp;
    rx_inst *prog;
    size_t n_prog, cap_prog;
    int depth;
    onyx_status st;
} parser;

static int fail(parser *ps, const char *what) {
    if (ps->st == ONYX_OK)
        ps->st = ox_error(ONYX_ERR_INVALID_MODEL, "pattern: %s at offset %zu", what, ps->i);
    return -1;
}

static int oom(parser *ps) {
    if (ps->st == ONYX_OK) ps->st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory compiling a pattern");
    return -1;
}

static int grow(parser *ps, void **arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    void *q = ox_realloc(*arr, nc * elem);
    if (!q) return oom(ps), 0;
    *arr = q;
    *cap = nc;
    return 1;
}

static int new_node(parser *ps, int kind) {
    if (ps->n_nodes >= MAX_NODES) return fail(ps, "pattern too large");
    if (!grow(ps, (void **)&ps->nodes, &ps->cap_nodes, ps->n_nodes + 1, sizeof(rnode))) return -1;
    rnode *nd = &ps->nodes[ps->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->kind = kind;
    nd->child = nd->last = nd->next = -1;
    return (int)ps->n_nodes++;
}

static void add_child(parser *ps, int parent, int child) {
    rnode *p = &ps->nodes[parent];
    if (p->last < 0) p->child = child;
    else ps->nodes[p->last].next = child;
    ps->nodes[parent].last = child;
}

/* ---- character sets ------------------------------------------------------------------------- */

static int tmp_add(parser *ps, uint32_t lo, uint32_t hi) {
    if (!grow(ps, (void **)&ps->tmp, &ps->cap_tmp, ps->n_tmp + 1, sizeof(rx_range))) return 0;
    ps->tmp[ps->n_tmp].lo = lo;
    ps->tmp[ps->n_tmp].hi = hi;
    ps->n_tmp++;
    return 1;
}

/* Add the other-case forms of every code point in [lo, hi] (the mapping only
 * touches code points below U+0530). */
static int tmp_add_fold(parser *ps, uint32_t lo, uint32_t hi) {
    if (!tmp_add(ps, lo, hi)) return 0;
    uint32_t top = hi < 0x530 ? hi : 0x52F;
    for (uint32_t c = lo; c <= top; c++) {
        uint32_t l = ox_case_lower(c), u = ox_case_upper(c);
        if (l != c && !tmp_add(ps, l, l)) return 0;
        if (u != c && !tmp_add(ps, u, u)) return 0;
    }
    return 1;
}

static int cmp_range(const void *a, const void *b) {
    const rx_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Turn tmp into a sorted, merged set (complemented when negate); returns its index. */
static int tmp_finish(parser *ps, int negate) {
    qsort(ps->tmp, ps->n_tmp, sizeof(rx_range), cmp_range);
    size_t m = 0;
    for (size_t i = 0; i < ps->n_tmp; i++) {
        if (m && ps->tmp[i].lo <= ps->tmp[m - 1].hi + 1) {
            if (ps->tmp[i].hi > ps->tmp[m - 1].hi) ps->tmp[m - 1].hi = ps->tmp[i].hi;
        } else {
            ps->tmp[m++] = ps->tmp[i];
        }
    }
    ps->n_tmp = m;
    size_t need = ps->n_ranges + m + 1;
    if (!grow(ps, (void **)&ps->ranges, &ps->cap_ranges, need, sizeof(rx_range))) return -1;
    if (!grow(ps, (void **)&ps->sets, &ps->cap_sets, ps->n_sets + 1, sizeof(rx_set))) return -1;
    rx_set *s = &ps->sets[ps->n_sets];
    s->off = ps->n_ranges;
    if (!negate) {
        memcpy(ps->ranges + ps->n_ranges, ps->tmp, m * sizeof(rx_range));
        ps->n_ranges += m;
    } else {
        uint32_t next = 0; /* the first value not yet covered */
        int done = 0;
        for (size_t i = 0; i < m && !done; i++) {
            if (ps->tmp[i].lo > next) ps->ranges[ps->n_ranges++] = (rx_range){next, ps->tmp[i].lo - 1};
            if (ps->tmp[i].hi >= OX_UTF8_MAX_VALUE) done = 1;
            else next = ps->tmp[i].hi + 1;
        }
        if (!done) ps->ranges[ps->n_ranges++] = (rx_range){next, OX_UTF8_MAX_VALUE};
    }
    s->n = ps->n_ranges - s->off;
    ps->n_tmp = 0;
    return (int)ps->n_sets++;
}

static int set_node(parser *ps, int set) {
    if (set < 0) return -1;
    int nd = new_node(ps, N_SET);
    if (nd >= 0) ps->nodes[nd].arg = set;
    return nd;
}

/* Named classes as sorted range lists. */
static const rx_range R_DIGIT[] = {{'0', '9'}};
static const rx_range R_SPACE[] = {{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}};
static const rx_range R_WORD[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};

/* Add a named class (complemented when negate) to tmp. */
static int add_named(parser *ps, const rx_range *r, size_t n, int negate, int fold) {
    if (!negate) {
        for (size_t i = 0; i < n; i++)
            if (!(fold ? tmp_add_fold(ps, r[i].lo, r[i].hi) : tmp_add(ps, r[i].lo, r[i].hi)))
                return -1;
        return 0;
    }
    uint32_t next = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].lo > next && !tmp_add(ps, next, r[i].lo - 1)) return -1;
        next = r[i].hi + 1;
    }
    return tmp_add(ps, next, OX_UTF8_MAX_VALUE) ? 0 : -1;
}

/* \d \D \w \W \s \S (c is the letter) added to tmp. */
static int perl_class(parser *ps, int c) {
    int neg = c < 'a';
    switch (c | 0x20) {
    case 'd': return add_named(ps, R_DIGIT, 1, neg, 0);
    case 's': return add_named(ps, R_SPACE, 3, neg, 0);
    default: return add_named(ps, R_WORD, 4, neg, 0);
    }
}

/* ---- lexing helpers ----------------------------------------------------------------------------- */

static int at_end(const parser *ps) { return ps->i >= ps->n; }
static int peek(const parser *ps) { return at_end(ps) ? -1 : ps->p[ps->i]; }

static uint32_t next_char(parser *ps) { return ox_utf8_next(ps->p, ps->n, &ps->i); }

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* After a backslash: a single-character escape. Returns 1 with *cp, 0 when the
 * escape is not a plain character (the caller handles classes/asserts), -1 on error. */
static int escape_char(parser *ps, int c, uint32_t *cp) {
    switch (c) {
    case 'n': *cp = '\n'; return 1;
    case 't': *cp = '\t'; return 1;
    case 'r': *cp = '\r'; return 1;
    case 'f': *cp = '\f'; return 1;
    case 'v': *cp = '\v'; return 1;
    case 'a': *cp = 7; return 1;
    case 'x': {
        uint32_t v = 0;
        if (peek(ps) == '{') {
            ps->i++;
            int digits = 0;
            while (!at_end(ps) && hexval(peek(ps)) >= 0) {
                v = v * 16 + (uint32_t)hexval(peek(ps));
                ps->i++;
                if (++digits > 6 || v > 0x10FFFF) return fail(ps, "\\x{...} value out of range");
            }
            if (!digits || peek(ps) != '}') return fail(ps, "malformed \\x{...} escape");
            ps->i++;
        } else {
            for (int k = 0; k < 2; k++) {
                int h = hexval(peek(ps));
                if (h < 0) return fail(ps, "\\x needs two hex digits");
                v = v * 16 + (uint32_t)h;
                ps->i++;
            }
        }
        *cp = v;
        return 1;
    }
    default: break;
    }
    if (c >= '1' && c <= '9') return fail(ps, "backreferences are not supported");
    if (c == '0') return fail(ps, "octal escapes are not supported");
    if (c == 'p' || c == 'P') return fail(ps, "Unicode classes (\\p, \\P) are not supported");
    if (c == 'C') return fail(ps, "\\C is not supported");
    if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
        *cp = (uint32_t)c; /* escaped punctuation is itself */
        return 1;
    }
    return 0;
}

/* ---- classes ------------------------------------------------------------------------------------ */

static const rx_range P_ALNUM[] = {{'0', '9'}, {'A', 'Z'}, {'a', 'z'}};
static const rx_range P_ALPHA[] = {{'A', 'Z'}, {'a', 'z'}};
static const rx_range P_ASCII[] = {{0, 0x7F}};
static const rx_range P_BLANK[] = {{'\t', '\t'}, {' ', ' '}};
static const rx_range P_CNTRL[] = {{0, 0x1F}, {0x7F, 0x7F}};
static const rx_range P_GRAPH[] = {{'!', '~'}};
static const rx_range P_LOWER[] = {{'a', 'z'}};
static const rx_range P_PRINT[] = {{' ', '~'}};
static const rx_range P_PUNCT[] = {{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}};
static const rx_range P_SPACE[] = {{'\t', '\r'}, {' ', ' '}};
static const rx_range P_UPPER[] = {{'A', 'Z'}};
static const rx_range P_XDIGIT[] = {{'0', '9'}, {'A', 'F'}, {'a', 'f'}};

static const struct {
    const char *name;
    const rx_range *r;
    size_t n;
} posix[] = {
    {"alnum", P_ALNUM, 3}, {"alpha", P_ALPHA, 2}, {"ascii", P_ASCII, 1},   {"blank", P_BLANK, 2},
    {"cntrl", P_CNTRL, 2}, {"digit", R_DIGIT, 1}, {"graph", P_GRAPH, 1},   {"lower", P_LOWER, 1},
    {"print", P_PRINT, 1}, {"punct", P_PUNCT, 4}, {"space", P_SPACE, 2},   {"upper", P_UPPER, 1},
    {"word", R_WORD, 4},   {"xdigit", P_XDIGIT, 3},
};

/* [:name:] or [:^name:] at ps->i (just after '['); returns 1 if one was read, 0 if
 * not there, -1 on error. */
static int posix_class(parser *ps, int fold) {
    if (ps->i >= ps->n || ps->p[ps->i] != ':') return 0;
    size_t j = ps->i + 1;
    int neg = 0;
    if (j < ps->n && ps->p[j] == '^') {
        neg = 1;
        j++;
    }
    size_t name0 = j;
    while (j < ps->n && ps->p[j] >= 'a' && ps->p[j] <= 'z') j++;
    if (j + 1 >= ps->n || ps->p[j] != ':' || ps->p[j + 1] != ']') return 0;
    for (size_t k = 0; k < sizeof posix / sizeof *posix; k++) {
        if (strlen(posix[k].name) != j - name0 || memcmp(posix[k].name, ps->p + name0, j - name0))
            continue;
        ps->i = j + 2;
        return add_named(ps, posix[k].r, posix[k].n, neg, fold && !neg) < 0 ? -1 : 1;
    }
    return fail(ps, "unknown POSIX class");
}

/* One class item's character (for a range end). Returns 1 with *cp, 0 if the item
 * was a class (already added), -1 on error. */
static int class_char(parser *ps, uint32_t *cp, int fold) {
    if (peek(ps) == '\\') {
        ps->i++;
        if (at_end(ps)) return fail(ps, "trailing backslash");
        int c = ps->p[ps->i];
        if (c == 'd' || c == 'D' || c == 'w' || c == 'W' || c == 's' || c == 'S') {
            ps->i++;
            return perl_class(ps, c) < 0 ? -1 : 0;
        }
        if (c >= 0x80) {
            *cp = next_char(ps);
            return 1;
        }
        ps->i++;
        int r = escape_char(ps, c, cp);
        if (r == 0) return fail(ps, "invalid escape in a character class");
        return r;
    }
    if (peek(ps) == '[') {
        size_t save = ps->i;
        ps->i++;
        int r = posix_class(ps, fold);
        if (r != 0) return r < 0 ? -1 : 0;
        ps->i = save;
    }
    *cp = next_char(ps);
    return 1;
}

static int parse_class(parser *ps, int flags) {
    ps->i++; /* '[' */
    int negate = 0;
    if (peek(ps) == '^') {
        negate = 1;
        ps->i++;
    }
    ps->n_tmp = 0;
    int fold = (flags & F_I) != 0;
    int first = 1;
    for (;;) {
        if (at_end(ps)) return fail(ps, "missing ] in a character class");
        if (peek(ps) == ']' && !first) {
            ps->i++;
            break;
        }
        first = 0;
        uint32_t lo, hi;
        int r = class_char(ps, &lo, fold);
        if (r < 0) return -1;
        if (r == 0) continue;
        hi = lo;
        if (peek(ps) == '-' && ps->i + 1 < ps->n && ps->p[ps->i + 1] != ']') {
            ps->i++;
            int r2 = class_char(ps, &hi, fold);
            if (r2 < 0) return -1;
            if (r2 == 0) return fail(ps, "a range cannot end in a class");
            if (hi < lo) return fail(ps, "range out of order in a character class");
        }
        if (!(fold ? tmp_add_fold(ps, lo, hi) : tmp_add(ps, lo, hi))) return -1;
    }
    return set_node(ps, tmp_finish(ps, negate));
}

static int literal(parser *ps, uint32_t cp, int flags) {
    ps->n_tmp = 0;
    if (!((flags & F_I) ? tmp_add_fold(ps, cp, cp) : tmp_add(ps, cp, cp))) return -1;
    return set_node(ps, tmp_finish(ps, 0));
}

/* ---- parser ------------------------------------------------------------------------------------- */

static int parse_alt(parser *ps, int *flags);

static int assert_node(parser *ps, int kind) {
    int nd = new_node(ps, N_ASSERT);
    if (nd >= 0) ps->nodes[nd].arg = kind;
    return nd;
}

/* Flags after "(?": returns 1 for "(?flags)" (applied to *flags), 2 for "(?flags:"
 * (new flags in *group), -1 on error. */
static int parse_flags(parser *ps, int *flags, int *group) {
    int f = *flags, neg = 0, any = 0;
    while (!at_end(ps)) {
        int c = ps->p[ps->i++];
        if (c == ')' || c == ':') {
            if (neg && !any) return fail(ps, "missing flag after '-'");
            if (c == ')') {
                *flags = f;
                return 1;
            }
            *group = f;
            return 2;
        }
        int bit = c == 'i' ? F_I : c == 's' ? F_S : c == 'm' ? F_M : c == 'U' ? 0 : -1;
        if (c == '-' && !neg) {
            neg = 1;
            any = 0;
            continue;
        }
        if (bit < 0) return fail(ps, "unknown or unsupported group flag");
        f = neg ? f & ~bit : f | bit;
        any = 1;
    }
    return fail(ps, "missing ) after group flags");
}

static int parse_atom(parser *ps, int *flags) {
    int c = peek(ps);
    if (c == '(') {
        ps->i++;
        int gflags = *flags;
        if (peek(ps) == '?') {
            ps->i++;
            int c2 = peek(ps);
            if (c2 == 'P' || c2 == '<') {
                if (c2 == 'P') ps->i++;
                else if (ps->i + 1 < ps->n && (ps->p[ps->i + 1] == '=' || ps->p[ps->i + 1] == '!'))
                    return fail(ps, "look-behind is not supported");
                if (peek(ps) != '<') return fail(ps, "malformed named group");
                while (!at_end(ps) && peek(ps) != '>') ps->i++;
                if (at_end(ps)) return fail(ps, "malformed named group");
                ps->i++;
            } else if (c2 == '=' || c2 == '!') {
                return fail(ps, "look-ahead is not supported");
            } else {
                int r = parse_flags(ps, flags, &gflags);
                if (r < 0) return -1;
                if (r == 1) return new_node(ps, N_EMPTY);
            }
        }
        if (++ps->depth > MAX_DEPTH) return fail(ps, "groups nested too deeply");
        int nd = parse_alt(ps, &gflags);
        ps->depth--;
        if (nd < 0) return -1;
        if (peek(ps) != ')') return fail(ps, "missing )");
        ps->i++;
        return nd;
    }
    if (c == '[') return parse_class(ps, *flags);
    if (c == '.') {
        ps->i++;
        ps->n_tmp = 0;
        if (*flags & F_S) {
            if (!tmp_add(ps, 0, OX_UTF8_MAX_VALUE)) return -1;
        } else if (!tmp_add(ps, '\n', '\n')) {
            return -1;
        }
        return set_node(ps, tmp_finish(ps, !(*flags & F_S)));
    }
    if (c == '^') {
        ps->i++;
        return assert_node(ps, (*flags & F_M) ? A_BOL : A_BOT);
    }
    if (c == '$') {
        ps->i++;
        return assert_node(ps, (*flags & F_M) ? A_EOL : A_EOT);
    }
    if (c == '\\') {
        ps->i++;
        if (at_end(ps)) return fail(ps, "trailing backslash");
        int e = ps->p[ps->i];
        if (e >= 0x80) return literal(ps, next_char(ps), *flags);
        ps->i++;
        switch (e) {
        case 'b': return assert_node(ps, A_WORD);
        case 'B': return assert_node(ps, A_NWORD);
        case 'A': return assert_node(ps, A_BOT);
        case 'z': return assert_node(ps, A_EOT);
        case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
            ps->n_tmp = 0;
            if (perl_class(ps, e) < 0) return -1;
            return set_node(ps, tmp_finish(ps, 0));
        case 'Q': { /* literal text up to \E */
            int cat = new_node(ps, N_CAT);
            while (cat >= 0 && !at_end(ps)) {
                if (peek(ps) == '\\' && ps->i + 1 < ps->n && ps->p[ps->i + 1] == 'E') {
                    ps->i += 2;
                    break;
                }
                int lit = literal(ps, next_char(ps), *flags);
                if (lit < 0) return -1;
                add_child(ps, cat, lit);
            }
            return cat;
        }
        default: break;
        }
        uint32_t cp;
        int r = escape_char(ps, e, &cp);
        if (r < 0) return -1;
        if (r == 0) return fail(ps, "invalid escape");
        return literal(ps, cp, *flags);
    }
    if (c == '*' || c == '+' || c == '?') return fail(ps, "missing argument to repetition operator");
    return literal(ps, next_char(ps), *flags);
}

/* {n}, {n,}, {n,m} at ps->i; returns 1 (and advances) or 0 when it is not one. */
static int parse_count(parser *ps, int *min, int *max) {
    size_t j = ps->i + 1;
    long a = 0, b;
    int digits = 0;
    while (j < ps->n && ps->p[j] >= '0' && ps->p[j] <= '9') {
        if (a <= 100000) a = a * 10 + (ps->p[j] - '0');
        j++;
        digits++;
    }
    if (!digits) return 0;
    b = a;
    if (j < ps->n && ps->p[j] == ',') {
        j++;
        b = -1;
        int d2 = 0;
        long v = 0;
        while (j < ps->n && ps->p[j] >= '0' && ps->p[j] <= '9') {
            if (v <= 100000) v = v * 10 + (ps->p[j] - '0');
            j++;
            d2++;
        }
        if (d2) b = v;
    }
    if (j >= ps->n || ps->p[j] != '}') return 0;
    ps->i = j + 1;
    if (a > MAX_REPEAT || b > MAX_REPEAT) return fail(ps, "bad repetition count (above 1000)");
    if (b >= 0 && b < a) return fail(ps, "bad repetition count (max below min)");
    *min = (int)a;
    *max = (int)b;
    return 1;
}

static int parse_repeat(parser *ps, int *flags) {
    int atom = parse_atom(ps, flags);
    if (atom < 0) return -1;
    int repeated = 0;
    for (;;) {
        int c = peek(ps), min = 0, max = -1;
        if (c == '*' || c == '+' || c == '?') {
            min = c == '+';
            max = c == '?' ? 1 : -1;
            ps->i++;
        } else if (c == '{') {
            int r = parse_count(ps, &min, &max);
            if (r < 0) return -1;
            if (r == 0) break; /* not a count: '{' is a literal */
        } else {
            break;
        }
        if (repeated) return fail(ps, "bad repetition operator (repeated quantifier)");
        if (peek(ps) == '?') ps->i++; /* lazy: same full-match result */
        int rep = new_node(ps, N_REP);
        if (rep < 0) return -1;
        ps->nodes[rep].min = min;
        ps->nodes[rep].max = max;
        add_child(ps, rep, atom);
        atom = rep;
        repeated = 1;
    }
    return atom;
}

static int parse_cat(parser *ps, int *flags) {
    int cat = new_node(ps, N_CAT);
    while (cat >= 0 && !at_end(ps) && peek(ps) != '|' && peek(ps) != ')') {
        int r = parse_repeat(ps, flags);
        if (r < 0) return -1;
        add_child(ps, cat, r);
    }
    return cat;
}

static int parse_alt(parser *ps, int *flags) {
    int first = parse_cat(ps, flags);
    if (first < 0 || peek(ps) != '|') return first;
    int alt = new_node(ps, N_ALT);
    if (alt < 0) return -1;
    add_child(ps, alt, first);
    while (peek(ps) == '|') {
        ps->i++;
        int r = parse_cat(ps, flags);
        if (r < 0) return -1;
        add_child(ps, alt, r);
    }
    return alt;
}

/* ---- compiler ---------------------------------------------------------------------------------- */

static int emit(parser *ps, int op, int x, int y) {
    if (ps->n_prog >= MAX_INSTS) {
        if (ps->st == ONYX_OK)
            ps->st = ox_error(ONYX_ERR_LIMIT, "pattern: compiled program exceeds %d instructions",
                              MAX_INSTS);
        return -1;
    }
    if (!grow(ps, (void **)&ps->prog, &ps->cap_prog, ps->n_prog + 1, sizeof(rx_inst))) return -1;
    ps->prog[ps->n_prog] = (rx_inst){op, x, y};
    return (int)ps->n_prog++;
}

static int compile(parser *ps, int nd) {
    const rnode *n = &ps->nodes[nd];
    switch (n->kind) {
    case N_EMPTY: return 0;
    case N_SET: return emit(ps, I_SET, n->arg, 0) < 0 ? -1 : 0;
    case N_ASSERT: return emit(ps, I_ASSERT, n->arg, 0) < 0 ? -1 : 0;
    case N_CAT:
        for (int ch = n->child; ch >= 0; ch = ps->nodes[ch].next)
            if (compile(ps, ch) < 0) return -1;
        return 0;
    case N_ALT: {
        /* SPLIT next, alt2; <alt1>; JMP end; alt2: ... The JMPs are chained through
         * their x field until patched. */
        int jumps = -1;
        for (int ch = n->child; ch >= 0; ch = ps->nodes[ch].next) {
            int last = ps->nodes[ch].next < 0;
            int split = last ? -1 : emit(ps, I_SPLIT, 0, 0);
            if (!last && split < 0) return -1;
            if (split >= 0) ps->prog[split].x = split + 1;
            if (compile(ps, ch) < 0) return -1;
            if (!last) {
                int j = emit(ps, I_JMP, jumps, 0);
                if (j < 0) return -1;
                jumps = j;
                ps->prog[split].y = (int)ps->n_prog;
            }
        }
        while (jumps >= 0) {
            int prev = ps->prog[jumps].x;
            ps->prog[jumps].x = (int)ps->n_prog;
            jumps = prev;
        }
        return 0;
    }
    default: { /* N_REP */
        int child = n->child, min = n->min, max = n->max;
        for (int k = 0; k < min; k++)
            if (compile(ps, child) < 0) return -1;
        if (max < 0) {
            int loop = emit(ps, I_SPLIT, 0, 0);
            if (loop < 0) return -1;
            ps->prog[loop].x = loop + 1;
            if (compile(ps, child) < 0 || emit(ps, I_JMP, loop, 0) < 0) return -1;
            ps->prog[loop].y = (int)ps->n_prog;
            return 0;
        }
        int splits = -1; /* chained through y */
        for (int k = min; k < max; k++) {
            int s = emit(ps, I_SPLIT, 0, splits);
            if (s < 0) return -1;
            ps->prog[s].x = s + 1;
            splits = s;
            if (compile(ps, child) < 0) return -1;
        }
        while (splits >= 0) {
            int prev = ps->prog[splits].y;
            ps->prog[splits].y = (int)ps->n_prog;
            splits = prev;
        }
        return 0;
    }
    }
}

onyx_status ox_regex_compile(const char *pattern, size_t len, ox_regex **out) {
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.p = (const unsigned char *)pattern;
    ps.n = len;
    int flags = 0;
    int root = parse_alt(&ps, &flags);
    if (root >= 0 && !at_end(&ps)) root = fail(&ps, "unmatched )");
    if (root >= 0 && compile(&ps, root) == 0) emit(&ps, I_MATCH, 0, 0);
    ox_regex *re = NULL;
    if (ps.st == ONYX_OK) {
        re = ox_calloc(1, sizeof *re);
        if (!re) oom(&ps);
    }
    ox_free(ps.nodes);
    ox_free(ps.tmp);
    if (ps.st != ONYX_OK) {
        ox_free(ps.prog);
        ox_free(ps.ranges);
        ox_free(ps.sets);
        return ps.st;
    }
    re->prog = ps.prog;
    re->n_prog = ps.n_prog;
    re->ranges = ps.ranges;
    re->sets = ps.sets;
    *out = re;
    return ONYX_OK;
}

void ox_regex_free(ox_regex *re) {
    if (!re) return;
    ox_free(re->prog);
    ox_free(re->ranges);
    ox_free(re->sets);
    ox_free(re);
}
