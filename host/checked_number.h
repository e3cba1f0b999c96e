/* Numbers from Lua that become C integers or durations. Converting a double outside the
 * target type's range is undefined behaviour, so each is range-checked first. The limits
 * are far beyond any useful value and fit every type the numbers are stored in. */
#ifndef VSRUN_CHECKED_NUMBER_H
#define VSRUN_CHECKED_NUMBER_H

#define CHECKED_MAX_SECONDS 1e9                 /* ~31 years; * 1000 still fits a long (ms) */
#define CHECKED_MAX_BYTES 9007199254740992.0    /* 2^53: exact in a double, fits size_t */
#define CHECKED_MAX_COUNT 1e6                   /* attempts, connections: stored in an int or long */

/* 1 when v is a number in (0, max]; NaN and infinities are not. */
static inline int checked_positive(double v, double max) { return v > 0 && v <= max; }

#endif
