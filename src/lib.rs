//! Casemail: secure webmail for criminal-justice correspondence.
//!
//! Layers, each using only those below it (docs/architecture.md explains each):
//!
//! - `cli`: the commands (serve, demo, admin, keys, audit, backup, restore).
//! - `web` and `jobs`: HTTP pages and scheduled work, on the application `state`.
//! - `state`: the services together, with the configuration and the clock.
//! - services, one per area, each owning its rules: `accounts`, `second_factor`, `admin`,
//!   `lifecycle`, `audit`, `notifications`, `directory`, `intake` (mailbox keys and the search index), `mail`,
//!   `search`, `cases`, `plea`, `gateway` (mail to and from secure domains outside), `backup` (a deployment's tables and blobs to a directory and back).
//! - `store` (all SQL, and the blob store), `crypto` (every use of age), `auth` (password
//!   hashing and session tokens).
//! - `domain`: validated values and rules, no I/O; `config` beside it, and `clock` (time as a
//!   value, and the deployment's zone) below everything.

#[macro_use]
mod macros;

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod cases;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod directory;
pub mod domain;
pub mod gateway;
pub mod intake;
pub mod jobs;
pub mod lifecycle;
pub mod mail;
pub mod notifications;
pub mod plea;
pub mod search;
pub mod second_factor;
pub mod state;
pub mod store;
pub mod web;
