import ArgumentParser

/// `rampartctl`: the operator's command line. It reaches live services only over mutual TLS
/// with an operator certificate; install-time commands work on files and a superuser URL.
public struct RampartCtl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rampartctl",
        abstract: "Operate a Rampart installation.",
        subcommands: [
            LocalCommand.self, PKICommand.self, KeysCommand.self, DatabaseCommand.self,
            PolicyCommand.self, ProbeCommand.self, HealthCommand.self, AuditCommand.self, TenantCommand.self, UserCommand.self, APIKeyCommand.self, OAuthClientCommand.self, SSOCommand.self,
            BackupCommand.self, PersonCommand.self, ExportCommand.self,
            StatusCommand.self,
        ]
    )

    public init() {}
}
