import RampartStorage

/// The `tickets` schema's migrations, in version order. Never edit one that has shipped: add the next.
public enum TicketsMigrations {
    public static let all: [Migration] = [
        Migration(version: 1, name: "helpdesk_core") { context in
            let s = context.schema
            return """
            -- Per-tenant helpdesk settings; a tenant without a row uses the defaults.
            CREATE TABLE \(s).settings (
                tenant_id uuid PRIMARY KEY,
                customers_see_organization boolean NOT NULL DEFAULT false,
                card_keep_first integer NOT NULL DEFAULT 6 CHECK (card_keep_first BETWEEN 0 AND 6),
                card_keep_last integer NOT NULL DEFAULT 4 CHECK (card_keep_last BETWEEN 0 AND 4),
                attachment_max_bytes integer NOT NULL DEFAULT 10485760 CHECK (attachment_max_bytes BETWEEN 1024 AND 26214400),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            \(context.tenantIsolation(table: "settings"))

            CREATE TABLE \(s).organizations (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL,
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (tenant_id, name)
            );
            \(context.tenantIsolation(table: "organizations"))

            -- Customers (requesters and CCs). `user_id` links a person to identity's customer user;
            -- a portal user's person is created on first use, without an email until staff add one.
            CREATE TABLE \(s).people (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL,
                email text CHECK (length(email) BETWEEN 3 AND 254),
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                organization_id uuid REFERENCES \(s).organizations (id),
                user_id uuid,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (tenant_id, email),
                UNIQUE (tenant_id, user_id)
            );
            CREATE INDEX people_organization ON \(s).people (organization_id);
            \(context.tenantIsolation(table: "people"))

            -- Departments with their simple SLA (minutes until first response and resolution).
            CREATE TABLE \(s).departments (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL,
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                first_response_minutes integer CHECK (first_response_minutes BETWEEN 1 AND 525600),
                resolution_minutes integer CHECK (resolution_minutes BETWEEN 1 AND 525600),
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (tenant_id, name)
            );
            \(context.tenantIsolation(table: "departments"))

            -- Which agents (identity user ids) work in which department: what they may see.
            CREATE TABLE \(s).department_agents (
                tenant_id uuid NOT NULL,
                department_id uuid NOT NULL REFERENCES \(s).departments (id) ON DELETE CASCADE,
                agent_id uuid NOT NULL,
                PRIMARY KEY (department_id, agent_id)
            );
            CREATE INDEX department_agents_agent ON \(s).department_agents (tenant_id, agent_id);
            \(context.tenantIsolation(table: "department_agents"))

            CREATE TABLE \(s).teams (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL,
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (tenant_id, name)
            );
            \(context.tenantIsolation(table: "teams"))

            CREATE TABLE \(s).team_members (
                tenant_id uuid NOT NULL,
                team_id uuid NOT NULL REFERENCES \(s).teams (id) ON DELETE CASCADE,
                agent_id uuid NOT NULL,
                PRIMARY KEY (team_id, agent_id)
            );
            \(context.tenantIsolation(table: "team_members"))

            -- Typed custom fields defined per tenant; values live sealed on the ticket.
            CREATE TABLE \(s).custom_fields (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL,
                key text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
                label text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
                type text NOT NULL CHECK (type IN ('text', 'number', 'date', 'single_choice', 'multiple_choice')),
                options text[] NOT NULL DEFAULT '{}',
                required boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (tenant_id, key)
            );
            \(context.tenantIsolation(table: "custom_fields"))

            -- Tickets. Subject and custom-field values are sealed with the tenant's data key;
            -- `version` is the ETag; `deleted_at` marks the recycle bin.
            CREATE TABLE \(s).tickets (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL,
                subject_sealed bytea NOT NULL,
                status text NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'open', 'awaiting_customer', 'awaiting_agent', 'resolved', 'closed')),
                priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
                department_id uuid REFERENCES \(s).departments (id),
                assignee_id uuid,
                team_id uuid REFERENCES \(s).teams (id),
                requester_id uuid REFERENCES \(s).people (id),
                organization_id uuid REFERENCES \(s).organizations (id),
                cc_ids uuid[] NOT NULL DEFAULT '{}',
                labels text[] NOT NULL DEFAULT '{}',
                custom_fields_sealed bytea,
                created_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                resolved_at timestamptz,
                first_responded_at timestamptz,
                first_response_due_at timestamptz,
                resolution_due_at timestamptz,
                deleted_at timestamptz,
                version integer NOT NULL DEFAULT 1
            );
            CREATE INDEX tickets_updated ON \(s).tickets (tenant_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL;
            CREATE INDEX tickets_created ON \(s).tickets (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
            CREATE INDEX tickets_requester ON \(s).tickets (tenant_id, requester_id);
            CREATE INDEX tickets_department ON \(s).tickets (tenant_id, department_id);
            CREATE INDEX tickets_assignee ON \(s).tickets (tenant_id, assignee_id);
            CREATE INDEX tickets_deleted ON \(s).tickets (tenant_id, deleted_at DESC, id DESC) WHERE deleted_at IS NOT NULL;
            \(context.tenantIsolation(table: "tickets"))

            -- Which tickets a caller reaches (Caller.Reach): the whole tenant; an agent's departments
            -- and assignments; a customer's own requests (and organization's, when allowed).
            CREATE FUNCTION \(s).ticket_visible(
                reach text, viewer uuid, person uuid, organization uuid,
                department uuid, assignee uuid, requester uuid, ticket_organization uuid
            ) RETURNS boolean LANGUAGE sql STABLE AS $$
                SELECT CASE reach
                    WHEN 'tenant' THEN true
                    WHEN 'agent' THEN assignee IS NOT DISTINCT FROM viewer AND viewer IS NOT NULL
                        OR EXISTS (SELECT 1 FROM \(s).department_agents d WHERE d.department_id = department AND d.agent_id = viewer)
                    WHEN 'customer' THEN requester IS NOT DISTINCT FROM person AND person IS NOT NULL
                        OR (organization IS NOT NULL AND ticket_organization = organization)
                    ELSE false
                END
            $$;

            -- Messages: public replies and internal notes; the body is sealed, never plaintext.
            CREATE TABLE \(s).messages (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL,
                ticket_id uuid NOT NULL REFERENCES \(s).tickets (id) ON DELETE CASCADE,
                kind text NOT NULL CHECK (kind IN ('reply', 'note')),
                format text NOT NULL CHECK (format IN ('text', 'html')),
                body_sealed bytea NOT NULL,
                author_type text NOT NULL,
                author_id text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX messages_ticket ON \(s).messages (ticket_id, created_at, id);
            \(context.tenantIsolation(table: "messages"))

            -- Attachments: content sealed; linked to a message once a reply names them.
            CREATE TABLE \(s).attachments (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL,
                ticket_id uuid NOT NULL REFERENCES \(s).tickets (id) ON DELETE CASCADE,
                message_id uuid REFERENCES \(s).messages (id) ON DELETE CASCADE,
                filename text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
                content_type text NOT NULL,
                size integer NOT NULL,
                content_sealed bytea NOT NULL,
                uploaded_by text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX attachments_ticket ON \(s).attachments (ticket_id);
            CREATE INDEX attachments_message ON \(s).attachments (message_id);
            \(context.tenantIsolation(table: "attachments"))

            -- The keyed search index: HMAC-SHA256 tokens of normalized words (no plaintext).
            -- `internal` tokens come from notes and are matched for staff only.
            CREATE TABLE \(s).search_tokens (
                tenant_id uuid NOT NULL,
                token bytea NOT NULL,
                ticket_id uuid NOT NULL REFERENCES \(s).tickets (id) ON DELETE CASCADE,
                internal boolean NOT NULL,
                PRIMARY KEY (tenant_id, token, ticket_id, internal)
            );
            CREATE INDEX search_tokens_ticket ON \(s).search_tokens (ticket_id);
            \(context.tenantIsolation(table: "search_tokens"))

            -- Idempotency keys of creates: the request's hash and the sealed response it got.
            CREATE TABLE \(s).idempotency_keys (
                tenant_id uuid NOT NULL,
                principal text NOT NULL,
                key text NOT NULL,
                request_hash bytea NOT NULL,
                status integer,
                response_sealed bytea,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, principal, key)
            );
            \(context.tenantIsolation(table: "idempotency_keys"))

            -- Audit events, written in the same transaction as the change they record; the
            -- audit service's relay drains them, so an audit outage loses nothing.
            CREATE TABLE \(s).outbox_events (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL,
                occurred_at timestamptz NOT NULL DEFAULT now(),
                event jsonb NOT NULL,
                delivered_at timestamptz
            );
            CREATE INDEX outbox_events_pending ON \(s).outbox_events (occurred_at) WHERE delivered_at IS NULL;
            \(context.tenantIsolation(table: "outbox_events"))
            """
        },
        Migration(version: 2, name: "outbox_relay_access") { context in
            """
            -- The outbox relay (its own role) drains outbox_events of every tenant to audit.
            \(context.outboxRelayAccess(table: "outbox_events"))
            """
        },
        Migration(version: 3, name: "tenant_purge") { context in
            context.tenantPurge(tables: [
                "search_tokens", "attachments", "messages", "idempotency_keys", "tickets", "custom_fields", "team_members", "teams",
                "department_agents", "departments", "people", "organizations", "settings", "outbox_events",
            ])
        },
        Migration(version: 4, name: "retention") { context in
            let s = context.schema
            return """
            -- Retention per tenant: the recycle bin is emptied after recycle_bin_days; closed
            -- tickets are deleted after closed_ticket_days when set (NULL keeps them).
            ALTER TABLE \(s).settings
                ADD COLUMN recycle_bin_days integer NOT NULL DEFAULT 30 CHECK (recycle_bin_days BETWEEN 1 AND 3650),
                ADD COLUMN closed_ticket_days integer CHECK (closed_ticket_days BETWEEN 30 AND 3650);
            """
        },
        Migration(version: 5, name: "uploads_before_the_ticket") { context in
            let s = context.schema
            return """
            -- An attachment for a ticket's first message is uploaded before the ticket exists: its
            -- ticket_id stays NULL until the create links it. Unsent uploads expire (RetentionSweeper).
            ALTER TABLE \(s).attachments ALTER COLUMN ticket_id DROP NOT NULL;
            CREATE INDEX attachments_unsent ON \(s).attachments (tenant_id, uploaded_by, created_at) WHERE message_id IS NULL;
            """
        },
        Migration(version: 6, name: "person_erasure") { context in
            let s = context.schema
            let persons = "SELECT id FROM people WHERE tenant_id = p_tenant AND (id = ANY(p_subjects) OR user_id = ANY(p_subjects))"
            return """
            -- What a customer's erasure does with the tickets they requested: 'keep' them (the
            -- requester becomes the anonymized person; subjects and messages stay, sealed) or
            -- 'delete' them with their messages, attachments and search tokens.
            ALTER TABLE \(s).settings
                ADD COLUMN erasure_ticket_content text NOT NULL DEFAULT 'keep' CHECK (erasure_ticket_content IN ('keep', 'delete'));
            \(context.personErasure(steps: [
                ("tickets_deleted", "DELETE FROM tickets WHERE p_delete_tickets AND tenant_id = p_tenant AND requester_id IN (\(persons))"),
                ("cc_removed", """
                    UPDATE tickets SET cc_ids = ARRAY(SELECT c FROM unnest(cc_ids) c WHERE c NOT IN (\(persons)))
                    WHERE tenant_id = p_tenant AND cc_ids && ARRAY(\(persons))
                    """),
                ("attachments_renamed", "UPDATE attachments SET filename = 'attachment-' || id WHERE tenant_id = p_tenant AND uploaded_by = ANY(p_refs)"),
                ("idempotency_keys", "DELETE FROM idempotency_keys WHERE tenant_id = p_tenant AND principal = ANY(p_refs)"),
                ("people", """
                    UPDATE people SET name = 'Erased person', email = NULL, organization_id = NULL, updated_at = now()
                    WHERE tenant_id = p_tenant AND id IN (\(persons))
                    """),
            ], outbox: true))
            """
        },
        Migration(version: 7, name: "idempotency_claims") { context in
            """
            -- Which request holds a key: each claim (a first request, or one taking over a key
            -- whose request is presumed dead) is its own, and only the request holding the
            -- current claim stores its answer or lets the key go.
            ALTER TABLE \(context.schema).idempotency_keys ADD COLUMN claim uuid;
            """
        },
    ]
}
