//! Casemail: secure webmail for criminal-justice correspondence.
//!
//! Modules depend downward only: `domain` knows nothing else; `crypto` and `store` use
//! `domain`; `auth` uses those; `accounts` combines them; `web` may use everything.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod cases;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod lifecycle;
pub mod mail;
pub mod notify;
pub mod plea;
pub mod recovery;
pub mod search;
pub mod second_factor;
pub mod state;
pub mod store;
pub mod web;
