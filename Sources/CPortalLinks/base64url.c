#include "portal_base64url.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// Translates 16 characters to their 6-bit values with range checks, then packs each group of four into
// three bytes with two multiply-adds and one shuffle (the approach of Muła and Lemire, for the URL alphabet).
__attribute__((target("ssse3")))
static size_t decode_ssse3(const uint8_t *in, size_t len, uint8_t *out, int *valid) {
    size_t consumed = 0;
    int all_valid = 1;
    const __m128i pack_pairs = _mm_set1_epi32(0x01400140);
    const __m128i pack_quads = _mm_set1_epi32(0x00011000);
    const __m128i order = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    while (consumed + 16 <= len) {
        __m128i c = _mm_loadu_si128((const __m128i *)(in + consumed));
        // Bytes >= 0x80 compare as negative, so they fall in no range and are refused.
        __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8(0x40)), _mm_cmplt_epi8(c, _mm_set1_epi8(0x5b)));
        __m128i lower = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8(0x60)), _mm_cmplt_epi8(c, _mm_set1_epi8(0x7b)));
        __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8(0x2f)), _mm_cmplt_epi8(c, _mm_set1_epi8(0x3a)));
        __m128i dash = _mm_cmpeq_epi8(c, _mm_set1_epi8('-'));
        __m128i underscore = _mm_cmpeq_epi8(c, _mm_set1_epi8('_'));
        __m128i known = _mm_or_si128(_mm_or_si128(upper, lower), _mm_or_si128(digit, _mm_or_si128(dash, underscore)));
        if (_mm_movemask_epi8(known) != 0xffff) all_valid = 0;
        __m128i shift = _mm_or_si128(
            _mm_or_si128(_mm_and_si128(upper, _mm_set1_epi8(-65)), _mm_and_si128(lower, _mm_set1_epi8(-71))),
            _mm_or_si128(_mm_and_si128(digit, _mm_set1_epi8(4)),
                         _mm_or_si128(_mm_and_si128(dash, _mm_set1_epi8(62 - '-')),
                                      _mm_and_si128(underscore, _mm_set1_epi8(63 - '_')))));
        __m128i values = _mm_add_epi8(c, shift);
        __m128i pairs = _mm_maddubs_epi16(values, pack_pairs);
        __m128i quads = _mm_madd_epi16(pairs, pack_quads);
        uint8_t bytes[16];
        _mm_storeu_si128((__m128i *)bytes, _mm_shuffle_epi8(quads, order));
        memcpy(out, bytes, 12);
        out += 12;
        consumed += 16;
    }
    *valid = all_valid;
    return consumed;
}

size_t pl_base64url_decode_blocks(const uint8_t *in, size_t len, uint8_t *out, int *valid) {
    *valid = 1;
    return __builtin_cpu_supports("ssse3") ? decode_ssse3(in, len, out, valid) : 0;
}

#else

size_t pl_base64url_decode_blocks(const uint8_t *in, size_t len, uint8_t *out, int *valid) {
    (void)in; (void)len; (void)out;
    *valid = 1;
    return 0;
}

#endif
