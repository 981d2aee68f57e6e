use async_graphql::{Context, ID, Object};

use crate::domain::accounts::{self, SignUp, mfa};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::Person;
use crate::graphql::ids::{self, IdKind};
use crate::graphql::rate_limits::Limited;
use crate::graphql::types::{
    Organization,
    auth::{
        AuthPayload, ConfirmTotpInput, ConfirmTotpPayload, DisableTotpInput, DisableTotpPayload,
        EnrollTotpPayload, LogInInput, LogOutPayload, RefreshSessionInput, SignUpInput,
        SwitchOrganizationInput, SwitchOrganizationPayload, VerifyMfaInput,
    },
};

#[derive(Default)]
pub struct AccountMutations;

#[Object]
impl AccountMutations {
    /// Creates an account and signs it in.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::SignUp, Some(&input.email))?;
        let issued = accounts::sign_up(
            ctx.db()?,
            ctx.auth()?,
            &ctx.meta(),
            SignUp {
                email: &input.email,
                password: &input.password,
                name: &input.name,
            },
        )
        .await?;
        Ok(issued.into())
    }

    /// Signs in with email and password. Any failure is UNAUTHENTICATED,
    /// whichever part was wrong. When the account has multi-factor
    /// authentication on, the payload carries no tokens but an
    /// `mfaChallenge`: answer it with `verifyMfa`.
    async fn log_in(
        &self,
        ctx: &Context<'_>,
        input: LogInInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::LogIn, Some(&input.email))?;
        let config = ctx.config()?;
        let guard = accounts::LogInGuard {
            outbox: ctx.data::<crate::mail::Outbox>()?,
            lockout: accounts::lockout::LockoutPolicy {
                threshold: config.lockout_threshold,
                duration: chrono::Duration::minutes(config.lockout_minutes.into()),
            },
        };
        let issued = accounts::log_in(
            ctx.db()?,
            ctx.auth()?,
            guard,
            &ctx.meta(),
            &input.email,
            &input.password,
        )
        .await?;
        Ok(issued.into())
    }

    /// Trades a refresh token for a new access token and a new refresh
    /// token. A refresh token works once; presenting a used one ends the
    /// session.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        input: RefreshSessionInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::Refresh, None)?;
        let issued =
            accounts::refresh_session(ctx.db()?, ctx.auth()?, &ctx.meta(), &input.refresh_token)
                .await?;
        Ok(issued.into())
    }

    /// Ends the current session: its tokens stop working at once.
    #[graphql(guard = "Person")]
    async fn log_out(&self, ctx: &Context<'_>) -> async_graphql::Result<LogOutPayload> {
        let session_id = accounts::log_out(ctx.db()?, ctx.actor()?).await?;
        Ok(LogOutPayload {
            session_id: ID(ids::encode(IdKind::Session, session_id)),
        })
    }

    /// Makes an organization the active one: returns an access token whose
    /// `org` claim names it, and remembers the choice for the next log-in.
    #[graphql(guard = "Person")]
    async fn switch_organization(
        &self,
        ctx: &Context<'_>,
        input: SwitchOrganizationInput,
    ) -> async_graphql::Result<SwitchOrganizationPayload> {
        let organization_id = ids::parse(
            IdKind::Organization,
            &input.organization_id,
            "organizationId",
        )?;
        let (access_token, access_token_expires_at, organization) =
            accounts::switch_organization(ctx.db()?, ctx.auth()?, ctx.actor()?, organization_id)
                .await?;
        Ok(SwitchOrganizationPayload {
            access_token,
            access_token_expires_at,
            organization: Organization(organization),
        })
    }

    /// The second step of signing in with multi-factor authentication:
    /// trades the `mfaChallenge` from `logIn` and a code from the
    /// authenticator app (or a recovery code) for a session whose `amr` is
    /// `["pwd", "otp"]`. A code works once; a challenge works once, for five
    /// minutes, and dies after five wrong codes. Any failure is
    /// UNAUTHENTICATED.
    async fn verify_mfa(
        &self,
        ctx: &Context<'_>,
        input: VerifyMfaInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::MfaVerification, None)?;
        let issued = mfa::verify(
            ctx.db()?,
            ctx.auth()?,
            &ctx.meta(),
            &input.challenge,
            &input.code,
        )
        .await?;
        Ok(issued.into())
    }

    /// Starts enrolling a TOTP authenticator (RFC 6238): returns a fresh
    /// secret, its `otpauth://` URI and a QR code, shown only here.
    /// Nothing changes at sign-in until `confirmTotp`. Enrolling again
    /// before confirming replaces the secret; CONFLICT while MFA is on.
    #[graphql(guard = "Person")]
    async fn enroll_totp(&self, ctx: &Context<'_>) -> async_graphql::Result<EnrollTotpPayload> {
        let enrollment = mfa::enroll(ctx.db()?, ctx.auth()?, ctx.actor()?).await?;
        Ok(EnrollTotpPayload {
            secret: enrollment.secret,
            otpauth_uri: enrollment.otpauth_uri,
            qr_code_svg: enrollment.qr_code_svg,
        })
    }

    /// Turns multi-factor authentication on with a first code from the
    /// enrolled authenticator, and returns ten recovery codes, shown only
    /// here. From the next sign-in on, `logIn` asks for a code. A wrong
    /// code is BAD_USER_INPUT (`code`).
    #[graphql(guard = "Person")]
    async fn confirm_totp(
        &self,
        ctx: &Context<'_>,
        input: ConfirmTotpInput,
    ) -> async_graphql::Result<ConfirmTotpPayload> {
        let actor = ctx.actor()?;
        ctx.rate_limit(
            Limited::MfaVerification,
            actor.user_id().map(|id| id.to_string()).as_deref(),
        )?;
        let recovery_codes = mfa::confirm(ctx.db()?, ctx.auth()?, actor, &input.code).await?;
        Ok(ConfirmTotpPayload { recovery_codes })
    }

    /// Turns multi-factor authentication off, deleting the authenticator
    /// and the recovery codes. Needs the password or a code (give exactly
    /// one); a wrong one is BAD_USER_INPUT naming it.
    #[graphql(guard = "Person")]
    async fn disable_totp(
        &self,
        ctx: &Context<'_>,
        input: DisableTotpInput,
    ) -> async_graphql::Result<DisableTotpPayload> {
        let actor = ctx.actor()?;
        ctx.rate_limit(
            Limited::MfaVerification,
            actor.user_id().map(|id| id.to_string()).as_deref(),
        )?;
        let proof = match (&input.password, &input.code) {
            (Some(password), None) => mfa::Proof::Password(password),
            (None, Some(code)) => mfa::Proof::Code(code),
            _ => {
                return Err(AppError::bad_input("password", "give either password or code").into());
            }
        };
        mfa::disable(ctx.db()?, ctx.auth()?, actor, proof).await?;
        Ok(DisableTotpPayload { mfa_enabled: false })
    }
}
