/* Internals shared by the regex compiler (ops/regex_compile.c) and the matcher
 * (ops/regex.c): the compiled program. */
#ifndef OX_OPS_REGEX_IMPL_H
#define OX_OPS_REGEX_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "ops/regex.h"

typedef struct rx_range {
    uint32_t lo, hi;
} rx_range;

/* assertions: start/end of text, of line, word boundary and not */
enum { A_BOT, A_EOT, A_BOL, A_EOL, A_WORD, A_NWORD };
enum { I_SET, I_SPLIT, I_JMP, I_ASSERT, I_MATCH };

typedef struct rx_inst {
    int op, x, y;
} rx_inst;

typedef struct rx_set {
    size_t off, n; /* into ranges */
} rx_set;

struct ox_regex {
    rx_inst *prog;
    size_t n_prog;
    rx_range *ranges;
    rx_set *sets;
};

#endif
