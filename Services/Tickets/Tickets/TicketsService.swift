import Foundation
import Hummingbird
import RampartCore
import RampartSecurity
import RampartStorage
import RampartTransport
import RampartWeb

/// `rampart-tickets`: the helpdesk — tickets and their messages, people, organizations,
/// departments, teams, custom fields, attachments and search, sealed at rest with each tenant's key.
public enum TicketsService {
    /// Prepares the runtime (configuration files, database, migrations) and builds the application.
    public static func buildApplication(_ config: ServiceConfig) async throws -> some ApplicationProtocol {
        let keyring = try TenantKeyring.load(config: config)
        let runtime = try await ServiceRuntime.prepare(config: config, migrations: TicketsMigrations.all)
        guard let database = runtime.database else { throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "is required") }
        let sweeper = RetentionSweeper(store: TicketStore(database: database, keyring: keyring, region: config.region), logger: runtime.logger)
        let staff = StaffDirectory.make(for: runtime)
        return try ServiceApplication.build(runtime: runtime, services: OutboxRelay.services(for: runtime) + [sweeper, staff]) { router in
            try register(on: router, runtime: runtime, keyring: keyring, staff: staff)
        }
    }

    /// The helpdesk's routes on `router`; tests mount the same routes. `staff` names agents and
    /// admins on the pages (it must run as a service when it asks identity; without it, short ids).
    public static func register(on router: Router<ServiceRequestContext>, runtime: ServiceRuntime, keyring: TenantKeyring,
                                staff: StaffDirectory = StaffDirectory()) throws {
        guard let database = runtime.database else { throw ConfigError(key: "RAMPART_DATABASE_URL", reason: "is required") }
        let store = TicketStore(database: database, keyring: keyring, region: runtime.config.region)
        let tickets = TicketRepository(store: store, search: SearchIndex(store: store))
        try OpenAPIRoutes().register(on: router)
        TenantPurgeRoutes(database: database, service: .tickets).register(on: router)
        DataSubjectRoutes(holder: CustomerDataStore(store: store), service: .tickets).register(on: router)
        TenantExportRoutes(exporter: TenantTicketsExport(store: store)).register(on: router)
        let api = router.group("/api/v1")
            .add(middleware: TicketsErrorMiddleware<ServiceRequestContext>())
            .group(context: AuthenticatedContext.self)
        let messages = MessageRepository(store: store, tickets: tickets)
        let departments = StaffGroupRepository(store: store, kind: .department)
        let teams = StaffGroupRepository(store: store, kind: .team)
        let customFields = CustomFieldRepository(store: store)
        let attachments = AttachmentRepository(store: store, tickets: tickets)
        TicketRoutes(tickets: tickets, messages: messages, idempotency: IdempotencyStore(store: store)).register(on: api)
        let settings = SettingsRepository(store: store)
        DirectoryRoutes(people: PeopleRepository(store: store), departments: departments, teams: teams, customFields: customFields,
                        settings: settings).register(on: api)
        AttachmentRoutes(attachments: attachments).register(on: api)
        // The agent console, the customer portal and the helpdesk's admin pages, over the same repositories.
        TicketsPages(pages: try WebTemplates(serviceDirectory: Bundle.module.url(forResource: "Templates", withExtension: nil)),
                     tickets: tickets, messages: messages, attachments: attachments, departments: departments, teams: teams,
                     customFields: customFields, settings: settings, staff: staff).register(on: router)
    }
}
