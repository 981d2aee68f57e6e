use async_graphql::{Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::organization_domain;

use crate::domain::authz::matrix::Permission;
use crate::domain::domains;
use crate::graphql::guards::PermissionGuard;

/// A domain an organization claims; verified once its DNS TXT challenge is
/// found. A domain is verified by at most one organization.
pub struct OrganizationDomain(pub organization_domain::Model);

/// The DNS record that proves an organization controls a domain.
#[derive(SimpleObject)]
pub struct DnsChallenge {
    /// Always `TXT`.
    pub record_type: String,
    /// The name to publish it at (`_orgql-challenge.example.com`).
    pub record_name: String,
    /// The value the record must hold, exactly.
    pub record_value: String,
}

impl From<&organization_domain::Model> for DnsChallenge {
    fn from(claim: &organization_domain::Model) -> Self {
        Self {
            record_type: "TXT".to_owned(),
            record_name: domains::challenge_record_name(&claim.domain),
            record_value: domains::challenge_record_value(claim),
        }
    }
}

/// A domain an organization claims; verified once its DNS TXT challenge is
/// found. A domain is verified by at most one organization.
#[Object]
impl OrganizationDomain {
    /// The domain, lower-case (`example.com`).
    async fn domain(&self) -> &str {
        &self.0.domain
    }

    /// Whether the DNS challenge has been found.
    async fn verified(&self) -> bool {
        self.0.verified_at.is_some()
    }

    /// When it was verified; null while unverified.
    async fn verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.verified_at
    }

    /// When it was claimed.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The TXT record to publish (policies:manage).
    #[graphql(guard = "PermissionGuard::new(Permission::PoliciesManage, self.0.organization_id)")]
    async fn challenge(&self) -> DnsChallenge {
        DnsChallenge::from(&self.0)
    }
}
