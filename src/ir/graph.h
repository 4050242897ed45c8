/* A checked, resolved graph: values by index, nodes in topological order, every op
 * found in the registry. Built from a decoded ox_graph when a session is made.
 *
 * Checks (each error names the node and the problem): unknown ops (with domain and
 * opset), inputs that nothing defines, values defined twice, cycles, missing
 * opset imports, too many inputs/outputs.
 */
#ifndef OX_IR_GRAPH_H
#define OX_IR_GRAPH_H

#include "ir/model.h"
#include "ops/op.h"
#include "util/strmap.h"

enum ox_value_kind {
    OX_VALUE_INPUT = 1,       /* a graph input the caller feeds */
    OX_VALUE_INITIALIZER = 2, /* a constant from the file */
    OX_VALUE_NODE = 3         /* produced by a node */
};

typedef struct ox_gvalue {
    const char *name;
    int kind;                      /* enum ox_value_kind */
    int producer;                  /* node index (kind NODE), else -1 */
    const ox_tensor_proto *init;   /* kind INITIALIZER */
    const ox_value_info *info;     /* declared type (graph input/output/value_info) or NULL */
} ox_gvalue;

typedef struct ox_gnode {
    const ox_node *node;
    const ox_op_def *def;
    int64_t opset;
    /* n_in value indices; -1 for an omitted input. The first node->n_inputs are the
     * node's own; after them come its implicit inputs: the values of this graph its
     * subgraphs (If/Loop/Scan bodies) read, in the order ox_node_captures gives. */
    int *in;
    int *out; /* n_out value indices; -1 for an omitted output */
    size_t n_in, n_out;
} ox_gnode;

typedef struct ox_rgraph {
    ox_gvalue *values;
    size_t n_values;
    ox_gnode *nodes; /* topological order */
    size_t n_nodes;
    int *inputs;     /* graph inputs the caller feeds (not initializers), in file order,
                        then the captured values of enclosing graphs (see below) */
    size_t n_inputs;
    size_t n_formal_inputs; /* inputs[0..n_formal_inputs) are the graph's own */
    int *outputs;    /* graph outputs in file order */
    size_t n_outputs;
    ox_strmap names; /* value name -> index */
    ox_tensor_proto *densified; /* sparse initializers made dense (data owned here) */
    size_t n_densified;
} ox_rgraph;

/* Resolve and check g (opsets from model m). captures: names of enclosing graphs'
 * values that g reads (a subgraph's free variables); they become inputs after g's
 * own. On success *out is a new graph owned by the caller (ox_rgraph_free). */
onyx_status ox_rgraph_build(const ox_model *m, const ox_graph *g, const char *const *captures,
                            size_t n_captures, ox_rgraph **out);

/* The free variables of g: names it (or a subgraph inside it) reads that g does not
 * define. *names is ox_malloc'ed (free with ox_free); the strings belong to g. */
onyx_status ox_graph_free_vars(const ox_graph *g, const char ***names, size_t *n);

/* The free variables of all of a node's graph attributes, deduplicated, in a fixed
 * order: what the node captures from its graph. */
onyx_status ox_node_captures(const ox_node *node, const char ***names, size_t *n);

/* Deepest nesting of subgraphs allowed (ONYX_ERR_LIMIT beyond). */
#define OX_MAX_GRAPH_DEPTH 64
void ox_rgraph_free(ox_rgraph *g);
/* Value index for a name, or -1. */
int ox_rgraph_find(const ox_rgraph *g, const char *name);
/* "node 'name' (OpType)" for messages. */
const char *ox_node_label(const ox_node *n, char *buf, size_t cap);

#endif
