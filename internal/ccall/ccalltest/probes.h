#include <stdint.h>

typedef struct { int64_t a, b, sum; } voipd_ccall_sum;
typedef struct { uint64_t bytes, sum; } voipd_ccall_stack;
typedef struct { int64_t ns; uint64_t loops; } voipd_ccall_busy;

void voipd_ccall_add(void *p);
void voipd_ccall_deep(void *p);
void voipd_ccall_spin(void *p);
