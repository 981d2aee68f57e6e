use sea_orm::entity::prelude::*;

/// A single sign-on in flight: what the callback checks the IdP's answer
/// against. Used once, and for ten minutes at most.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_login_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// SHA-256 of the `state` parameter.
    pub state_hash: String,
    pub connection_id: Uuid,
    pub nonce: String,
    /// The PKCE code verifier (RFC 7636), sent only to the IdP's token
    /// endpoint.
    pub pkce_verifier: String,
    /// SAML: the AuthnRequest's `ID`, which the Response must name in
    /// `InResponseTo`. (For SAML `nonce` and `pkce_verifier` are empty.)
    pub saml_request_id: Option<String>,
    /// The app's address to return to, from the allowlist.
    pub redirect_uri: String,
    /// A test sign-in by an administrator (`testSsoConnection`): it proves
    /// the connection and signs nobody in.
    pub test: bool,
    /// SHA-256 of the `__Host-orgql_sso` cookie the start set in the
    /// browser that began this sign-in: the answer counts only from that
    /// browser (login CSRF). None for a test sign-in until a browser
    /// opens its link.
    pub browser_binding_hash: Option<String>,
    /// A test sign-in not yet opened in a browser: SHA-256 of the ticket
    /// in the link `testSsoConnection` answered. None once used.
    pub test_ticket_hash: Option<String>,
    /// A test sign-in: the IdP URL its link sends the browser to.
    pub idp_url: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
