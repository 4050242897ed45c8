#include <stdio.h>
#include <string.h>

#include "onyx.h"
#include "test.h"

#define MAX_TESTS 4096

static struct {
    const char *name;
    ox_test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
int ox_test_failures;

void ox_test_register(const char *name, ox_test_fn fn) {
    if (n_tests < MAX_TESTS) {
        tests[n_tests].name = name;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

int main(int argc, char **argv) {
    int passed = 0, failed = 0;
    for (int i = 0; i < n_tests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1])) continue;
        ox_test_failures = 0;
        tests[i].fn();
        if (ox_test_failures) {
            printf("FAIL %s\n", tests[i].name);
            failed++;
        } else {
            passed++;
        }
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
