"""The hash-set library: readers for every hash-set format, grading schemes and the store."""
