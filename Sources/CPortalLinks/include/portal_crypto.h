#ifndef PORTAL_CRYPTO_H
#define PORTAL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/// An HMAC-SHA256 key whose inner and outer pad states are computed once, with a purpose label already
/// absorbed into the inner state. Signing a short message then costs two SHA-256 compressions.
/// The storage is opaque so that Swift never imports OpenSSL's headers.
typedef struct {
    _Alignas(16) uint8_t opaque[256];
} pl_hmac_key;

/// Prepares `key` for HMAC-SHA256(secret, label || message). Returns 1 on success, 0 on failure.
int pl_hmac_key_init(pl_hmac_key *key, const uint8_t *secret, size_t secret_len,
                     const uint8_t *label, size_t label_len);

/// Writes the full 32-byte HMAC-SHA256 of label || message to `out`.
void pl_hmac_sign(const pl_hmac_key *key, const uint8_t *message, size_t message_len, uint8_t out[32]);

/// Compares the first `tag_len` (1...32) bytes of the HMAC of label || message with `tag` in constant time.
/// Returns 1 when they match.
int pl_hmac_verify(const pl_hmac_key *key, const uint8_t *message, size_t message_len,
                   const uint8_t *tag, size_t tag_len);

/// Overwrites the key's state with zeros in a way the compiler cannot remove.
void pl_hmac_key_clear(pl_hmac_key *key);

/// SHA-256 of `data`.
void pl_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

/// Fills `out` from the operating system's cryptographic random source. Returns 1 on success.
int pl_random_bytes(uint8_t *out, size_t len);

/// Zeroes memory in a way the compiler cannot remove.
void pl_cleanse(void *ptr, size_t len);

/// Constant-time comparison: returns 1 when the buffers are equal.
int pl_equal_constant_time(const void *a, const void *b, size_t len);

/// AES-256-GCM with a 12-byte nonce and a 16-byte tag. Returns 1 on success.
int pl_aes256gcm_seal(const uint8_t key[32], const uint8_t nonce[12],
                      const uint8_t *aad, size_t aad_len,
                      const uint8_t *plaintext, size_t len,
                      uint8_t *ciphertext, uint8_t tag[16]);

/// Returns 1 when the tag authenticates, 0 when it does not, -1 on an internal failure.
int pl_aes256gcm_open(const uint8_t key[32], const uint8_t nonce[12],
                      const uint8_t *aad, size_t aad_len,
                      const uint8_t *ciphertext, size_t len,
                      const uint8_t tag[16], uint8_t *plaintext);

#endif
