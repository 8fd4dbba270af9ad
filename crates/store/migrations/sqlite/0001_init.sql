-- accord schema v1 (SQLite). Append-only: never edit a released migration; add a new one.
-- Times are epoch milliseconds. Every table is keyed by account_id or by (source, object, native_id).
-- Record tables keep a rowid and a unique (source, object, native_id) index: rows carry their JSON
-- payload, and appending them by rowid is much cheaper than inserting them into a wide key b-tree.

CREATE TABLE accounts (
    account_id TEXT NOT NULL PRIMARY KEY,
    status TEXT NOT NULL,
    name TEXT,
    join_date INTEGER,
    renewal_date INTEGER,
    crm_account_id TEXT,
    billing_account_id TEXT,
    support_account_id TEXT,
    parent_account_id TEXT,
    website TEXT,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    attributes TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX accounts_origin ON accounts (source, object, native_id);

CREATE TABLE deleted_accounts (
    account_id TEXT NOT NULL PRIMARY KEY,
    deleted_at INTEGER NOT NULL,
    reason TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE domain_map (
    account_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (account_id, domain)
) WITHOUT ROWID;
CREATE INDEX domain_map_domain ON domain_map (domain);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    link_rule TEXT NOT NULL,
    link_rule_index INTEGER NOT NULL,
    link_key TEXT NOT NULL,
    name TEXT,
    email TEXT,
    website TEXT,
    domain TEXT,
    payload TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (source, object, native_id)
);
CREATE INDEX organizations_account ON organizations (account_id);

CREATE TABLE product_users (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    link_rule TEXT NOT NULL,
    link_rule_index INTEGER NOT NULL,
    link_key TEXT NOT NULL,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    role TEXT,
    is_active INTEGER,
    product_join_date INTEGER,
    payload TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (source, object, native_id)
);
CREATE INDEX product_users_account ON product_users (account_id);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    link_rule TEXT NOT NULL,
    link_rule_index INTEGER NOT NULL,
    link_key TEXT NOT NULL,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    title TEXT,
    is_primary INTEGER,
    payload TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (source, object, native_id)
);
CREATE INDEX contacts_account ON contacts (account_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    link_rule TEXT NOT NULL,
    link_rule_index INTEGER NOT NULL,
    link_key TEXT NOT NULL,
    user_id TEXT,
    session_id TEXT,
    action TEXT,
    product TEXT,
    module TEXT,
    feature TEXT,
    total REAL,
    time_spent REAL,
    active_duration REAL,
    created_at INTEGER,
    payload TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (source, object, native_id)
);
-- Raw events are read through the rollups, so they carry only the index retention needs. Their
-- ids start with the event time, so the unique index grows at its end like the table.
CREATE INDEX events_created ON events (created_at);

CREATE TABLE support_tickets (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    link_rule TEXT NOT NULL,
    link_rule_index INTEGER NOT NULL,
    link_key TEXT NOT NULL,
    subject TEXT,
    status TEXT,
    priority TEXT,
    requester_email TEXT,
    created_at INTEGER,
    updated_at INTEGER,
    payload TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (source, object, native_id)
);
CREATE INDEX support_tickets_account ON support_tickets (account_id);

CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    link_rule TEXT NOT NULL,
    link_rule_index INTEGER NOT NULL,
    link_key TEXT NOT NULL,
    plan_code TEXT,
    status TEXT,
    mrr INTEGER,
    currency TEXT,
    start_date INTEGER,
    end_date INTEGER,
    payload TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (source, object, native_id)
);
CREATE INDEX subscriptions_account ON subscriptions (account_id);

CREATE TABLE statements (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    link_rule TEXT NOT NULL,
    link_rule_index INTEGER NOT NULL,
    link_key TEXT NOT NULL,
    amount INTEGER,
    currency TEXT,
    issued_at INTEGER,
    due_at INTEGER,
    paid_at INTEGER,
    is_failed INTEGER,
    non_recurring INTEGER,
    payload TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (source, object, native_id)
);
CREATE INDEX statements_account ON statements (account_id);

CREATE TABLE interactions (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    link_rule TEXT NOT NULL,
    link_rule_index INTEGER NOT NULL,
    link_key TEXT NOT NULL,
    channel TEXT,
    subject TEXT,
    participant_email TEXT,
    occurred_at INTEGER,
    payload TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (source, object, native_id)
);
CREATE INDEX interactions_account ON interactions (account_id);

CREATE TABLE nps_responses (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    link_rule TEXT NOT NULL,
    link_rule_index INTEGER NOT NULL,
    link_key TEXT NOT NULL,
    score INTEGER,
    comment TEXT,
    email TEXT,
    responded_at INTEGER,
    payload TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    UNIQUE (source, object, native_id)
);
CREATE INDEX nps_responses_account ON nps_responses (account_id);

-- The id maps and the user -> account mapping table are the linked records themselves.
CREATE VIEW id_map AS
    SELECT source, object, native_id, account_id, 'organization' AS kind FROM organizations WHERE is_deleted = 0
    UNION ALL SELECT source, object, native_id, account_id, 'user' FROM product_users WHERE is_deleted = 0
    UNION ALL SELECT source, object, native_id, account_id, 'contact' FROM contacts WHERE is_deleted = 0
    UNION ALL SELECT source, object, native_id, account_id, 'ticket' FROM support_tickets WHERE is_deleted = 0
    UNION ALL SELECT source, object, native_id, account_id, 'subscription' FROM subscriptions WHERE is_deleted = 0
    UNION ALL SELECT source, object, native_id, account_id, 'invoice' FROM statements WHERE is_deleted = 0
    UNION ALL SELECT source, object, native_id, account_id, 'interaction' FROM interactions WHERE is_deleted = 0
    UNION ALL SELECT source, object, native_id, account_id, 'nps_response' FROM nps_responses WHERE is_deleted = 0;
CREATE VIEW user_map AS
    SELECT native_id AS user_id, account_id, source, object FROM product_users WHERE is_deleted = 0;

CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    rule TEXT,
    link_key TEXT,
    hints TEXT NOT NULL,
    tried TEXT NOT NULL,
    payload TEXT NOT NULL,
    location TEXT,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    UNIQUE (source, object, native_id)
);
CREATE INDEX quarantine_reason ON quarantine (reason);

-- Which keys each quarantined record tried (and which accounts its hints name), so that a change
-- re-links exactly the records it concerns.
CREATE TABLE quarantine_keys (
    space TEXT NOT NULL,
    key TEXT NOT NULL,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    PRIMARY KEY (space, key, source, object, native_id)
) WITHOUT ROWID;
CREATE INDEX quarantine_keys_record ON quarantine_keys (source, object, native_id);

CREATE TABLE checkpoints (
    source TEXT NOT NULL,
    stream TEXT NOT NULL,
    cursor TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (source, stream)
) WITHOUT ROWID;

CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    status TEXT NOT NULL,
    fetched INTEGER NOT NULL DEFAULT 0,
    linked INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    rejected_by_reason TEXT NOT NULL DEFAULT '{}',
    error TEXT
);
CREATE INDEX sync_runs_source ON sync_runs (source, id);

-- Usage rollups: one row per (grain, bucket, account, user, product, module, feature). Rows are
-- hourly (grain 'hour'); daily figures are read as sums over the day's hours (view usage_daily),
-- which halves the writes per event. Bucket is the bucket's start in epoch ms; '' stands for "not given". Active users
-- are the distinct non-empty user_ids of a bucket. Only newly stored events are added, so a
-- duplicate delivery never counts twice. The key starts with the time bucket so that ingesting
-- recent events touches a few hot pages instead of one page per account; an account's usage over
-- a range is one seek per bucket. The key holds account_id, so it distributes by account.
CREATE TABLE usage_rollups (
    grain TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    product TEXT NOT NULL,
    module TEXT NOT NULL,
    feature TEXT NOT NULL,
    events INTEGER NOT NULL,
    total REAL NOT NULL,
    time_spent REAL NOT NULL,
    active_duration REAL NOT NULL,
    PRIMARY KEY (grain, bucket, account_id, user_id, product, module, feature)
) WITHOUT ROWID;

CREATE TABLE usage_sessions (
    grain TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    PRIMARY KEY (grain, bucket, account_id, session_id)
) WITHOUT ROWID;

-- Custom account metrics (Natero's /metrics): one value per account, metric name and day.
CREATE TABLE account_metrics (
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    day INTEGER NOT NULL,
    value REAL NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, name, day)
) WITHOUT ROWID;

-- Daily usage, summed from the hourly rollups.
CREATE VIEW usage_daily AS
    SELECT 'day' AS grain, (bucket / 86400000) * 86400000 AS bucket, account_id, user_id, product, module, feature,
           SUM(events) AS events, SUM(total) AS total, SUM(time_spent) AS time_spent,
           SUM(active_duration) AS active_duration
    FROM usage_rollups WHERE grain = 'hour'
    GROUP BY (bucket / 86400000) * 86400000, account_id, user_id, product, module, feature;
