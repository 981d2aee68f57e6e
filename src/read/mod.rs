//! The read side: the SQL that serves lists and lookups (pages and counts
//! per parent, visibility by id), one module per aggregate. GraphQL
//! loaders and resolvers call these; commands live in `domain`, which
//! never depends on this module.

pub mod api_tokens;
pub mod audit;
pub mod directories;
pub mod domains;
pub mod invitations;
pub mod join_codes;
pub mod members;
pub mod organizations;
pub mod paging;
pub mod sessions;
pub mod sso;
pub mod teams;
pub mod users;
pub mod webhooks;

/// How much of a row a read selects: every column, or the brief a
/// client's selection needs (`MemberBrief`, `UserBrief`, `TeamBrief`).
/// Whatever a brief lacks is loaded by id if a resolver asks for it after
/// all, so the choice costs statements, never correctness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Columns {
    #[default]
    All,
    Brief,
}

impl Columns {
    /// What two readers of the same row need together: the brief only if
    /// both make do with it.
    pub fn union(self, other: Self) -> Self {
        match (self, other) {
            (Self::Brief, Self::Brief) => Self::Brief,
            _ => Self::All,
        }
    }
}
