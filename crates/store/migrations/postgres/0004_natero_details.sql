-- Natero's nested account fields and custom metric definitions (Account API v2). Mirrors
-- migrations/sqlite/0004_natero_details.sql.
-- An account's nested entries (stage_history, custom_*_dimensions, assigned_csms, nps_history,
-- documents), one row per entry, keyed within its field by the entry's identity, so a write merges
-- entry by entry and one entry can be removed. Kept apart from `accounts` so a System of Record
-- sync leaves them alone. Keyed by account_id, so it distributes by account.
CREATE TABLE account_entries (
    account_id TEXT COLLATE "C" NOT NULL,
    field TEXT COLLATE "C" NOT NULL,
    entry_key TEXT COLLATE "C" NOT NULL,
    entry TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, field, entry_key)
);

-- Custom metric definitions by name (`/api/v2/metrics/{name}`), their fields as given (JSON).
CREATE TABLE metric_definitions (
    name TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    definition TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
