/* Small floating-point formats <-> float32/float64.
 *
 * Every narrowing conversion rounds to nearest, ties to even, and keeps NaN a NaN
 * (quiet) and infinities infinite where the format has them; subnormals are exact
 * both ways. Widening conversions are exact.
 *
 * float8 and float4 values are one byte each (float4: the low 4 bits, as ox_tensor
 * stores them). Their narrowing conversions follow the ONNX Cast rules: with
 * saturate, out-of-range values and infinities become the largest finite value of
 * the sign; without it they become NaN (or infinity for float8e5m2). The "fnuz"
 * formats have no negative zero. float4e2m1 has no NaN or infinity: it always
 * saturates, and NaN becomes -0 (0x8), as the ONNX reference and its test data do
 * (the float4 design note's table says +6).
 */
#ifndef OX_UTIL_FP16_H
#define OX_UTIL_FP16_H

#include <stddef.h>
#include <stdint.h>

float ox_f16_to_f32(uint16_t h);
uint16_t ox_f32_to_f16(float f);
uint16_t ox_f64_to_f16(double d); /* rounded once, straight from double */

float ox_bf16_to_f32(uint16_t h);
uint16_t ox_f32_to_bf16(float f);
uint16_t ox_f64_to_bf16(double d);

/* Bulk versions (src and dst may not overlap). */
void ox_f16_to_f32_n(const uint16_t *src, float *dst, size_t n);
void ox_f32_to_f16_n(const float *src, uint16_t *dst, size_t n);
void ox_bf16_to_f32_n(const uint16_t *src, float *dst, size_t n);
void ox_f32_to_bf16_n(const float *src, uint16_t *dst, size_t n);

/* float8: dtype is one of ONYX_DTYPE_FLOAT8E4M3FN, _FLOAT8E4M3FNUZ, _FLOAT8E5M2,
 * _FLOAT8E5M2FNUZ (another dtype decodes as NaN / encodes as 0). */
float ox_f8_to_f32(uint8_t v, int32_t dtype);
uint8_t ox_f64_to_f8(double x, int32_t dtype, int saturate);

/* float4e2m1 in the low 4 bits. */
float ox_f4_to_f32(uint8_t v);
uint8_t ox_f64_to_f4(double x);

/* float8e8m0: an 8-bit exponent and nothing else. Code c < 255 is 2^(c - 127)
 * (so 0 is 2^-127, the smallest value; there is no zero, sign or infinity) and
 * 255 is NaN. Decoding is exact (2^-127 is a float32 subnormal).
 *
 * Encoding (ONNX Cast, opset 24+) takes |x|: the sign of negative inputs is
 * dropped (the spec leaves them undefined; the ONNX reference reads only the
 * exponent bits). |x| between 2^E and 2^(E+1) rounds by mode: UP to 2^(E+1),
 * DOWN to 2^E, NEAREST to the closer one with the midpoint 1.5 * 2^E going up.
 * When the rounded value lies outside [2^-127, 2^127] -- zero and infinity
 * included -- saturate clamps it to the nearest end (0x00 or 0xfe) and otherwise
 * it becomes NaN (0xff), as the spec's table says; NaN stays NaN. (The ONNX
 * Python reference differs where it departs from that table -- infinity always
 * gives NaN, zero always code 0, range ends never NaN in 'down' mode -- and on
 * float32 subnormals, whose exponent field it reads as 2^-127 plus a fraction.) */
enum { OX_E8M0_UP = 0, OX_E8M0_DOWN = 1, OX_E8M0_NEAREST = 2 };
float ox_e8m0_to_f32(uint8_t v);
uint8_t ox_f64_to_e8m0(double x, int round_mode, int saturate);

#endif
