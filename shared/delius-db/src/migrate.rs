//! Schema migrations and seed data, applied by a deliberate step (the
//! `delius-admin` command, the test harness, `make run`), never on cold start.

use crate::error::DbError;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Data sets that can be loaded into a migrated database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// Contact types, datasets, business interactions... both services need.
    Reference,
    /// The Resettlement Passport dev dataset (people X123123 and C123456).
    DevResettlement,
    /// The workforce allocations dev dataset (people X123456, T123456, T223456).
    DevAllocations,
}

impl Seed {
    pub const ALL: [Seed; 3] = [Seed::Reference, Seed::DevResettlement, Seed::DevAllocations];

    pub fn sql(self) -> &'static str {
        match self {
            Seed::Reference => include_str!("../seeds/reference.sql"),
            Seed::DevResettlement => include_str!("../seeds/dev-resettlement.sql"),
            Seed::DevAllocations => include_str!("../seeds/dev-allocations.sql"),
        }
    }

    /// A row whose presence shows a dev dataset is loaded already.
    fn sentinel_crn(self) -> Option<&'static str> {
        match self {
            Seed::Reference => None,
            Seed::DevResettlement => Some("X123123"),
            Seed::DevAllocations => Some("X123456"),
        }
    }
}

/// Applies the pending migrations; returns the versions applied now.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<Vec<i32>, DbError> {
    let report =
        embedded::migrations::runner().run_async(client).await.map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(report.applied_migrations().iter().map(|m| m.version()).collect())
}

/// Loads a seed. Reference data is idempotent; a dev dataset that is already
/// there is left as it is. Returns whether anything was loaded.
pub async fn load_seed(client: &tokio_postgres::Client, seed: Seed) -> Result<bool, DbError> {
    if let Some(crn) = seed.sentinel_crn() {
        let present = client.query_opt("SELECT 1 FROM offender WHERE crn = $1", &[&crn]).await?;
        if present.is_some() {
            return Ok(false);
        }
    }
    client.batch_execute(seed.sql()).await?;
    Ok(true)
}

/// A fingerprint of the schema and seeds, for caching migrated template databases.
pub fn fingerprint() -> u64 {
    // FNV-1a: stable across builds, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for m in embedded::migrations::runner().get_migrations() {
        feed(&m.checksum().to_le_bytes());
    }
    for seed in Seed::ALL {
        feed(seed.sql().as_bytes());
    }
    hash
}
