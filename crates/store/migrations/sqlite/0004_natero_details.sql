-- Natero's nested account fields and custom metric definitions (Account API v2).
-- An account's nested entries (stage_history, custom_*_dimensions, assigned_csms, nps_history,
-- documents), one row per entry, keyed within its field by the entry's identity (a dimension's
-- key, a CSM's email, a stage's name and start, an NPS answer's date), so a write merges entry by
-- entry and one entry can be removed. Kept apart from `accounts` so a System of Record sync, which
-- rewrites the account row, leaves them alone. Keyed by account_id, so it distributes by account.
CREATE TABLE account_entries (
    account_id TEXT NOT NULL,
    field TEXT NOT NULL,
    entry_key TEXT NOT NULL,
    entry TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, field, entry_key)
) WITHOUT ROWID;

-- Custom metric definitions by name (`/api/v2/metrics/{name}`), their fields as given (JSON).
CREATE TABLE metric_definitions (
    name TEXT NOT NULL PRIMARY KEY,
    definition TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
