#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    char line[512];
    int n = argc > 1 ? atoi(argv[1]) : 0, i = 0;
    FILE *f = fopen("/usr/share/games/fortunes", "r");
    while (fgets(line, sizeof line, f))
        if (i++ == n) { fputs(line, stdout); return 0; }
    return 1;
}
