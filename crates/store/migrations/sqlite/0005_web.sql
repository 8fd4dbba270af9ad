-- The web app (accord-web): its users, their sessions, failed sign-ins, and the indexes its pages
-- read by. Append-only like every migration.

-- A web user: a name, an argon2id hash (PHC string) and a role (viewer, operator, admin).
CREATE TABLE web_users (
    name TEXT NOT NULL PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- A signed-in browser. Keyed by the BLAKE3 hash of the cookie's token, so the table alone signs
-- nobody in.
CREATE TABLE web_sessions (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_user ON web_sessions (user_name);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- Failed sign-ins per user name, so the rate limit holds across restarts and processes.
CREATE TABLE web_signin_failures (
    user_name TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX web_signin_failures_user ON web_signin_failures (user_name, at);

-- The accounts list orders by name and join date a page at a time (the status rides along so a
-- page and the count read the index alone; no index leads with the status, which would tempt the
-- planner to sort every active account to list a page in id order), and reads each account's
-- activity from the rollups.
CREATE INDEX accounts_name ON accounts (name, account_id, status);
CREATE INDEX accounts_join_date ON accounts (join_date, account_id, status);
CREATE INDEX usage_rollups_account ON usage_rollups (account_id, grain, bucket);

-- The 360 page counts an account's events and lists its latest ones: without this index both
-- read every event of the hub (an account with 100,000 events took ~120 ms of the page). It costs
-- one more b-tree insert per stored event.
CREATE INDEX events_account ON events (account_id, is_deleted, last_seen);
