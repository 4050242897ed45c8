/* Placeholder: the reduce op family. */
#include "ops/op.h"

const ox_op_def ox_ops_reduce[] = {{0}};
