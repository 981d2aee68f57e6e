//! The `orgql` command: serve (the default), migrate, schema, seed, admin.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use orgql::cli::seed;
use orgql::config::{Config, LogFormat};
use orgql::domain::{accounts, ids, key_rotation};
use orgql::{Application, app, graphql};
use tracing_subscriber::EnvFilter;

/// mimalloc: a GraphQL response allocates many small objects, and glibc's
/// allocator showed up as a fifth of the server's CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "orgql",
    version,
    about = "A GraphQL API server for multi-tenant organization management"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default): POST /graphql, the playground at GET
    /// /graphql, /metrics, /healthz and /readyz.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
    /// Fill the database with demo organizations, users and memberships.
    Seed {
        /// How many organizations.
        #[arg(long, default_value_t = 3)]
        orgs: usize,
        /// Members per organization, the demo owner included.
        #[arg(long, default_value_t = 5)]
        members: usize,
        /// Teams per organization; every member is in one of them.
        #[arg(long, default_value_t = 5)]
        teams: usize,
        /// Audit entries per organization, each with its event, over the
        /// last 30 days.
        #[arg(long, default_value_t = 0)]
        audit_entries: usize,
        /// Further organizations with the demo owner alone.
        #[arg(long, default_value_t = 0)]
        owner_only_orgs: usize,
        /// An enterprise's size, in place of the options above: one
        /// organization of 100,000 members in 2,000 teams with 1,000,000
        /// audit entries, and its owner in 5,000 organizations.
        #[arg(long, conflicts_with_all = ["orgs", "members", "teams", "audit_entries", "owner_only_orgs"])]
        enterprise: bool,
    },
    /// Platform administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Delete entries past their organization's retention now (the server
    /// also does it hourly).
    Purge,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Make the account with this email a platform administrator.
    Grant {
        /// The account's email.
        email: String,
    },
    /// Re-seal every TOTP secret and OIDC client secret under
    /// ORGQL_MFA_ENCRYPTION_KEY, so that the old key can leave
    /// ORGQL_MFA_ENCRYPTION_KEY_FALLBACK. Run it once every instance seals
    /// with the new key; safe while they serve, and again at any time.
    RotateKeys {
        /// Rows re-sealed per transaction.
        #[arg(long, default_value_t = key_rotation::DEFAULT_BATCH, value_parser = clap::value_parser!(u64).range(1..))]
        batch_size: u64,
    },
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    // Colour codes only for a person at a terminal, never into a file or a
    // log shipper.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn run(cli: Cli) -> Result<(), app::StartError> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let application = Application::build(config.clone()).await?;
            tracing::info!(
                "orgql listening on http://{}/graphql (database {})",
                application.local_addr(),
                app::redact(&config.database_url)
            );
            if let Some(address) = application.metrics_addr() {
                tracing::info!("metrics on http://{address}/metrics only");
            }
            application.run_until_stopped(shutdown_signal()).await?;
            tracing::info!("stopped: requests and background work finished");
        }
        Command::Migrate => {
            let db = app::connect(&config).await?;
            app::migrate(&db).await?;
            println!(
                "migrations applied to {}",
                app::redact(&config.database_url)
            );
        }
        Command::Schema => print!("{}", graphql::sdl()),
        Command::Seed {
            orgs,
            members,
            teams,
            audit_entries,
            owner_only_orgs,
            enterprise,
        } => {
            let size = if enterprise {
                seed::SeedSize::ENTERPRISE
            } else {
                seed::SeedSize {
                    organizations: orgs,
                    members,
                    teams,
                    audit_entries,
                    owner_only_organizations: owner_only_orgs,
                }
            };
            if size.members == 0 || size.teams == 0 {
                return Err(
                    "--members counts the demo owner and --teams holds every member, so each must be at least 1"
                        .into(),
                );
            }
            let db = app::connect(&config).await?;
            if !config.no_migrate {
                app::migrate(&db).await?;
            }
            let bar = ProgressBar::new((size.organizations + size.owner_only_organizations) as u64)
                .with_style(
                    ProgressStyle::with_template("{bar:40} {pos}/{len} organizations ({elapsed})")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
            seed::seed(&db, size, |done| bar.set_position(done as u64))
                .await
                .map_err(|e| format!("seeding failed: {e}"))?;
            bar.finish();
            println!(
                "seeded {} organizations with {} members each{}.\n\
                 Sign in in the playground with:\n\n  mutation {{ logIn(input: {{ email: \"{}\", password: \"{}\" }}) {{ accessToken }} }}\n\n\
                 then send the token as the header  Authorization: Bearer <accessToken>",
                size.organizations,
                size.members,
                if size.owner_only_organizations > 0 {
                    format!(
                        ", and {} with the demo owner alone",
                        size.owner_only_organizations
                    )
                } else {
                    String::new()
                },
                seed::DEMO_EMAIL,
                seed::DEMO_PASSWORD
            );
        }
        Command::Audit {
            command: AuditCommand::Purge,
        } => {
            let db = app::connect(&config).await?;
            let spinner =
                ProgressBar::new_spinner().with_message("purging audit entries past retention");
            spinner.enable_steady_tick(std::time::Duration::from_millis(120));
            let purged = orgql::domain::audit::purge(&db)
                .await
                .map_err(|e| format!("purge failed: {e}"))?;
            spinner.finish_and_clear();
            println!("deleted {purged} audit entries past retention");
        }
        Command::Admin {
            command: AdminCommand::Grant { email },
        } => {
            let db = app::connect(&config).await?;
            let user = accounts::grant_platform_admin(&db, &email)
                .await
                .map_err(|e| match e {
                    orgql::error::AppError::NotFound => {
                        format!("no account with the email {email}: sign up first, then grant")
                            .into()
                    }
                    other => app::StartError::from(other.to_string()),
                })?;
            println!("{} is now a platform administrator", user.email);
        }
        Command::Admin {
            command: AdminCommand::RotateKeys { batch_size },
        } => rotate_keys(&config, batch_size).await?,
    }
    Ok(())
}

/// `orgql admin rotate-keys`: re-seals under the current key with a
/// progress bar, prints a summary, and fails, saying what to do, when some
/// value opens with no configured key.
async fn rotate_keys(config: &Config, batch_size: u64) -> Result<(), app::StartError> {
    let db = app::connect(config).await?;
    let sealer = app::sealer(config, &db).await?;
    let pending = key_rotation::pending(&db, &sealer)
        .await
        .map_err(|e| format!("reading the sealed secrets failed: {e}"))?;
    println!(
        "current sealing key: id {}; secrets sealed under other keys: {pending}",
        sealer.current_key_id()
    );
    let bar = ProgressBar::new(pending).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} secrets ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let done = key_rotation::reseal_all(&db, &sealer, batch_size, |rows| bar.inc(rows))
        .await
        .map_err(|e| format!("re-sealing failed (what was done stays done; run it again): {e}"))?;
    bar.finish_and_clear();
    for (what, tally) in [
        ("TOTP secrets", &done.totp_secrets),
        ("OIDC client secrets", &done.oidc_client_secrets),
        ("webhook secrets", &done.webhook_secrets),
    ] {
        println!(
            "{what}: {} re-sealed, {} replaced meanwhile (left as they are), {} that no key opens",
            tally.resealed,
            tally.replaced_meanwhile,
            tally.unopened.len()
        );
    }
    if !done.complete() {
        let owners = |kind, tally: &key_rotation::Tally| {
            tally
                .unopened
                .iter()
                .map(|id| ids::encode(kind, *id))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(format!(
            "some sealed secrets open with neither ORGQL_MFA_ENCRYPTION_KEY nor \
             ORGQL_MFA_ENCRYPTION_KEY_FALLBACK (users: [{}]; SSO connections: [{}]; \
             webhook endpoints: [{}]). Make the key that sealed them \
             ORGQL_MFA_ENCRYPTION_KEY_FALLBACK and run this again; if that key is lost, those \
             people sign in with a recovery code and enroll again, those connections need \
             their client secret set again (updateSsoConnection), and those endpoints a new \
             secret (rotateWebhookEndpointSecret).",
            owners(ids::IdKind::User, &done.totp_secrets),
            owners(ids::IdKind::SsoConnection, &done.oidc_client_secrets),
            owners(ids::IdKind::WebhookEndpoint, &done.webhook_secrets),
        )
        .into());
    }
    println!(
        "every sealed secret is under the current key: once every instance seals with it, \
         ORGQL_MFA_ENCRYPTION_KEY_FALLBACK can go. (Access tokens are not \
         stored: those signed with an older ORGQL_JWT_SECRET expire by themselves.)"
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.config.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
