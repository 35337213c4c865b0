import RampartStorage

/// The `backup` schema's migrations, in version order. Never edit one that has shipped: add the next.
public enum BackupMigrations {
    public static let all: [Migration] = [
        Migration(version: 1, name: "backup_runs") { context in
            let s = context.schema
            return """
            -- Every backup run of the region's cluster and how it ended. Platform data, not a
            -- tenant's: no row-level security, no personal data. History is kept, never deleted.
            CREATE TABLE \(s).backup_runs (
                id uuid PRIMARY KEY,
                repository smallint NOT NULL CHECK (repository IN (1, 2)),
                type text NOT NULL CHECK (type IN ('full', 'diff', 'incr')),
                trigger text NOT NULL CHECK (trigger IN ('schedule', 'operator')),
                started_at timestamptz NOT NULL,
                finished_at timestamptz,
                outcome text NOT NULL CHECK (outcome IN ('running', 'success', 'failure')),
                label text,
                error text CHECK (length(error) <= 600)
            );
            CREATE INDEX backup_runs_recent ON \(s).backup_runs (repository, started_at DESC);
            -- One run per repository at a time, whichever replica starts it.
            CREATE UNIQUE INDEX backup_runs_one_running ON \(s).backup_runs (repository) WHERE outcome = 'running';
            REVOKE DELETE, TRUNCATE ON \(s).backup_runs FROM \(context.runtimeRole);
            """
        },
        Migration(version: 2, name: "purge_jobs") { context in
            let s = context.schema
            return """
            -- Tenant purges, one per tenant, advanced step by step and retried until complete.
            -- Ids, counts and times only: no personal data. Kept as the purge history.
            CREATE TABLE \(s).purge_jobs (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL UNIQUE,
                reason text NOT NULL CHECK (reason IN ('grace_period_ended', 'immediately')),
                requested_by text NOT NULL,
                requested_at timestamptz NOT NULL,
                state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'completed', 'abandoned')),
                deleted jsonb NOT NULL DEFAULT '[]',
                key_destroyed_at timestamptz,
                certificate text,
                ledger_written boolean NOT NULL DEFAULT false,
                audited boolean NOT NULL DEFAULT false,
                attempts integer NOT NULL DEFAULT 0,
                last_error text CHECK (length(last_error) <= 600),
                next_attempt_at timestamptz NOT NULL,
                completed_at timestamptz
            );
            CREATE INDEX purge_jobs_due ON \(s).purge_jobs (next_attempt_at) WHERE state = 'running';
            REVOKE DELETE, TRUNCATE ON \(s).purge_jobs FROM \(context.runtimeRole);
            """
        },
        Migration(version: 3, name: "tenant_exports") { context in
            let s = context.schema
            return """
            -- Tenant exports (portability archives): state, size, the signed manifest's digest and
            -- expiry. The archive itself is a sealed file under RAMPART_EXPORT_DIR; ids, times and
            -- counts only here. Deleted when they expire and when the tenant is purged.
            CREATE TABLE \(s).tenant_exports (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL,
                state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'completed', 'failed')),
                requested_by text NOT NULL CHECK (length(requested_by) <= 300),
                requested_at timestamptz NOT NULL,
                completed_at timestamptz,
                expires_at timestamptz NOT NULL,
                size bigint,
                manifest_sha256 text CHECK (manifest_sha256 ~ '^[0-9a-f]{64}$'),
                error text CHECK (length(error) <= 600)
            );
            CREATE INDEX tenant_exports_recent ON \(s).tenant_exports (tenant_id, requested_at DESC);
            -- One export being built per tenant at a time.
            CREATE UNIQUE INDEX tenant_exports_one_running ON \(s).tenant_exports (tenant_id) WHERE state = 'running';
            \(context.tenantIsolation(table: "tenant_exports"))
            """
        },
        Migration(version: 4, name: "purge_leases") { context in
            """
            -- Which run of the purger holds a purge: each claim is its own, and only the holder of
            -- the current one records progress (a run whose lease ran out stops at its next step).
            ALTER TABLE \(context.schema).purge_jobs ADD COLUMN lease uuid;
            """
        },
        Migration(version: 5, name: "backup_run_heartbeats") { context in
            """
            -- A running backup's process says it is alive every minute; a run whose process has
            -- been silent for five (it was killed mid-run) no longer holds its repository.
            ALTER TABLE \(context.schema).backup_runs ADD COLUMN heartbeat_at timestamptz;
            """
        },
        Migration(version: 6, name: "export_heartbeats") { context in
            """
            -- An export being built says it is alive every minute; one whose process has been
            -- silent for five (it was stopped mid-build) is failed and no longer holds the
            -- tenant's one running export.
            ALTER TABLE \(context.schema).tenant_exports ADD COLUMN heartbeat_at timestamptz;
            """
        },
    ]
}
