/* Placeholder: the elementwise op family. */
#include "ops/op.h"

const ox_op_def ox_ops_elementwise[] = {{0}};
