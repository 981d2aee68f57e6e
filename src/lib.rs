//! orgql: a GraphQL API server for multi-tenant organization management.
//!
//! Data flows one way: HTTP (`http`) → GraphQL (`graphql`) → rules
//! (`domain`) → rows (`entity`) → database.

pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod forwarded;
pub mod graphql;
pub mod http;
pub mod input_guard;
pub mod mailer;
pub mod read;

pub use app::Application;
pub use config::Config;
