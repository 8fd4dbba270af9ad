-- The view of daily sums over the hourly rows (read by nothing) gives way to a table.
DROP VIEW IF EXISTS usage_daily;

-- Daily usage, written with the hourly rollups from the same in-memory aggregate (so each day's
-- row is exactly the sum of its 24 hourly rows). A read over a range takes its whole days from
-- here and only its partial first and last days from the hourly rows. Keyed by account first:
-- these are read per account.
CREATE TABLE usage_daily (
    account_id TEXT COLLATE "C" NOT NULL,
    day BIGINT NOT NULL,
    product TEXT COLLATE "C" NOT NULL,
    module TEXT COLLATE "C" NOT NULL,
    feature TEXT COLLATE "C" NOT NULL,
    events BIGINT NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    time_spent DOUBLE PRECISION NOT NULL,
    active_duration DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, day, product, module, feature)
);

-- The distinct non-empty user ids active per account and day.
CREATE TABLE usage_daily_users (
    account_id TEXT COLLATE "C" NOT NULL,
    day BIGINT NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, day, user_id)
);

-- Days start at UTC midnight; the modulo is made non-negative for buckets before 1970.
INSERT INTO usage_daily (account_id, day, product, module, feature, events, total, time_spent, active_duration)
    SELECT account_id, bucket - ((bucket % 86400000) + 86400000) % 86400000, product, module, feature,
           SUM(events), SUM(total), SUM(time_spent), SUM(active_duration)
    FROM usage_rollups WHERE grain = 'hour'
    GROUP BY 1, 2, 3, 4, 5;
INSERT INTO usage_daily_users (account_id, day, user_id)
    SELECT DISTINCT account_id, bucket - ((bucket % 86400000) + 86400000) % 86400000, user_id
    FROM usage_rollups WHERE grain = 'hour' AND user_id <> '';

-- Sessions are counted where they start: one row per account and session with the hour of its
-- first event (kept the earliest whatever order events arrive in), so "sessions in the last 30
-- days" is an index range count instead of a distinct count over every session-hour. It replaces
-- the hourly session rows.
CREATE TABLE usage_session_starts (
    account_id TEXT COLLATE "C" NOT NULL,
    session_id TEXT COLLATE "C" NOT NULL,
    first_hour BIGINT NOT NULL,
    PRIMARY KEY (account_id, session_id)
);
CREATE INDEX usage_session_starts_hour ON usage_session_starts (account_id, first_hour);
INSERT INTO usage_session_starts (account_id, session_id, first_hour)
    SELECT account_id, session_id, MIN(bucket) FROM usage_sessions WHERE grain = 'hour' GROUP BY account_id, session_id;
DROP TABLE usage_sessions;
