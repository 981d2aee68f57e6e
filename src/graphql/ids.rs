//! Public ids: UUIDv7 in the database, TypeIDs in the API (`org_01jd…`,
//! <https://github.com/jetify-com/typeid/tree/main/spec>): a type prefix,
//! an underscore, and the UUID as the spec's 26-character base32 suffix
//! (the `typeid_suffix` crate, which rejects what the spec rejects:
//! upper case, another length, a first character above `7`). The prefix
//! keeps an organization id from being taken for a team id in the API, as
//! `domain::ids`' newtypes do in the code.

use typeid_suffix::prelude::TypeIdSuffix;
use uuid::Uuid;

use crate::error::AppError;

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
}

impl IdKind {
    pub const ALL: [IdKind; 13] = [
        IdKind::SsoConnection,
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
        }
    }
}

/// `prefix_` followed by the UUID's suffix.
pub fn encode(kind: IdKind, id: Uuid) -> String {
    format!("{}_{}", kind.prefix(), TypeIdSuffix::from(id))
}

/// Splits a public id into its kind and UUID; `None` when malformed.
pub fn parse_any(text: &str) -> Option<(IdKind, Uuid)> {
    let (prefix, suffix) = text.split_once('_')?;
    let kind = IdKind::ALL.into_iter().find(|k| k.prefix() == prefix)?;
    let suffix: TypeIdSuffix = suffix.parse().ok()?;
    Some((kind, suffix.into()))
}

/// Parses an id that must be of `kind`, as a raw UUID or one of the
/// domain's id newtypes; anything else is BAD_USER_INPUT naming `field`.
pub fn parse<T: From<Uuid>>(kind: IdKind, text: &str, field: &str) -> Result<T, AppError> {
    match parse_any(text) {
        Some((found, id)) if found == kind => Ok(id.into()),
        _ => Err(AppError::bad_input(
            field,
            format!("not a valid {} id", kind.prefix()),
        )),
    }
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
        assert_eq!(
            parse::<Uuid>(IdKind::Organization, &text, "id").unwrap(),
            id
        );
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
        assert!(parse::<Uuid>(IdKind::Organization, &text, "id").is_err());
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
