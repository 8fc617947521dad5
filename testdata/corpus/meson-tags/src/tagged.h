#ifndef TAGGED_H
#define TAGGED_H
const char *tagged_greeting(void);
#endif
