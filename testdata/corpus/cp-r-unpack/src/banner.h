#define BANNER "copied, not unpacked"
