const char *sconsy_name(void) { return "sconsy"; }
