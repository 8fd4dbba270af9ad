-- What a linked record's answer depends on besides its own account (which `account_id` already
-- says): the keys its earlier rules tried without resolving, and the id-map entry, email, domain
-- or user its winning rule went through. A change to one of them re-checks the record, so the
-- link state stays the fixpoint of the stored data whatever order it arrived in.
CREATE TABLE record_keys (
    space TEXT NOT NULL,
    key TEXT NOT NULL,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    PRIMARY KEY (space, key, source, object, native_id)
) WITHOUT ROWID;
CREATE INDEX record_keys_record ON record_keys (source, object, native_id);

-- The records a full read of an object's list returned so far, by pass. When the pass completes,
-- the object's records it never returned are deleted at the source; then its rows go.
CREATE TABLE pass_seen (
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    pass TEXT NOT NULL,
    native_id TEXT NOT NULL,
    PRIMARY KEY (source, object, pass, native_id)
) WITHOUT ROWID;

-- What each committed batch changed in the lookup index (accounts, SOR records, id-map records,
-- domains), in commit order. A process whose in-memory index is behind re-reads these entities
-- from the store; a commit made against a view older than the log's end says so (the keys the
-- newer entries changed go to the change feed, so the records linked against the old view are
-- re-checked).
CREATE TABLE index_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entities TEXT NOT NULL
);
