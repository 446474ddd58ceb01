/* layer-input.c: the layer extractor's input, inflated (--gunzip) and hashed on its way to the tar reader. */
#ifndef DEVBOX_LAYER_INPUT_H
#define DEVBOX_LAYER_INPUT_H

#include <stdbool.h>

/* Sets up zlib and the hash, and makes the tar reader read stdin through them. */
void layer_input_open (bool gunzip);
/* Once the input was read to its end: the SHA-256 (hex) and size of the uncompressed tar. */
void layer_input_digest (char hex[65], unsigned long long *size);

#endif
