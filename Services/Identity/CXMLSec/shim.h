// libxmlsec1 (OpenSSL engine) for identity's SAML service provider.
//
// SwiftPM does not pass pkg-config's -D flags to the Clang importer, so they are repeated here,
// before any xmlsec header: they must match how Debian built the library (`pkg-config --cflags
// xmlsec1-openssl`). Without XMLSEC_NO_SIZE_T in particular, xmlSecSize is size_t instead of
// unsigned int and every struct that holds one is laid out differently from the library's.
#ifndef XMLSEC_NO_SIZE_T
#define XMLSEC_NO_SIZE_T
#endif
#ifndef XMLSEC_CRYPTO_OPENSSL
#define XMLSEC_CRYPTO_OPENSSL 1
#endif
#ifndef XMLSEC_NO_GOST
#define XMLSEC_NO_GOST 1
#endif
#ifndef XMLSEC_NO_GOST2012
#define XMLSEC_NO_GOST2012 1
#endif
#ifndef XMLSEC_NO_CRYPTO_DYNAMIC_LOADING
#define XMLSEC_NO_CRYPTO_DYNAMIC_LOADING 1
#endif
#ifndef XMLSEC_OPENSSL3_ENGINES
#define XMLSEC_OPENSSL3_ENGINES 1
#endif

// libxml2 is built with ICU, and its encoding header would pull the system ICU headers in, which
// clash with Foundation's own copy of ICU in the same Swift module graph. Rampart never touches
// libxml2's encoding handlers (it only holds pointers to them), so the ICU members are left out.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/keys.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/transforms.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/app.h>
#include <xmlsec/openssl/crypto.h>

// Raw DEFLATE for the SAML HTTP-Redirect binding.
#include <zlib.h>
