import CXMLSec
import Foundation

/// libxml2 and libxmlsec1 (OpenSSL engine), initialized once per process before the first
/// SAML message is parsed; both keep global state that must not be set up twice.
enum XMLSecurityLibrary {
    /// Whether initialization succeeded; a service that cannot initialize refuses every SAML message.
    static let ready: Bool = {
        xmlInitParser()
        // Never load external DTDs or substitute entities, whatever a caller's parse options say.
        xmlSubstituteEntitiesDefault(0)
        guard xmlSecInit() >= 0, xmlSecCheckVersionExt(1, 2, 0, xmlSecCheckVersionABICompatible) == 1,
              xmlSecOpenSSLAppInit(nil) >= 0, xmlSecOpenSSLInit() >= 0
        else { return false }
        // The library would print every verification failure to stderr; reasons are logged by us.
        xmlSecErrorsDefaultCallbackEnableOutput(0)
        return true
    }()
}
