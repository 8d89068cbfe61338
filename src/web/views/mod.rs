//! One file per feature: the askama template structs next to their handlers.

pub mod account;
pub mod admin;
pub mod audit;
pub mod bulk;
pub mod case_participants;
pub mod cases;
pub mod compose;
pub mod delegates;
pub mod directory;
pub mod drafts;
pub mod due;
pub mod health;
pub mod invitations;
pub mod mail_list;
pub mod mailbox;
pub mod organisations;
pub mod passkeys;
pub mod plea;
pub mod recovery;
pub mod register;
pub mod search;
pub mod second_factor;
pub mod setup;
pub mod sign_in;
pub mod teams;
pub mod thread;
mod upload;
