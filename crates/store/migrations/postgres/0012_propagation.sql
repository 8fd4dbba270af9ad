-- `accord propagate` (issue 13): every write of an account id back into a source, recorded
-- before it is sent ('pending') and finished with the outcome: 'written' (the vendor's answer),
-- 'already' (the vendor held the value: a write a stopped run had sent), 'conflict' (the field
-- held another value, left untouched), 'failed' (the error), or 'interrupted' (a run stopped
-- before it knew). Times are epoch milliseconds.
CREATE TABLE propagation_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    source TEXT NOT NULL,
    object TEXT NOT NULL,
    native_id TEXT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT
);
CREATE INDEX propagation_log_record ON propagation_log (source, object, native_id);
