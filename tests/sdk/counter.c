/* A user's TA, built outside the TALOS tree with the installed SDK only
 * (tests/integration/test_sdk.sh): plain C, its state in a static counter
 * and a malloc'ed list, nothing TALOS-specific but the ecall table. */
#include <stdlib.h>
#include <string.h>

#include <talos/ta.h>

struct item {
    struct item *next;
    char text[];
};

static struct item *items;
static unsigned long added;

static int add(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    struct item *it = malloc(sizeof(*it) + argv[0].len + 1);
    (void)argc;
    if (!it)
        return TALOS_ERR_NOMEM;
    memcpy(it->text, argv[0].ptr, argv[0].len + 1);
    it->next = items;
    items = it;
    return talos_out_printf(out, "%lu", ++added);
}

static int list(int argc, const struct talos_arg *argv, struct talos_out *out)
{
    int rc = TALOS_OK;
    (void)argc, (void)argv;
    for (struct item *it = items; it && rc == TALOS_OK; it = it->next)
        rc = talos_out_printf(out, "%s\n", it->text);
    return rc;
}

static const struct talos_ecall ecalls[] = {
    {"add", add, 1, 1, 256, "TEXT"},
    {"list", list, 0, 0, 0, ""},
};

TALOS_TA_DEFINE("counter", ecalls, NULL);
