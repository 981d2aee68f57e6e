//! Ids: UUIDv7 in the database, and a newtype per kind of object in the
//! code, so that an organization id cannot be passed where a team id
//! belongs. (Their public, prefixed form is the GraphQL edge's business:
//! `graphql::ids`.)

use std::fmt;

use uuid::Uuid;

/// A fresh, time-ordered id.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_types! {
    /// An organization.
    OrganizationId;
    /// A user account.
    UserId;
    /// A membership: one user in one organization.
    MemberId;
    /// A team.
    TeamId;
    /// An invitation.
    InvitationId;
    /// A join code.
    JoinCodeId;
    /// An organization API token.
    ApiTokenId;
    /// A session.
    SessionId;
    /// An IP allowlist entry.
    IpAllowlistEntryId;
    /// An ownership transfer offer.
    OwnershipTransferId;
    /// A tier upgrade request.
    TierUpgradeRequestId;
    /// A single sign-on connection.
    SsoConnectionId;
}
