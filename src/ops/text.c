/* The "text and miscellany" op family: the registry table.
 * Implementations:
 *   ops/strings.c        StringConcat, StringSplit, StringNormalizer
 *   ops/regex.c          RegexFullMatch and the regex matcher (ops/regex.h)
 *   ops/regex_compile.c  the regex parser and compiler
 *   ops/text_tfidf.c     TfIdfVectorizer
 *   ops/ml.c             ai.onnx.ml LabelEncoder, ArrayFeatureExtractor, Binarizer
 *   ops/ml_tree.c        ai.onnx.ml TreeEnsemble
 *   ops/training.c       ai.onnx.preview.training Adagrad, Adam, Momentum
 *   ops/deform_conv.c    DeformConv
 *   ops/tensor_scatter.c TensorScatter
 *   ops/text_util.c      shared helpers (byte-key hash map, UTF-8, case mapping)
 */
#include "ops/text_util.h"

#define ML "ai.onnx.ml"
#define TRAIN "ai.onnx.preview.training"
#define OPP(domain, name, since, fn, flags, types)                                                 \
    { domain, name, since, ox_text_##fn##_prepare, ox_text_destroy, ox_text_##fn##_infer,          \
      ox_text_##fn##_run, flags, types }
#define OPN(domain, name, since, fn, flags, types)                                                 \
    { domain, name, since, NULL, NULL, ox_text_##fn##_infer, ox_text_##fn##_run, flags, types }

const ox_op_def ox_ops_text[] = {
    OPN("", "StringConcat", 20, string_concat, 0, "string"),
    OPP("", "StringSplit", 20, string_split, OX_OP_ALLOC_IN_RUN, "string; int64 lengths"),
    OPP("", "StringNormalizer", 10, string_normalizer, OX_OP_ALLOC_IN_RUN,
        "string (case mapping: Latin, Greek, Cyrillic letters; locale not used)"),
    OPP("", "RegexFullMatch", 20, regex_full_match, 0,
        "string; bool output (RE2 syntax without \\p{...} classes)"),
    OPP("", "TfIdfVectorizer", 9, tfidf, 0, "string int32 int64; float32 output"),
    OPP("", "DeformConv", 19, deform_conv, 0, "float32 float64 float16 bfloat16"),
    OPP("", "TensorScatter", 24, tensor_scatter, 0, "any tensor type (string included)"),
    OPP(ML, "LabelEncoder", 1, label_encoder, 0, "string int64 float32 (opset 4: also int32 int16 float64)"),
    OPN(ML, "ArrayFeatureExtractor", 1, array_feature_extractor, 0, "float32 float64 int64 int32 string"),
    OPP(ML, "Binarizer", 1, binarizer, 0, "float32 float64 int64 int32"),
    OPP(ML, "TreeEnsemble", 5, tree_ensemble, 0, "float32 float64 float16"),
    OPP(TRAIN, "Adagrad", 1, adagrad, 0, "float32 float64"),
    OPP(TRAIN, "Adam", 1, adam, 0, "float32 float64"),
    OPP(TRAIN, "Momentum", 1, momentum, 0, "float32 float64"),
    {0},
};
