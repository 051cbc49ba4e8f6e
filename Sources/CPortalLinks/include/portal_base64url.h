#ifndef PORTAL_BASE64URL_H
#define PORTAL_BASE64URL_H

#include <stddef.h>
#include <stdint.h>

/// Decodes the longest prefix of `in` made of whole 16-character blocks with SSSE3, when the CPU has it.
/// Writes 12 bytes per block to `out` and returns the number of characters consumed (a multiple of 16;
/// 0 without SSSE3, leaving everything to the caller's scalar decoder). Sets *valid to 0 when a consumed
/// character is outside the base64url alphabet.
size_t pl_base64url_decode_blocks(const uint8_t *in, size_t len, uint8_t *out, int *valid);

#endif
