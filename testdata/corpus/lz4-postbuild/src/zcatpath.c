#include <stdio.h>
int main(void) { puts(DIR "/paths.txt.lz4"); return 0; }
