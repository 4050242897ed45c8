/* kernels/wino.h's transforms on AVX-512: the shared body with 16-float vectors. */
#include "kernels/wino.h"

#if defined(__x86_64__) || defined(__i386__)
#define WINO_VL 16
#define WINO_NAME(x) ox_wino_##x##_avx512
#define WINO_LINKAGE
#include "kernels/wino_body.h"
#else
typedef int ox_wino_avx512_unused;
#endif
