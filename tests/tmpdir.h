/* A scratch folder for a unit test (tests/unit, tee/<name>/tests): made
 * under $TMPDIR (or /tmp), removed whole afterwards. */
#ifndef TALOS_TESTS_TMPDIR_H
#define TALOS_TESTS_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

/* base (cap bytes) = a new folder $TMPDIR/talos-<tag>-XXXXXX; returns base,
 * or NULL when it could not be made. */
static inline char *test_tmpdir_make(char *base, size_t cap, const char *tag)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(base, cap, "%s/talos-%s-XXXXXX", tmp ? tmp : "/tmp", tag);
    return mkdtemp(base);
}

static inline int test_tmpdir_rm_one(const char *p, const struct stat *st, int flag,
                                     struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

/* Remove base and everything below it (errors ignored: a test's leftovers
 * in $TMPDIR are harmless). */
static inline void test_tmpdir_remove(const char *base)
{
    nftw(base, test_tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
