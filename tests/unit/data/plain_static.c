/* An ordinary C program, linked static and non-PIE like a TA but without
 * the TALOS runtime: test_image_check.c expects the sim platform to refuse
 * it for the missing .note.talos. */
#include <stdio.h>

int main(void)
{
    puts("not a TA");
    return 0;
}
