#include <stdio.h>
#include <string.h>
#include <ctype.h>
int main(int argc, char **argv)
{
    int upper = strstr(argv[0], "upper") != NULL;
    for (int i = 1; i < argc; i++) {
        for (char *p = argv[i]; *p; p++) putchar(upper ? toupper(*p) : *p);
        putchar('\n');
    }
    return 0;
}
