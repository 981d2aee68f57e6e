//! The role → permission matrix of DESIGN §4 and the rank rules.
//!
//! The matrix is data (`MATRIX`), served as is by the `roles` query; every
//! check, in guards and in domain functions alike, goes through
//! [`decide_with`], which denies unless a row grants. The rank rules
//! ([`may_act_on`], [`may_assign`], [`may_administer_team`]) are the only
//! place where one role is weighed against another.

pub use entity::values::{Role, TeamRole};

use crate::error::{AppError, AppResult};

/// One permission of the matrix. Its string form (`area:verb`, as in
/// DESIGN §4) is used only where permissions are stored (policies, API
/// token scopes); everywhere else they are this enum.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
    strum::Display,
)]
pub enum Permission {
    #[strum(serialize = "org:view")]
    OrgView,
    #[strum(serialize = "org:manage")]
    OrgManage,
    #[strum(serialize = "org:delete")]
    OrgDelete,
    #[strum(serialize = "ownership:transfer")]
    OwnershipTransfer,
    #[strum(serialize = "members:view")]
    MembersView,
    #[strum(serialize = "members:manage")]
    MembersManage,
    #[strum(serialize = "teams:view")]
    TeamsView,
    #[strum(serialize = "teams:create")]
    TeamsCreate,
    #[strum(serialize = "teams:manage")]
    TeamsManage,
    #[strum(serialize = "policies:manage")]
    PoliciesManage,
    #[strum(serialize = "sso:manage")]
    SsoManage,
    #[strum(serialize = "directory:manage")]
    DirectoryManage,
    #[strum(serialize = "webhooks:manage")]
    WebhooksManage,
    #[strum(serialize = "audit:view")]
    AuditView,
    #[strum(serialize = "billing:view")]
    BillingView,
    #[strum(serialize = "billing:manage")]
    BillingManage,
    #[strum(serialize = "tokens:manage")]
    TokensManage,
}

impl Permission {
    /// The stored form, `area:verb`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The permission stored as `area:verb`, if there is one.
    pub fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }

    /// Every permission, in the matrix's order.
    pub fn all() -> impl Iterator<Item = Permission> {
        <Self as strum::IntoEnumIterator>::iter()
    }

    /// Permissions that only read: a platform administrator holds these in
    /// every organization.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Permission::OrgView
                | Permission::MembersView
                | Permission::TeamsView
                | Permission::AuditView
                | Permission::BillingView
        )
    }

    /// Powers that stay with OWNERs who are people: no policy moves them
    /// to another role and no API token holds them.
    pub fn is_owner_only(self) -> bool {
        matches!(self, Permission::OrgDelete | Permission::OwnershipTransfer)
    }
}

use Permission::*;

/// DESIGN §4, row by row.
pub const MATRIX: &[(Role, &[Permission])] = &[
    (
        Role::Owner,
        &[
            OrgView,
            OrgManage,
            OrgDelete,
            OwnershipTransfer,
            MembersView,
            MembersManage,
            TeamsView,
            TeamsCreate,
            TeamsManage,
            PoliciesManage,
            SsoManage,
            DirectoryManage,
            WebhooksManage,
            AuditView,
            BillingView,
            BillingManage,
            TokensManage,
        ],
    ),
    (
        Role::Admin,
        &[
            OrgView,
            OrgManage,
            MembersView,
            MembersManage,
            TeamsView,
            TeamsCreate,
            TeamsManage,
            PoliciesManage,
            SsoManage,
            DirectoryManage,
            WebhooksManage,
            AuditView,
            BillingView,
            TokensManage,
        ],
    ),
    (
        Role::Member,
        &[OrgView, MembersView, TeamsView, TeamsCreate],
    ),
    (Role::Viewer, &[OrgView, MembersView, TeamsView]),
    (Role::Billing, &[OrgView, BillingView, BillingManage]),
];

/// The permissions a role holds.
pub fn permissions_of(role: Role) -> &'static [Permission] {
    MATRIX
        .iter()
        .find(|(r, _)| *r == role)
        .map(|(_, permissions)| *permissions)
        .unwrap_or(&[])
}

/// The outcome of an access check. There is no default "allow": a caller
/// gets `Allow` only from a row of the matrix or the platform-admin rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The actor is not a member and not a platform administrator: the
    /// organization must look absent (NOT_FOUND).
    DenyHidden,
    /// The actor sees the organization but lacks the permission (FORBIDDEN).
    DenyForbidden,
}

impl Decision {
    /// The one conversion of a decision into what the client is told:
    /// NOT_FOUND for a stranger, FORBIDDEN for a member without the
    /// permission.
    pub fn into_result(self) -> AppResult<()> {
        match self {
            Decision::Allow => Ok(()),
            Decision::DenyForbidden => Err(AppError::Forbidden(
                "your role in this organization does not allow this",
            )),
            Decision::DenyHidden => Err(AppError::NotFound),
        }
    }
}

/// Decides whether an actor with `role` in an organization (none when not a
/// member) may use `permission` there, by the matrix alone.
pub fn decide(role: Option<Role>, is_platform_admin: bool, permission: Permission) -> Decision {
    decide_with(role, is_platform_admin, permission, |role, permission| {
        permissions_of(role).contains(&permission)
    })
}

/// Like [`decide`], with what each role holds given by `holds` (the matrix
/// adjusted by an organization's policy).
pub fn decide_with(
    role: Option<Role>,
    is_platform_admin: bool,
    permission: Permission,
    holds: impl Fn(Role, Permission) -> bool,
) -> Decision {
    let decision = match role {
        Some(role) if holds(role, permission) => Decision::Allow,
        _ if is_platform_admin && permission.is_read_only() => Decision::Allow,
        Some(_) => Decision::DenyForbidden,
        None if is_platform_admin => Decision::DenyForbidden,
        None => Decision::DenyHidden,
    };
    if decision != Decision::Allow {
        tracing::debug!(target: "orgql::access", ?role, permission = permission.as_str(), ?decision, "access denied");
    }
    decision
}

/// Rank for "at or below their own": BILLING is a side role ranked with
/// VIEWER.
pub fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 4,
        Role::Admin => 3,
        Role::Member => 2,
        Role::Viewer | Role::Billing => 1,
    }
}

/// The lower-ranked of two roles.
pub fn lower_of(a: Role, b: Role) -> Role {
    if rank(b) < rank(a) { b } else { a }
}

/// Whether someone with `actor` role may act on (change or remove) a member
/// who holds `target`: OWNER acts on anyone; ADMIN on MEMBER, VIEWER and
/// BILLING only. `is_self` lets an actor step down from their own role.
pub fn may_act_on(actor: Role, target: Role, is_self: bool) -> bool {
    match actor {
        Role::Owner => true,
        Role::Admin => is_self || matches!(target, Role::Member | Role::Viewer | Role::Billing),
        _ => false,
    }
}

/// Whether someone with `actor` role may give a member the role `new_role`:
/// only roles at or below their own, and only OWNER makes an OWNER.
pub fn may_assign(actor: Role, new_role: Role) -> bool {
    match new_role {
        Role::Owner => actor == Role::Owner,
        _ => rank(new_role) <= rank(actor),
    }
}

/// How a person comes to hold a role in an organization without a member
/// giving it to them by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An invitation to an address.
    Invitation,
    /// A shareable join code.
    JoinCode,
    /// The policy's automatic joining by verified domain, or an SSO
    /// connection's sign-up: the `defaultRole` the organization set.
    DefaultRole,
    /// Membership of a SCIM directory's group that the organization
    /// mapped to a role (issue #25).
    DirectoryGroup,
}

/// The role a new membership gets by `via`, from the role asked for
/// (`None`: the entry's default). A guest's is always
/// [`GUEST_ROLE`](super::guests::GUEST_ROLE); a join code never makes an
/// OWNER; a default role is VIEWER or MEMBER. BAD_USER_INPUT naming
/// `field` otherwise. (Whether the one who creates the entry may give that
/// role is [`may_assign`].)
pub fn role_for_new_member(
    via: Via,
    requested: Option<Role>,
    guest: bool,
    field: &str,
) -> AppResult<Role> {
    let guest_role = super::guests::GUEST_ROLE;
    match (via, guest, requested) {
        (_, true, None) => Ok(guest_role),
        (_, true, Some(role)) if role == guest_role => Ok(guest_role),
        (Via::JoinCode, true, Some(_)) => {
            Err(AppError::bad_input(field, "a guest link's role is VIEWER"))
        }
        (_, true, Some(_)) => Err(AppError::bad_input(
            field,
            "a guest invitation's role is VIEWER",
        )),
        (Via::JoinCode, false, Some(Role::Owner)) => Err(AppError::bad_input(
            field,
            "a join code never makes an OWNER",
        )),
        (Via::DirectoryGroup, false, Some(Role::Owner)) => Err(AppError::bad_input(
            field,
            "a directory never makes an OWNER: ownership is transferred in orgql",
        )),
        (Via::DefaultRole, false, Some(role)) if !matches!(role, Role::Viewer | Role::Member) => {
            Err(AppError::bad_input(
                field,
                "people added by default (by domain or at SSO sign-in) are VIEWER or MEMBER",
            ))
        }
        (Via::DefaultRole, false, None) => Ok(Role::Viewer),
        (_, false, role) => Ok(role.unwrap_or(Role::Member)),
    }
}

/// Whether someone may change a team: teams:manage in the organization,
/// or MAINTAINER of the team.
pub fn may_administer_team(
    holds_teams_manage: bool,
    is_member: bool,
    team_role: Option<TeamRole>,
) -> bool {
    holds_teams_manage || (is_member && team_role == Some(TeamRole::Maintainer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_owner_may_delete_an_organization() {
        assert_eq!(decide(Some(Role::Owner), false, OrgDelete), Decision::Allow);
        assert_eq!(
            decide(Some(Role::Admin), false, OrgDelete),
            Decision::DenyForbidden
        );
    }

    #[test]
    fn only_owners_and_admins_manage_sso_connections() {
        for role in [Role::Owner, Role::Admin] {
            assert_eq!(decide(Some(role), false, SsoManage), Decision::Allow);
        }
        for role in [Role::Member, Role::Viewer, Role::Billing] {
            assert_eq!(
                decide(Some(role), false, SsoManage),
                Decision::DenyForbidden
            );
        }
        assert_eq!(Permission::parse("sso:manage"), Some(SsoManage));
    }

    #[test]
    fn a_stranger_is_denied_as_if_the_organization_did_not_exist() {
        assert_eq!(decide(None, false, OrgView), Decision::DenyHidden);
    }

    #[test]
    fn a_platform_admin_reads_but_does_not_write() {
        assert_eq!(decide(None, true, MembersView), Decision::Allow);
        assert_eq!(decide(None, true, MembersManage), Decision::DenyForbidden);
    }

    #[test]
    fn billing_sees_billing_but_not_members() {
        assert_eq!(
            decide(Some(Role::Billing), false, BillingManage),
            Decision::Allow
        );
        assert_eq!(
            decide(Some(Role::Billing), false, MembersView),
            Decision::DenyForbidden
        );
    }

    #[test]
    fn an_admin_cannot_act_on_another_admin_or_an_owner() {
        assert!(!may_act_on(Role::Admin, Role::Admin, false));
        assert!(!may_act_on(Role::Admin, Role::Owner, false));
        assert!(may_act_on(Role::Admin, Role::Billing, false));
        assert!(may_act_on(Role::Owner, Role::Owner, false));
    }

    #[test]
    fn nobody_assigns_above_their_own_role() {
        assert!(may_assign(Role::Admin, Role::Admin));
        assert!(!may_assign(Role::Admin, Role::Owner));
        assert!(may_assign(Role::Owner, Role::Owner));
        assert!(!may_assign(Role::Member, Role::Admin));
    }

    #[test]
    fn a_new_members_role_follows_the_way_in() {
        use Via::*;
        let role = |via, requested, guest| role_for_new_member(via, requested, guest, "role");
        assert_eq!(role(Invitation, None, false).unwrap(), Role::Member);
        assert_eq!(
            role(Invitation, Some(Role::Admin), false).unwrap(),
            Role::Admin
        );
        assert_eq!(role(Invitation, None, true).unwrap(), Role::Viewer);
        assert!(role(Invitation, Some(Role::Member), true).is_err());
        assert!(role(JoinCode, Some(Role::Owner), false).is_err());
        assert!(role(JoinCode, Some(Role::Admin), true).is_err());
        assert_eq!(
            role(DefaultRole, Some(Role::Member), false).unwrap(),
            Role::Member
        );
        assert!(role(DefaultRole, Some(Role::Admin), false).is_err());
    }
}
