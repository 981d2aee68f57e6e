//! The governance policy of an organization, typed, and the rules for
//! changing it ([`Policy::apply`]). (Long only with its unit tests, at the
//! end.)
//!
//! Every field changes what the server does: `sessionTimeoutHours` refuses
//! older sessions (`access::decide_for`), `invitationTtlHours` sets the
//! default invitation lifetime, `allowedEmailDomains` bounds invitations
//! and joins, `ipAllowlistEnabled` turns on the network check
//! (`network::check_network`), `rolePermissions` grants and withdraws permissions
//! per role ([`Policy::role_has`]), `apiKeyMaxAgeDays` caps API token
//! lifetimes, `requireMfa` refuses members whose session did not pass
//! multi-factor authentication, `ssoRequired` members (not OWNERs) whose
//! session did not come through the organization's SSO connection, and
//! `guestAccessEnabled` admits guests (refused while it is off); all in
//! `access::decide_for`. org:delete and ownership:transfer always stay with OWNER.
//!
//! The policy fails closed: a stored policy that cannot be read is an error
//! for its organization, never silently the defaults (which would, for one,
//! switch its IP allowlist off).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::organization;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::matrix::{Permission, Role, Via, may_act_on, permissions_of, role_for_new_member};
use crate::domain::values;
use crate::error::{AppError, AppResult};

pub const DEFAULT_INVITATION_TTL_HOURS: u32 = 24;

/// The stored policy's key for `ip_allowlist_enabled`, which lists read in
/// SQL (`visibility`).
pub const IP_ALLOWLIST_ENABLED: &str = "ipAllowlistEnabled";

/// Stored as `area:verb`; anything else fails to load (and so fails closed).
impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Permission::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown permission {text:?}")))
    }
}

/// Grants and withdrawals for one role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleOverride {
    pub grant: Vec<Permission>,
    pub withdraw: Vec<Permission>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Policy {
    pub session_timeout_hours: Option<u32>,
    pub invitation_ttl_hours: u32,
    pub allowed_email_domains: Vec<String>,
    pub ip_allowlist_enabled: bool,
    pub role_permissions: BTreeMap<Role, RoleOverride>,
    pub api_key_max_age_days: Option<u32>,
    pub require_mfa: bool,
    pub sso_required: bool,
    /// Whether guests may be invited and join (issue #13); off by default.
    pub guest_access_enabled: bool,
    /// Verified domains of the organization whose people may join it by
    /// their verified address (`domain_joins`).
    pub auto_join_domains: Vec<String>,
    /// The role people who join by domain get: VIEWER or MEMBER.
    pub default_role: Role,
    /// Whether people at those domains are added when they sign in.
    pub auto_join_on_sign_in: bool,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<Uuid>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            session_timeout_hours: None,
            invitation_ttl_hours: DEFAULT_INVITATION_TTL_HOURS,
            allowed_email_domains: Vec::new(),
            ip_allowlist_enabled: false,
            role_permissions: BTreeMap::new(),
            api_key_max_age_days: None,
            require_mfa: false,
            sso_required: false,
            guest_access_enabled: false,
            auto_join_domains: Vec::new(),
            default_role: Role::Viewer,
            auto_join_on_sign_in: false,
            updated_at: None,
            updated_by: None,
        }
    }
}

impl Policy {
    /// The policy stored with an organization: the defaults when none was
    /// ever written, an error when what is stored cannot be read.
    pub fn of(organization: &organization::Model) -> AppResult<Self> {
        match &organization.policy {
            None => Ok(Self::default()),
            Some(json) => serde_json::from_value(json.clone()).map_err(|e| {
                tracing::error!(target: "orgql::access", organization_id = %organization.id, error = %e, "stored policy is unreadable; refusing access");
                AppError::internal(format!(
                    "the policy of organization {} cannot be read: {e}",
                    organization.id
                ))
            }),
        }
    }

    /// Whether `role` holds `permission` here: the matrix, then this
    /// organization's withdrawals and grants.
    pub fn role_has(&self, role: Role, permission: Permission) -> bool {
        if permission.is_owner_only() {
            return role == Role::Owner;
        }
        let base = permissions_of(role).contains(&permission);
        if role == Role::Owner {
            // Nothing is taken from an owner: an organization can always
            // be governed by its owners.
            return base;
        }
        match self.role_permissions.get(&role) {
            Some(o) if o.withdraw.contains(&permission) => false,
            Some(o) if o.grant.contains(&permission) => true,
            _ => base,
        }
    }

    /// Whether an email's domain may join (always, without a list).
    pub fn allows_email(&self, email: &str) -> bool {
        self.allowed_email_domains.is_empty()
            || email
                .rsplit_once('@')
                .is_some_and(|(_, domain)| self.allowed_email_domains.iter().any(|d| d == domain))
    }
}

/// A partial change to a policy; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PolicyPatch {
    pub session_timeout_hours: Option<Option<u32>>,
    pub invitation_ttl_hours: Option<u32>,
    pub allowed_email_domains: Option<Vec<String>>,
    pub ip_allowlist_enabled: Option<bool>,
    /// Replaces every role's override: (role, grants, withdrawals).
    pub role_permissions: Option<Vec<(Role, RoleOverride)>>,
    pub api_key_max_age_days: Option<Option<u32>>,
    pub require_mfa: Option<bool>,
    pub sso_required: Option<bool>,
    pub guest_access_enabled: Option<bool>,
    pub auto_join_domains: Option<Vec<String>>,
    pub default_role: Option<Role>,
    pub auto_join_on_sign_in: Option<bool>,
}

/// Who changes a policy, as far as the policy's own rules ask.
pub struct PolicyEditor<'a> {
    /// The role they act with in the organization.
    pub role: Role,
    /// Whether they hold a permission there (nobody grants what they lack).
    pub holds: &'a (dyn Fn(Permission) -> bool + Sync),
    /// Whether their session passed multi-factor authentication (an API
    /// token counts as passed: `requireMfa` does not apply to it).
    pub passed_mfa: bool,
}

impl Policy {
    /// This policy with `patch` applied, every field checked by its own
    /// rule: ranges, domains well formed, role overrides only for roles
    /// below the editor's and only with permissions the editor holds, and
    /// `requireMfa` only from a session that would pass it. What needs the
    /// database (verified domains, an active SSO connection, the editor's
    /// address on the allowlist) is the command's (`domain::policy`).
    pub fn apply(&self, patch: PolicyPatch, editor: &PolicyEditor<'_>) -> AppResult<Policy> {
        let mut policy = self.clone();
        if let Some(hours) = patch.session_timeout_hours {
            if hours.is_some_and(|h| !(1..=24 * 90).contains(&h)) {
                return Err(AppError::bad_input(
                    "sessionTimeoutHours",
                    "1 to 2,160 hours, or null for none",
                ));
            }
            policy.session_timeout_hours = hours;
        }
        if let Some(hours) = patch.invitation_ttl_hours {
            if !(1..=168).contains(&hours) {
                return Err(AppError::bad_input("invitationTtlHours", "1 to 168 hours"));
            }
            policy.invitation_ttl_hours = hours;
        }
        if let Some(domains) = patch.allowed_email_domains {
            policy.allowed_email_domains = domain_list("allowedEmailDomains", &domains)?;
            if policy.allowed_email_domains.len() > 50 {
                return Err(AppError::bad_input(
                    "allowedEmailDomains",
                    "at most 50 domains",
                ));
            }
        }
        if let Some(days) = patch.api_key_max_age_days {
            if days.is_some_and(|d| !(1..=365).contains(&d)) {
                return Err(AppError::bad_input(
                    "apiKeyMaxAgeDays",
                    "1 to 365 days, or null for the server's cap",
                ));
            }
            policy.api_key_max_age_days = days;
        }
        if let Some(overrides) = patch.role_permissions {
            policy.role_permissions = self.role_overrides(overrides, editor)?;
        }
        if let Some(enabled) = patch.ip_allowlist_enabled {
            policy.ip_allowlist_enabled = enabled;
        }
        if let Some(required) = patch.require_mfa {
            // No lock-out: whoever turns it on must be admitted by it.
            if required && !self.require_mfa && !editor.passed_mfa {
                return Err(AppError::MfaRequired(
                    "turn on multi-factor authentication for yourself and sign in with a code before requiring it",
                ));
            }
            policy.require_mfa = required;
        }
        if let Some(required) = patch.sso_required {
            policy.sso_required = required;
        }
        if let Some(enabled) = patch.guest_access_enabled {
            policy.guest_access_enabled = enabled;
        }
        if let Some(domains) = patch.auto_join_domains {
            policy.auto_join_domains = domain_list("autoJoinDomains", &domains)?;
        }
        if let Some(role) = patch.default_role {
            policy.default_role =
                role_for_new_member(Via::DefaultRole, Some(role), false, "defaultRole")?;
        }
        if let Some(automatic) = patch.auto_join_on_sign_in {
            policy.auto_join_on_sign_in = automatic;
        }
        Ok(policy)
    }

    /// The role overrides after `changes`: the editor changes only roles
    /// they rank above (as in `may_act_on`), never OWNER, and grants only
    /// what they hold; the overrides of other roles stay as they are.
    fn role_overrides(
        &self,
        changes: Vec<(Role, RoleOverride)>,
        editor: &PolicyEditor<'_>,
    ) -> AppResult<BTreeMap<Role, RoleOverride>> {
        let mut table: BTreeMap<Role, RoleOverride> = self
            .role_permissions
            .iter()
            .filter(|(role, _)| !may_act_on(editor.role, **role, false) || **role == Role::Owner)
            .map(|(role, o)| (*role, o.clone()))
            .collect();
        for (role, change) in changes {
            if role == Role::Owner {
                return Err(AppError::bad_input(
                    "rolePermissions",
                    "OWNER always holds every permission",
                ));
            }
            if !may_act_on(editor.role, role, false) {
                return Err(AppError::Forbidden(
                    "you may change the permissions of roles below your own only",
                ));
            }
            for (list, granting) in [(&change.grant, true), (&change.withdraw, false)] {
                for &permission in list {
                    if permission.is_owner_only() {
                        return Err(AppError::bad_input(
                            "rolePermissions",
                            format!("{permission} always stays with OWNER"),
                        ));
                    }
                    if granting && !(editor.holds)(permission) {
                        return Err(AppError::Forbidden(
                            "nobody grants a permission they do not hold",
                        ));
                    }
                }
            }
            table.insert(role, change);
        }
        Ok(table)
    }
}

/// Domains as given, checked and lower-cased, each once.
fn domain_list(field: &str, domains: &[String]) -> AppResult<Vec<String>> {
    let mut parsed = Vec::with_capacity(domains.len());
    for domain in domains {
        let domain = values::domain(field, domain)?
            .ok_or_else(|| AppError::bad_input(field, "empty domain"))?;
        if !parsed.contains(&domain) {
            parsed.push(domain);
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_policy_is_an_error_not_the_defaults() {
        let organization = organization::Model {
            policy: Some(serde_json::json!({ "ipAllowlistEnabled": "yes please" })),
            ..crate::domain::authz::tests::organization()
        };
        assert!(Policy::of(&organization).is_err());
    }

    #[test]
    fn a_policy_naming_an_unknown_permission_is_an_error() {
        let organization = organization::Model {
            policy: Some(serde_json::json!({
                "rolePermissions": { "MEMBER": { "grant": ["org:everything"], "withdraw": [] } }
            })),
            ..crate::domain::authz::tests::organization()
        };
        assert!(Policy::of(&organization).is_err());
    }

    #[test]
    fn the_allowlist_flag_is_stored_under_the_key_lists_read() {
        let stored = serde_json::to_value(Policy::default()).unwrap();
        assert!(stored.get(IP_ALLOWLIST_ENABLED).is_some());
    }

    #[test]
    fn no_stored_policy_means_the_defaults() {
        let organization = crate::domain::authz::tests::organization();
        assert_eq!(Policy::of(&organization).unwrap(), Policy::default());
    }

    fn editor(role: Role, passed_mfa: bool) -> PolicyEditor<'static> {
        PolicyEditor {
            role,
            holds: &|permission| permissions_of(Role::Admin).contains(&permission),
            passed_mfa,
        }
    }

    fn refused_field(result: AppResult<Policy>) -> String {
        match result {
            Err(AppError::BadUserInput { field, .. }) => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn each_field_is_checked_by_its_own_rule() {
        let policy = Policy::default();
        let admin = editor(Role::Admin, true);
        for (patch, field) in [
            (
                PolicyPatch {
                    session_timeout_hours: Some(Some(0)),
                    ..Default::default()
                },
                "sessionTimeoutHours",
            ),
            (
                PolicyPatch {
                    invitation_ttl_hours: Some(169),
                    ..Default::default()
                },
                "invitationTtlHours",
            ),
            (
                PolicyPatch {
                    api_key_max_age_days: Some(Some(366)),
                    ..Default::default()
                },
                "apiKeyMaxAgeDays",
            ),
            (
                PolicyPatch {
                    allowed_email_domains: Some(vec!["not a domain".into()]),
                    ..Default::default()
                },
                "allowedEmailDomains",
            ),
            (
                PolicyPatch {
                    default_role: Some(Role::Admin),
                    ..Default::default()
                },
                "defaultRole",
            ),
        ] {
            assert_eq!(refused_field(policy.apply(patch, &admin)), field);
        }
        let changed = policy
            .apply(
                PolicyPatch {
                    session_timeout_hours: Some(Some(8)),
                    allowed_email_domains: Some(vec!["Acme.COM".into(), "acme.com".into()]),
                    default_role: Some(Role::Member),
                    ..Default::default()
                },
                &admin,
            )
            .unwrap();
        assert_eq!(changed.session_timeout_hours, Some(8));
        assert_eq!(changed.allowed_email_domains, vec!["acme.com".to_owned()]);
        assert_eq!(changed.default_role, Role::Member);
        assert_eq!(changed.invitation_ttl_hours, policy.invitation_ttl_hours);
    }

    #[test]
    fn role_overrides_stay_below_the_editor_and_within_what_they_hold() {
        let policy = Policy::default();
        let admin = editor(Role::Admin, true);
        let grant = |role, permission| PolicyPatch {
            role_permissions: Some(vec![(
                role,
                RoleOverride {
                    grant: vec![permission],
                    withdraw: vec![],
                },
            )]),
            ..Default::default()
        };
        assert!(matches!(
            policy.apply(grant(Role::Admin, Permission::TeamsManage), &admin),
            Err(AppError::Forbidden(_))
        ));
        assert_eq!(
            refused_field(policy.apply(grant(Role::Owner, Permission::TeamsManage), &admin)),
            "rolePermissions"
        );
        assert_eq!(
            refused_field(policy.apply(grant(Role::Member, Permission::OrgDelete), &admin)),
            "rolePermissions"
        );
        assert!(matches!(
            policy.apply(grant(Role::Member, Permission::BillingManage), &admin),
            Err(AppError::Forbidden(_))
        ));
        let granted = policy
            .apply(grant(Role::Member, Permission::TeamsManage), &admin)
            .unwrap();
        assert!(granted.role_has(Role::Member, Permission::TeamsManage));
    }

    #[test]
    fn require_mfa_is_turned_on_only_from_a_session_it_would_admit() {
        let on = PolicyPatch {
            require_mfa: Some(true),
            ..Default::default()
        };
        assert!(matches!(
            Policy::default().apply(on.clone(), &editor(Role::Owner, false)),
            Err(AppError::MfaRequired(_))
        ));
        assert!(
            Policy::default()
                .apply(on, &editor(Role::Owner, true))
                .unwrap()
                .require_mfa
        );
    }
}
