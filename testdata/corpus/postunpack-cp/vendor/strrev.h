char *strrev_inplace(char *s);
