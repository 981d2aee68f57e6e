//! An event's `data`: the object the event is about, by its public id,
//! and what its audit entry records about the change (before and after
//! values, the member, the role, …), with every id in its public form.
//! An audit entry never holds a secret, so neither does an event; an id
//! that has no public form (a directory's own record of a user) is left
//! out rather than shown raw.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::EventType;
use crate::domain::audit::{AuditAction, Entry};
use crate::domain::ids::{self, IdKind};

/// The public `data` of `entry`'s event of `event_type`.
pub fn public_data(event_type: EventType, entry: &Entry) -> Value {
    let mut data = Map::new();
    let (object, id) = subject(event_type, entry);
    data.insert("object".into(), json!(object));
    data.insert("id".into(), id.map_or(Value::Null, Value::String));
    if let Some(detail) = detail(entry.action) {
        data.insert(detail.0.into(), json!(detail.1));
    }
    if let Value::Object(metadata) = &entry.metadata {
        for (key, value) in metadata {
            if let Some(value) = public_value(key, value) {
                data.entry(key.clone()).or_insert(value);
            }
        }
    }
    Value::Object(data)
}

/// The object an event is about (its GraphQL type name) and its public
/// id. A member added by a join code is the member, not the code.
fn subject(event_type: EventType, entry: &Entry) -> (&'static str, Option<String>) {
    if event_type == EventType::MemberAdded {
        let member = match entry.action {
            AuditAction::JoinCodeUsed | AuditAction::UserSsoSignedIn => {
                uuid_at(&entry.metadata, "memberId")
            }
            _ => entry.resource_id,
        };
        return ("Member", member.map(|id| ids::encode(IdKind::Member, id)));
    }
    let kind = entry.action.resource_kind();
    let id = kind
        .zip(entry.resource_id)
        .map(|(kind, id)| ids::encode(kind, id));
    (type_name(entry.action.resource_type()), id)
}

/// How a member came or went, for the types that gather several actions.
fn detail(action: AuditAction) -> Option<(&'static str, &'static str)> {
    use AuditAction::*;
    Some(match action {
        MemberJoinedByDomain => ("via", "DOMAIN"),
        JoinCodeUsed => ("via", "JOIN_CODE"),
        MemberProvisioned => ("via", "DIRECTORY"),
        UserSsoSignedIn => ("via", "SSO"),
        MemberRemoved => ("reason", "REMOVED"),
        MemberLeft => ("reason", "LEFT"),
        MemberDeprovisioned => ("reason", "DEPROVISIONED"),
        _ => return None,
    })
}

/// The GraphQL type of a stored resource type.
fn type_name(resource_type: &str) -> &'static str {
    match resource_type {
        "organization" => "Organization",
        "member" => "Member",
        "invitation" => "Invitation",
        "join_code" => "JoinCode",
        "team" => "Team",
        "ip_allowlist_entry" => "IpAllowlistEntry",
        "organization_domain" => "OrganizationDomain",
        "sso_connection" => "SsoConnection",
        "api_token" => "ApiToken",
        "ownership_transfer" => "OwnershipTransfer",
        "tier_upgrade_request" => "TierUpgradeRequest",
        "scim_directory" => "ScimDirectory",
        "webhook_endpoint" => "WebhookEndpoint",
        "user" => "User",
        _ => "Unknown",
    }
}

/// The kind of public id a metadata key holds, for keys that hold ids.
fn id_kind_of_key(key: &str) -> Option<IdKind> {
    Some(match key {
        "userId" => IdKind::User,
        "memberId" | "fromMemberId" | "toMemberId" => IdKind::Member,
        "teamId" | "teamIds" | "parentTeamId" => IdKind::Team,
        "invitationId" => IdKind::Invitation,
        "joinCodeId" => IdKind::JoinCode,
        "directoryId" => IdKind::ScimDirectory,
        "connectionId" => IdKind::SsoConnection,
        "sessionId" => IdKind::Session,
        "organizationId" => IdKind::Organization,
        _ => return None,
    })
}

/// `value` as an event shows it under `key`: ids in their public form
/// (inside arrays and nested objects too), other values as they are; a
/// UUID under a key that names no public kind is left out.
fn public_value(key: &str, value: &Value) -> Option<Value> {
    match value {
        Value::String(text) => match Uuid::parse_str(text) {
            Ok(id) => id_kind_of_key(key).map(|kind| json!(ids::encode(kind, id))),
            Err(_) => Some(value.clone()),
        },
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter_map(|item| public_value(key, item))
                .collect(),
        )),
        Value::Object(fields) => Some(Value::Object(
            fields
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), public_value(key, value)?)))
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

fn uuid_at(metadata: &Value, key: &str) -> Option<Uuid> {
    metadata[key]
        .as_str()
        .and_then(|text| Uuid::parse_str(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_public_and_unknown_uuids_are_left_out() {
        let member = Uuid::now_v7();
        let user = Uuid::now_v7();
        let internal = Uuid::now_v7();
        let entry = Entry::new(
            AuditAction::MemberRoleUpdated,
            member,
            json!({
                "userId": user,
                "scimUserId": internal,
                "before": { "role": "MEMBER" },
                "after": { "role": "ADMIN", "teamIds": [internal] },
            }),
        );
        let data = public_data(EventType::MemberRoleChanged, &entry);
        assert_eq!(data["object"], "Member");
        assert_eq!(data["id"], ids::encode(IdKind::Member, member));
        assert_eq!(data["userId"], ids::encode(IdKind::User, user));
        assert!(data.get("scimUserId").is_none());
        assert_eq!(
            data["after"]["teamIds"],
            json!([ids::encode(IdKind::Team, internal)])
        );
        assert!(!data.to_string().contains(&internal.to_string()));
    }

    #[test]
    fn a_member_added_by_a_join_code_is_the_member() {
        let code = Uuid::now_v7();
        let member = Uuid::now_v7();
        let entry = Entry::new(
            AuditAction::JoinCodeUsed,
            code,
            json!({ "memberId": member, "role": "MEMBER", "lastFour": "abcd" }),
        );
        let data = public_data(EventType::MemberAdded, &entry);
        assert_eq!(data["object"], "Member");
        assert_eq!(data["id"], ids::encode(IdKind::Member, member));
        assert_eq!(data["via"], "JOIN_CODE");
    }

    #[test]
    fn every_event_names_a_known_object() {
        use strum::IntoEnumIterator;
        for action in AuditAction::iter() {
            let entry = Entry::new(action, Uuid::now_v7(), json!({ "joinedAs": "MEMBER" }));
            if let Some(event_type) = EventType::of(&entry) {
                let data = public_data(event_type, &entry);
                assert_ne!(data["object"], "Unknown", "{action:?}");
            }
        }
    }
}
