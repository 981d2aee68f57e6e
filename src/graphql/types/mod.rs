//! Output and input types. Entity rows never become GraphQL types directly:
//! each type here wraps a row and chooses its fields, so no column (a hash,
//! an internal flag) reaches the schema by accident.

pub mod api_token;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod directory;
pub mod domain;
pub mod enums;
pub mod invitation;
pub mod join_code;
pub mod member;
pub mod node;
pub mod organization;
pub mod ownership;
pub mod policy;
pub mod roles;
pub mod session;
pub mod sso;
pub mod team;
pub mod user;
pub mod viewer;
pub mod webhook;

pub use api_token::ApiToken;
pub use invitation::Invitation;
pub use join_code::JoinCode;
pub use member::Member;
pub use node::Node;
pub use organization::Organization;
pub use team::{Team, TeamMember};
pub use user::User;
