//! Ids: UUIDv7 in the database, a newtype per kind of object in the code
//! (so that an organization id cannot be passed where a team id belongs),
//! and TypeIDs in the API (`org_01jd…`,
//! <https://github.com/jetify-com/typeid/tree/main/spec>): a type prefix,
//! an underscore, and the UUID as the spec's 26-character base32 suffix
//! (the `typeid_suffix` crate, which rejects what the spec rejects: upper
//! case, another length, a first character above `7`). Each newtype
//! carries its kind ([`PublicId`]), so parsing one cannot take another
//! kind's id. The public form lives here, below the edges, so the domain
//! can write one (an SSO connection's SP entity id) without GraphQL.

use std::fmt;

use typeid_suffix::prelude::TypeIdSuffix;
use uuid::Uuid;

use crate::error::AppError;

/// A fresh, time-ordered id.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// An id type with a public form: its kind gives the prefix.
pub trait PublicId: From<Uuid> + Into<Uuid> {
    const KIND: IdKind;

    /// The public id (`org_01jd…`).
    fn public(self) -> String {
        encode(Self::KIND, self.into())
    }
}

macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident = $kind:ident;)*) => {$(
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

        impl PublicId for $name {
            const KIND: IdKind = IdKind::$kind;
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
    OrganizationId = Organization;
    /// A user account.
    UserId = User;
    /// A membership: one user in one organization.
    MemberId = Member;
    /// A team.
    TeamId = Team;
    /// An invitation.
    InvitationId = Invitation;
    /// A join code.
    JoinCodeId = JoinCode;
    /// An organization API token.
    ApiTokenId = ApiToken;
    /// A session.
    SessionId = Session;
    /// An IP allowlist entry.
    IpAllowlistEntryId = IpAllowlistEntry;
    /// An ownership transfer offer.
    OwnershipTransferId = OwnershipTransfer;
    /// A tier upgrade request.
    TierUpgradeRequestId = TierUpgradeRequest;
    /// A single sign-on connection.
    SsoConnectionId = SsoConnection;
    /// An audit entry.
    AuditEntryId = AuditEntry;
    /// A SCIM directory (issue #25).
    ScimDirectoryId = ScimDirectory;
    /// An event (issue #24).
    EventId = Event;
    /// A webhook endpoint (issue #24).
    WebhookEndpointId = WebhookEndpoint;
    /// One event's delivery to one webhook endpoint.
    WebhookDeliveryId = WebhookDelivery;
}

/// A kind of object with a public id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Organization,
    User,
    Member,
    Session,
    AuditEntry,
    Team,
    Invitation,
    JoinCode,
    ApiToken,
    OwnershipTransfer,
    TierUpgradeRequest,
    IpAllowlistEntry,
    SsoConnection,
    ScimDirectory,
    Event,
    WebhookEndpoint,
    WebhookDelivery,
}

impl IdKind {
    pub const ALL: [IdKind; 17] = [
        IdKind::SsoConnection,
        IdKind::ScimDirectory,
        IdKind::Event,
        IdKind::WebhookEndpoint,
        IdKind::WebhookDelivery,
        IdKind::IpAllowlistEntry,
        IdKind::OwnershipTransfer,
        IdKind::TierUpgradeRequest,
        IdKind::ApiToken,
        IdKind::Invitation,
        IdKind::JoinCode,
        IdKind::Organization,
        IdKind::User,
        IdKind::Member,
        IdKind::Session,
        IdKind::AuditEntry,
        IdKind::Team,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Organization => "org",
            IdKind::User => "usr",
            IdKind::Member => "mem",
            IdKind::Session => "ses",
            IdKind::AuditEntry => "aud",
            IdKind::Team => "team",
            IdKind::Invitation => "inv",
            IdKind::JoinCode => "jc",
            IdKind::ApiToken => "tok",
            IdKind::OwnershipTransfer => "xfer",
            IdKind::TierUpgradeRequest => "tur",
            IdKind::IpAllowlistEntry => "ip",
            IdKind::SsoConnection => "sso",
            IdKind::ScimDirectory => "dir",
            IdKind::Event => "evt",
            IdKind::WebhookEndpoint => "whe",
            IdKind::WebhookDelivery => "whd",
        }
    }
}

/// `prefix_` followed by the UUID's suffix. Written into a string of its
/// exact length rather than by `format!`: every id of every listed row
/// comes through here, and the formatter cost several times the encoding.
pub fn encode(kind: IdKind, id: Uuid) -> String {
    let prefix = kind.prefix();
    let suffix = TypeIdSuffix::from(id);
    // Dereferenced once: each deref checks the suffix is UTF-8 again.
    let suffix: &str = &suffix;
    let mut text = String::with_capacity(prefix.len() + 1 + suffix.len());
    text.push_str(prefix);
    text.push('_');
    text.push_str(suffix);
    text
}

/// Splits a public id into its kind and UUID; `None` when malformed.
pub fn parse_any(text: &str) -> Option<(IdKind, Uuid)> {
    let (prefix, suffix) = text.split_once('_')?;
    let kind = IdKind::ALL.into_iter().find(|k| k.prefix() == prefix)?;
    let suffix: TypeIdSuffix = suffix.parse().ok()?;
    Some((kind, suffix.into()))
}

/// Parses the public id of a `T` (its prefix is `T`'s, so the kind and the
/// type cannot disagree); anything else is BAD_USER_INPUT naming `field`.
pub fn parse<T: PublicId>(text: &str, field: &str) -> Result<T, AppError> {
    match parse_any(text) {
        Some((found, id)) if found == T::KIND => Ok(T::from(id)),
        _ => Err(AppError::bad_input(
            field,
            format!("not a valid {} id", T::KIND.prefix()),
        )),
    }
}

/// [`parse`], for a caller that wants the bare UUID of a `T`.
pub fn parse_uuid<T: PublicId>(text: &str, field: &str) -> Result<Uuid, AppError> {
    parse::<T>(text, field).map(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_survives_a_round_trip() {
        let id = Uuid::now_v7();
        let text = encode(IdKind::Organization, id);
        assert!(text.starts_with("org_"));
        assert_eq!(text.len(), 30);
        assert_eq!(parse_uuid::<OrganizationId>(&text, "id").unwrap(), id);
    }

    #[test]
    fn the_spec_example_encodes_and_decodes_as_published() {
        let id = Uuid::parse_str("01889c89-df6b-7f1c-a388-91396ec314bc").unwrap();
        assert_eq!(encode(IdKind::User, id), "usr_01h2e8kqvbfwea724h75qc655w");
        assert_eq!(
            parse_any("usr_01h2e8kqvbfwea724h75qc655w"),
            Some((IdKind::User, id))
        );
    }

    #[test]
    fn an_id_of_another_kind_is_rejected() {
        let text = encode(IdKind::Member, Uuid::now_v7());
        assert!(parse_uuid::<OrganizationId>(&text, "id").is_err());
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for text in [
            "",
            "org_",
            "org_zzzzzzzzzzzzzzzzzzzzzzzzzz",
            "org_01h2e8kqvbfwea724h75qc655",
            "xyz_01h2e8kqvbfwea724h75qc655w",
            "org_01H2E8KQVBFWEA724H75QC655W",
            "org_81h2e8kqvbfwea724h75qc655w",
            "org_01h2e8kqvbfwea724h75qc655wx",
            "org_01h2e8kqvbfwea724h75qc655u",
            "org_01h2e8kqvbfwea724h75qc655é",
        ] {
            assert!(parse_any(text).is_none(), "{text}");
        }
    }
}
