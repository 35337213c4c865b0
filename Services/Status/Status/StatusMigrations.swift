import RampartStorage

/// The `status` schema's migrations, in version order. Never edit one that has shipped: add the next.
/// Status data is public and belongs to no tenant, so no table has row-level security.
public enum StatusMigrations {
    public static let all: [Migration] = [
        Migration(version: 1, name: "probes_uptime_incidents_replication") { context in
            let s = context.schema
            let statuses = "'operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'"
            return """
            -- Every probe result of the last days, for the record; uptime reads the daily roll-up.
            CREATE TABLE \(s).probe_samples (
                component_id text NOT NULL CHECK (component_id ~ '^[a-z][a-z0-9]{1,11}-[a-z]+$'),
                observed_at timestamptz NOT NULL,
                observed text NOT NULL CHECK (observed IN (\(statuses))),
                published text NOT NULL CHECK (published IN (\(statuses))),
                latency_ms integer CHECK (latency_ms >= 0),
                PRIMARY KEY (component_id, observed_at)
            );
            CREATE INDEX probe_samples_time ON \(s).probe_samples (observed_at);

            -- Samples per component and UTC day by published status: the 90-day bars and the month.
            CREATE TABLE \(s).component_days (
                component_id text NOT NULL,
                day date NOT NULL,
                samples integer NOT NULL CHECK (samples >= 0),
                major_outage integer NOT NULL CHECK (major_outage >= 0),
                partial_outage integer NOT NULL CHECK (partial_outage >= 0),
                maintenance integer NOT NULL CHECK (maintenance >= 0),
                PRIMARY KEY (component_id, day)
            );
            REVOKE DELETE ON \(s).component_days FROM \(context.runtimeRole);

            -- Incidents and maintenance windows; the same id on every instance.
            CREATE TABLE \(s).incidents (
                id uuid PRIMARY KEY,
                kind text NOT NULL CHECK (kind IN ('incident', 'maintenance')),
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                status text NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved', 'scheduled', 'in_progress', 'verifying', 'completed')),
                impact text NOT NULL CHECK (impact IN ('none', 'minor', 'major', 'critical', 'maintenance')),
                security boolean NOT NULL DEFAULT false,
                component_ids text[] NOT NULL DEFAULT '{}',
                scheduled_for timestamptz,
                scheduled_until timestamptz,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                monitoring_at timestamptz,
                resolved_at timestamptz,
                revision integer NOT NULL CHECK (revision >= 1),
                origin_region text NOT NULL,
                CHECK ((kind = 'maintenance') = (scheduled_for IS NOT NULL AND scheduled_until IS NOT NULL))
            );
            CREATE INDEX incidents_recent ON \(s).incidents (created_at DESC);
            REVOKE DELETE ON \(s).incidents FROM \(context.runtimeRole);

            -- The full history: entries are only ever added.
            CREATE TABLE \(s).incident_updates (
                id uuid PRIMARY KEY,
                incident_id uuid NOT NULL REFERENCES \(s).incidents (id),
                status text NOT NULL,
                body text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
                component_ids text[] NOT NULL DEFAULT '{}',
                author text NOT NULL,
                created_at timestamptz NOT NULL
            );
            CREATE INDEX incident_updates_incident ON \(s).incident_updates (incident_id, created_at DESC);
            REVOKE UPDATE, DELETE ON \(s).incident_updates FROM \(context.runtimeRole);

            -- What each other region's instance still has to receive; retried until delivered.
            CREATE TABLE \(s).replication_outbox (
                incident_id uuid NOT NULL REFERENCES \(s).incidents (id),
                target_region text NOT NULL,
                revision integer NOT NULL,
                delivered_revision integer NOT NULL DEFAULT 0,
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL,
                PRIMARY KEY (incident_id, target_region)
            );
            CREATE INDEX replication_outbox_pending ON \(s).replication_outbox (next_attempt_at) WHERE delivered_revision < revision;
            REVOKE DELETE ON \(s).replication_outbox FROM \(context.runtimeRole);
            """
        },
    ]
}
