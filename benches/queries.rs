//! In-process runs of the representative queries on seeded data: the
//! viewer's organizations; organization → 100 members → user and teams;
//! organization → teams → members → user. SQLite by default; PostgreSQL
//! when ORGQL_BENCH_DATABASE_URL is set (the database is emptied first).
//! Prints the statements each query costs, then criterion's timings.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use orgql::app::{self, StatementCounter};
use orgql::auth::AuthConfig;
use orgql::cli::seed;
use orgql::domain::accounts;
use orgql::domain::authz::RequestMeta;
use orgql::graphql::{AppSchema, SchemaDeps, build_schema, loaders::Loaders};
use orgql::{Config, domain::authz::Actor};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;

const ORGANIZATIONS: usize = 100;
const MEMBERS: usize = 100;

struct Bench {
    schema: AppSchema,
    db: DatabaseConnection,
    actor: Actor,
    statements: StatementCounter,
    _dir: Option<tempfile::TempDir>,
}

async fn setup() -> Bench {
    let (url, dir) = match std::env::var("ORGQL_BENCH_DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let dir = tempfile::tempdir().unwrap();
            (
                format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
                Some(dir),
            )
        }
    };
    let mut config = Config::defaults(&url);
    config.jwt_secret = Some("a benchmark secret that is long enough".into());
    let mut db = app::connect(&config).await.unwrap();
    if dir.is_none() {
        db.execute_unprepared("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            .await
            .unwrap();
    }
    app::migrate(&db).await.unwrap();
    seed::seed(&db, seed::SeedSize::new(ORGANIZATIONS, MEMBERS), |_| {})
        .await
        .unwrap();

    let auth: AuthConfig = app::auth_config(&config, &db).await.unwrap();
    let statements = StatementCounter::default();
    statements.attach(&mut db);
    let outbox = orgql::mail::Outbox::new(&config.public_url);
    let guard = accounts::LogInGuard {
        outbox: &outbox,
        lockout: accounts::lockout::LockoutPolicy {
            threshold: 10,
            duration: chrono::Duration::minutes(15),
        },
    };
    let issued = accounts::log_in(
        &db,
        &auth,
        guard,
        &RequestMeta::default(),
        seed::DEMO_EMAIL,
        seed::DEMO_PASSWORD,
    )
    .await
    .unwrap();
    // The demo account has no MFA, so a password earns a session.
    let accounts::LogIn::Session(issued) = issued else {
        panic!("the demo account signs in without MFA");
    };
    let claims = auth.tokens.verify(&issued.access_token).unwrap();
    let actor =
        orgql::domain::sessions::authenticate(&db, &auth, &claims, RequestMeta::default(), None)
            .await
            .unwrap();
    let outbox = orgql::mail::outbox::Outbox::new(&config.public_url);
    let schema = build_schema(SchemaDeps {
        outbox,
        db: db.clone(),
        auth,
        sso: std::sync::Arc::new(orgql::domain::sso::SsoSettings::new(
            &config.public_url,
            config.sso_redirect_uris.clone(),
            config.sso_allow_http_issuers,
        )),
        config,
    });
    Bench {
        schema,
        db,
        actor,
        statements,
        _dir: dir,
    }
}

const QUERIES: &[(&str, &str)] = &[
    (
        "viewer organizations",
        "{ organizations(first: 50) { totalCount edges { node { id name slug viewerMembership { role } } } } }",
    ),
    (
        "organization -> 100 members -> user, teams",
        "query($slug: String!) { organization(slug: $slug) { name members(first: 100) { totalCount edges { node { role user { name email } teams { name } } } } } }",
    ),
    (
        "organization -> teams -> members -> user",
        "query($slug: String!) { organization(slug: $slug) { teams(first: 10) { edges { node { name membersCount members(first: 20) { edges { node { role member { user { name } } } } } } } } } }",
    ),
];

impl Bench {
    async fn run(&self, query: &str, slug: &str) {
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(json!({ "slug": slug })));
        let request = Loaders::for_request(&self.db, self.actor.user_id())
            .attach(request)
            .data(self.actor.clone())
            .data(RequestMeta::default());
        let response = self.schema.execute(request).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
    }
}

fn queries(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bench = runtime.block_on(setup());
    let backend = format!("{:?}", bench.db.get_database_backend());
    for (name, query) in QUERIES {
        let before = bench.statements.get();
        runtime.block_on(bench.run(query, "demo-0001"));
        println!(
            "{backend} | {name}: {} SQL statements per query",
            bench.statements.get() - before
        );
    }
    let mut group = c.benchmark_group(backend);
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(50);
    for (name, query) in QUERIES {
        let mut n = 0usize;
        group.bench_function(*name, |b| {
            b.to_async(&runtime).iter(|| {
                n += 1;
                let slug = format!("demo-{:04}", n % ORGANIZATIONS + 1);
                let bench = &bench;
                async move { bench.run(query, &slug).await }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, queries);
criterion_main!(benches);
