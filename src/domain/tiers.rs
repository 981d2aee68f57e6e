//! The limits of each tier (DESIGN §6) and the one check that enforces
//! them. Callers count what is used with the organization row locked, so
//! concurrent additions cannot overshoot.

use entity::values::Tier;

use crate::error::{AppError, AppResult};

/// Something a tier limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "camelCase")]
pub enum Resource {
    /// Members, pending invitations included.
    Members,
    Teams,
    ApiTokens,
    JoinCodes,
    IpAllowlistEntries,
    WebhookEndpoints,
}

impl Resource {
    /// The name `extensions.resource` carries.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How many of `resource` an organization on `tier` may have; `None` is
/// unlimited.
pub fn limit(tier: Tier, resource: Resource) -> Option<u64> {
    use Resource::*;
    use Tier::*;
    match (tier, resource) {
        (Enterprise, _) => None,
        (Free, Members) => Some(2),
        (Free, Teams) => Some(3),
        (Free, ApiTokens) => Some(3),
        (Free, JoinCodes) => Some(1),
        (Free, IpAllowlistEntries) => Some(5),
        (Free, WebhookEndpoints) => Some(3),
        (Starter, Members | Teams | ApiTokens) => Some(10),
        (Starter, JoinCodes) => Some(5),
        (Starter, IpAllowlistEntries) => Some(25),
        (Starter, WebhookEndpoints) => Some(10),
        (Team, Members | Teams | ApiTokens) => Some(50),
        (Team, JoinCodes) => Some(20),
        (Team, IpAllowlistEntries) => Some(100),
        (Team, WebhookEndpoints) => Some(50),
    }
}

/// Refuses a feature that only ENTERPRISE has (SSO, directory sync):
/// TIER_LIMIT_EXCEEDED naming `resource`, with a limit of 0.
pub fn ensure_enterprise(tier: Tier, resource: &'static str) -> AppResult<()> {
    if tier == Tier::Enterprise {
        Ok(())
    } else {
        Err(AppError::TierLimitExceeded {
            resource,
            limit: 0,
            used: 0,
        })
    }
}

/// Days of audit log a tier keeps.
pub fn audit_retention_days(tier: Tier) -> u32 {
    match tier {
        Tier::Free => 7,
        Tier::Starter => 30,
        Tier::Team => 90,
        Tier::Enterprise => 730,
    }
}

/// Refuses adding `adding` more of `resource` when `used` already exist.
/// After a downgrade what exists stays, but nothing new fits past the limit.
pub fn ensure_room(tier: Tier, resource: Resource, used: u64, adding: u64) -> AppResult<()> {
    match limit(tier, resource) {
        Some(limit) if used + adding > limit => Err(AppError::TierLimitExceeded {
            resource: resource.as_str(),
            limit,
            used,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_organization_fits_two_members_and_no_third() {
        assert!(ensure_room(Tier::Free, Resource::Members, 1, 1).is_ok());
        assert!(matches!(
            ensure_room(Tier::Free, Resource::Members, 2, 1),
            Err(AppError::TierLimitExceeded {
                limit: 2,
                used: 2,
                ..
            })
        ));
    }

    #[test]
    fn enterprise_has_no_limits() {
        assert!(ensure_room(Tier::Enterprise, Resource::Teams, 10_000, 1).is_ok());
    }
}
