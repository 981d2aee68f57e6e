//! Builds the application: database, migrations, signing secret, schema,
//! router, listener. `main` and the tests both go through
//! [`Application::build`].
//!
//! Long because building the application is one sequence, read top to
//! bottom (connect, migrate, keys, schema, router, background tasks,
//! shutdown).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware;
use axum::routing::{any, get, post};
use entity::server_setting;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ActiveValue::Set, ConnectOptions, Database, DatabaseConnection, EntityTrait};
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::{AuthConfig, PasswordHasher, Sealer, TokenIssuer, password, secrets};
use crate::config::Config;
use crate::domain::clock::Clock;
use crate::graphql::extensions::{Limits, ParsedDocuments};
use crate::graphql::{SchemaDeps, build_schema};
use crate::http::persisted::PersistedQueries;
use crate::http::{self, AppState};
use crate::mail::Mailer;
use crate::mail::outbox::Outbox;

pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// Opens the database pool. SQLite gets WAL and foreign keys; statement
/// logging stays off (it would log every query at INFO).
///
/// The timeouts keep a database outage from turning into hung requests:
/// a request waits at most `ACQUIRE_TIMEOUT` for a connection (the pool
/// keeps reconnecting meanwhile), then fails with UNAVAILABLE (retryable,
/// `error::is_unavailable`). Connections are
/// pinged when taken from the pool (sqlx's default, stated because it
/// matters), so fewer requests meet a connection a PostgreSQL restart
/// killed; the pool drops one that broke mid-statement either way.
/// SQLite writers queue on the database lock for up to
/// `SQLITE_BUSY_TIMEOUT` (writes begin IMMEDIATE, see
/// `domain::begin_write`); with no busy timeout, 50 concurrent writes
/// fail with "database is locked" (tests/api/reliability.rs).
pub async fn connect(config: &Config) -> Result<DatabaseConnection, StartError> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    connect_pool(config, config.db_max_connections.unwrap_or(cores * 4)).await
}

/// A pool of at most `max_connections` on the configured database.
async fn connect_pool(
    config: &Config,
    max_connections: u32,
) -> Result<DatabaseConnection, StartError> {
    const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
    const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A connection idle for a while may have been cut (a restart, a
        // proxy); one in steady use has not, and a ping before every
        // statement would cost a round trip each.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        .idle_timeout(Duration::from_secs(600))
        .max_lifetime(Duration::from_secs(1800))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sqlx_sqlite_journal::WAL)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
        });
    let db = Database::connect(options).await.map_err(|e| {
        format!(
            "cannot open the database at {}: {e}",
            redact(&config.database_url)
        )
    })?;
    Ok(db)
}

mod sqlx_sqlite_journal {
    pub use sea_orm::sqlx::sqlite::SqliteJournalMode::Wal as WAL;
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), StartError> {
    Migrator::up(db, None)
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    Ok(())
}

/// A key from the settings: 32 bytes or more, or the server does not
/// start. The message names the setting, never the value.
fn configured_key<'a>(setting: &str, value: &'a str) -> Result<&'a [u8], StartError> {
    if value.len() < 32 {
        return Err(format!("{setting} must be at least 32 bytes long").into());
    }
    Ok(value.as_bytes())
}

/// The key of a `…_FALLBACK` setting, checked like the current key.
fn fallback_key<'a>(
    setting: &str,
    value: &'a Option<String>,
) -> Result<Option<&'a [u8]>, StartError> {
    value
        .as_deref()
        .map(|value| configured_key(setting, value))
        .transpose()
}

/// Signs access tokens with `ORGQL_JWT_SECRET`, or with one generated on
/// first start and kept in the database (every instance then shares it),
/// and also accepts tokens signed with `ORGQL_JWT_SECRET_FALLBACK`.
///
/// Unlike the sealing key (see [`sealer`]), a generated secret does not
/// keep working by itself once `ORGQL_JWT_SECRET` is set: whoever reads
/// the database (a backup) could sign access tokens with it for any live
/// session, which setting the secret is meant to end. An operator who
/// wants the switch without a forced refresh makes the generated secret
/// (`server_settings`, key `jwt_secret`) the fallback for a day.
async fn token_issuer(config: &Config, db: &DatabaseConnection) -> Result<TokenIssuer, StartError> {
    let fallback = fallback_key("ORGQL_JWT_SECRET_FALLBACK", &config.jwt_secret_fallback)?;
    let secret = match &config.jwt_secret {
        Some(secret) => configured_key("ORGQL_JWT_SECRET", secret)?.to_vec(),
        None => stored_secret(db, "jwt_secret").await?,
    };
    Ok(TokenIssuer::with_fallbacks(
        &secret,
        fallback,
        &config.public_url,
        config.access_token_ttl_secs,
    ))
}

/// Seals TOTP secrets and OIDC client secrets with
/// `ORGQL_MFA_ENCRYPTION_KEY`, or with one generated on first start and
/// kept in the database, as for the JWT secret; opens what
/// `ORGQL_MFA_ENCRYPTION_KEY_FALLBACK` sealed too. Also what
/// `orgql admin rotate-keys` re-seals with.
///
/// Once the key is set, a key generated earlier joins the fallbacks by
/// itself (it is only read, never created then): it opens only values
/// that lie in the database beside it, so it tells a reader of the
/// database nothing they could not open already, and without it, setting
/// the key in production would strand every authenticator enrolled
/// before. After `orgql admin rotate-keys` nothing is sealed under it.
pub async fn sealer(config: &Config, db: &DatabaseConnection) -> Result<Sealer, StartError> {
    const GENERATED: &str = "mfa_encryption_key";
    let generated = match &config.mfa_encryption_key {
        Some(_) => server_setting::Entity::find_by_id(GENERATED.to_owned())
            .one(db)
            .await?
            .map(|stored| stored.value),
        None => None,
    };
    let fallback = fallback_key(
        "ORGQL_MFA_ENCRYPTION_KEY_FALLBACK",
        &config.mfa_encryption_key_fallback,
    )?;
    let fallbacks = fallback
        .into_iter()
        .chain(generated.as_deref().map(str::as_bytes));
    let key = match &config.mfa_encryption_key {
        Some(key) => configured_key("ORGQL_MFA_ENCRYPTION_KEY", key)?.to_vec(),
        None => stored_secret(db, GENERATED).await?,
    };
    Ok(Sealer::with_fallbacks(&key, fallbacks))
}

/// A secret generated once and kept in `server_settings` under `key`; the
/// first instance to start writes it, every other one reads the same.
async fn stored_secret(db: &DatabaseConnection, key: &'static str) -> Result<Vec<u8>, StartError> {
    server_setting::Entity::insert(server_setting::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(secrets::generate()),
    })
    .on_conflict_do_nothing_on([server_setting::Column::Key])
    .exec(db)
    .await?;
    let stored = server_setting::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .ok_or("a generated secret was not stored")?;
    Ok(stored.value.into_bytes())
}

pub async fn auth_config(
    config: &Config,
    db: &DatabaseConnection,
) -> Result<AuthConfig, StartError> {
    let tokens = token_issuer(config, db).await?;
    let sealer = sealer(config, db).await?;
    // Key ids, never keys: they let an operator rolling a rotation see
    // which key each instance signs and seals with.
    tracing::info!(
        target: "orgql::keys",
        access_token_kid = tokens.current_key_id(),
        access_token_fallbacks = tokens.fallbacks(),
        sealing_kid = sealer.current_key_id(),
        sealing_fallbacks = sealer.fallbacks(),
        "keys in use"
    );
    Ok(AuthConfig {
        passwords: PasswordHasher::new(
            config.insecure_fast_password_hashing,
            config
                .password_hashing_concurrency
                .map_or_else(password::default_concurrency, usize::from),
        ),
        tokens,
        refresh_ttl: chrono::Duration::days(config.refresh_token_ttl_days),
        session_max_age: chrono::Duration::days(config.session_max_age_days),
        verification_ttl: chrono::Duration::hours(config.email_verification_ttl_hours),
        token_environment: config.token_environment.clone(),
        sealer,
    })
}

/// CORS for browser apps on other origins (`ORGQL_CORS_ORIGINS`). With no
/// origins listed, no CORS headers are sent, so browsers keep the API
/// same-origin. A preflight may send the request id and the W3C trace
/// context; the response exposes the request id to scripts.
fn cors(config: &Config) -> CorsLayer {
    let origins = if config.cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            REQUEST_ID,
            HeaderName::from_static("traceparent"),
            HeaderName::from_static("tracestate"),
        ])
        .expose_headers([REQUEST_ID])
        .max_age(Duration::from_secs(config.cors_max_age_secs))
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How much document text the cache of parsed documents holds (issue #26):
/// an app's operations, many times over.
const PARSED_DOCUMENTS_TEXT_BYTES: u64 = 2 * 1024 * 1024;

/// Where SSO may send a browser back to: the configured list, and with the
/// console on, its own page for a connection's test sign-in (on this
/// server, so nothing outside the operator's list is let in).
fn sso_redirect_uris(config: &Config) -> Vec<String> {
    let mut uris = config.sso_redirect_uris.clone();
    if config.console {
        uris.push(http::console::sso_test_return_url(&config.public_url));
    }
    uris
}

/// The router with every layer: request ids, one log line per request,
/// CORS, JSON bodies on every refusal, a body limit and a timeout.
pub fn router(state: AppState, config: &Config) -> Router {
    let mut routes = Router::new()
        .route(
            "/graphql",
            get(http::subscriptions::graphql_get).post(http::graphql::graphql_post),
        )
        .route("/sso/{slug}/start", get(http::sso::start))
        .route("/sso/oidc/callback", get(http::sso::oidc_callback))
        .route("/sso/test", get(http::sso::open_test_link))
        .route(
            "/sso/saml/acs",
            post(http::sso::saml_acs).layer(DefaultBodyLimit::max(
                config
                    .max_body_bytes
                    .max(http::sso::SAML_RESPONSE_MAX_BYTES),
            )),
        )
        .route("/sso/saml/{connection_id}", get(http::sso::saml_metadata))
        .route("/sso/saml/start", get(http::sso::start_of_saml_slug))
        .route("/scim/v2/{directory}", any(http::scim::serve_root))
        .route("/scim/v2/{directory}/{*path}", any(http::scim::serve))
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(http::readyz));
    if config.playground {
        routes = routes.route("/graphql/playground/{*path}", get(http::playground::asset));
    }
    if config.console {
        routes = routes
            .route("/console", get(http::console::serve))
            .route("/console/", get(http::console::serve))
            .route("/console/{*path}", get(http::console::serve));
        for path in http::console::MAILED_LINK_PATHS {
            routes = routes.route(path, get(http::console::mailed_link));
        }
    }
    if config.metrics && config.metrics_listen.is_none() {
        routes = routes.route("/metrics", get(http::metrics::metrics));
    }
    routes
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.request_timeout_secs),
        ))
        .layer(middleware::map_response(http::refusal::json_bodies))
        .layer(cors(config))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// How many SQL statements the server has run since it started (sea-orm's
/// metric hook; transaction control statements are not counted). Tests and
/// benchmarks read it to pin the statements a request costs; tests may also
/// [`StatementCounter::record`] their text, to pin which columns a read
/// selects.
#[derive(Clone, Default)]
pub struct StatementCounter {
    count: Arc<AtomicU64>,
    /// Whether statements are being recorded: checked before taking the
    /// lock, so that a server (never recording) shares no lock.
    recording: Arc<std::sync::atomic::AtomicBool>,
    /// The text of each statement since `record` was called.
    recorded: Arc<std::sync::Mutex<Option<Vec<String>>>>,
}

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Starts keeping the text of every statement from now on, dropping
    /// what an earlier call kept.
    pub fn record(&self) {
        *self.lock_recorded() = Some(Vec::new());
        self.recording.store(true, Ordering::SeqCst);
    }

    /// The statements kept since `record`, which stops keeping them.
    pub fn take_recorded(&self) -> Vec<String> {
        self.recording.store(false, Ordering::SeqCst);
        self.lock_recorded().take().unwrap_or_default()
    }

    fn lock_recorded(&self) -> std::sync::MutexGuard<'_, Option<Vec<String>>> {
        self.recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes `db` (and every clone made after this) count its statements.
    pub fn attach(&self, db: &mut DatabaseConnection) {
        let counter = self.clone();
        db.set_metric_callback(move |info| {
            tracing::trace!(target: "orgql::sql", sql = %info.statement.sql, "statement");
            counter.count.fetch_add(1, Ordering::Relaxed);
            if counter.recording.load(Ordering::Relaxed)
                && let Some(recorded) = counter.lock_recorded().as_mut()
            {
                recorded.push(info.statement.sql.clone());
            }
        });
    }
}

/// Applies audit retention (DESIGN §6): entries past it are deleted at
/// start-up and then once an hour; `orgql audit purge` does the same on
/// demand. A failure is logged and retried at the next run.
async fn purge_audit_log(db: &DatabaseConnection) {
    match crate::domain::audit::purge(db).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(purged = n, "audit entries past retention deleted"),
        Err(e) => tracing::warn!(error = %e, "audit retention purge failed; will retry"),
    }
    // Abandoned SSO sign-ins and unclaimed one-time codes, at the same pace.
    if let Err(e) = crate::domain::sso::sign_in::purge_expired(db).await {
        tracing::warn!(error = %e, "purging expired SSO sign-ins failed; will retry");
    }
    // Shared rate-limit budgets that are whole again (PostgreSQL).
    if let Err(e) = crate::domain::rate_limits::purge_refilled(db).await {
        tracing::warn!(error = %e, "purging refilled rate-limit budgets failed; will retry");
    }
}

/// The session cache, when it is on and can be exact: PostgreSQL, with the
/// triggers that notify session changes (a schema migrated without them,
/// under `--no-migrate`, gets no cache rather than a stale one). Its
/// listener is a background task: it runs on `tasks` until `stop`.
async fn session_cache(
    db: &DatabaseConnection,
    config: &Config,
    tasks: &TaskTracker,
    stop: &CancellationToken,
) -> Option<Arc<crate::domain::sessions::SessionCache>> {
    use sea_orm::{ConnectionTrait, Statement};
    if !config.session_cache || db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return None;
    }
    let notified = db
        .query_one_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT 1 FROM pg_trigger WHERE tgname = 'sessions_changed' AND NOT tgisinternal",
        ))
        .await;
    match notified {
        Ok(Some(_)) => Some(crate::domain::sessions::SessionCache::listening(
            config.database_url.clone(),
            tasks,
            stop.clone(),
        )),
        Ok(None) => {
            tracing::warn!(
                "session cache off: the database lacks the triggers that announce session changes (run the migrations)"
            );
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "session cache off: cannot check for its triggers");
            None
        }
    }
}

/// The hourly runs after the start-up one, until `stop` is cancelled (a
/// purge under way then is finished).
async fn purge_audit_log_hourly(db: DatabaseConnection, stop: CancellationToken) {
    const HOUR: Duration = Duration::from_secs(3600);
    let mut every_hour = tokio::time::interval_at(tokio::time::Instant::now() + HOUR, HOUR);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every_hour.tick() => purge_audit_log(&db).await,
        }
    }
}

/// A bound, ready-to-serve orgql.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// `/metrics` on its own listener (`ORGQL_METRICS_LISTEN`).
    metrics: Option<(TcpListener, Router)>,
    /// Cancelled when shutdown begins.
    closing: CancellationToken,
    db: DatabaseConnection,
    statements: StatementCounter,
    /// The mail sender, the hourly audit purge and the session cache's
    /// listener, started with the application (the purge's first run is at
    /// start-up) and stopped after the last request, or when the
    /// application is dropped unserved.
    background: TaskTracker,
    stop_background: DropGuard,
    /// What the webhook sender schedules by; tests move it.
    clock: Clock,
    /// The requests' password hasher: tests hold its permits.
    passwords: PasswordHasher,
}

impl Application {
    /// Connects, migrates (unless `--no-migrate`), builds the schema and
    /// binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let mut db = connect(&config).await?;
        if !config.no_migrate {
            migrate(&db).await?;
        }
        let auth = auth_config(&config, &db).await?;
        // Background work gets a handle made before the counter is attached:
        // the counter measures what requests cost.
        let background = db.clone();
        let statements = StatementCounter::default();
        statements.attach(&mut db);
        let outbox = Outbox::new(&config.public_url);
        // The webhook sender's: it mails owners and opens endpoint secrets.
        let (sender_outbox, sender_sealer) = (outbox.clone(), auth.sealer.clone());
        let mailer = Mailer::new(
            background.clone(),
            outbox.clone(),
            config.smtp_url.as_deref(),
            &config.mail_dir(),
            &config.mail_from,
        )?;
        tracing::info!(target: "orgql::mail", "outgoing mail goes to {}", mailer.destination());
        // The background tasks' stop, cancelled also if building fails
        // after the first of them started.
        let stop_background = CancellationToken::new();
        let stop_guard = stop_background.clone().drop_guard();
        let tasks = TaskTracker::new();
        // One per server: the GraphQL operations and the browser endpoints
        // share one IdP client and one discovery cache.
        let sso = std::sync::Arc::new(crate::domain::sso::SsoSettings::new(
            &config.public_url,
            sso_redirect_uris(&config),
            config.sso_allow_http_issuers,
        ));
        let schema = build_schema(SchemaDeps {
            db: db.clone(),
            outbox,
            auth: auth.clone(),
            config: config.clone(),
            sso: sso.clone(),
        });
        let metrics = Arc::new(http::metrics::Metrics::new(
            config.trusted_documents.is_some(),
        ));
        let persisted = match &config.trusted_documents {
            Some(manifest) => PersistedQueries::trusted(manifest)?,
            None if config.persisted_queries => PersistedQueries::automatic(
                config.persisted_queries_cache_bytes,
                metrics.persisted_query_evictions(),
            ),
            None => PersistedQueries::Off,
        };
        let webhook_outcomes = metrics.webhook_deliveries();
        // One event bus per server: its listener on PostgreSQL, the write
        // path's notices on SQLite.
        let bus = if db.get_database_backend() == sea_orm::DbBackend::Postgres {
            crate::domain::events::bus::EventBus::listening(
                config.database_url.clone(),
                &tasks,
                stop_background.clone(),
            )
        } else {
            crate::domain::events::bus::EventBus::in_process()
        };
        // Tells clients to close their connections once shutdown begins
        // (`http::drain`), WebSockets included.
        let closing = CancellationToken::new();
        let passwords = auth.passwords.clone();
        let state = AppState {
            schema,
            db: db.clone(),
            auth: Arc::new(auth),
            graphql: Arc::new(http::graphql::Settings {
                max_batch: config.max_batch,
                limits: Limits {
                    depth: config.max_depth,
                    aliases: config.max_aliases,
                    directives: config.max_directives,
                },
                get_queries: config.get_queries,
                playground: config.playground,
                parsed: ParsedDocuments::new(PARSED_DOCUMENTS_TEXT_BYTES),
            }),
            persisted: Arc::new(persisted),
            metrics,
            trusted_proxies: Arc::new(config.trusted_proxies.clone()),
            sessions: session_cache(&db, &config, &tasks, &stop_background).await,
            sso,
            scim: Arc::new(http::scim::Settings::new(config.scim_requests_per_minute)),
            subscriptions: Arc::new(http::subscriptions::Subscriptions::new(
                // Streams read through a pool of their own, so that many
                // subscribers cannot make requests wait for a connection.
                connect_pool(&config, config.subscription_db_connections).await?,
                bus,
                config.sockets_per_user as usize,
                config.subscriptions_per_socket as usize,
                Duration::from_secs(config.subscription_recheck_secs),
            )),
            closing: closing.clone(),
        };
        // `/metrics` on an address of its own, when one is set.
        let metrics = match config.metrics_listen.filter(|_| config.metrics) {
            Some(address) => {
                let listener = TcpListener::bind(address)
                    .await
                    .map_err(|e| format!("cannot listen on {address} for /metrics: {e}"))?;
                let routes = Router::new()
                    .route("/metrics", get(http::metrics::metrics))
                    .with_state(state.clone());
                Some((listener, routes))
            }
            None => None,
        };
        let router = router(state, &config).layer(middleware::from_fn_with_state(
            closing.clone(),
            http::drain::close_after_response,
        ));
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        purge_audit_log(&background).await;
        let clock = Clock::default();
        let webhook_sender = crate::domain::webhooks::sender::Sender {
            db: background.clone(),
            sealer: sender_sealer,
            clock: clock.clone(),
            targets: config.webhook_targets(),
            timeout: Duration::from_secs(config.webhook_timeout_secs),
            outbox: sender_outbox,
            outcomes: webhook_outcomes,
        };
        tasks.spawn(mailer.run(stop_background.clone()));
        // Now rather than at the first log-in for an unknown address, which
        // would spend two hashes and so tell itself apart.
        let dummy = passwords.clone();
        tasks.spawn(async move {
            if let Err(e) = dummy.make_dummy_hash().await {
                tracing::error!(error = ?e, "the dummy password hash could not be made");
            }
        });
        tasks.spawn(webhook_sender.run(stop_background.clone()));
        tasks.spawn(purge_audit_log_hourly(background, stop_background.clone()));
        tasks.close();
        Ok(Self {
            listener,
            router,
            metrics,
            closing,
            db,
            statements,
            background: tasks,
            stop_background: stop_guard,
            clock,
            passwords,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `/metrics` is served apart, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn statements(&self) -> StatementCounter {
        self.statements.clone()
    }

    /// The clock background work schedules by (webhook retries, the day
    /// after which a failing endpoint is disabled): tests move it forward,
    /// then call `domain::webhooks::wake_senders`.
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// The password hasher requests use (the same permits): tests hold its
    /// permits to show that a flood of log-ins stalls nothing else.
    pub fn passwords(&self) -> PasswordHasher {
        self.passwords.clone()
    }

    /// Serves until `shutdown` completes: then stops accepting, answers
    /// every connection already accepted and the requests in flight (each
    /// bounded by the request timeout; see `http::drain`), and stops the
    /// background tasks, letting an email being sent finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        if let Some((listener, routes)) = self.metrics {
            let closing = self.closing.clone();
            tokio::spawn(async move {
                let served = axum::serve(listener, routes)
                    .with_graceful_shutdown(closing.cancelled_owned())
                    .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            });
        }
        let served = http::drain::serve(self.listener, self.router, self.closing, shutdown).await;
        drop(self.stop_background);
        self.background.wait().await;
        served
    }
}
