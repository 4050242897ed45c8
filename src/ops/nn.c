/* Placeholder: the nn op family. */
#include "ops/op.h"

const ox_op_def ox_ops_nn[] = {{0}};
