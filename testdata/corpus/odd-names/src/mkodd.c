#include <stdio.h>
static const char *names[] = {
    "with space", "it's quoted", "-leading-dash", "star*and?query", "dollar $HOME",
    "caf\xc3\xa9 \xe2\x98\x95", "back\\slash", "semi;colon&amp", "#hash", "tab\there",
};
int main(int argc, char **argv)
{
    char path[256];
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", argc > 1 ? argv[1] : ".", names[i]);
        FILE *f = fopen(path, "w");
        if (!f) { perror(path); return 1; }
        fprintf(f, "%u\n", i);
        fclose(f);
    }
    puts("made 10 odd names");
    return 0;
}
