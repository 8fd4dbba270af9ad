//! One module per vendor; each folder has the same files: `mod.rs` (settings and the connector), `streams.rs` (the streams as data), `tests.rs` (conformance against the sandbox).
