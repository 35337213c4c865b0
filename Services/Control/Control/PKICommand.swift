import ArgumentParser
import Foundation
import RampartCore
import RampartSecurity
import X509

/// `rampartctl pki …`: the internal CA and the certificates it issues.
struct PKICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Create the development CA and issue service, operator and edge certificates.",
        subcommands: [Init.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the CA if absent and (re)issue every certificate that is missing or expires within 30 days.")

        @Option(help: "Directory for ca.crt, ca.key and the issued certificates.") var dir: String
        @Option(help: "Comma-separated regions.") var regions: String = "us,eu,uk"
        @Option(help: "Public base domain of the edge certificate.") var baseDomain: String = "localhost"
        @Option(help: "Operator identity to issue a certificate for.") var `operator`: String = "local"
        @Option(help: "Kubernetes: service certificates also name <service>, <service>.rampart.svc and <service>.<region>.<internal-domain> (cross-region).") var internalDomain: String?

        func validate() throws {
            if let internalDomain, internalDomain.range(of: #"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"#, options: .regularExpression) == nil {
                throw ValidationError("--internal-domain must be a DNS name such as internal.example.com")
            }
        }

        func run() async throws {
            let regions = try parseRegions(regions)
            var pki = LocalPKI(directory: dir)
            pki.internalDomain = internalDomain
            let issued = try pki.ensure(regions: regions, baseDomain: baseDomain, operatorName: `operator`)
            print("pki: \(issued) certificate(s) issued in \(dir)")
        }
    }
}

/// Parses a comma-separated region list.
func parseRegions(_ text: String) throws -> [Region] {
    let regions = text.split(separator: ",").map { Region(rawValue: String($0)) }
    guard !regions.isEmpty, regions.allSatisfy({ $0 != nil }) else { throw ValidationError("--regions must be region names such as us,eu,uk") }
    return regions.compactMap { $0 }
}

/// The development PKI in one directory: `ca.crt`/`ca.key`, `<service>-<region>.crt`/`.key`,
/// `operator-<name>.crt`/`.key` and `gateway-public.crt`/`.key` for the edge.
public struct LocalPKI {
    public let directory: String
    /// When set, service certificates name the cluster's DNS names too (``serviceDNSNames(_:_:)``).
    public var internalDomain: String?

    public init(directory: String) { self.directory = directory }

    /// The DNS names of a service certificate: `localhost` (probes, one-machine installs), and with
    /// an internal domain the Kubernetes Service names and the cross-region name.
    func serviceDNSNames(_ service: ServiceName, _ region: Region) -> [String] {
        guard let internalDomain else { return ["localhost"] }
        return ["localhost", service.rawValue, "\(service).rampart.svc", "\(service).\(region).\(internalDomain)"]
    }

    func path(_ name: String) -> String { URL(fileURLWithPath: directory).appendingPathComponent(name).path }

    /// Makes sure every certificate exists and is valid for 30 more days; returns how many were issued.
    @discardableResult
    public func ensure(regions: [Region], baseDomain: String, operatorName: String, now: Date = .now) throws -> Int {
        let ca = try loadOrCreateCA()
        var issued = 0
        for region in regions {
            for service in ServiceName.allCases {
                let name = "\(service)-\(region)"
                let dnsNames = serviceDNSNames(service, region)
                if try needsIssue(name, ca: ca, now: now, dnsNames: dnsNames) {
                    try write(try ca.issue(identity: .service(service, region), dnsNames: dnsNames), as: name)
                    issued += 1
                }
            }
        }
        guard CallerIdentity.isValidOperatorName(operatorName) else { throw ValidationError("--operator must be a plain lowercase name") }
        if try needsIssue("operator-\(operatorName)", ca: ca, now: now) {
            try write(try ca.issue(identity: .operator(operatorName), dnsNames: [], ipAddresses: []), as: "operator-\(operatorName)")
            issued += 1
        }
        let names = regions.map { "*.\($0).\(baseDomain)" } + ["status.\(baseDomain)", baseDomain]
        if try needsIssue("gateway-public", ca: ca, now: now, dnsNames: names) {
            try write(try ca.issueServer(dnsNames: names), as: "gateway-public")
            issued += 1
        }
        return issued
    }

    private func loadOrCreateCA() throws -> CertificateAuthority {
        if let certificate = SecretFile.read(path("ca.crt")), let key = SecretFile.read(path("ca.key")) {
            return try CertificateAuthority(certificatePEM: certificate, privateKeyPEM: key)
        }
        let ca = try CertificateAuthority.create(commonName: "Rampart development CA")
        try SecretFile.write(ca.privateKeyPEM, to: path("ca.key"))
        try SecretFile.writePublic(try ca.certificatePEM(), to: path("ca.crt"))
        return ca
    }

    /// A certificate is reissued when missing, expiring within 30 days, not signed by this CA, or
    /// not naming exactly `dnsNames` — a region was added, the base or internal domain changed.
    private func needsIssue(_ name: String, ca: CertificateAuthority, now: Date, dnsNames: [String]? = nil) throws -> Bool {
        guard let pem = SecretFile.read(path("\(name).crt")), FileManager.default.fileExists(atPath: path("\(name).key")),
              let certificate = try? Certificate(pemEncoded: pem)
        else { return true }
        if let dnsNames {
            let named = Set((try? certificate.extensions.subjectAlternativeNames)?.compactMap { name -> String? in
                if case .dnsName(let dns) = name { return dns }
                return nil
            } ?? [])
            guard named == Set(dnsNames) else { return true }
        }
        let signedByCA = certificate.issuer == ca.certificate.subject
            && ca.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
        return !signedByCA || certificate.notValidAfter < now.addingTimeInterval(30 * 86400)
    }

    private func write(_ issued: CertificateAuthority.IssuedCertificate, as name: String) throws {
        try SecretFile.write(issued.privateKeyPEM, to: path("\(name).key"))
        try SecretFile.writePublic(try issued.certificatePEM(), to: path("\(name).crt"))
    }
}
