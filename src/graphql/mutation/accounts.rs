use async_graphql::{Context, ID, Object};

use crate::domain::accounts::{self, SignUp, mfa};
use crate::domain::ids::{self, IdKind};
use crate::domain::sessions;
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::Person;
use crate::graphql::rate_limits::Limited;
use crate::graphql::types::{
    Organization, User,
    auth::{
        AuthPayload, ChangeEmailInput, ChangeEmailPayload, ChangePasswordInput,
        ChangePasswordPayload, ConfirmTotpInput, ConfirmTotpPayload, DisableTotpInput,
        DisableTotpPayload, EnrollTotpPayload, LogInInput, LogOutPayload, RefreshSessionInput,
        RequestPasswordResetInput, RequestPasswordResetPayload, ResendVerificationEmailPayload,
        ResetPasswordInput, ResetPasswordPayload, SignUpInput, SwitchOrganizationInput,
        SwitchOrganizationPayload, VerifyEmailInput, VerifyEmailPayload, VerifyMfaInput,
    },
};
use crate::mail::outbox::Outbox;

#[derive(Default)]
pub struct AccountMutations;

/// Where lock-out notices go, and the configured lock-out policy.
fn log_in_guard<'a>(ctx: &Context<'a>) -> async_graphql::Result<accounts::LogInGuard<'a>> {
    let config = ctx.config()?;
    Ok(accounts::LogInGuard {
        outbox: ctx.data::<Outbox>()?,
        lockout: accounts::lockout::LockoutPolicy {
            threshold: config.lockout_threshold,
            duration: chrono::Duration::minutes(config.lockout_minutes.into()),
        },
    })
}

#[Object]
impl AccountMutations {
    /// Creates an account and mails a link that verifies its address
    /// (`verifyEmail`); the account signs in with `logIn` once the address
    /// is verified. Signs nobody in: the payload has the account and no
    /// tokens. The answer is the same when the address already has an
    /// account, so that it tells no one which addresses do: nothing is then
    /// created, and the address is mailed that someone tried.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::SignUp, Some(&input.email)).await?;
        let user = accounts::sign_up(
            ctx.db()?,
            ctx.auth()?,
            ctx.data::<Outbox>()?,
            &ctx.meta(),
            SignUp {
                email: &input.email,
                password: &input.password,
                name: &input.name,
            },
        )
        .await?;
        Ok(AuthPayload::signed_up(user))
    }

    /// Signs in with email and password. Any failure is UNAUTHENTICATED,
    /// whichever part was wrong; an account whose address is not verified
    /// yet (`signUp`'s link unused) gets the same answer. When the account has multi-factor
    /// authentication on, the payload carries no tokens but an
    /// `mfaChallenge`: answer it with `verifyMfa`.
    async fn log_in(
        &self,
        ctx: &Context<'_>,
        input: LogInInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::LogIn, Some(&input.email)).await?;
        let issued = accounts::log_in(
            ctx.db()?,
            ctx.auth()?,
            log_in_guard(ctx)?,
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
        ctx.rate_limit(Limited::Refresh, None).await?;
        let issued =
            sessions::refresh_session(ctx.db()?, ctx.auth()?, &ctx.meta(), &input.refresh_token)
                .await?;
        Ok(issued.into())
    }

    /// Ends the current session: its tokens stop working at once.
    #[graphql(guard = "Person")]
    async fn log_out(&self, ctx: &Context<'_>) -> async_graphql::Result<LogOutPayload> {
        let session_id = sessions::log_out(ctx.db()?, ctx.actor()?).await?;
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
        let organization_id =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        let (access_token, access_token_expires_at, organization) =
            sessions::switch_organization(ctx.db()?, ctx.auth()?, ctx.actor()?, organization_id)
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
    /// minutes, and dies after five wrong codes. Ten wrong codes in a row,
    /// across challenges, refuse the account's codes for the lock-out
    /// duration and email the person. Any failure is UNAUTHENTICATED.
    async fn verify_mfa(
        &self,
        ctx: &Context<'_>,
        input: VerifyMfaInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::MfaVerification, None).await?;
        let issued = mfa::verify(
            ctx.db()?,
            ctx.auth()?,
            &log_in_guard(ctx)?,
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
        )
        .await?;
        let recovery_codes = mfa::confirm(ctx.db()?, ctx.auth()?, actor, &input.code).await?;
        Ok(ConfirmTotpPayload { recovery_codes })
    }

    /// Turns multi-factor authentication off, deleting the authenticator
    /// and the recovery codes. Needs the password or a code (give exactly
    /// one); a wrong one is BAD_USER_INPUT naming it. A wrong code counts
    /// toward the account's lock of codes, as at sign-in.
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
        )
        .await?;
        let proof = match (&input.password, &input.code) {
            (Some(password), None) => mfa::Proof::Password(password),
            (None, Some(code)) => mfa::Proof::Code(code),
            _ => {
                return Err(AppError::bad_input("password", "give either password or code").into());
            }
        };
        mfa::disable(ctx.db()?, ctx.auth()?, &log_in_guard(ctx)?, actor, proof).await?;
        Ok(DisableTotpPayload { mfa_enabled: false })
    }

    /// Verifies an email address with the token of a mailed link: the
    /// account's own address, or the new one of `changeEmail`, which then
    /// becomes the account's. Needs no session. A used, expired or unknown
    /// token is BAD_USER_INPUT (`field: token`).
    async fn verify_email(
        &self,
        ctx: &Context<'_>,
        input: VerifyEmailInput,
    ) -> async_graphql::Result<VerifyEmailPayload> {
        ctx.rate_limit(Limited::EmailVerification, None).await?;
        let user = accounts::verify_email(ctx.db()?, &ctx.meta(), &input.token).await?;
        Ok(VerifyEmailPayload {
            user: User::from(user),
        })
    }

    /// Mails a new verification link to the signed-in person's address;
    /// earlier links stop working. CONFLICT when already verified.
    #[graphql(guard = "Person")]
    async fn resend_verification_email(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<ResendVerificationEmailPayload> {
        let actor = ctx.actor()?;
        ctx.rate_limit(
            Limited::EmailVerification,
            actor.user_id().map(|id| id.to_string()).as_deref(),
        )
        .await?;
        accounts::resend_verification_email(ctx.db()?, ctx.auth()?, ctx.data::<Outbox>()?, actor)
            .await?;
        Ok(ResendVerificationEmailPayload {
            email: actor.require_person()?.email.clone(),
        })
    }

    /// Starts moving the account to a new address: needs the password,
    /// mails a confirmation link to the new address and a notice to the
    /// current one. The change takes effect when the link is used
    /// (`verifyEmail`); until then the account keeps its address.
    #[graphql(guard = "Person")]
    async fn change_email(
        &self,
        ctx: &Context<'_>,
        input: ChangeEmailInput,
    ) -> async_graphql::Result<ChangeEmailPayload> {
        ctx.rate_limit(
            Limited::LogIn,
            ctx.actor()?.user_id().map(|id| id.to_string()).as_deref(),
        )
        .await?;
        let pending_email = accounts::change_email(
            ctx.db()?,
            ctx.auth()?,
            ctx.data::<Outbox>()?,
            ctx.actor()?,
            &input.password,
            &input.new_email,
        )
        .await?;
        Ok(ChangeEmailPayload { pending_email })
    }

    /// Sets a new password after checking the current one. Every other
    /// session of the account ends; this one stays.
    #[graphql(guard = "Person")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> async_graphql::Result<ChangePasswordPayload> {
        ctx.rate_limit(
            Limited::LogIn,
            ctx.actor()?.user_id().map(|id| id.to_string()).as_deref(),
        )
        .await?;
        let ended = accounts::change_password(
            ctx.db()?,
            ctx.auth()?,
            ctx.actor()?,
            &input.current_password,
            &input.new_password,
        )
        .await?;
        Ok(ChangePasswordPayload {
            sessions_ended: i32::try_from(ended).unwrap_or(i32::MAX),
        })
    }

    /// Mails a one-time link to reset the password (valid one hour) when an
    /// account has this address. The answer is the same when none has.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        input: RequestPasswordResetInput,
    ) -> async_graphql::Result<RequestPasswordResetPayload> {
        ctx.rate_limit(Limited::PasswordReset, Some(&input.email))
            .await?;
        accounts::request_password_reset(
            ctx.db()?,
            ctx.data::<Outbox>()?,
            &ctx.meta(),
            &input.email,
        )
        .await?;
        Ok(RequestPasswordResetPayload { accepted: true })
    }

    /// Sets a new password with the token of a reset link and ends every
    /// session of the account. The link also verifies the address it was
    /// mailed to. A used, expired or unknown token is BAD_USER_INPUT
    /// (`field: token`).
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        input: ResetPasswordInput,
    ) -> async_graphql::Result<ResetPasswordPayload> {
        ctx.rate_limit(Limited::PasswordReset, None).await?;
        accounts::reset_password(
            ctx.db()?,
            ctx.auth()?,
            &ctx.meta(),
            &input.token,
            &input.new_password,
        )
        .await?;
        Ok(ResetPasswordPayload {
            password_reset: true,
        })
    }
}
