@testable import Control
import Foundation
import RampartCore
import RampartStorage
import Testing

/// `rampartctl pki init --internal-domain`: service certificates that Kubernetes callers can
/// verify by host name (Service names, cross-region names), issued once and reissued when the
/// names change.
@Suite("Cluster certificates")
struct ClusterCertificateTests {
    let eu = Region(rawValue: "eu")!
    let us = Region(rawValue: "us")!

    /// The DNS names in a certificate's subject alternative names, read by openssl.
    func dnsNames(_ path: String) async throws -> Set<String> {
        let result = try await Subprocess("openssl", ["x509", "-in", path, "-noout", "-ext", "subjectAltName"]).run()
        #expect(result.status == 0, "\(result.errorOutput)")
        return Set(result.output.components(separatedBy: CharacterSet(charactersIn: ", \n")).filter { $0.hasPrefix("DNS:") }.map { String($0.dropFirst(4)) })
    }

    @Test func serviceCertificatesNameTheirClusterNamesAndAreIssuedOnce() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-cluster-pki-\(UUID().uuidString)").path
        var pki = LocalPKI(directory: directory)
        pki.internalDomain = "internal.example.com"
        let first = try pki.ensure(regions: [us, eu], baseDomain: "example.com", operatorName: "alice")
        #expect(first == 2 * ServiceName.allCases.count + 2)
        #expect(try await dnsNames(directory + "/identity-eu.crt") == ["localhost", "identity", "identity.rampart.svc", "identity.eu.internal.example.com"])
        #expect(try pki.ensure(regions: [us, eu], baseDomain: "example.com", operatorName: "alice") == 0)
        // Without the internal domain the names differ: every service certificate is reissued for loopback only.
        let local = LocalPKI(directory: directory)
        #expect(try local.ensure(regions: [us, eu], baseDomain: "example.com", operatorName: "alice") == 2 * ServiceName.allCases.count)
        #expect(try await dnsNames(directory + "/identity-eu.crt") == ["localhost"])
    }

    @Test func refusesAnInternalDomainThatIsNoDNSName() {
        #expect(throws: (any Error).self) {
            try RampartCtl.parseAsRoot(["pki", "init", "--dir", "/tmp/unused", "--internal-domain", "Not A Domain"])
        }
    }
}
