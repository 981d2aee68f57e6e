//! The read side: the SQL that serves lists and lookups (pages and counts
//! per parent, by-id visibility), one module per aggregate. GraphQL
//! loaders call these; commands live in `domain`.

pub mod invitations;
pub mod paging;
pub mod teams;
