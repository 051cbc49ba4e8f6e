#ifndef PORTAL_COMMON_PASSWORDS_H
#define PORTAL_COMMON_PASSWORDS_H

/// The common-passwords list built into the binary (common_passwords.c): lower-case entries, one per line,
/// as one NUL-terminated string.
const char *portal_common_passwords(void);

#endif
