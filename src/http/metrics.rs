//! `GET /metrics` in the Prometheus text format: GraphQL operations by name
//! and outcome with their latency, errors by code (rate-limit refusals
//! among them), the database pool, the mail outbox's backlog and the
//! automatic persisted queries evicted from their cache.
//!
//! Labels are the server's, never a client's text (finding L8): see
//! [`Metrics::label`]. `ORGQL_METRICS_LISTEN` serves `/metrics` on an
//! address of its own, off the public listener.
//!
//! The registry belongs to the application (no global recorder), so tests
//! can run many servers in one process.

use std::time::Duration;

use crate::domain::webhooks::sender::OutcomeLabels;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, text::encode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sea_orm::{DatabaseConnection, DatabaseConnectionType};

use super::AppState;
use crate::error::ErrorCode;
use crate::graphql::extensions::Selected;

/// How an operation ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Outcome {
    /// Executed without errors.
    ok,
    /// Executed, with errors in the response.
    error,
    /// Refused before execution: parse, validation or a limit.
    rejected,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
    outcome: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

pub struct Metrics {
    registry: Registry,
    operations: Family<OperationLabels, Counter>,
    latency: Family<OperationLabels, Histogram>,
    errors: Family<CodeLabels, Counter>,
    pool_size: Gauge,
    pool_idle: Gauge,
    outbox_backlog: Gauge,
    /// Counted by the APQ cache itself ([`super::persisted::Cache`]).
    persisted_query_evictions: Counter,
    /// Counted by the webhook sender (`domain::webhooks::sender`).
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    /// Whether operations are labelled by their trusted document's name
    /// (a manifest the server holds) rather than by their root field.
    trusted_documents: bool,
}

impl Metrics {
    pub fn new(trusted_documents: bool) -> Self {
        let mut registry = Registry::with_prefix("orgql");
        let operations = Family::<OperationLabels, Counter>::default();
        let latency = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            // 1 ms to about 16 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        let errors = Family::<CodeLabels, Counter>::default();
        registry.register(
            "graphql_operations",
            "GraphQL operations by operation name and outcome",
            operations.clone(),
        );
        registry.register(
            "graphql_operation_duration_seconds",
            "Time to answer a GraphQL operation, by operation name and outcome",
            latency.clone(),
        );
        registry.register(
            "graphql_errors",
            "GraphQL errors by extensions.code (RATE_LIMITED counts rate-limit refusals)",
            errors.clone(),
        );
        // Present from the start, so alerts on it need no special case.
        errors
            .get_or_create(&CodeLabels {
                code: ErrorCode::RateLimited.as_str().to_owned(),
            })
            .inc_by(0);
        let pool_size = Gauge::default();
        let pool_idle = Gauge::default();
        let outbox_backlog = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Open connections in the database pool",
            pool_size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle connections in the database pool",
            pool_idle.clone(),
        );
        registry.register(
            "outbox_backlog",
            "Emails waiting to be sent",
            outbox_backlog.clone(),
        );
        let persisted_query_evictions = Counter::default();
        registry.register(
            "persisted_query_evictions",
            "Automatic persisted queries forgotten, least recently used first, to keep the cache within ORGQL_PERSISTED_QUERIES_CACHE_BYTES",
            persisted_query_evictions.clone(),
        );
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, retrying (failed, another attempt is due) or failed (no attempt left)",
            webhook_deliveries.clone(),
        );
        for outcome in ["delivered", "retrying", "failed"] {
            webhook_deliveries
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(0);
        }
        Self {
            registry,
            operations,
            latency,
            errors,
            pool_size,
            pool_idle,
            outbox_backlog,
            persisted_query_evictions,
            webhook_deliveries,
            trusted_documents,
        }
    }

    /// The counters the webhook sender increments, one per outcome.
    pub fn webhook_deliveries(&self) -> Family<OutcomeLabels, Counter> {
        self.webhook_deliveries.clone()
    }

    /// The counter the APQ cache increments for each query it evicts.
    pub fn persisted_query_evictions(&self) -> Counter {
        self.persisted_query_evictions.clone()
    }

    /// The label of an operation: never a name the client chose (an
    /// `operationName`, a name in a document it sent), so strangers cannot
    /// fill the labels. With trusted documents, the name the manifest's
    /// document gives it; else its type and first root field
    /// (`mutation:logIn`), which the schema bounds.
    pub fn label(&self, selected: &Selected) -> String {
        match &selected.name {
            Some(name) if self.trusted_documents => name.clone(),
            _ => selected.root_field.clone(),
        }
    }

    /// Records one GraphQL operation. `name` is its [`Metrics::label`],
    /// `codes` the codes of the response's errors.
    pub fn observe<'a>(
        &self,
        name: Option<&str>,
        outcome: Outcome,
        elapsed: Duration,
        codes: impl Iterator<Item = &'a str>,
    ) {
        let labels = OperationLabels {
            operation: self.operation_label(name, outcome),
            outcome,
        };
        self.operations.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        for code in codes {
            self.errors
                .get_or_create(&CodeLabels {
                    code: code.to_owned(),
                })
                .inc();
        }
    }

    fn operation_label(&self, name: Option<&str>, outcome: Outcome) -> String {
        match (name, outcome) {
            (_, Outcome::rejected) | (None, _) => "anonymous".to_owned(),
            (Some(name), _) => name.to_owned(),
        }
    }

    async fn refresh(&self, db: &DatabaseConnection) {
        if let Some((size, idle)) = pool_counts(db) {
            self.pool_size.set(size);
            self.pool_idle.set(idle);
        }
        match crate::mail::outbox::backlog(db).await {
            Ok(waiting) => {
                self.outbox_backlog
                    .set(i64::try_from(waiting).unwrap_or(i64::MAX));
            }
            Err(e) => tracing::warn!(error = %e, "cannot count the outbox backlog"),
        }
    }

    fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(false)
    }
}

fn pool_counts(db: &DatabaseConnection) -> Option<(i64, i64)> {
    let (size, idle) = match &db.inner {
        DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => return None,
    };
    Some((i64::from(size), i64::try_from(idle).unwrap_or(i64::MAX)))
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.refresh(&state.db).await;
    match state.metrics.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
