use sea_orm::entity::prelude::*;

/// A domain an organization claims, verified once a DNS TXT record proves
/// the organization controls it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_domains")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Lower-case, without a trailing dot (`example.com`).
    pub domain: String,
    /// The random value the TXT record must hold; public by design (it is
    /// published in DNS), and different for every claim.
    pub challenge: String,
    /// When the TXT record was found; null while unverified.
    pub verified_at: Option<DateTimeUtc>,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
