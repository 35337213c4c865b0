import ArgumentParser
import Foundation

/// `rampartctl status …`: incidents and maintenance windows on the public status page. A write
/// goes to one region's status instance, which delivers it to every other region's.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Manage incidents and maintenance on the public status page.",
        subcommands: [IncidentCommand.self, MaintenanceCommand.self, List.self]
    )

    /// Which status instance takes the write, and as whom.
    struct Target: ParsableArguments {
        @OptionGroup var operatorOptions: OperatorOptions
        @Option(help: "Region whose status instance takes the write (any region: it replicates).") var region: String = "eu"

        func post(_ path: String, _ body: [String: Any]) async throws {
            print(OperatorClient.render(try await OperatorClient.call(operatorOptions, .POST, .status, region: region, path: "/internal/v1/operator/\(path)", body: body)))
        }
    }

    /// Fields of a status change (`update` and `resolve`).
    struct Change: ParsableArguments {
        @Argument(help: "The incident or window id.") var id: String
        @Option(help: "What readers are told.") var message: String
        @Option(help: "Comma-separated component ids, e.g. eu-identity,eu-database (replaces the list).") var components: String?

        func body(status: String, impact: String? = nil) -> [String: Any] {
            var body: [String: Any] = ["status": status, "message": message]
            if let impact { body["impact"] = impact }
            if let components { body["components"] = StatusCommand.list(components) }
            return body
        }
    }

    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the last 90 days of incidents and windows, and deliveries still owed.")
        @OptionGroup var target: Target

        func run() async throws {
            print(OperatorClient.render(try await OperatorClient.call(target.operatorOptions, .GET, .status, region: target.region, path: "/internal/v1/operator/incidents")))
        }
    }

    struct IncidentCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "incident", abstract: "Open, update and resolve incidents.", subcommands: [Create.self, Update.self, Resolve.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Open an incident.")
            @OptionGroup var target: Target
            @Option(help: "Title readers see.") var name: String
            @Option(help: "What readers are told first.") var message: String
            @Option(help: "none, minor, major or critical.") var impact: String = "minor"
            @Option(help: "investigating, identified or monitoring.") var status: String = "investigating"
            @Option(help: "Comma-separated component ids, e.g. eu-identity,eu-database.") var components: String = ""
            @Flag(help: "A security incident (labelled as such on the page and in the feeds).") var security = false

            func run() async throws {
                try await target.post("incidents", [
                    "name": name, "message": message, "impact": impact, "status": status,
                    "components": StatusCommand.list(components), "security": security,
                ])
            }
        }

        struct Update: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add an update: investigating → identified → monitoring → resolved.")
            @OptionGroup var target: Target
            @OptionGroup var change: Change
            @Option(help: "identified, monitoring, resolved (or the current status again).") var status: String
            @Option(help: "none, minor, major or critical.") var impact: String?

            func run() async throws {
                try await target.post("incidents/\(change.id)/updates", change.body(status: status, impact: impact))
            }
        }

        struct Resolve: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Resolve an incident.")
            @OptionGroup var target: Target
            @OptionGroup var change: Change

            func run() async throws {
                try await target.post("incidents/\(change.id)/updates", change.body(status: "resolved"))
            }
        }
    }

    struct MaintenanceCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "maintenance", abstract: "Schedule and update maintenance windows.", subcommands: [Schedule.self, Update.self])

        struct Schedule: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Schedule a window; it starts and completes on its own at the given times.")
            @OptionGroup var target: Target
            @Option(help: "Title readers see.") var name: String
            @Option(help: "What readers are told.") var message: String
            @Option(help: "Start, ISO 8601 (e.g. 2026-12-01T02:00:00Z).") var startsAt: String
            @Option(help: "End, ISO 8601.") var endsAt: String
            @Option(help: "Comma-separated component ids under maintenance.") var components: String = ""

            func run() async throws {
                try await target.post("maintenances", [
                    "name": name, "message": message, "scheduled_for": startsAt, "scheduled_until": endsAt,
                    "components": StatusCommand.list(components),
                ])
            }
        }

        struct Update: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add an update: scheduled → in_progress → verifying → completed.")
            @OptionGroup var target: Target
            @OptionGroup var change: Change
            @Option(help: "in_progress, verifying or completed.") var status: String

            func run() async throws {
                try await target.post("maintenances/\(change.id)/updates", change.body(status: status))
            }
        }
    }
}
