#include <stdio.h>
#include "strrev.h"
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) puts(strrev_inplace(argv[i]));
    return 0;
}
