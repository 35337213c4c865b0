/// One schema change, applied once, in version order, never edited after it was applied.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    /// SQL text (several statements allowed), rendered for the schema and roles it runs in.
    public let sql: @Sendable (MigrationContext) -> String

    public init(version: Int, name: String, sql: @escaping @Sendable (MigrationContext) -> String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// The names a migration may refer to; each is a checked identifier, already quoted.
public struct MigrationContext: Sendable {
    /// The service's schema, quoted.
    public let schema: String
    /// The runtime role, quoted; grants beyond the default ones name it.
    public let runtimeRole: String

    public init(schema: SQLIdentifier, runtimeRole: SQLIdentifier) {
        self.schema = schema.quoted
        self.runtimeRole = runtimeRole.quoted
    }

    /// Row-level security for a tenant table: enabled, forced (so even the owner is filtered)
    /// and a policy comparing `tenant_id` with the transaction's tenant for every command.
    public func tenantIsolation(table: String) -> String {
        """
        ALTER TABLE \(schema).\(table) ENABLE ROW LEVEL SECURITY;
        ALTER TABLE \(schema).\(table) FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON \(schema).\(table)
            USING (tenant_id = NULLIF(current_setting('rampart.tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = NULLIF(current_setting('rampart.tenant_id', true), '')::uuid);
        """
    }
}
