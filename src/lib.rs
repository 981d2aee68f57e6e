//! orgql: a GraphQL API server for multi-tenant organization management.
//!
//! Data flows one way: HTTP (`http`) → GraphQL (`graphql`) → the read side
//! (`read`) and the rules (`domain`) → rows (`entity`) → database. See
//! ARCHITECTURE.md.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dns;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod mail;
pub mod read;

pub use app::Application;
pub use config::Config;
