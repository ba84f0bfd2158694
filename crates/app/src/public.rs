//! What anyone may read without signing in, beyond the notices themselves (`payout::objections`):
//! the list of pools, the front door of `/public`.

use crate::{App, AppResult};

/// A pool (a town or county fund) as the public front door lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicPool {
    pub code: String,
    pub name: String,
}

impl App {
    /// Every pool with a scheme year, in code order (towns follow their county). The name is the
    /// newest year's.
    pub async fn public_pools(&self) -> AppResult<Vec<PublicPool>> {
        let mut conn = self.db.acquire().await?;
        // Newest period first: the first year seen of a pool names it.
        let years = store::years::list(&mut conn, &store::Scope::all()).await?;
        let mut pools: Vec<PublicPool> = Vec::new();
        for y in years {
            if !pools.iter().any(|p| p.code == y.pool_code) {
                pools.push(PublicPool {
                    code: y.pool_code,
                    name: y.pool_name,
                });
            }
        }
        pools.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(pools)
    }
}
