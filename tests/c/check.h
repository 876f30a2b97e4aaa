/* A tiny test harness for the C tests: CHECK and CHECK_STATUS report every
 * failure with its location (and the library's message) and count it; main()
 * returns the count's verdict through TEST_DONE(). */
#ifndef TE_TEST_CHECK_H
#define TE_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "taskengine.h"

static int te_failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      te_failures++;                                                           \
    }                                                                          \
  } while (0)

#define CHECK_STATUS(expected, call)                                           \
  do {                                                                         \
    te_status got_ = (call);                                                   \
    if (got_ != (expected)) {                                                  \
      fprintf(stderr, "%s:%d: %s\n  returned %s (%s), expected %s\n",          \
              __FILE__, __LINE__, #call, te_status_str(got_),                  \
              te_last_error_message(), te_status_str(expected));               \
      te_failures++;                                                           \
    }                                                                          \
  } while (0)

/* Runs one test function and says so. */
#define RUN(test)                                                              \
  do {                                                                         \
    int before_ = te_failures;                                                 \
    test();                                                                    \
    printf("%s %s\n", te_failures == before_ ? "ok  " : "FAIL", #test);       \
    fflush(stdout);                                                            \
  } while (0)

#define TEST_DONE()                                                            \
  do {                                                                         \
    if (te_failures) {                                                         \
      fprintf(stderr, "%d check(s) failed\n", te_failures);                    \
      return EXIT_FAILURE;                                                     \
    }                                                                          \
    return EXIT_SUCCESS;                                                       \
  } while (0)

#endif
