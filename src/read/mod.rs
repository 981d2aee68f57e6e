//! The read side: the SQL that serves lists and lookups (pages and counts
//! per parent, visibility by id), one module per aggregate. GraphQL
//! loaders and resolvers call these; commands live in `domain`, which
//! never depends on this module.

pub mod api_tokens;
pub mod audit;
pub mod domains;
pub mod invitations;
pub mod join_codes;
pub mod members;
pub mod organizations;
pub mod paging;
pub mod sessions;
pub mod teams;
pub mod users;
