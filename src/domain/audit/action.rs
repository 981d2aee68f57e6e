//! What an audit entry says happened: one closed list, stored as the dotted
//! name (`member.role_updated`) and exposed to clients as the `AuditAction`
//! enum, so that filters are typed.

use async_graphql::Enum;

use crate::domain::ids::IdKind;

/// An audited action. Its stored form is dotted and past tense
/// (`member.role_updated`); clients see the enum value.
#[derive(
    Enum,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum AuditAction {
    /// An account was created.
    #[strum(serialize = "user.signed_up")]
    UserSignedUp,
    /// A person signed in with their password.
    #[strum(serialize = "user.logged_in")]
    UserLoggedIn,
    /// An account was locked after repeated wrong passwords.
    #[strum(serialize = "user.locked_out")]
    UserLockedOut,
    /// A person with MFA on gave the right password and was asked for a
    /// code.
    #[strum(serialize = "user.mfa_challenged")]
    UserMfaChallenged,
    /// A person answered an MFA challenge with a TOTP or recovery code and
    /// signed in.
    #[strum(serialize = "user.mfa_verified")]
    UserMfaVerified,
    /// A wrong code was given for an MFA challenge.
    #[strum(serialize = "user.mfa_failed")]
    UserMfaFailed,
    /// A person started enrolling a TOTP authenticator.
    #[strum(serialize = "user.totp_enrolled")]
    UserTotpEnrolled,
    /// A person confirmed their authenticator: MFA is on, with new
    /// recovery codes.
    #[strum(serialize = "user.mfa_enabled")]
    UserMfaEnabled,
    /// A person turned MFA off.
    #[strum(serialize = "user.mfa_disabled")]
    UserMfaDisabled,
    /// A person proved their email address with its verification link.
    #[strum(serialize = "user.email_verified")]
    UserEmailVerified,
    /// A fresh verification link was mailed.
    #[strum(serialize = "user.verification_email_sent")]
    UserVerificationEmailSent,
    /// A person asked to change their email address (it changes once the
    /// new address is verified).
    #[strum(serialize = "user.email_change_requested")]
    UserEmailChangeRequested,
    /// A person's email address changed: the new one was verified.
    #[strum(serialize = "user.email_changed")]
    UserEmailChanged,
    /// A person changed their password; their other sessions ended.
    #[strum(serialize = "user.password_changed")]
    UserPasswordChanged,
    /// A password reset link was mailed.
    #[strum(serialize = "user.password_reset_requested")]
    UserPasswordResetRequested,
    /// A password was reset with a mailed link; every session ended.
    #[strum(serialize = "user.password_reset")]
    UserPasswordReset,
    /// A guest sign-in link was mailed (issue #13).
    #[strum(serialize = "user.sign_in_link_sent")]
    UserSignInLinkSent,
    /// A guest sign-in link was asked for an address that has a full
    /// account: it was told to sign in with its password instead.
    #[strum(serialize = "user.sign_in_link_refused")]
    UserSignInLinkRefused,
    /// A guest set a password: the account is a full account now.
    #[strum(serialize = "user.guest_converted")]
    UserGuestConverted,
    /// A user was made a platform administrator.
    #[strum(serialize = "user.platform_admin_granted")]
    UserPlatformAdminGranted,
    /// A session's refresh token was used.
    #[strum(serialize = "session.refreshed")]
    SessionRefreshed,
    /// A session was ended by its owner.
    #[strum(serialize = "session.logged_out")]
    SessionLoggedOut,
    /// A person ended all of their sessions.
    #[strum(serialize = "session.logged_out_everywhere")]
    SessionLoggedOutEverywhere,
    /// A session was revoked.
    #[strum(serialize = "session.revoked")]
    SessionRevoked,
    /// A session was revoked because one of its old refresh tokens was used
    /// again.
    #[strum(serialize = "session.revoked_on_reuse")]
    SessionRevokedOnReuse,
    /// A session switched its active organization.
    #[strum(serialize = "session.organization_switched")]
    SessionOrganizationSwitched,
    /// An organization was created.
    #[strum(serialize = "organization.created")]
    OrganizationCreated,
    /// An organization's settings changed.
    #[strum(serialize = "organization.updated")]
    OrganizationUpdated,
    /// An organization was deleted.
    #[strum(serialize = "organization.deleted")]
    OrganizationDeleted,
    /// A platform administrator suspended an organization.
    #[strum(serialize = "organization.suspended")]
    OrganizationSuspended,
    /// A platform administrator reactivated an organization.
    #[strum(serialize = "organization.reactivated")]
    OrganizationReactivated,
    /// A platform administrator who is not a member read inside the
    /// organization (one entry per request: what it read is in
    /// `metadata.permissions`).
    #[strum(serialize = "organization.read_by_platform_admin")]
    OrganizationReadByPlatformAdmin,
    /// Every session lost access to the organization.
    #[strum(serialize = "organization.sessions_revoked")]
    OrganizationSessionsRevoked,
    /// A member's role changed.
    #[strum(serialize = "member.role_updated")]
    MemberRoleUpdated,
    /// A member was removed.
    #[strum(serialize = "member.removed")]
    MemberRemoved,
    /// A member left.
    #[strum(serialize = "member.left")]
    MemberLeft,
    /// A person joined by the verified domain of their address.
    #[strum(serialize = "member.joined_by_domain")]
    MemberJoinedByDomain,
    /// An invitation was sent.
    #[strum(serialize = "invitation.created")]
    InvitationCreated,
    /// An invitation was sent again, with a new link.
    #[strum(serialize = "invitation.resent")]
    InvitationResent,
    /// An invitation was withdrawn.
    #[strum(serialize = "invitation.revoked")]
    InvitationRevoked,
    /// An invitee joined.
    #[strum(serialize = "invitation.accepted")]
    InvitationAccepted,
    /// An invitee said no.
    #[strum(serialize = "invitation.declined")]
    InvitationDeclined,
    /// A join code was created.
    #[strum(serialize = "join_code.created")]
    JoinCodeCreated,
    /// A join code was revoked.
    #[strum(serialize = "join_code.revoked")]
    JoinCodeRevoked,
    /// Someone joined with a join code.
    #[strum(serialize = "join_code.used")]
    JoinCodeUsed,
    /// A team was created.
    #[strum(serialize = "team.created")]
    TeamCreated,
    /// A team changed.
    #[strum(serialize = "team.updated")]
    TeamUpdated,
    /// A team was deleted.
    #[strum(serialize = "team.deleted")]
    TeamDeleted,
    /// A member was put into a team.
    #[strum(serialize = "team.member_added")]
    TeamMemberAdded,
    /// A member's role in a team changed.
    #[strum(serialize = "team.member_role_updated")]
    TeamMemberRoleUpdated,
    /// A member was taken out of a team.
    #[strum(serialize = "team.member_removed")]
    TeamMemberRemoved,
    /// The governance policy changed.
    #[strum(serialize = "policy.updated")]
    PolicyUpdated,
    /// A network was added to the IP allowlist.
    #[strum(serialize = "ip_allowlist.entry_added")]
    IpAllowlistEntryAdded,
    /// A network was removed from the IP allowlist.
    #[strum(serialize = "ip_allowlist.entry_removed")]
    IpAllowlistEntryRemoved,
    /// An organization claimed a domain (unverified until its DNS TXT
    /// challenge is found).
    #[strum(serialize = "domain.added")]
    DomainAdded,
    /// A domain's DNS TXT challenge was found: the domain is verified.
    #[strum(serialize = "domain.verified")]
    DomainVerified,
    /// An organization dropped its claim to a domain.
    #[strum(serialize = "domain.removed")]
    DomainRemoved,
    /// A single sign-on connection was created (DRAFT).
    #[strum(serialize = "sso_connection.created")]
    SsoConnectionCreated,
    /// A single sign-on connection's settings changed.
    #[strum(serialize = "sso_connection.updated")]
    SsoConnectionUpdated,
    /// An administrator started a test sign-in through a connection.
    #[strum(serialize = "sso_connection.test_started")]
    SsoConnectionTestStarted,
    /// A test sign-in through a connection succeeded.
    #[strum(serialize = "sso_connection.tested")]
    SsoConnectionTested,
    /// A connection became the organization's sign-in route.
    #[strum(serialize = "sso_connection.activated")]
    SsoConnectionActivated,
    /// A connection was taken out of use (and `ssoRequired` turned off if
    /// it was the active one).
    #[strum(serialize = "sso_connection.deactivated")]
    SsoConnectionDeactivated,
    /// A connection was deleted.
    #[strum(serialize = "sso_connection.deleted")]
    SsoConnectionDeleted,
    /// A person signed in through the organization's SSO connection (and
    /// was created, linked or added to it when this says so).
    #[strum(serialize = "user.sso_signed_in")]
    UserSsoSignedIn,
    /// The app traded an SSO sign-in's one-time code for a session.
    #[strum(serialize = "session.sso_code_exchanged")]
    SsoCodeExchanged,
    /// An API token was created.
    #[strum(serialize = "api_token.created")]
    ApiTokenCreated,
    /// An API token was revoked.
    #[strum(serialize = "api_token.revoked")]
    ApiTokenRevoked,
    /// An owner offered the ownership to another member.
    #[strum(serialize = "ownership.transfer_offered")]
    OwnershipTransferOffered,
    /// The offered member accepted the ownership.
    #[strum(serialize = "ownership.transferred")]
    OwnershipTransferred,
    /// The offered member declined the ownership.
    #[strum(serialize = "ownership.transfer_declined")]
    OwnershipTransferDeclined,
    /// The owner withdrew the offer.
    #[strum(serialize = "ownership.transfer_cancelled")]
    OwnershipTransferCancelled,
    /// A platform administrator set the tier.
    #[strum(serialize = "tier.set")]
    TierSet,
    /// An upgrade of the tier was requested.
    #[strum(serialize = "tier.upgrade_requested")]
    TierUpgradeRequested,
    /// A platform administrator approved a tier upgrade.
    #[strum(serialize = "tier.upgrade_approved")]
    TierUpgradeApproved,
    /// A platform administrator rejected a tier upgrade.
    #[strum(serialize = "tier.upgrade_rejected")]
    TierUpgradeRejected,
    /// Someone asked to join through a guest link with an address that has
    /// no account: a sign-in link was mailed, and the guest account is
    /// made only when it is used.
    #[strum(serialize = "join_code.guest_link_mailed")]
    JoinCodeGuestLinkMailed,
    /// A SCIM directory was connected (issue #25); its token was shown once.
    #[strum(serialize = "scim_directory.created")]
    ScimDirectoryCreated,
    /// A directory's name, default role or group mapping changed.
    #[strum(serialize = "scim_directory.updated")]
    ScimDirectoryUpdated,
    /// A directory's token was replaced; the old one stopped working.
    #[strum(serialize = "scim_directory.token_rotated")]
    ScimDirectoryTokenRotated,
    /// A directory's token was revoked: it can no longer call.
    #[strum(serialize = "scim_directory.token_revoked")]
    ScimDirectoryTokenRevoked,
    /// A directory was disconnected; the members it added stay.
    #[strum(serialize = "scim_directory.deleted")]
    ScimDirectoryDeleted,
    /// A directory created a SCIM User (`metadata.scimUserId`).
    #[strum(serialize = "scim_directory.user_created")]
    ScimUserCreated,
    /// A directory changed a SCIM User's attributes.
    #[strum(serialize = "scim_directory.user_updated")]
    ScimUserUpdated,
    /// A directory deleted a SCIM User (its membership ends; the account
    /// stays).
    #[strum(serialize = "scim_directory.user_deleted")]
    ScimUserDeleted,
    /// A directory changed who is in a SCIM Group where no team changed
    /// (its inactive users).
    #[strum(serialize = "scim_directory.group_updated")]
    ScimGroupUpdated,
    /// A directory's change was refused and nothing changed
    /// (`metadata.reason`: LAST_OWNER).
    #[strum(serialize = "scim_directory.change_refused")]
    ScimChangeRefused,
    /// A directory made a person a member.
    #[strum(serialize = "member.provisioned")]
    MemberProvisioned,
    /// A directory ended a person's membership (`active: false` or
    /// DELETE); their sessions there ended with it.
    #[strum(serialize = "member.deprovisioned")]
    MemberDeprovisioned,
    /// A webhook endpoint was added (issue #24); its secret was shown once.
    #[strum(serialize = "webhook_endpoint.created")]
    WebhookEndpointCreated,
    /// A webhook endpoint's URL, types, description or state changed.
    #[strum(serialize = "webhook_endpoint.updated")]
    WebhookEndpointUpdated,
    /// A webhook endpoint got a new signing secret.
    #[strum(serialize = "webhook_endpoint.secret_rotated")]
    WebhookEndpointSecretRotated,
    /// A webhook endpoint was disabled: by a person, or by the server
    /// after its deliveries failed for a day (`metadata.reason`).
    #[strum(serialize = "webhook_endpoint.disabled")]
    WebhookEndpointDisabled,
    /// A webhook endpoint was deleted with its deliveries.
    #[strum(serialize = "webhook_endpoint.deleted")]
    WebhookEndpointDeleted,
    /// A delivery was queued again by hand.
    #[strum(serialize = "webhook_endpoint.redelivery_requested")]
    WebhookRedeliveryRequested,
}

impl AuditAction {
    /// The stored, dotted form.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The actions about `resource_type`: an entry's resource type follows
    /// from its action, so a filter by type is a filter by these actions.
    pub fn about(resource_type: &str) -> impl Iterator<Item = AuditAction> + '_ {
        <Self as strum::IntoEnumIterator>::iter()
            .filter(move |action| action.resource_type() == resource_type)
    }

    /// The kind of object the action is about, as stored in
    /// `resource_type`.
    pub fn resource_type(self) -> &'static str {
        use AuditAction::*;
        match self {
            UserSignedUp
            | UserLoggedIn
            | UserLockedOut
            | UserMfaChallenged
            | UserMfaVerified
            | UserMfaFailed
            | UserTotpEnrolled
            | UserMfaEnabled
            | UserMfaDisabled
            | UserPlatformAdminGranted
            | UserEmailVerified
            | UserVerificationEmailSent
            | UserEmailChangeRequested
            | UserEmailChanged
            | UserPasswordChanged
            | UserPasswordResetRequested
            | UserPasswordReset
            | UserSignInLinkSent
            | UserSignInLinkRefused
            | UserGuestConverted
            | SessionLoggedOutEverywhere => "user",
            SessionRefreshed
            | SessionLoggedOut
            | SessionRevoked
            | SessionRevokedOnReuse
            | SessionOrganizationSwitched => "session",
            OrganizationCreated
            | OrganizationUpdated
            | OrganizationDeleted
            | OrganizationSuspended
            | OrganizationReactivated
            | OrganizationReadByPlatformAdmin
            | OrganizationSessionsRevoked
            | PolicyUpdated
            | TierSet => "organization",
            MemberRoleUpdated | MemberRemoved | MemberLeft | MemberJoinedByDomain
            | MemberProvisioned | MemberDeprovisioned => "member",
            InvitationCreated | InvitationResent | InvitationRevoked | InvitationAccepted
            | InvitationDeclined => "invitation",
            JoinCodeCreated | JoinCodeRevoked | JoinCodeUsed | JoinCodeGuestLinkMailed => {
                "join_code"
            }
            TeamCreated
            | TeamUpdated
            | TeamDeleted
            | TeamMemberAdded
            | TeamMemberRoleUpdated
            | TeamMemberRemoved => "team",
            IpAllowlistEntryAdded | IpAllowlistEntryRemoved => "ip_allowlist_entry",
            DomainAdded | DomainVerified | DomainRemoved => "organization_domain",
            SsoConnectionCreated
            | SsoConnectionUpdated
            | SsoConnectionTestStarted
            | SsoConnectionTested
            | SsoConnectionActivated
            | SsoConnectionDeactivated
            | SsoConnectionDeleted => "sso_connection",
            UserSsoSignedIn => "user",
            SsoCodeExchanged => "session",
            ApiTokenCreated | ApiTokenRevoked => "api_token",
            OwnershipTransferOffered
            | OwnershipTransferred
            | OwnershipTransferDeclined
            | OwnershipTransferCancelled => "ownership_transfer",
            TierUpgradeRequested | TierUpgradeApproved | TierUpgradeRejected => {
                "tier_upgrade_request"
            }
            ScimDirectoryCreated
            | ScimDirectoryUpdated
            | ScimDirectoryTokenRotated
            | ScimDirectoryTokenRevoked
            | ScimDirectoryDeleted
            | ScimUserCreated
            | ScimUserUpdated
            | ScimUserDeleted
            | ScimGroupUpdated
            | ScimChangeRefused => "scim_directory",
            WebhookEndpointCreated
            | WebhookEndpointUpdated
            | WebhookEndpointSecretRotated
            | WebhookEndpointDisabled
            | WebhookEndpointDeleted
            | WebhookRedeliveryRequested => "webhook_endpoint",
        }
    }

    /// The kind of public id the resource has (none for a domain, which is
    /// named by itself).
    pub fn resource_kind(self) -> Option<IdKind> {
        Some(match self.resource_type() {
            "organization" => IdKind::Organization,
            "user" => IdKind::User,
            "session" => IdKind::Session,
            "member" => IdKind::Member,
            "invitation" => IdKind::Invitation,
            "join_code" => IdKind::JoinCode,
            "team" => IdKind::Team,
            "ip_allowlist_entry" => IdKind::IpAllowlistEntry,
            "sso_connection" => IdKind::SsoConnection,
            "api_token" => IdKind::ApiToken,
            "ownership_transfer" => IdKind::OwnershipTransfer,
            "tier_upgrade_request" => IdKind::TierUpgradeRequest,
            "scim_directory" => IdKind::ScimDirectory,
            "webhook_endpoint" => IdKind::WebhookEndpoint,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn every_action_reads_back_from_its_stored_form() {
        for action in AuditAction::iter() {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(action));
        }
    }
}
