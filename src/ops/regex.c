/* The regex matcher of ops/regex.h and the RegexFullMatch op.
 *
 * Matching runs all NFA threads of the compiled program (ops/regex_compile.c) in
 * lock step over the text (Thompson's construction, Pike's simulation without
 * captures), so time is linear in the text times the program size. Characters are
 * UTF-8 code points; invalid bytes decode to values above U+10FFFF (ops/text_util.h)
 * that only `.`, negated classes and their complements match. */
#include <stdint.h>
#include <string.h>

#include "ops/regex_impl.h"
#include "ops/text_util.h"
#include "util/alloc.h"

/* ---- matcher ----------------------------------------------------------------------------------- */

size_t ox_regex_scratch_bytes(const ox_regex *re) {
    /* two thread lists, a stack for closures, a mark per instruction */
    return (re->n_prog * 5 + 4) * sizeof(uint32_t);
}

static int in_set(const ox_regex *re, int set, uint32_t c) {
    const rx_range *r = re->ranges + re->sets[set].off;
    size_t lo = 0, hi = re->sets[set].n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid].lo) hi = mid;
        else if (c > r[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static int is_word(uint32_t c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

#define NONE_CP 0xFFFFFFFFu /* no character (start or end of text) */

static int assert_ok(int kind, uint32_t prev, uint32_t next) {
    switch (kind) {
    case A_BOT: return prev == NONE_CP;
    case A_EOT: return next == NONE_CP;
    case A_BOL: return prev == NONE_CP || prev == '\n';
    case A_EOL: return next == NONE_CP || next == '\n';
    case A_WORD:
    case A_NWORD: {
        int b = (prev != NONE_CP && is_word(prev)) != (next != NONE_CP && is_word(next));
        return kind == A_WORD ? b : !b;
    }
    default: return 0;
    }
}

typedef struct vm {
    const ox_regex *re;
    uint32_t *marks, *stack, gen;
} vm;

/* Add pc and everything reachable from it without consuming input to list. */
static void add_thread(vm *m, uint32_t *list, size_t *n, int pc0, uint32_t prev, uint32_t next) {
    size_t sp = 0;
    m->stack[sp++] = (uint32_t)pc0;
    while (sp) {
        uint32_t pc = m->stack[--sp];
        if (m->marks[pc] == m->gen) continue;
        m->marks[pc] = m->gen;
        const rx_inst *in = &m->re->prog[pc];
        switch (in->op) {
        case I_JMP: m->stack[sp++] = (uint32_t)in->x; break;
        case I_SPLIT:
            m->stack[sp++] = (uint32_t)in->y;
            m->stack[sp++] = (uint32_t)in->x;
            break;
        case I_ASSERT:
            if (assert_ok(in->x, prev, next)) m->stack[sp++] = pc + 1;
            break;
        default: list[(*n)++] = pc; break;
        }
    }
}

static void next_gen(vm *m) {
    if (++m->gen == 0) {
        memset(m->marks, 0, m->re->n_prog * sizeof(uint32_t));
        m->gen = 1;
    }
}

int ox_regex_full_match(const ox_regex *re, const char *s, size_t n, void *scratch) {
    size_t np = re->n_prog;
    uint32_t *base = scratch;
    vm m = {re, base, base + np, 0};
    uint32_t *cl = base + 3 * np + 2, *nl = base + 4 * np + 3;
    memset(m.marks, 0, np * sizeof(uint32_t));
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, ncl = 0;
    uint32_t prev = NONE_CP, cur = n ? ox_utf8_next(u, n, &i) : NONE_CP;
    next_gen(&m);
    add_thread(&m, cl, &ncl, 0, prev, cur);
    while (cur != NONE_CP && ncl) {
        uint32_t after = i < n ? ox_utf8_next(u, n, &i) : NONE_CP;
        size_t nnl = 0;
        next_gen(&m);
        for (size_t k = 0; k < ncl; k++) {
            const rx_inst *in = &re->prog[cl[k]];
            if (in->op == I_SET && in_set(re, in->x, cur))
                add_thread(&m, nl, &nnl, (int)cl[k] + 1, cur, after);
        }
        uint32_t *t = cl;
        cl = nl;
        nl = t;
        ncl = nnl;
        prev = cur;
        cur = after;
    }
    if (cur != NONE_CP) return 0;
    for (size_t k = 0; k < ncl; k++)
        if (re->prog[cl[k]].op == I_MATCH) return 1;
    return 0;
}

/* ---- RegexFullMatch -------------------------------------------------------------------------------- */

typedef struct regex_state {
    ox_text_state base;
    ox_regex *re;
} regex_state;

static void regex_state_free(void *p) { ox_regex_free(((regex_state *)p)->re); }

onyx_status ox_text_regex_full_match_prepare(ox_op_ctx *c) {
    regex_state *s = ox_text_state_new(c, sizeof *s, regex_state_free);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    const ox_attr *a = ox_attr_get(c, "pattern");
    if (!a) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute pattern is required");
    if (a->type != OX_ATTR_STRING)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute pattern must be a string");
    return ox_regex_compile(a->s.data, a->s.len, &s->re);
}

onyx_status ox_text_regex_full_match_infer(ox_op_ctx *c) {
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input X is required");
    const ox_tensor *x = c->in[0];
    if (x->dtype != ONYX_DTYPE_STRING)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X must be a string tensor, not %s",
                        ox_dtype_name(x->dtype));
    ox_set_shape(c->out[0], ONYX_DTYPE_BOOL, x->rank, x->dims);
    const regex_state *s = c->state;
    c->workspace_bytes = ox_regex_scratch_bytes(s->re);
    return ONYX_OK;
}

onyx_status ox_text_regex_full_match_run(ox_op_ctx *c) {
    const regex_state *s = c->state;
    const ox_string *xs = c->in[0]->data;
    uint8_t *y = c->out[0]->data;
    size_t n = ox_tensor_count(c->in[0]);
    for (size_t i = 0; i < n; i++)
        y[i] = (uint8_t)ox_regex_full_match(s->re, xs[i].data, xs[i].len, c->workspace);
    return ONYX_OK;
}
