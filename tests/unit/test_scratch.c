/* util/scratch.h: per-thread buffers, and the tag that lets one job's calls on a
 * thread share what an earlier call left there. */
#include <string.h>

#include "test.h"
#include "util/scratch.h"

TEST(scratch_tag_keeps_contents_for_the_same_job) {
    int kept = 1;
    unsigned long long a = ox_scratch_new_tag(), b = ox_scratch_new_tag();
    CHECK(a != 0 && b != 0 && a != b);
    char *p = ox_scratch_tagged(2, 100, a, &kept);
    REQUIRE(p);
    CHECK(!kept); /* nothing made under a yet */
    memset(p, 7, 100);
    CHECK(ox_scratch_tagged(2, 100, a, &kept) == p && kept);
    CHECK(ox_scratch_tagged(2, 50, a, &kept) == p && kept); /* smaller: no growth */
    /* another job's call in between: not kept, for either job */
    ox_scratch_tagged(2, 100, b, &kept);
    CHECK(!kept);
    ox_scratch_tagged(2, 100, a, &kept);
    CHECK(!kept);
    /* an untagged call in between */
    ox_scratch_tagged(2, 100, a, &kept);
    CHECK(kept);
    CHECK(ox_scratch(2, 100) == p);
    ox_scratch_tagged(2, 100, a, &kept);
    CHECK(!kept);
    /* growth loses the contents */
    ox_scratch_tagged(2, 1 << 20, a, &kept);
    CHECK(!kept);
    /* tag 0 never keeps anything */
    ox_scratch_tagged(2, 100, 0, &kept);
    ox_scratch_tagged(2, 100, 0, &kept);
    CHECK(!kept);
    /* another slot leaves this one alone */
    ox_scratch_tagged(2, 100, a, &kept);
    ox_scratch_tagged(1, 100, b, &kept);
    ox_scratch_tagged(2, 100, a, &kept);
    CHECK(kept);
    ox_scratch_release();
}
