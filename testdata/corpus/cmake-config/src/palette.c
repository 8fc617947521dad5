#include "config.h"
const char *palette_colours(void) { return COLOUR_LIST; }
const char *palette_data(void) { return PALETTE_DATA; }
