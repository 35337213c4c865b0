import RampartStorage

/// The `identity` schema's migrations, in version order. Never edit one that has shipped: add the next.
public enum IdentityMigrations {
    public static let all: [Migration] = [
        Migration(version: 1, name: "tenants_users_api_keys_outbox") { context in
            let s = context.schema
            return """
            -- The region's tenant registry: looked up by host name before any tenant is known,
            -- so it is the one table without row-level security. It holds no personal data.
            CREATE TABLE \(s).tenants (
                id uuid PRIMARY KEY,
                slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{1,38})[a-z0-9]$'),
                display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
                region text NOT NULL,
                plan text NOT NULL CHECK (plan IN ('starter', 'team', 'business', 'enterprise')),
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'cancelled')),
                created_at timestamptz NOT NULL DEFAULT now(),
                status_changed_at timestamptz NOT NULL DEFAULT now()
            );
            REVOKE DELETE ON \(s).tenants FROM \(context.runtimeRole);

            CREATE TABLE \(s).users (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL REFERENCES \(s).tenants (id),
                email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                role text NOT NULL CHECK (role IN ('admin', 'agent', 'read_only_agent', 'customer')),
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('invited', 'active', 'deactivated')),
                password_hash text,
                password_changed_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (tenant_id, email)
            );
            \(context.tenantIsolation(table: "users"))

            CREATE TABLE \(s).password_history (
                tenant_id uuid NOT NULL,
                user_id uuid NOT NULL REFERENCES \(s).users (id) ON DELETE CASCADE,
                password_hash text NOT NULL,
                replaced_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX password_history_user ON \(s).password_history (user_id, replaced_at DESC);
            \(context.tenantIsolation(table: "password_history"))

            CREATE TABLE \(s).api_keys (
                id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]{16}$'),
                tenant_id uuid NOT NULL,
                user_id uuid NOT NULL REFERENCES \(s).users (id),
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                secret_hash bytea NOT NULL,
                scopes text[] NOT NULL,
                allowed_cidrs inet[] NOT NULL DEFAULT '{}',
                expires_at timestamptz,
                revoked_at timestamptz,
                last_used_at timestamptz,
                last_used_ip inet,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            \(context.tenantIsolation(table: "api_keys"))

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
        Migration(version: 2, name: "security_settings_sessions_throttle") { context in
            let s = context.schema
            return """
            -- Per-tenant security settings; a tenant without a row uses the defaults.
            CREATE TABLE \(s).security_settings (
                tenant_id uuid PRIMARY KEY,
                staff_password_policy jsonb,
                customer_password_policy jsonb,
                session_idle_minutes integer NOT NULL DEFAULT 480 CHECK (session_idle_minutes BETWEEN 5 AND 10080),
                session_absolute_hours integer NOT NULL DEFAULT 24 CHECK (session_absolute_hours BETWEEN 1 AND 720)
            );
            \(context.tenantIsolation(table: "security_settings"))

            -- Server-side sessions; the cookie holds a 256-bit token, the table only its SHA-256.
            CREATE TABLE \(s).sessions (
                token_hash bytea PRIMARY KEY,
                id uuid NOT NULL UNIQUE,
                tenant_id uuid NOT NULL,
                user_id uuid NOT NULL REFERENCES \(s).users (id),
                authentication_method text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_seen_at timestamptz NOT NULL DEFAULT now(),
                idle_expires_at timestamptz NOT NULL,
                absolute_expires_at timestamptz NOT NULL,
                revoked_at timestamptz,
                ip inet,
                user_agent text
            );
            CREATE INDEX sessions_user ON \(s).sessions (user_id) WHERE revoked_at IS NULL;
            \(context.tenantIsolation(table: "sessions"))

            -- Failed sign-in counters per account and per source address, updated atomically.
            CREATE TABLE \(s).auth_throttle (
                tenant_id uuid NOT NULL,
                key text NOT NULL,
                failures integer NOT NULL DEFAULT 0,
                locked_until timestamptz,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, key)
            );
            \(context.tenantIsolation(table: "auth_throttle"))
            """
        },
        Migration(version: 3, name: "totp_recovery_codes_challenges") { context in
            let s = context.schema
            return """
            -- TOTP secrets, sealed with the tenant's data key (bound to this table, column and user).
            CREATE TABLE \(s).totp_credentials (
                user_id uuid PRIMARY KEY REFERENCES \(s).users (id) ON DELETE CASCADE,
                tenant_id uuid NOT NULL,
                secret_sealed bytea NOT NULL,
                confirmed_at timestamptz,
                last_used_step bigint,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            \(context.tenantIsolation(table: "totp_credentials"))

            -- Single-use recovery codes, stored as keyed hashes.
            CREATE TABLE \(s).recovery_codes (
                code_hash bytea PRIMARY KEY,
                tenant_id uuid NOT NULL,
                user_id uuid NOT NULL REFERENCES \(s).users (id) ON DELETE CASCADE,
                used_at timestamptz
            );
            CREATE INDEX recovery_codes_user ON \(s).recovery_codes (user_id);
            \(context.tenantIsolation(table: "recovery_codes"))

            -- Sign-ins waiting for their second factor: single use, five minutes.
            CREATE TABLE \(s).auth_challenges (
                token_hash bytea PRIMARY KEY,
                tenant_id uuid NOT NULL,
                user_id uuid NOT NULL REFERENCES \(s).users (id) ON DELETE CASCADE,
                expires_at timestamptz NOT NULL,
                used_at timestamptz
            );
            \(context.tenantIsolation(table: "auth_challenges"))
            """
        },
        Migration(version: 4, name: "oauth_clients_codes_tokens_invitations") { context in
            let s = context.schema
            return """
            -- Partner applications registered by a tenant's admins. Confidential clients have a
            -- secret (stored as a keyed hash); public clients have none and must use PKCE.
            CREATE TABLE \(s).oauth_clients (
                id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]{16}$'),
                tenant_id uuid NOT NULL,
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                confidential boolean NOT NULL,
                secret_hash bytea,
                redirect_uris text[] NOT NULL,
                scopes text[] NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                revoked_at timestamptz,
                CHECK (confidential = (secret_hash IS NOT NULL))
            );
            \(context.tenantIsolation(table: "oauth_clients"))

            -- Authorization codes: single use, two minutes, bound to client, redirect URI and
            -- PKCE challenge. `family_id` names the tokens issued from the code, so a replayed
            -- code revokes them.
            CREATE TABLE \(s).authorization_codes (
                id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]{16}$'),
                tenant_id uuid NOT NULL,
                client_id text NOT NULL REFERENCES \(s).oauth_clients (id),
                user_id uuid NOT NULL REFERENCES \(s).users (id),
                secret_hash bytea NOT NULL,
                redirect_uri text NOT NULL,
                scopes text[] NOT NULL,
                code_challenge text,
                authentication_method text NOT NULL,
                family_id uuid NOT NULL,
                expires_at timestamptz NOT NULL,
                used_at timestamptz
            );
            \(context.tenantIsolation(table: "authorization_codes"))

            -- Opaque access and refresh tokens, stored as keyed hashes. A refresh token is
            -- rotated on use; presenting a rotated one after the grace window revokes its family.
            CREATE TABLE \(s).tokens (
                id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]{16}$'),
                tenant_id uuid NOT NULL,
                kind text NOT NULL CHECK (kind IN ('access', 'refresh')),
                secret_hash bytea NOT NULL,
                family_id uuid NOT NULL,
                client_id text REFERENCES \(s).oauth_clients (id),
                user_id uuid REFERENCES \(s).users (id),
                api_key_id text REFERENCES \(s).api_keys (id),
                authentication_method text NOT NULL,
                scopes text[] NOT NULL,
                issued_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                rotated_at timestamptz,
                revoked_at timestamptz,
                CHECK (client_id IS NOT NULL OR user_id IS NOT NULL)
            );
            CREATE INDEX tokens_family ON \(s).tokens (family_id);
            CREATE INDEX tokens_user ON \(s).tokens (user_id) WHERE revoked_at IS NULL;
            \(context.tenantIsolation(table: "tokens"))

            -- Invitations: a single-use link that lets an invited user set their password.
            CREATE TABLE \(s).invitations (
                id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]{16}$'),
                tenant_id uuid NOT NULL,
                user_id uuid NOT NULL REFERENCES \(s).users (id) ON DELETE CASCADE,
                secret_hash bytea NOT NULL,
                expires_at timestamptz NOT NULL,
                accepted_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            \(context.tenantIsolation(table: "invitations"))

            -- Roles that must use a second factor (e.g. {admin,agent}); empty means optional.
            ALTER TABLE \(s).security_settings ADD COLUMN totp_required_roles text[] NOT NULL DEFAULT '{}'
                CHECK (totp_required_roles <@ ARRAY['admin', 'agent', 'read_only_agent', 'customer']);
            """
        },
        Migration(version: 5, name: "outbox_relay_access") { context in
            """
            -- The outbox relay (its own role) drains outbox_events of every tenant to audit.
            \(context.outboxRelayAccess(table: "outbox_events"))
            """
        },
        Migration(version: 6, name: "single_sign_on") { context in
            let s = context.schema
            return """
            -- One single sign-on configuration per tenant and audience (staff, customers).
            CREATE TABLE \(s).sso_configurations (
                tenant_id uuid NOT NULL REFERENCES \(s).tenants (id),
                audience text NOT NULL CHECK (audience IN ('staff', 'customers')),
                configuration jsonb NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, audience)
            );
            \(context.tenantIsolation(table: "sso_configurations"))

            -- SP-initiated SAML requests: bound to the browser that started them (a hash of its
            -- cookie), answered at most once, within ten minutes.
            CREATE TABLE \(s).saml_requests (
                id text PRIMARY KEY CHECK (id ~ '^_[0-9a-f]{32}$'),
                tenant_id uuid NOT NULL,
                audience text NOT NULL CHECK (audience IN ('staff', 'customers')),
                browser_hash bytea NOT NULL,
                return_to text NOT NULL,
                expires_at timestamptz NOT NULL,
                consumed_at timestamptz
            );
            \(context.tenantIsolation(table: "saml_requests"))

            -- The replay cache: every accepted SAML assertion id (or JWT jti) until it expires.
            CREATE TABLE \(s).sso_seen_tokens (
                tenant_id uuid NOT NULL,
                issuer text NOT NULL,
                token_id text NOT NULL CHECK (length(token_id) BETWEEN 1 AND 256),
                expires_at timestamptz NOT NULL,
                PRIMARY KEY (tenant_id, issuer, token_id)
            );
            \(context.tenantIsolation(table: "sso_seen_tokens"))

            -- Federated users, keyed by the IdP's subject, never by email.
            CREATE TABLE \(s).federated_identities (
                tenant_id uuid NOT NULL,
                issuer text NOT NULL,
                subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 512),
                user_id uuid NOT NULL REFERENCES \(s).users (id),
                created_at timestamptz NOT NULL DEFAULT now(),
                last_sign_in_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, issuer, subject)
            );
            \(context.tenantIsolation(table: "federated_identities"))
            """
        },
        Migration(version: 7, name: "tenant_purge") { context in
            """
            -- A cancelled tenant's data is kept until purge_after (the grace period), then purged.
            ALTER TABLE \(context.schema).tenants ADD COLUMN purge_after timestamptz;
            -- Tenants cancelled before purges existed get the default grace period from their cancellation.
            UPDATE \(context.schema).tenants SET purge_after = status_changed_at + interval '60 days' WHERE status = 'cancelled';
            ALTER TABLE \(context.schema).tenants ADD CONSTRAINT tenants_purge_after_when_cancelled
                CHECK ((status = 'cancelled') = (purge_after IS NOT NULL));
            \(context.tenantPurge(tables: purgedTables, finally: "DELETE FROM \(context.schema).tenants WHERE id = p_tenant;"))
            """
        },
        Migration(version: 8, name: "openid_connect_requests") { context in
            let s = context.schema
            return """
            -- OpenID Connect authorization requests: bound to the browser that started them (a hash
            -- of its cookie), answered at most once, within ten minutes. The PKCE verifier is only
            -- of use together with the authorization code, which never reaches the database.
            CREATE TABLE \(s).oidc_requests (
                state text PRIMARY KEY CHECK (length(state) BETWEEN 20 AND 100),
                tenant_id uuid NOT NULL,
                audience text NOT NULL CHECK (audience IN ('staff', 'customers')),
                browser_hash bytea NOT NULL,
                nonce text NOT NULL,
                code_verifier text NOT NULL,
                redirect_uri text NOT NULL,
                return_to text NOT NULL,
                expires_at timestamptz NOT NULL,
                consumed_at timestamptz
            );
            \(context.tenantIsolation(table: "oidc_requests"))

            -- The purge covers the new table.
            DROP FUNCTION \(s).purge_tenant(uuid, boolean);
            \(context.tenantPurge(tables: ["oidc_requests"] + purgedTables, finally: "DELETE FROM \(s).tenants WHERE id = p_tenant;"))
            """
        },
        Migration(version: 9, name: "single_sign_on_keys") { context in
            let s = context.schema
            return """
            -- Rampart's own key pairs for single sign-on, per tenant and use: SAML assertion
            -- decryption, AuthnRequest signing, and OpenID Connect private_key_jwt. The private key
            -- is sealed with the tenant's data key; at most two per use are kept (a rollover).
            CREATE TABLE \(s).sso_keys (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL,
                use text NOT NULL CHECK (use IN ('saml_encryption', 'saml_signing', 'oidc_client')),
                certificate text NOT NULL,
                sealed_private_key bytea NOT NULL,
                created_at timestamptz NOT NULL DEFAULT clock_timestamp()
            );
            CREATE INDEX sso_keys_use ON \(s).sso_keys (tenant_id, use, created_at DESC);
            \(context.tenantIsolation(table: "sso_keys"))

            -- What a callback must check that the request asked for: max_age and prompt=login.
            ALTER TABLE \(s).oidc_requests ADD COLUMN max_age integer CHECK (max_age >= 0),
                ADD COLUMN prompt text, ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();

            -- The ID token of each session signed in through OpenID Connect (sealed), sent back to
            -- the provider as id_token_hint when the user signs out (RP-initiated logout).
            CREATE TABLE \(s).oidc_sessions (
                session_id uuid PRIMARY KEY REFERENCES \(s).sessions (id),
                tenant_id uuid NOT NULL,
                audience text NOT NULL CHECK (audience IN ('staff', 'customers')),
                issuer text NOT NULL,
                sealed_id_token bytea NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            \(context.tenantIsolation(table: "oidc_sessions"))

            DROP FUNCTION \(s).purge_tenant(uuid, boolean);
            \(context.tenantPurge(tables: ["oidc_sessions", "sso_keys", "oidc_requests"] + purgedTables, finally: "DELETE FROM \(s).tenants WHERE id = p_tenant;"))
            """
        },
        Migration(version: 10, name: "person_erasure") { context in
            // A customer's data-subject erasure: every credential, session (IPs, user agents) and
            // federated link deleted, the account kept as an anonymized, deactivated row so ids in
            // tickets and the audit log still point somewhere. Staff are never erased here.
            let mine = "tenant_id = p_tenant AND user_id = ANY(p_subjects)"
            return context.personErasure(steps: [
                ("auth_throttle", """
                    DELETE FROM auth_throttle WHERE tenant_id = p_tenant
                        AND key IN (SELECT 'account:' || lower(email) FROM users WHERE tenant_id = p_tenant AND id = ANY(p_subjects) AND role = 'customer')
                    """),
                // The sealed ID tokens kept for signing out at the provider go with their sessions.
                ("oidc_sessions", "DELETE FROM oidc_sessions WHERE tenant_id = p_tenant AND session_id IN (SELECT id FROM sessions WHERE \(mine))"),
                ("sessions", "DELETE FROM sessions WHERE \(mine)"),
                ("auth_challenges", "DELETE FROM auth_challenges WHERE \(mine)"),
                ("recovery_codes", "DELETE FROM recovery_codes WHERE \(mine)"),
                ("totp_credentials", "DELETE FROM totp_credentials WHERE \(mine)"),
                ("invitations", "DELETE FROM invitations WHERE \(mine)"),
                ("password_history", "DELETE FROM password_history WHERE \(mine)"),
                ("tokens", """
                    DELETE FROM tokens WHERE tenant_id = p_tenant
                        AND (user_id = ANY(p_subjects) OR api_key_id IN (SELECT id FROM api_keys WHERE \(mine)))
                    """),
                ("authorization_codes", "DELETE FROM authorization_codes WHERE \(mine)"),
                ("api_keys", "DELETE FROM api_keys WHERE \(mine)"),
                ("federated_identities", "DELETE FROM federated_identities WHERE \(mine)"),
                ("users", """
                    UPDATE users SET email = 'erased-' || id || '@erased.invalid', name = 'Erased person', status = 'deactivated',
                        password_hash = NULL, password_changed_at = NULL
                    WHERE tenant_id = p_tenant AND id = ANY(p_subjects) AND role = 'customer'
                    """),
            ], outbox: true)
        },
        Migration(version: 11, name: "purge_started") { context in
            """
            -- When backup began deleting a cancelled tenant's data: from then on the tenant cannot be
            -- reinstated (a reinstatement and the purge's first deletion never both happen).
            ALTER TABLE \(context.schema).tenants ADD COLUMN purge_started_at timestamptz;
            """
        },
    ]

    /// The tenant tables `purge_tenant` empties since migration 7, children before parents.
    private static let purgedTables = [
        "auth_challenges", "recovery_codes", "totp_credentials", "invitations", "tokens", "authorization_codes",
        "oauth_clients", "sessions", "api_keys", "password_history", "auth_throttle", "security_settings",
        "sso_seen_tokens", "saml_requests", "sso_configurations", "federated_identities", "outbox_events", "users",
    ]
}
