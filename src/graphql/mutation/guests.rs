//! Guests (issue #13): accepting a guest invitation, the mailed sign-in
//! link, and converting to a full account. The domain rules are in
//! `domain::accounts::guests`.

use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::domain::accounts;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::Person;
use crate::graphql::rate_limits::Limited;
use crate::graphql::types::{User, auth::AuthPayload};
use crate::mail::outbox::Outbox;

#[derive(Default)]
pub struct GuestMutations;

/// A guest invitation's token.
#[derive(InputObject)]
pub struct AcceptGuestInvitationInput {
    /// The token from the invitation email.
    pub token: String,
}

/// Who asks for a guest sign-in link.
#[derive(InputObject)]
pub struct RequestGuestSignInInput {
    /// The guest's email address.
    pub email: String,
    /// A guest link's code, to join its organization as a guest; absent
    /// for a guest signing in again.
    pub code: Option<String>,
}

/// The answer to `requestGuestSignIn`: the same for every address.
#[derive(SimpleObject)]
pub struct RequestGuestSignInPayload {
    /// The address, lower-cased. If it belongs to a guest (or, with a
    /// code, to no account yet), a sign-in link is on its way; an address
    /// with a full account is told to sign in with its password.
    pub email: String,
}

/// A mailed sign-in link's token.
#[derive(InputObject)]
pub struct SignInWithLinkInput {
    /// The token from the sign-in email.
    pub token: String,
}

/// What a guest gives to become a full account.
#[derive(InputObject)]
pub struct ConvertGuestAccountInput {
    /// The password to sign in with from now on (the password policy
    /// applies).
    pub password: String,
    /// A display name; the address's local part stays when absent.
    pub name: Option<String>,
}

/// The result of `convertGuestAccount`.
#[derive(SimpleObject)]
pub struct ConvertGuestAccountPayload {
    /// The account, a full account now.
    pub user: User,
}

#[Object]
impl GuestMutations {
    /// Accepts a guest invitation with the token from its email (no
    /// account needed: the link proves the address). The person joins as
    /// a guest (VIEWER) and is signed in (`amr` `["email"]`). An address
    /// with a full account is CONFLICT: sign in and use `acceptInvitation`.
    async fn accept_guest_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptGuestInvitationInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::Invitation, None).await?;
        let issued =
            accounts::accept_guest_invitation(ctx.db()?, ctx.auth()?, &ctx.meta(), &input.token)
                .await?;
        Ok(issued.into())
    }

    /// Mails a guest a one-time sign-in link (15 minutes). With a guest
    /// link's `code`, opening the link also joins its organization as a
    /// guest; an unknown, used-up or non-guest code is JOIN_CODE_INVALID.
    /// Rate limited per address and per email.
    async fn request_guest_sign_in(
        &self,
        ctx: &Context<'_>,
        input: RequestGuestSignInInput,
    ) -> async_graphql::Result<RequestGuestSignInPayload> {
        ctx.rate_limit(Limited::GuestSignIn, Some(&input.email))
            .await?;
        accounts::request_sign_in_link(
            ctx.db()?,
            ctx.data::<Outbox>()?,
            &ctx.meta(),
            &input.email,
            input.code.as_deref(),
        )
        .await?;
        Ok(RequestGuestSignInPayload {
            email: input.email.trim().to_lowercase(),
        })
    }

    /// Signs a guest in with a mailed link (once; it expires after 15
    /// minutes). A link asked for with a guest link's code also joins its
    /// organization.
    async fn sign_in_with_link(
        &self,
        ctx: &Context<'_>,
        input: SignInWithLinkInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::GuestSignIn, None).await?;
        let issued =
            accounts::sign_in_with_link(ctx.db()?, ctx.auth()?, &ctx.meta(), &input.token).await?;
        Ok(issued.into())
    }

    /// Makes the signed-in guest a full account by setting a password:
    /// from then on they sign in with it. Their guest memberships end (each
    /// audited as `member.left`, reason `guestConverted`): an organization
    /// that admitted a guest makes them a full member by inviting them.
    #[graphql(guard = "Person")]
    async fn convert_guest_account(
        &self,
        ctx: &Context<'_>,
        input: ConvertGuestAccountInput,
    ) -> async_graphql::Result<ConvertGuestAccountPayload> {
        let user = accounts::convert_guest(
            ctx.db()?,
            ctx.auth()?,
            ctx.actor()?,
            &input.password,
            input.name.as_deref(),
        )
        .await?;
        Ok(ConvertGuestAccountPayload {
            user: User::from(user),
        })
    }
}
