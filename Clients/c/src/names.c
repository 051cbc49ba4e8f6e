/* Names for statuses and reasons, and the sentences a join page shows. */
#include "portallinks.h"

const char *pl_status_name(pl_status status) {
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    };
    return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "UNKNOWN";
}

const char *pl_reason_name(pl_reason reason) {
    static const char *const names[] = {
        "", "malformed", "unsupported_version", "unknown_key", "key_disabled", "key_expired", "bad_signature",
        "expired", "not_yet_valid", "link_revoked", "client_revoked", "client_disabled",
    };
    return (unsigned)reason < sizeof names / sizeof names[0] ? names[reason] : "unknown";
}

const char *pl_reason_text(pl_reason reason) {
    switch (reason) {
    case PL_REASON_NONE:
        return "";
    case PL_REASON_EXPIRED:
    case PL_REASON_KEY_EXPIRED:
        return "This link has expired; ask your contact for a new one.";
    case PL_REASON_NOT_YET_VALID:
        return "This link is not valid yet; try again in a few minutes.";
    case PL_REASON_LINK_REVOKED:
    case PL_REASON_CLIENT_REVOKED:
    case PL_REASON_KEY_DISABLED:
        return "This link has been withdrawn; ask your contact for a new one.";
    case PL_REASON_CLIENT_DISABLED:
        return "Sign-ups for this company are paused; please contact us.";
    case PL_REASON_MALFORMED:
    case PL_REASON_UNSUPPORTED_VERSION:
    case PL_REASON_UNKNOWN_KEY:
    case PL_REASON_BAD_SIGNATURE:
    default:
        return "This link is not valid; check that you copied all of it, or ask your contact for a new one.";
    }
}
