/* Placeholder: the tensor op family. */
#include "ops/op.h"

const ox_op_def ox_ops_tensor[] = {{0}};
