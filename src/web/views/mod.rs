//! One file per feature: the askama template structs next to their handlers.

pub mod account;
pub mod health;
pub mod home;
pub mod setup;
pub mod sign_in;
