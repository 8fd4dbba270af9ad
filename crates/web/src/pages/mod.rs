//! One module per page (or group of pages); each handler reads through the engine, builds its
//! tables, and renders them with the layout.

pub mod account;
pub mod accounts;
pub mod doctor;
pub mod integrations;
pub mod quarantine;
pub mod signin;
pub mod users;
