//! lastUsedAt of access tokens, service accounts and sign-in links.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use crate::entity::{access_token, service_account, sign_in_token};
use crate::error::AppResult;

/// `lastUsedAt` of access tokens and service accounts is written in
/// batches, never on the request path: `touch` is a map insert, `flush` one
/// UPDATE per table (all rows get the latest time seen in the batch, so
/// lastUsedAt is exact to the flush interval).
#[derive(Default)]
pub struct LastUsed {
    tokens: Mutex<HashMap<Uuid, DateTime<Utc>>>,
    service_accounts: Mutex<HashMap<Uuid, DateTime<Utc>>>,
    sign_in_links: Mutex<HashMap<Uuid, DateTime<Utc>>>,
}

fn bump(map: &Mutex<HashMap<Uuid, DateTime<Utc>>>, id: Uuid, at: DateTime<Utc>) {
    let mut p = map.lock();
    let e = p.entry(id).or_insert(at);
    if at > *e {
        *e = at;
    }
}

impl LastUsed {
    pub fn touch(&self, id: Uuid, at: DateTime<Utc>) {
        bump(&self.tokens, id, at);
    }

    pub fn touch_service_account(&self, id: Uuid, at: DateTime<Utc>) {
        bump(&self.service_accounts, id, at);
    }

    /// A request of a sign-in link's session.
    pub fn touch_sign_in_link(&self, id: Uuid, at: DateTime<Utc>) {
        bump(&self.sign_in_links, id, at);
    }

    /// Write everything pending. A batch that cannot be written goes back
    /// into the map, so the next flush retries it.
    pub async fn flush(&self, conn: &DatabaseConnection) -> AppResult<()> {
        let tokens = std::mem::take(&mut *self.tokens.lock());
        let service_accounts = std::mem::take(&mut *self.service_accounts.lock());
        let links = std::mem::take(&mut *self.sign_in_links.lock());
        let result = self.write(conn, &tokens, &service_accounts, &links).await;
        if result.is_err() {
            for (map, pending) in [
                (&self.tokens, tokens),
                (&self.service_accounts, service_accounts),
                (&self.sign_in_links, links),
            ] {
                for (id, at) in pending {
                    bump(map, id, at);
                }
            }
        }
        result
    }

    async fn write(
        &self,
        conn: &DatabaseConnection,
        tokens: &HashMap<Uuid, DateTime<Utc>>,
        service_accounts: &HashMap<Uuid, DateTime<Utc>>,
        links: &HashMap<Uuid, DateTime<Utc>>,
    ) -> AppResult<()> {
        if tokens.is_empty() && service_accounts.is_empty() && links.is_empty() {
            return Ok(());
        }
        let tx = conn.begin().await?;
        stamp::<access_token::Entity>(
            &tx,
            access_token::Column::LastUsedAt,
            access_token::Column::Id,
            tokens,
        )
        .await?;
        stamp::<service_account::Entity>(
            &tx,
            service_account::Column::LastUsedAt,
            service_account::Column::Id,
            service_accounts,
        )
        .await?;
        stamp::<sign_in_token::Entity>(
            &tx,
            sign_in_token::Column::LastUsedAt,
            sign_in_token::Column::Id,
            links,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Set `last_used` of every row in `seen` to the latest time seen (one
/// UPDATE per 500 ids).
async fn stamp<E: EntityTrait>(
    tx: &sea_orm::DatabaseTransaction,
    last_used: E::Column,
    id: E::Column,
    seen: &HashMap<Uuid, DateTime<Utc>>,
) -> AppResult<()> {
    let Some(latest) = seen.values().max().copied() else {
        return Ok(());
    };
    let ids: Vec<Uuid> = seen.keys().copied().collect();
    for chunk in ids.chunks(500) {
        E::update_many()
            .col_expr(last_used, Expr::value(latest))
            .filter(id.is_in(chunk.iter().copied()))
            .exec(tx)
            .await?;
    }
    Ok(())
}
