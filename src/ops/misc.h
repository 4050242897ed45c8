/* The "misc" op family: quantization (ops/quant.c), losses (ops/loss.c), Einsum
 * (ops/einsum.c), signal processing (ops/signal.c, ops/signal_window.c), Det and
 * BitCast (ops/misc_linalg.c) and the random generators (ops/misc_random.c).
 * The registry table is in ops/misc.c. */
#ifndef OX_OPS_MISC_H
#define OX_OPS_MISC_H

#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"

/* ---- helpers (ops/misc.c) ----------------------------------------------------- */

/* Read a scalar (rank 0, or rank 1 with one element) int32/int64 input into *v.
 * Returns OX_NEED_VALUE when its data is not known yet. what names the input. */
onyx_status ox_misc_scalar_int(const ox_tensor *t, const char *what, int64_t *v);
/* Same for a float32/float64/float16/bfloat16 scalar. */
onyx_status ox_misc_scalar_float(const ox_tensor *t, const char *what, double *v);
/* float32, float64, float16 or bfloat16 */
int ox_misc_is_float(int32_t dt);
/* The numeric output types of the window ops and MelWeightMatrix (no bool, no
 * 4-bit or 8-bit float types). */
int ox_misc_is_plain_numeric(int32_t dt);
/* Free c->state allocated with ox_malloc. */
void ox_misc_free_state(void *state);

/* ---- ops ------------------------------------------------------------------------ */
#define OX_MISC_DECLARE(name)                                                              \
    onyx_status ox_misc_##name##_prepare(ox_op_ctx *c);                                    \
    onyx_status ox_misc_##name##_infer(ox_op_ctx *c);                                      \
    onyx_status ox_misc_##name##_run(ox_op_ctx *c)

OX_MISC_DECLARE(quantize);
OX_MISC_DECLARE(dequantize);
OX_MISC_DECLARE(dynquant);
OX_MISC_DECLARE(nll);
OX_MISC_DECLARE(sce);
OX_MISC_DECLARE(einsum);
OX_MISC_DECLARE(dft);
OX_MISC_DECLARE(stft);
OX_MISC_DECLARE(window);
OX_MISC_DECLARE(mel);
OX_MISC_DECLARE(det);
OX_MISC_DECLARE(bitcast);
OX_MISC_DECLARE(random);
OX_MISC_DECLARE(bernoulli);
OX_MISC_DECLARE(multinomial);

void ox_misc_einsum_destroy(void *state);

#endif
