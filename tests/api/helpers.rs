//! `spawn_app()` and the factories the scenarios share.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use entity::{member, values::Role};
use orgql::app::StatementCounter;
use orgql::domain::ids::{self, IdKind};
use orgql::{Application, Config};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use uuid::Uuid;

/// A running server on its own database.
pub struct TestApp {
    pub base: String,
    pub db: DatabaseConnection,
    pub statements: StatementCounter,
    pub client: reqwest::Client,
    /// Where mail goes when the test sets no SMTP server.
    pub mail_dir: tempfile::TempDir,
    /// The database's URL, for a second instance on it.
    pub database_url: String,
    /// The clock the server's background work schedules by.
    pub clock: orgql::domain::clock::Clock,
    /// The server's password hasher: its permits are the requests'.
    pub passwords: orgql::auth::PasswordHasher,
    _database: TestDatabase,
}

/// The database of one test: a temporary SQLite file, or a PostgreSQL
/// database created for the test and dropped after it.
enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Another instance's: dropped with it.
    Shared,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Dropping runs outside the test's runtime, on a thread of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    if let Ok(db) = Database::connect(admin_url.as_str()).await {
                        let _ = db
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
                Ok::<_, std::io::Error>(())
            })
            .join();
        }
    }
}

async fn test_database() -> (String, TestDatabase) {
    match std::env::var("ORGQL_TEST_DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            let name = format!("orgql_test_{}", Uuid::now_v7().simple());
            let admin = Database::connect(admin_url.as_str())
                .await
                .expect("ORGQL_TEST_DATABASE_URL must reach a PostgreSQL server");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create the test database");
            admin.close().await.ok();
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base);
            let url = format!("{base}/{name}");
            (url, TestDatabase::Postgres { admin_url, name })
        }
        _ => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let url = format!("sqlite://{}/orgql.db?mode=rwc", dir.path().display());
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt().with_env_filter("info").try_init();
    }
    let (url, database) = test_database().await;
    start(url, database, configure).await
}

impl TestApp {
    /// A second server on this one's database, with the default test
    /// settings: what another instance behind a load balancer sees.
    pub async fn another_instance(&self) -> TestApp {
        start(self.database_url.clone(), TestDatabase::Shared, |_| {}).await
    }

    /// Like [`TestApp::another_instance`], with settings of its own.
    pub async fn another_instance_with(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        start(self.database_url.clone(), TestDatabase::Shared, configure).await
    }
}

async fn start(
    url: String,
    database: TestDatabase,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config::defaults(&url);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.insecure_fast_password_hashing = true;
    config.jwt_secret = Some("a test secret that is long enough to sign".into());
    config.db_max_connections = Some(8);
    let mail_dir = tempfile::tempdir().expect("a temporary directory");
    config.mail_dir = Some(mail_dir.path().to_owned());
    // Scenarios sign many people up and in from one address; the limits
    // have tests of their own, which lower these.
    config.rate_limit_per_ip = 10_000;
    config.rate_limit_per_account = 10_000;
    configure(&mut config);
    let app = Application::build(config).await.expect("the app starts");
    let base = format!("http://{}", app.local_addr());
    let db = app.db().clone();
    let statements = app.statements();
    let clock = app.clock();
    let passwords = app.passwords();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        base,
        db,
        statements,
        client: reqwest::Client::new(),
        mail_dir,
        database_url: url,
        clock,
        passwords,
        _database: database,
    }
}

/// A signed-up user and their tokens.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub uuid: Uuid,
    pub email: String,
    pub token: String,
    pub refresh_token: String,
}

/// An organization created through the API.
#[derive(Clone, Debug)]
pub struct TestOrg {
    pub id: String,
    pub uuid: Uuid,
    pub slug: String,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

impl TestApp {
    pub fn url(&self) -> String {
        format!("{}/graphql", self.base)
    }

    /// POSTs one operation; returns the JSON response.
    pub async fn graphql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let mut request = self
            .client
            .post(self.url())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("a JSON body")
    }

    /// POSTs one operation with extra headers.
    pub async fn graphql_with(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Value {
        let mut request = self
            .client
            .post(self.url())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
            .send()
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("a JSON body")
    }

    /// Runs one operation and counts the SQL statements the server ran for
    /// it (authentication and guards included).
    pub async fn graphql_counted(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> (Value, u64) {
        let before = self.statements.get();
        let response = self.graphql(query, variables, token).await;
        (response, self.statements.get() - before)
    }

    /// Runs one operation and returns the text of the SQL statements the
    /// server ran for it.
    pub async fn graphql_recorded(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> (Value, Vec<String>) {
        self.statements.record();
        let response = self.graphql(query, variables, token).await;
        (response, self.statements.take_recorded())
    }

    /// Adds `n` members (with users) to an organization directly in the
    /// database, for tests that need many. Returns their member ids.
    pub async fn bulk_members(&self, org: &TestOrg, n: usize) -> Vec<Uuid> {
        use sea_orm::EntityTrait;
        let now = Utc::now();
        let mut users = Vec::new();
        let mut members = Vec::new();
        for _ in 0..n {
            let user_id = Uuid::now_v7();
            users.push(entity::user::ActiveModel {
                id: Set(user_id),
                email: Set(format!("{}@bulk.example.com", unique("bulk"))),
                name: Set(unique("Bulk ")),
                password_hash: Set("not-a-hash".into()),
                is_platform_admin: Set(false),
                last_organization_id: Set(None),
                mfa_enabled: Set(false),
                email_verified_at: Set(Some(now)),
                is_guest: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
            });
            members.push(member::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(org.uuid),
                user_id: Set(user_id),
                role: Set(Role::Member),
                joined_at: Set(now),
                sessions_revoked_before: Set(None),
            });
        }
        let ids = members.iter().map(|m| *m.id.as_ref()).collect();
        entity::user::Entity::insert_many(users)
            .exec(&self.db)
            .await
            .unwrap();
        entity::member::Entity::insert_many(members)
            .exec(&self.db)
            .await
            .unwrap();
        ids
    }

    /// Puts members into a team directly in the database.
    pub async fn bulk_team_members(&self, team: Uuid, members: &[Uuid]) {
        use sea_orm::EntityTrait;
        let rows = members.iter().map(|m| entity::team_member::ActiveModel {
            id: Set(Uuid::now_v7()),
            team_id: Set(team),
            member_id: Set(*m),
            role: Set(entity::values::TeamRole::Member),
            added_at: Set(Utc::now()),
        });
        entity::team_member::Entity::insert_many(rows)
            .exec(&self.db)
            .await
            .unwrap();
    }

    /// Creates a team through the API; returns its id.
    pub async fn create_team(
        &self,
        actor: &TestUser,
        org: &TestOrg,
        name: &str,
        parent: Option<&str>,
    ) -> String {
        let response = self
            .graphql(
                "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }",
                json!({ "input": { "organizationId": org.id, "name": name, "parentTeamId": parent } }),
                Some(&actor.token),
            )
            .await;
        response["data"]["createTeam"]["team"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("createTeam failed: {response}"))
            .to_owned()
    }

    /// Sets an organization's tier directly in the database.
    pub async fn set_tier(&self, org: &TestOrg, tier: entity::values::Tier) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        entity::organization::Entity::update_many()
            .col_expr(entity::organization::Column::Tier, Expr::value(tier))
            .filter(entity::organization::Column::Id.eq(org.uuid))
            .exec(&self.db)
            .await
            .unwrap();
    }

    /// Signs someone up and marks their address verified directly in the
    /// database, as if they had used the mailed link: most scenarios are
    /// about people whose address is proven (verification is its own
    /// feature, tested in `verification.rs`).
    pub async fn sign_up(&self, name: &str) -> TestUser {
        let user = self.sign_up_unverified(name).await;
        self.mark_verified(&user).await;
        user
    }

    /// Signs someone up with a fresh address, leaving it unverified.
    pub async fn sign_up_unverified(&self, name: &str) -> TestUser {
        let email = format!("{}@example.com", unique(&name.to_lowercase()));
        self.sign_up_as(&email, name).await
    }

    /// Signs up with `email` and signs in, leaving the address unverified.
    /// `signUp` signs nobody in and `logIn` refuses an unproven address, so
    /// the address is proven for the log-in and then forgotten: the account
    /// reads as one signed in before that rule. Scenarios use it to show an
    /// unproven address counts for nothing that trusts one.
    pub async fn sign_up_as(&self, email: &str, name: &str) -> TestUser {
        let response = self
            .graphql(
                "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken refreshToken user { id email } } }",
                json!({ "input": { "email": email, "password": PASSWORD, "name": name } }),
                None,
            )
            .await;
        let payload = &response["data"]["signUp"];
        assert!(payload.is_object(), "sign-up failed: {response}");
        assert!(
            payload["accessToken"].is_null(),
            "signUp signs no one in: {response}"
        );
        let id = payload["user"]["id"].as_str().unwrap().to_owned();
        let uuid = ids::parse_uuid::<orgql::domain::ids::UserId>(&id, "id").unwrap();
        self.set_verified(uuid, Some(Utc::now())).await;
        let signed_in = self
            .graphql(
                "mutation($email: String!, $password: String!) { logIn(input: { email: $email, password: $password }) { accessToken refreshToken } }",
                json!({ "email": email, "password": PASSWORD }),
                None,
            )
            .await;
        let tokens = &signed_in["data"]["logIn"];
        assert!(
            tokens["accessToken"].is_string(),
            "log-in after sign-up failed: {signed_in}"
        );
        self.set_verified(uuid, None).await;
        TestUser {
            uuid,
            id,
            email: payload["user"]["email"].as_str().unwrap().to_owned(),
            token: tokens["accessToken"].as_str().unwrap().to_owned(),
            refresh_token: tokens["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// Marks the user's address verified in the database.
    pub async fn mark_verified(&self, user: &TestUser) {
        self.set_verified(user.uuid, Some(Utc::now())).await;
    }

    /// Sets when the user's address was proven (none: not proven).
    async fn set_verified(&self, user: Uuid, at: Option<chrono::DateTime<Utc>>) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        entity::user::Entity::update_many()
            .col_expr(entity::user::Column::EmailVerifiedAt, Expr::value(at))
            .filter(entity::user::Column::Id.eq(user))
            .exec(&self.db)
            .await
            .expect("set when the address was verified");
    }

    /// The emails written to the mail directory for `to` whose subject
    /// contains `subject`, oldest first, decoded from quoted-printable;
    /// waits (up to 10 s) until there are at least `at_least`.
    pub async fn emails(&self, to: &str, subject: &str, at_least: usize) -> Vec<String> {
        let mut found = Vec::new();
        for _ in 0..100 {
            found = read_mail(self.mail_dir.path(), to, subject);
            if found.len() >= at_least {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "expected {at_least} email(s) to {to} about {subject:?}, found {}: {found:?}",
            found.len()
        );
    }

    /// The token of the one-time link in the newest email to `to` about
    /// `subject`, once there are at least `at_least` such emails.
    pub async fn link_token(&self, to: &str, subject: &str, at_least: usize) -> String {
        let emails = self.emails(to, subject, at_least).await;
        token_in(emails.last().unwrap())
    }

    pub async fn create_org(&self, owner: &TestUser, name: &str) -> TestOrg {
        let response = self
            .graphql(
                "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id slug } } }",
                json!({ "input": { "name": name } }),
                Some(&owner.token),
            )
            .await;
        let org = &response["data"]["createOrganization"]["organization"];
        assert!(org.is_object(), "createOrganization failed: {response}");
        let id = org["id"].as_str().unwrap().to_owned();
        TestOrg {
            uuid: ids::parse_uuid::<orgql::domain::ids::OrganizationId>(&id, "id").unwrap(),
            id,
            slug: org["slug"].as_str().unwrap().to_owned(),
        }
    }

    /// Signs someone up and makes them a member of `org` with `role`,
    /// directly in the database (invitations are their own feature).
    /// Returns the user and their member id.
    pub async fn member_of(&self, org: &TestOrg, role: Role, name: &str) -> (TestUser, String) {
        let user = self.sign_up(name).await;
        let member = member::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org.uuid),
            user_id: Set(user.uuid),
            role: Set(role),
            joined_at: Set(Utc::now()),
            sessions_revoked_before: Set(None),
        }
        .insert(&self.db)
        .await
        .expect("insert a member");
        (user, ids::encode(IdKind::Member, member.id))
    }

    /// The member id of `user` in `org`.
    pub async fn member_id(&self, org: &TestOrg, user: &TestUser) -> String {
        let response = self
            .graphql(
                "query($id: ID!) { organization(id: $id) { viewerMembership { id } } }",
                json!({ "id": org.id }),
                Some(&user.token),
            )
            .await;
        response["data"]["organization"]["viewerMembership"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no membership: {response}"))
            .to_owned()
    }

    /// How many audit entries exist in all.
    pub async fn audit_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        entity::audit_entry::Entity::find()
            .count(&self.db)
            .await
            .unwrap()
    }

    /// The newest audit entry.
    pub async fn last_audit(&self) -> entity::audit_entry::Model {
        use sea_orm::{EntityTrait, QueryOrder};
        entity::audit_entry::Entity::find()
            .order_by_desc(entity::audit_entry::Column::Id)
            .one(&self.db)
            .await
            .unwrap()
            .expect("an audit entry")
    }
}

/// The password test accounts use: long and unguessable enough for the
/// password policy.
pub const PASSWORD: &str = "violet tractor umbrella 42";

/// The decoded `.eml` files in `dir` addressed to `to` with `subject` in
/// their subject, oldest first.
fn read_mail(dir: &std::path::Path, to: &str, subject: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut mail: Vec<(std::time::SystemTime, String)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| {
            let modified = e.metadata().ok()?.modified().ok()?;
            let raw = std::fs::read_to_string(e.path()).ok()?;
            // Quoted-printable (RFC 2045): undo soft breaks and "=3D".
            let text = raw
                .replace("\r\n", "\n")
                .replace("=\n", "")
                .replace("=3D", "=");
            let addressed = text
                .lines()
                .any(|l| l.eq_ignore_ascii_case(&format!("To: {to}")));
            let about = text
                .lines()
                .any(|l| l.starts_with("Subject: ") && l.contains(subject));
            (addressed && about).then_some((modified, text))
        })
        .collect();
    mail.sort_by_key(|(modified, _)| *modified);
    mail.into_iter().map(|(_, text)| text).collect()
}

/// The value of the `token=` parameter of the link in an email.
pub fn token_in(email: &str) -> String {
    let start = email.find("token=").expect("a link with a token") + "token=".len();
    email[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// Asserts the response failed with `code`.
#[track_caller]
pub fn assert_error(response: &Value, code: &str) {
    assert_eq!(
        error_code(response),
        Some(code),
        "expected {code}: {response}"
    );
}

/// Asserts the response has no errors.
#[track_caller]
pub fn assert_ok(response: &Value) {
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response}"
    );
}

/// TOTP (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits) written out here,
/// apart from the server's own, so that tests check the server against an
/// independent computation from the secret it handed out.
pub mod totp {
    use hmac::{Hmac, Mac};
    use sha1::Sha1;

    /// HOTP(K, C) with `digits` digits (RFC 4226 §5.3).
    pub fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(key).unwrap();
        mac.update(&counter.to_be_bytes());
        let h = mac.finalize().into_bytes();
        let o = (h[19] & 0x0f) as usize;
        let bin = (u32::from(h[o]) & 0x7f) << 24
            | u32::from(h[o + 1]) << 16
            | u32::from(h[o + 2]) << 8
            | u32::from(h[o + 3]);
        format!("{:0w$}", bin % 10u32.pow(digits), w = digits as usize)
    }

    /// The current 30-second step.
    pub fn current_step() -> i64 {
        chrono::Utc::now().timestamp() / 30
    }

    /// A base32 secret (RFC 4648, no padding) as the server hands it out.
    pub fn decode(secret: &str) -> Vec<u8> {
        data_encoding::BASE32_NOPAD
            .decode(secret.as_bytes())
            .expect("a base32 secret")
    }

    /// One person's authenticator app: it hands out codes of steps it has
    /// not used yet, within the one step of skew the server allows.
    pub struct Authenticator {
        pub key: Vec<u8>,
        last_step: i64,
    }

    impl Authenticator {
        pub fn new(secret: &str) -> Self {
            Self {
                key: decode(secret),
                last_step: i64::MIN,
            }
        }

        /// A code no one has used yet: this step's, then the next one's
        /// (never the previous step's, which could expire in flight).
        pub fn fresh_code(&mut self) -> String {
            let now = current_step();
            let step = now.max(self.last_step + 1);
            assert!(step <= now + 1, "no unused code left in this window");
            self.last_step = step;
            hotp(&self.key, step as u64, 6)
        }

        /// The last code handed out, again.
        pub fn last_code(&self) -> String {
            hotp(&self.key, self.last_step as u64, 6)
        }
    }
}
