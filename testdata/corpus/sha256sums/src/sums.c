#include <stdio.h>
int main(void)
{
    char line[256];
    FILE *f = fopen(CONF, "r");
    if (!f) { perror(CONF); return 1; }
    while (fgets(line, sizeof line, f)) fputs(line, stdout);
    return 0;
}
