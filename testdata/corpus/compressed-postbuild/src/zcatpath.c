#include <stdio.h>
int main(void) { puts(DIR "/paths.txt.gz"); return 0; }
