import RampartStorage

/// The `audit` schema's migrations, in version order. Never edit one that has shipped: add the next.
public enum AuditMigrations {
    public static let all: [Migration] = [
        Migration(version: 1, name: "chained_events_checkpoints") { context in
            let s = context.schema
            let app = context.runtimeRole
            return """
            -- Refuses every change to history. The one exception is retention, which runs as the
            -- schema's owner inside apply_retention() and says so with a transaction setting; the
            -- runtime role can set the setting but is never the owner, so it is refused anyway.
            CREATE FUNCTION \(s).refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND current_setting('rampart.audit_retention', true) = 'on'
                   AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION 'audit history is append-only' USING ERRCODE = 'insufficient_privilege';
            END $$;

            -- Each tenant's events, chained: hash = SHA-256(prev_hash || record). `record` is the
            -- canonical JSON that was hashed (personal data sealed inside it); the other columns
            -- are copies for filtering, checked against it by verification.
            CREATE TABLE \(s).events (
                tenant_id uuid NOT NULL,
                seq bigint NOT NULL CHECK (seq > 0),
                id uuid NOT NULL,
                occurred_at timestamptz NOT NULL,
                received_at timestamptz NOT NULL,
                service text NOT NULL,
                action text NOT NULL,
                actor_type text NOT NULL,
                actor_id text NOT NULL,
                resource_type text NOT NULL,
                resource_id text NOT NULL,
                outcome text NOT NULL,
                -- HMAC of the actor's IP under a key derived from the tenant's data key: filters
                -- and alert rules match IPs without storing them in clear.
                ip_index bytea,
                record text NOT NULL,
                prev_hash bytea NOT NULL,
                hash bytea NOT NULL,
                PRIMARY KEY (tenant_id, seq),
                UNIQUE (tenant_id, id)
            );
            CREATE INDEX events_by_time ON \(s).events (tenant_id, occurred_at, seq);
            CREATE INDEX events_by_action ON \(s).events (tenant_id, action, occurred_at);
            CREATE INDEX events_by_actor ON \(s).events (tenant_id, actor_id, occurred_at);
            CREATE INDEX events_by_ip ON \(s).events (tenant_id, ip_index, occurred_at) WHERE ip_index IS NOT NULL;
            \(context.tenantIsolation(table: "events"))
            REVOKE UPDATE, DELETE, TRUNCATE ON \(s).events FROM \(app);
            CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON \(s).events
                FOR EACH ROW EXECUTE FUNCTION \(s).refuse_history_change();
            CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON \(s).events
                FOR EACH STATEMENT EXECUTE FUNCTION \(s).refuse_history_change();

            -- Hourly signed chain heads, also for hours without events.
            CREATE TABLE \(s).checkpoints (
                tenant_id uuid NOT NULL,
                hour timestamptz NOT NULL,
                seq bigint NOT NULL CHECK (seq >= 0),
                head_hash bytea NOT NULL,
                key_id text NOT NULL,
                signature bytea NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, hour)
            );
            \(context.tenantIsolation(table: "checkpoints"))
            REVOKE UPDATE, DELETE, TRUNCATE ON \(s).checkpoints FROM \(app);
            CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON \(s).checkpoints
                FOR EACH ROW EXECUTE FUNCTION \(s).refuse_history_change();
            CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON \(s).checkpoints
                FOR EACH STATEMENT EXECUTE FUNCTION \(s).refuse_history_change();

            -- Deletion certificates of tenant purges, kept beyond the retention period.
            CREATE TABLE \(s).deletion_certificates (
                tenant_id uuid NOT NULL,
                event_id uuid NOT NULL,
                seq bigint NOT NULL,
                record text NOT NULL,
                hash bytea NOT NULL,
                received_at timestamptz NOT NULL,
                PRIMARY KEY (tenant_id, event_id)
            );
            \(context.tenantIsolation(table: "deletion_certificates"))
            REVOKE UPDATE, DELETE, TRUNCATE ON \(s).deletion_certificates FROM \(app);
            CREATE TRIGGER deletion_certificates_append_only BEFORE UPDATE OR DELETE ON \(s).deletion_certificates
                FOR EACH ROW EXECUTE FUNCTION \(s).refuse_history_change();

            -- Per-tenant settings: retention, alert thresholds, business hours.
            CREATE TABLE \(s).tenant_settings (
                tenant_id uuid PRIMARY KEY,
                retention_days integer NOT NULL DEFAULT 365 CHECK (retention_days BETWEEN 30 AND 3650),
                brute_force_threshold integer NOT NULL DEFAULT 10 CHECK (brute_force_threshold BETWEEN 2 AND 1000),
                spraying_threshold integer NOT NULL DEFAULT 10 CHECK (spraying_threshold BETWEEN 2 AND 1000),
                export_threshold integer NOT NULL DEFAULT 5 CHECK (export_threshold BETWEEN 1 AND 1000),
                business_hours_start smallint NOT NULL DEFAULT 7 CHECK (business_hours_start BETWEEN 0 AND 23),
                business_hours_end smallint NOT NULL DEFAULT 19 CHECK (business_hours_end BETWEEN 1 AND 24),
                time_zone text NOT NULL DEFAULT 'UTC',
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            \(context.tenantIsolation(table: "tenant_settings"))

            -- Alerts raised by the anomaly rules; each is also an event in the chain.
            CREATE TABLE \(s).alerts (
                tenant_id uuid NOT NULL,
                id uuid NOT NULL,
                rule text NOT NULL,
                severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
                -- What the alert is about, for de-duplication within a window (an event id, or a
                -- hex blind index of user and IP): never a clear IP or name.
                subject text NOT NULL,
                window_start timestamptz NOT NULL,
                summary text NOT NULL,
                evidence_seq bigint[] NOT NULL,
                raised_at timestamptz NOT NULL DEFAULT now(),
                acknowledged_at timestamptz,
                acknowledged_by text,
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, rule, subject, window_start)
            );
            CREATE INDEX alerts_recent ON \(s).alerts (tenant_id, raised_at DESC);
            \(context.tenantIsolation(table: "alerts"))
            REVOKE DELETE, TRUNCATE ON \(s).alerts FROM \(app);

            -- How far each tenant's alert rules have looked, so every event is judged once.
            CREATE TABLE \(s).alert_progress (
                tenant_id uuid PRIMARY KEY,
                scanned_seq bigint NOT NULL DEFAULT 0
            );
            \(context.tenantIsolation(table: "alert_progress"))

            -- Retention: deletes a tenant's events older than its retention period, up to a signed
            -- checkpoint (so the remaining chain stays anchored), and the checkpoints before that
            -- one. Runs as the owner; the runtime role may call it, but the period comes from the
            -- tenant's settings (30 days at least), so it cannot delete anything younger.
            CREATE FUNCTION \(s).apply_retention(target uuid) RETURNS bigint
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = \(s), pg_temp AS $$
            DECLARE
                anchor record;
                removed bigint;
                cutoff timestamptz;
            BEGIN
                PERFORM set_config('rampart.tenant_id', target::text, true);
                SELECT now() - make_interval(days => COALESCE(
                    (SELECT retention_days FROM tenant_settings WHERE tenant_id = target), 365)) INTO cutoff;
                SELECT c.hour, c.seq INTO anchor FROM checkpoints c
                WHERE c.tenant_id = target AND c.hour < cutoff - interval '1 hour'
                ORDER BY c.hour DESC LIMIT 1;
                IF NOT FOUND OR anchor.seq = 0 THEN
                    RETURN 0;
                END IF;
                PERFORM set_config('rampart.audit_retention', 'on', true);
                DELETE FROM events e WHERE e.tenant_id = target AND e.seq <= anchor.seq;
                GET DIAGNOSTICS removed = ROW_COUNT;
                DELETE FROM checkpoints c WHERE c.tenant_id = target AND c.hour < anchor.hour;
                PERFORM set_config('rampart.audit_retention', 'off', true);
                RETURN removed;
            END $$;
            REVOKE ALL ON FUNCTION \(s).apply_retention(uuid) FROM PUBLIC;
            GRANT EXECUTE ON FUNCTION \(s).apply_retention(uuid) TO \(app);
            """
        },
        Migration(version: 2, name: "impossible_travel") { context in
            let s = context.schema
            return """
            -- The impossible-travel rule's thresholds: the speed no traveller exceeds, and the
            -- distance below which GeoIP's own error could explain the difference.
            ALTER TABLE \(s).tenant_settings
                ADD COLUMN travel_speed_kmh integer NOT NULL DEFAULT 1000 CHECK (travel_speed_kmh BETWEEN 100 AND 20000),
                ADD COLUMN travel_min_distance_km integer NOT NULL DEFAULT 500 CHECK (travel_min_distance_km BETWEEN 0 AND 20000);

            -- What an alert found that is personal (the places of two sign-ins), sealed with the
            -- tenant's data key like events' personal parts: erased with the key.
            ALTER TABLE \(s).alerts ADD COLUMN details text;
            """
        },
        Migration(version: 3, name: "erased_people") { context in
            let s = context.schema
            return """
            -- People erased by a data-subject request (identity user ids, tickets person ids). Their
            -- events stay in the chain (the personal part is sealed inside the hashed record, so it
            -- cannot be removed without breaking verification), but readers no longer open it.
            CREATE TABLE \(s).erased_people (
                tenant_id uuid NOT NULL,
                person_id uuid NOT NULL,
                erased_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, person_id)
            );
            \(context.tenantIsolation(table: "erased_people"))
            REVOKE UPDATE, DELETE, TRUNCATE ON \(s).erased_people FROM \(context.runtimeRole);
            \(context.personErasure(steps: [
                ("erased_people", "INSERT INTO erased_people (tenant_id, person_id) SELECT p_tenant, unnest(p_subjects) ON CONFLICT DO NOTHING"),
            ], outbox: false))
            """
        },
        Migration(version: 4, name: "retention_keeps_the_head") { context in
            let s = context.schema
            return """
            -- Retention never deletes a tenant's newest event: the cut is the newest signed
            -- checkpoint older than the period that still has an event after it. A tenant quiet for
            -- longer than its period keeps its last event (and the chain its head), so the next
            -- event continues the sequence and the chain still verifies; before, such a tenant's
            -- whole chain went and the next event started again at seq 1 from genesis.
            CREATE OR REPLACE FUNCTION \(s).apply_retention(target uuid) RETURNS bigint
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = \(s), pg_temp AS $$
            DECLARE
                anchor record;
                removed bigint;
                cutoff timestamptz;
                head bigint;
            BEGIN
                PERFORM set_config('rampart.tenant_id', target::text, true);
                SELECT now() - make_interval(days => COALESCE(
                    (SELECT retention_days FROM tenant_settings WHERE tenant_id = target), 365)) INTO cutoff;
                SELECT max(e.seq) INTO head FROM events e WHERE e.tenant_id = target;
                SELECT c.hour, c.seq INTO anchor FROM checkpoints c
                WHERE c.tenant_id = target AND c.hour < cutoff - interval '1 hour' AND c.seq < head
                ORDER BY c.hour DESC LIMIT 1;
                IF NOT FOUND OR anchor.seq = 0 THEN
                    RETURN 0;
                END IF;
                PERFORM set_config('rampart.audit_retention', 'on', true);
                DELETE FROM events e WHERE e.tenant_id = target AND e.seq <= anchor.seq;
                GET DIAGNOSTICS removed = ROW_COUNT;
                DELETE FROM checkpoints c WHERE c.tenant_id = target AND c.hour < anchor.hour;
                PERFORM set_config('rampart.audit_retention', 'off', true);
                RETURN removed;
            END $$;
            """
        },
    ]
}
