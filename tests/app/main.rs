//! The one integration test binary: every test drives the real server over HTTP on
//! 127.0.0.1 against a fresh database, on SQLite and on PostgreSQL.

// A test that cannot go on says why and stops: `expect` with the reason, never a default.
#![allow(clippy::expect_used)]

mod database_dump;
mod gateway_peers;
mod helpers;
mod object_store_server;

mod admin;
mod atomic_changes;
mod audit;
mod backup;
mod browser;
mod cases;
mod connections;
mod crash;
mod delegates;
mod directory;
mod edges;
mod gateway;
mod keys;
mod layers;
mod lifecycle;
mod logging;
mod mail;
mod mail_lists;
mod notifications;
mod object_storage;
mod operations;
mod passkeys;
mod password;
mod plea;
mod postgres_tls;
mod recovery;
mod registration;
mod replies;
mod scale_out;
mod schema;
mod search;
mod second_factor;
mod sessions;
mod setup;
mod sign_in;
mod teams;
mod upgrade;
mod web_baseline;
