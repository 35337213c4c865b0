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
    /// The outbox relay's role, quoted (see ``outboxRelayAccess(table:)``); `nil` when the
    /// runtime role is not named as provisioning names it.
    public let relayRole: String?

    public init(schema: SQLIdentifier, runtimeRole: SQLIdentifier, relayRole: SQLIdentifier?) {
        self.schema = schema.quoted
        self.runtimeRole = runtimeRole.quoted
        self.relayRole = relayRole?.quoted
    }

    /// The outbox relay's access to a service's outbox table (the columns `AuditOutbox`
    /// writes): it reads and deletes the rows of every tenant, and changes none.
    ///
    /// `SELECT … FOR UPDATE SKIP LOCKED` (so replicas never send a row twice) needs UPDATE
    /// privilege on some column and a visible UPDATE policy. A restrictive policy with
    /// `WITH CHECK (false)` then makes every actual update by the relay fail, whatever tenant
    /// it sets, so it can lock rows but never change one. The runtime role keeps its
    /// tenant-scoped policy: setting another tenant shows it that tenant only.
    public func outboxRelayAccess(table: String) -> String {
        guard let relayRole else {
            return "DO $$ BEGIN RAISE EXCEPTION 'the runtime role is not named <prefix>_<service>_<region>_app, so the outbox relay role is unknown'; END $$"
        }
        return """
        GRANT SELECT, DELETE ON \(schema).\(table) TO \(relayRole);
        GRANT UPDATE (occurred_at) ON \(schema).\(table) TO \(relayRole);
        CREATE POLICY outbox_relay_read ON \(schema).\(table) FOR SELECT TO \(relayRole) USING (true);
        CREATE POLICY outbox_relay_delete ON \(schema).\(table) FOR DELETE TO \(relayRole) USING (true);
        CREATE POLICY outbox_relay_lock ON \(schema).\(table) FOR UPDATE TO \(relayRole) USING (true);
        CREATE POLICY outbox_relay_no_update ON \(schema).\(table) AS RESTRICTIVE FOR UPDATE TO \(relayRole) USING (true) WITH CHECK (false);
        CREATE INDEX \(table)_relay_order ON \(schema).\(table) (occurred_at, id);
        """
    }

    /// `purge_tenant(tenant, discard_outbox)`: deletes every row of one tenant from `tables`
    /// (children before parents), then `finally` (e.g. the tenant's own registry row), and returns
    /// `{table: rows deleted}`. It runs as the schema's owner with the tenant set for row-level
    /// security; the runtime role may only call it. When `tables` include `outbox_events`, it
    /// refuses while the tenant's audit events still wait there (they would be lost) unless
    /// `discard_outbox` (replaying the erasure ledger after a restore, when audit refuses the
    /// tenant's events anyway). It fails when any table of the schema still holds a row of the tenant afterwards, so a table
    /// added later and forgotten here stops the purge instead of surviving it.
    public func tenantPurge(tables: [String], finally: String = "") -> String {
        let deletes = tables.map { table in
            """
                DELETE FROM \(schema).\(table) WHERE tenant_id = p_tenant;
                GET DIAGNOSTICS n = ROW_COUNT;
                deleted := deleted || jsonb_build_object('\(table)', n);
            """
        }.joined(separator: "\n")
        let outboxCheck = !tables.contains("outbox_events") ? "" : """
                IF NOT p_discard_outbox AND EXISTS (SELECT 1 FROM \(schema).outbox_events WHERE tenant_id = p_tenant) THEN
                    RAISE EXCEPTION 'audit events of the tenant are still in the outbox' USING ERRCODE = 'RP409';
                END IF;
            """
        return """
        CREATE FUNCTION \(schema).purge_tenant(p_tenant uuid, p_discard_outbox boolean DEFAULT false) RETURNS jsonb
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = \(schema), pg_temp AS $purge$
        DECLARE
            deleted jsonb := '{}';
            n bigint;
            leftover record;
        BEGIN
            PERFORM set_config('rampart.tenant_id', p_tenant::text, true);
        \(outboxCheck)
        \(deletes)
            \(finally)
            FOR leftover IN
                SELECT c.relname FROM pg_attribute a
                JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace ns ON ns.oid = c.relnamespace
                WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attname = 'tenant_id' AND NOT a.attisdropped
            LOOP
                EXECUTE format('SELECT count(*) FROM %I.%I WHERE tenant_id = $1', current_schema(), leftover.relname) INTO n USING p_tenant;
                IF n > 0 THEN
                    RAISE EXCEPTION 'purge_tenant left % row(s) in %', n, leftover.relname;
                END IF;
            END LOOP;
            RETURN deleted;
        END
        $purge$;
        REVOKE ALL ON FUNCTION \(schema).purge_tenant(uuid, boolean) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION \(schema).purge_tenant(uuid, boolean) TO \(runtimeRole);
        """
    }

    /// `erase_person(tenant, subjects, delete_tickets, discard_outbox)`: anonymizes one person
    /// (identity's user ids and tickets' person ids in `subjects`) in the service's schema by
    /// running `steps`, and returns `{step: rows}`. It runs as the schema's owner with the tenant
    /// set for row-level security; the runtime role may only call it. The same function serves a
    /// live erasure and the erasure ledger's replay after a restore, so both do exactly the same.
    /// With an outbox, it refuses while audit events naming the person still wait there (they
    /// carry personal data in clear until audit seals it) unless `discard_outbox` (the replay,
    /// which deletes them). `steps` see `p_tenant`, `p_subjects`, `p_refs` (the subjects as text
    /// columns hold them: plain, `user:<id>` and `person:<id>`) and `p_delete_tickets`.
    public func personErasure(steps: [(name: String, sql: String)], outbox: Bool) -> String {
        let counted = steps.map { step in
            """
                \(step.sql);
                GET DIAGNOSTICS n = ROW_COUNT;
                erased := erased || jsonb_build_object('\(step.name)', n);
            """
        }.joined(separator: "\n")
        let outboxCheck = !outbox ? "" : """
                IF EXISTS (SELECT 1 FROM \(schema).outbox_events o WHERE o.tenant_id = p_tenant
                           AND EXISTS (SELECT 1 FROM unnest(p_refs) r WHERE strpos(o.event::text, r) > 0)) THEN
                    IF NOT p_discard_outbox THEN
                        RAISE EXCEPTION 'audit events naming the person are still in the outbox' USING ERRCODE = 'RP409';
                    END IF;
                    DELETE FROM \(schema).outbox_events o WHERE o.tenant_id = p_tenant
                        AND EXISTS (SELECT 1 FROM unnest(p_refs) r WHERE strpos(o.event::text, r) > 0);
                END IF;
            """
        return """
        CREATE FUNCTION \(schema).erase_person(p_tenant uuid, p_subjects uuid[], p_delete_tickets boolean DEFAULT false,
                                               p_discard_outbox boolean DEFAULT false) RETURNS jsonb
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = \(schema), pg_temp AS $erase$
        DECLARE
            erased jsonb := '{}';
            n bigint;
            p_refs text[] := ARRAY(SELECT r FROM unnest(p_subjects) s, LATERAL (VALUES (s::text), ('user:' || s), ('person:' || s)) v(r));
        BEGIN
            PERFORM set_config('rampart.tenant_id', p_tenant::text, true);
        \(outboxCheck)
        \(counted)
            RETURN erased;
        END
        $erase$;
        REVOKE ALL ON FUNCTION \(schema).erase_person(uuid, uuid[], boolean, boolean) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION \(schema).erase_person(uuid, uuid[], boolean, boolean) TO \(runtimeRole);
        """
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
