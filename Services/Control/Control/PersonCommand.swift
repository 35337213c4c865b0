import ArgumentParser
import Foundation
import RampartCore

/// `rampartctl person export|erase`: a customer's data-subject request, carried out by the
/// region's backup service across identity, tickets and audit, and recorded in the tenant's
/// audit log with the operator's identity.
struct PersonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "person",
        abstract: "Data-subject requests: export or erase one customer of a tenant.",
        subcommands: [Export.self, Erase.self]
    )

    /// The tenant and the person, shared by both requests.
    struct Target: ParsableArguments {
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String
        @Option(help: "Tenant slug (resolved through identity) or tenant id.") var tenant: String
        @Option(help: "The customer: an identity user id, a tickets person id or an e-mail address.") var person: String

        /// The backup service's answer to a request of `type`, as raw JSON.
        func request(_ type: String) async throws -> Data {
            guard let regionValue = Region(rawValue: region) else { throw ControlError("unknown region \(region)") }
            return try await OperatorClient.with(operatorOptions) { client in
                let tenantID = try await AuditVerification.resolveTenant(tenant, region: regionValue, client: client)
                return try await client.data(.POST, .backup, region: region, path: "/internal/v1/backup/data-requests",
                                             body: ["tenant_id": tenantID.description, "type": type, "person": person])
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Everything the services hold about one customer, as one JSON document.")
        @OptionGroup var target: Target
        @Option(help: "Write the export to this file (mode 0600) instead of standard output.") var output: String?

        func run() async throws {
            let data = try await target.request("export")
            guard let output else {
                print(String(decoding: data, as: UTF8.self))
                return
            }
            guard FileManager.default.createFile(atPath: output, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw ControlError("cannot write \(output)")
            }
            print("person: export written to \(output) (\(data.count) bytes)")
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Anonymize one customer in every service and record it in the erasure ledger.",
            discussion: """
            The customer's name, e-mail address, sessions, credentials and IP snapshots are removed; \
            their tickets are kept or deleted as the tenant's erasure_ticket_content setting says. \
            There is no undo, and the erasure ledger repeats it after every restore.
            """
        )
        @OptionGroup var target: Target
        @Flag(help: "Confirm the erasure (there is no undo).") var confirm = false

        func run() async throws {
            guard confirm else { throw ControlError("erasing a person cannot be undone: add --confirm") }
            let data = try await target.request("erase")
            print(OperatorClient.render((try? JSONSerialization.jsonObject(with: data)) ?? [:]))
        }
    }
}
