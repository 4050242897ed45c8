/* The op registry: every (domain, name) once, with run and infer, and ops found at
 * the opsets they claim. */
#include <string.h>

#include "ops/op.h"
#include "test.h"

TEST(registry_unique_and_complete) {
    size_t n;
    const ox_op_def *const *all = ox_op_all(&n);
    CHECK(n > 100);
    for (size_t i = 0; i < n; i++) {
        CHECK(all[i]->infer && all[i]->run && all[i]->since_version >= 1);
        for (size_t j = i + 1; j < n; j++)
            if (!strcmp(all[i]->name, all[j]->name) && !strcmp(all[i]->domain, all[j]->domain)) {
                fprintf(stderr, "  %s.%s is registered twice\n", all[i]->domain, all[i]->name);
                ox_test_failures++;
            }
        CHECK(ox_op_find(all[i]->domain, all[i]->name, all[i]->since_version) == all[i]);
        CHECK(ox_op_find(all[i]->domain, all[i]->name, all[i]->since_version - 1) == NULL);
    }
}
