//! Who is making a request, and from where.
//!
//! A request acts for a [`Principal`]: a person signed in with a session,
//! an organization API token, or a SCIM directory (issue #25). They are
//! different kinds of caller, not a token dressed up as a user: code that
//! needs a person asks for one ([`Actor::person`]), and neither a token
//! nor a directory has a user id, an email or memberships.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::matrix::{Permission, Role};
use crate::error::{AppError, AppResult};

/// Facts about the HTTP request that every audit entry records.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// How a session's person proved who they are: the `amr` (authentication
/// methods references, RFC 8176) of its tokens, stored on the session row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// A password alone (`["pwd"]`).
    Password,
    /// A password, then a TOTP or recovery code (`["pwd", "otp"]`).
    PasswordAndOtp,
    /// Single sign-on through an organization's connection (`["sso"]`).
    Sso {
        organization_id: Uuid,
        connection_id: Uuid,
    },
    /// A one-time link mailed to a guest (`["email"]`, issue #13).
    EmailLink,
}

impl Authentication {
    /// The form stored in `sessions.amr`.
    pub fn stored(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::PasswordAndOtp => "pwd otp",
            Self::Sso { .. } => "sso",
            Self::EmailLink => "email",
        }
    }

    /// How a session row says its person authenticated: `sso` counts only
    /// with the connection it names (fail closed to a password alone).
    pub fn of_session(session: &entity::session::Model) -> Self {
        match (
            session.amr.as_str(),
            session.sso_organization_id,
            session.sso_connection_id,
        ) {
            ("sso", Some(organization_id), Some(connection_id)) => Self::Sso {
                organization_id,
                connection_id,
            },
            (stored, _, _) => Self::from_stored(stored),
        }
    }

    /// Reads the stored form; anything unknown counts as a password alone,
    /// so a damaged row never passes for MFA (fail closed).
    pub fn from_stored(stored: &str) -> Self {
        match stored {
            "pwd otp" => Self::PasswordAndOtp,
            "email" => Self::EmailLink,
            _ => Self::Password,
        }
    }

    /// The `amr` claim's values.
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Self::Password => &["pwd"],
            Self::PasswordAndOtp => &["pwd", "otp"],
            Self::Sso { .. } => &["sso"],
            Self::EmailLink => &["email"],
        }
    }

    /// Whether the session came through `organization_id`'s single
    /// sign-on connection.
    pub fn through_sso_of(self, organization_id: Uuid) -> bool {
        matches!(self, Self::Sso { organization_id: o, .. } if o == organization_id)
    }

    /// Whether a second factor was presented.
    pub fn passed_mfa(self) -> bool {
        self == Self::PasswordAndOtp
    }
}

/// A person signed in with a session.
#[derive(Debug, Clone)]
pub struct Person {
    pub user_id: Uuid,
    pub email: String,
    /// Whether the address is proven (DESIGN §3): an unverified one counts
    /// for nothing that trusts an address (invitations by id, allowed
    /// email domains).
    pub email_verified: bool,
    /// The session behind the access token.
    pub session_id: Uuid,
    pub session_started_at: DateTime<Utc>,
    pub is_platform_admin: bool,
    /// The `org` claim of the access token.
    pub active_organization_id: Option<Uuid>,
    /// How the session was authenticated, from its row (not from the
    /// token: the row is what revocation and policy trust).
    pub authentication: Authentication,
    /// A guest (issue #13): memberships only, read-only, no email
    /// addresses but their own.
    pub is_guest: bool,
}

/// What an organization API token may do: its scopes, in its own
/// organization and nowhere else, and never above the rank of the person
/// who created it.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub token_id: Uuid,
    pub organization_id: Uuid,
    pub scopes: Vec<Permission>,
    /// The creator's role in the organization now (the token dies with the
    /// creator's membership, so a live token always has one).
    pub creator_role: Role,
}

impl TokenGrant {
    /// The rank a token acts with where rank rules apply: ADMIN when it may
    /// manage members, MEMBER otherwise, and never above its creator.
    pub fn acting_role(&self) -> Role {
        let by_scope = if self.scopes.contains(&Permission::MembersManage) {
            Role::Admin
        } else {
            Role::Member
        };
        super::matrix::lower_of(by_scope, self.creator_role)
    }
}

/// What a SCIM directory may do: provision the members and teams of its
/// own organization ([`DIRECTORY_PERMISSIONS`]), nothing elsewhere.
#[derive(Debug, Clone)]
pub struct DirectoryGrant {
    pub directory_id: Uuid,
    pub organization_id: Uuid,
}

/// The permissions a directory holds in its organization.
pub const DIRECTORY_PERMISSIONS: &[Permission] = &[
    Permission::OrgView,
    Permission::MembersView,
    Permission::MembersManage,
    Permission::TeamsView,
    Permission::TeamsManage,
];

/// The caller, as proven by its credential.
#[derive(Debug, Clone)]
pub enum Principal {
    Person(Person),
    ApiToken(TokenGrant),
    Directory(DirectoryGrant),
}

/// An authenticated caller with the facts of its request. Resolvers read it
/// from the request's data; domain functions take it as their first
/// argument.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    pub meta: RequestMeta,
}

impl Actor {
    /// The person behind the request; none for an API token.
    pub fn person(&self) -> Option<&Person> {
        match &self.principal {
            Principal::Person(person) => Some(person),
            Principal::ApiToken(_) | Principal::Directory(_) => None,
        }
    }

    /// The person behind the request, or FORBIDDEN for an API token:
    /// account operations (joining, leaving, creating organizations,
    /// sessions) are for people.
    pub fn require_person(&self) -> AppResult<&Person> {
        self.person().ok_or(AppError::Forbidden(
            "an API token cannot do this; sign in as a person",
        ))
    }

    /// The signed-in user's id; none for an API token.
    pub fn user_id(&self) -> Option<Uuid> {
        self.person().map(|p| p.user_id)
    }

    /// The session behind a person's token; none for an API token.
    pub fn session_id(&self) -> Option<Uuid> {
        self.person().map(|p| p.session_id)
    }

    pub fn api_token(&self) -> Option<&TokenGrant> {
        match &self.principal {
            Principal::ApiToken(grant) => Some(grant),
            Principal::Person(_) | Principal::Directory(_) => None,
        }
    }

    pub fn is_platform_admin(&self) -> bool {
        self.person().is_some_and(|p| p.is_platform_admin)
    }

    /// Whether the caller may read a user's private account facts (platform
    /// administration, MFA, verified email): the user themselves and
    /// platform administrators only.
    pub fn sees_account_of(&self, user_id: Uuid) -> bool {
        self.user_id() == Some(user_id) || self.is_platform_admin()
    }

    /// Whether the caller is a guest (issue #13).
    pub fn is_guest(&self) -> bool {
        self.person().is_some_and(|p| p.is_guest)
    }

    /// Whether the caller may read a user's email address: anyone who sees
    /// the user, except a guest, who sees only their own (issue #13).
    pub fn sees_email_of(&self, user_id: Uuid) -> bool {
        self.sees_others_emails() || self.user_id() == Some(user_id)
    }

    /// Whether the caller may read (or search by) other people's email
    /// addresses: everyone but a guest.
    pub fn sees_others_emails(&self) -> bool {
        !self.is_guest()
    }

    /// The organization the caller works in: a person's `org` claim, or an
    /// API token's own organization.
    pub fn active_organization_id(&self) -> Option<Uuid> {
        match &self.principal {
            Principal::Person(person) => person.active_organization_id,
            Principal::ApiToken(grant) => Some(grant.organization_id),
            Principal::Directory(grant) => Some(grant.organization_id),
        }
    }
}
