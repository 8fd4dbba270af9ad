-- The web app (accord-web): its users, their sessions, failed sign-ins, and the indexes its pages
-- read by. Append-only like every migration.

-- A web user: a name, an argon2id hash (PHC string) and a role (viewer, operator, admin).
CREATE TABLE web_users (
    name TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A signed-in browser. Keyed by the BLAKE3 hash of the cookie's token, so the table alone signs
-- nobody in.
CREATE TABLE web_sessions (
    token_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_name TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_name);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- Failed sign-ins per user name, so the rate limit holds across restarts and processes.
CREATE TABLE web_signin_failures (
    user_name TEXT COLLATE "C" NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX web_signin_failures_user ON web_signin_failures (user_name, at);

-- The accounts list orders by name and join date a page at a time, and reads each account's
-- activity from the rollups.
CREATE INDEX accounts_status_name ON accounts (status, name, account_id);
CREATE INDEX accounts_status_join_date ON accounts (status, join_date, account_id);
CREATE INDEX usage_rollups_account ON usage_rollups (account_id, grain, bucket);
