/* A tiny unit-test framework: TEST(name) { ... } registers itself; CHECK records
 * a failure and goes on; REQUIRE records it and leaves the test. The runner
 * (tests/unit/main.c) runs every test, or those whose names contain argv[1]. */
#ifndef OX_TEST_H
#define OX_TEST_H

#include <math.h>
#include <stdio.h>

typedef void (*ox_test_fn)(void);
void ox_test_register(const char *name, ox_test_fn fn);
extern int ox_test_failures; /* failures in the current test */

#define TEST(name)                                                                         \
    static void test_##name(void);                                                         \
    __attribute__((constructor)) static void register_##name(void) {                      \
        ox_test_register(#name, test_##name);                                              \
    }                                                                                      \
    static void test_##name(void)

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);     \
            ox_test_failures++;                                                            \
        }                                                                                  \
    } while (0)

#define REQUIRE(cond)                                                                      \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "  %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond);   \
            ox_test_failures++;                                                            \
            return;                                                                        \
        }                                                                                  \
    } while (0)

/* Checks a status is ONYX_OK, printing the library's message otherwise. */
#define REQUIRE_OK(expr)                                                                   \
    do {                                                                                   \
        int st_ = (int)(expr);                                                             \
        if (st_ != 0) {                                                                    \
            fprintf(stderr, "  %s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #expr, st_, \
                    onyx_last_error());                                                    \
            ox_test_failures++;                                                            \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double a_ = (double)(a), b_ = (double)(b);                                         \
        if (!(fabs(a_ - b_) <= (tol) + 1e-6 * fabs(b_))) {                                  \
            fprintf(stderr, "  %s:%d: %s = %.9g, expected %.9g\n", __FILE__, __LINE__, #a, \
                    a_, b_);                                                               \
            ox_test_failures++;                                                            \
        }                                                                                  \
    } while (0)

#endif
