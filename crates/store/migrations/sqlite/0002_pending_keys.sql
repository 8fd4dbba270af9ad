-- The durable change feed: keys whose meaning changed (an account, an id-map entry, an email, a
-- domain, a user mapping), written in the same transaction as the change and removed once the
-- records that depend on them were re-linked. `version` tells a re-recorded key from the one a
-- settle pass read, so a change that lands while the pass runs is never cleared by it.
CREATE TABLE pending_keys (
    space TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (space, key)
) WITHOUT ROWID;
