-- The run lock of each source (issue 13): never more than one run of a source at a time, across
-- processes. On SQLite the row is the lock, a lease: its holder renews `expires_at` while the run
-- goes on, and another process takes it over only once it has expired (its holder stopped). On
-- PostgreSQL the lock is a session advisory lock on a dedicated connection, released by the
-- server when that connection ends; the row only says who holds it (`token` is the holding
-- backend's pid). Append-only like every migration.
CREATE TABLE source_locks (
    source TEXT NOT NULL PRIMARY KEY,
    holder TEXT NOT NULL,
    token TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
