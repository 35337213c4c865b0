import ArgumentParser
import Foundation
import RampartCore

/// `rampartctl tenant …`: create, list, suspend, reinstate, cancel and purge tenants in a region.
struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Manage tenants (each lives in exactly one region).",
        subcommands: [Create.self, List.self, Suspend.self, Reinstate.self, Cancel.self, Purge.self, Purges.self, Export.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant in a region.")
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region the tenant lives in.") var region: String
        @Option(help: "Host label: 3-40 lowercase letters, digits, hyphens.") var slug: String
        @Option(help: "Display name.") var name: String
        @Option(help: "starter, team, business or enterprise.") var plan: String = "team"

        func run() async throws {
            let tenant = try await OperatorClient.call(operatorOptions, .POST, .identity, region: region, path: "/internal/v1/operator/tenants",
                                                                       body: ["slug": slug, "display_name": name, "plan": plan])
            print(OperatorClient.render(tenant))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a region's tenants.")
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String

        func run() async throws {
            print(OperatorClient.render(try await OperatorClient.call(operatorOptions, .GET, .identity, region: region, path: "/internal/v1/operator/tenants")))
        }
    }

    /// One status change, shared by suspend, reinstate and cancel.
    struct StatusChange: ParsableArguments {
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String
        @Option(help: "Tenant slug.") var slug: String

        func run(_ verb: String) async throws {
            let tenant = try await OperatorClient.call(operatorOptions, .POST, .identity, region: region, path: "/internal/v1/operator/tenants/\(slug)/\(verb)")
            print(OperatorClient.render(tenant))
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend a tenant: nobody signs in, nothing is deleted.")
        @OptionGroup var change: StatusChange
        func run() async throws { try await change.run("suspend") }
    }

    struct Reinstate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reinstate a suspended or cancelled tenant.")
        @OptionGroup var change: StatusChange
        func run() async throws { try await change.run("reinstate") }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a tenant (its data is purged after the grace period).")
        @OptionGroup var change: StatusChange
        func run() async throws { try await change.run("cancel") }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Purge a cancelled tenant: delete its rows in every service, destroy its data key, sign a deletion certificate.",
            discussion: """
            Without --immediately the tenant must be cancelled and past its grace period. With \
            --immediately an active or suspended tenant is cancelled first and purged at once. \
            There is no undo: after the key is destroyed no backup can bring the data back.
            """
        )
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String
        @Option(help: "Tenant slug.") var slug: String
        @Flag(help: "Skip the grace period.") var immediately = false

        func run() async throws {
            let job = try await OperatorClient.with(operatorOptions) { client -> Any in
                let tenants = try await client.call(.GET, .identity, region: region, path: "/internal/v1/operator/tenants")
                guard let tenant = ((tenants as? [String: Any])?["data"] as? [[String: Any]])?.first(where: { $0["slug"] as? String == slug }),
                      let id = tenant["id"] as? String
                else { throw ControlError("no tenant \(slug) in region \(region)") }
                if immediately, tenant["status"] as? String != "cancelled" {
                    _ = try await client.call(.POST, .identity, region: region, path: "/internal/v1/operator/tenants/\(slug)/cancel")
                }
                return try await client.call(.POST, .backup, region: region, path: "/internal/v1/backup/purges",
                                             body: ["tenant_id": id, "immediately": immediately])
            }
            print(OperatorClient.render(job))
            if (job as? [String: Any])?["state"] as? String != "completed" {
                throw ControlError("the purge is not complete yet; it is retried (rampartctl tenant purges --region \(region))")
            }
        }
    }

    struct Purges: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a region's tenant purges, with their deletion certificates.")
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String

        func run() async throws {
            print(OperatorClient.render(try await OperatorClient.call(operatorOptions, .GET, .backup, region: region, path: "/internal/v1/backup/purges")))
        }
    }
}

/// `rampartctl tenant export`: a tenant's export archive built by the region's backup service,
/// waited for and downloaded (the request and the download are in the tenant's audit log).
extension TenantCommand {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Build a tenant's export archive and download it (check it with rampartctl export verify).")
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String
        @Option(help: "Tenant slug (resolved through identity) or tenant id.") var tenant: String
        @Option(help: "Write the archive to this file (mode 0600).") var out: String?

        func run() async throws {
            guard let regionValue = Region(rawValue: region) else { throw ControlError("unknown region \(region)") }
            let (tenantID, archive) = try await OperatorClient.with(operatorOptions) { client -> (TenantID, Data) in
                let tenantID = try await AuditVerification.resolveTenant(tenant, region: regionValue, client: client)
                let started = try await client.call(.POST, .backup, region: region, path: "/internal/v1/backup/exports", body: ["tenant_id": tenantID.description])
                guard let id = (started as? [String: Any])?["id"] as? String else { throw ControlError("the backup service answered no export id") }
                let exportPath = "/internal/v1/backup/exports/\(tenantID)/\(id)"
                while true {
                    let export = try await client.call(.GET, .backup, region: region, path: exportPath) as? [String: Any]
                    switch export?["state"] as? String {
                    case "completed": return (tenantID, try await client.data(.GET, .backup, region: region, path: exportPath + "/download"))
                    case "running": try await Task.sleep(for: .seconds(1))
                    default: throw ControlError("the export failed: \(export?["error"] as? String ?? "unknown error")")
                    }
                }
            }
            let path = out ?? "rampart-export-\(tenantID).tar"
            guard FileManager.default.createFile(atPath: path, contents: archive, attributes: [.posixPermissions: 0o600]) else {
                throw ControlError("cannot write \(path)")
            }
            print("tenant: export written to \(path) (\(archive.count) bytes)")
        }
    }
}

/// `rampartctl user create` and `rampartctl api-key create`: a tenant's first users and keys.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage a tenant's users.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user; without --password-file a strong password is generated and printed once.")
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "Email address.") var email: String
        @Option(help: "Full name.") var name: String
        @Option(help: "admin, agent, read_only_agent or customer.") var role: String
        @Option(help: "File holding the password (never pass a password on the command line).") var passwordFile: String?

        func run() async throws {
            var body: [String: Any] = ["email": email, "name": name, "role": role]
            if let passwordFile {
                guard let password = SecretFile.read(passwordFile) else { throw ControlError("cannot read \(passwordFile)") }
                body["password"] = password
            }
            print(OperatorClient.render(try await OperatorClient.call(operatorOptions, .POST, .identity, region: region, path: "/internal/v1/operator/tenants/\(tenant)/users", body: body)))
        }
    }
}

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api-key", abstract: "Manage API keys.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key for a user and print it once on standard output.")
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "Email of the user the key acts as.") var user: String
        @Option(help: "Comma-separated scopes, e.g. tickets:read,tickets:write,audit:read.") var scopes: String
        @Option(help: "A name to recognize the key by.") var name: String = "rampartctl"
        @Option(help: "Comma-separated CIDR networks the key may be used from.") var allowedCidrs: String?
        @Option(help: "Expiry, ISO 8601 (e.g. 2027-01-31T00:00:00Z).") var expiresAt: String?

        func run() async throws {
            var body: [String: Any] = ["user_email": user, "name": name, "scopes": scopes.split(separator: ",").map(String.init)]
            if let allowedCidrs { body["allowed_cidrs"] = allowedCidrs.split(separator: ",").map(String.init) }
            if let expiresAt { body["expires_at"] = expiresAt }
            let created = try await OperatorClient.call(operatorOptions, .POST, .identity, region: region, path: "/internal/v1/operator/tenants/\(tenant)/api-keys", body: body)
            guard let key = (created as? [String: Any])?["key"] as? String else { throw ControlError("identity answered without a key") }
            print(key)
        }
    }
}

/// `rampartctl oauth-client create`: registers a partner application for a tenant.
struct OAuthClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "oauth-client", abstract: "Manage OAuth clients.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an OAuth client and print its id and secret once, as JSON.")
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region.") var region: String
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "A name the tenant's users see on the consent page.") var name: String
        @Option(help: "An exact redirect URI (repeat for several).") var redirectUri: [String] = []
        @Option(help: "Comma-separated scopes the client may ask for, e.g. tickets:read.") var scopes: String
        @Flag(help: "A public client (browser or mobile app): no secret, PKCE required.") var `public` = false

        func run() async throws {
            let body: [String: Any] = ["name": name, "redirect_uris": redirectUri, "scopes": scopes.split(separator: ",").map(String.init), "public": `public`]
            let created = try await OperatorClient.call(operatorOptions, .POST, .identity, region: region, path: "/internal/v1/operator/tenants/\(tenant)/oauth-clients", body: body)
            guard let answer = created as? [String: Any], let id = answer["client_id"] as? String else { throw ControlError("identity answered without a client id") }
            var printed: [String: Any] = ["client_id": id]
            if let secret = answer["client_secret"] as? String { printed["client_secret"] = secret }
            let data = try JSONSerialization.data(withJSONObject: printed, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
