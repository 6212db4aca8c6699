#ifndef MESHDB_CLIBCRYPTO_SHIM_H
#define MESHDB_CLIBCRYPTO_SHIM_H
// Only OpenSSL's low-level SHA-256 is used (Sources/Consensus/Messages/SHA256Hasher.swift): its
// context lives in the caller's memory, so a hash allocates nothing. OpenSSL 3 marks these calls
// deprecated in favour of EVP, whose contexts are heap-allocated and dispatched per call, which
// is what made hashing expensive here in the first place.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#endif
