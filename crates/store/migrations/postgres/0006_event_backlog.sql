-- Raw events: the primary key (source, object, native_id) is time-first within a source (an
-- event's native id starts with its time, `ev:<epoch ms>:<content hash>`), so new events append at
-- the end of its index, and it is what makes a duplicate delivery a no-op across processes. The
-- identity column and the created_at index were written with every event and read by nothing
-- else than retention, which now scans.
DROP INDEX events_created;
-- 0005's index of events by account: it cost a third of the Event API's throughput (measured on
-- SQLite), and what read it, an account's event counts, now comes from event_counts.
DROP INDEX IF EXISTS events_account;
ALTER TABLE events DROP COLUMN id;
-- The usage_backlog entry of the transaction that stored the event (see below).
ALTER TABLE events ADD COLUMN backlog BIGINT;

-- Usage rollups are aggregated in memory across transactions and written at most a second or so
-- later (see crates/store/src/usage.rs). Each transaction that stores new events writes one row
-- here per (source, object) with the range of native ids it stored, and marks those events with
-- the row's seq. Writing an entry's rollups deletes the row in the same transaction; a row left
-- by a process that stopped before it wrote them is rolled up from its events by the next
-- process that writes rollups. An identity never reuses a seq.
CREATE TABLE usage_backlog (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source TEXT COLLATE "C" NOT NULL,
    object TEXT COLLATE "C" NOT NULL,
    first_id TEXT COLLATE "C" NOT NULL,
    last_id TEXT COLLATE "C" NOT NULL,
    written_at BIGINT NOT NULL
);

-- Stored events per account and source, written with the rollups (one row per account and source
-- per flush, not one index entry per event). Like the rollups, they keep counting the events
-- retention removes.
CREATE TABLE event_counts (
    account_id TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    object TEXT COLLATE "C" NOT NULL,
    events BIGINT NOT NULL,
    PRIMARY KEY (account_id, source, object)
);
INSERT INTO event_counts (account_id, source, object, events)
    SELECT account_id, source, object, COUNT(*) FROM events WHERE NOT is_deleted GROUP BY account_id, source, object;
