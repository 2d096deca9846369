//! Abuse limits kept in memory per instance: rate limits (governor's GCRA,
//! keyed), and the alias cap the GraphQL engine does not have.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;

type Keyed<K> = Option<DefaultKeyedRateLimiter<K>>;

pub struct Limiters {
    token_user: Keyed<(IpAddr, String)>,
    token_client: Keyed<String>,
    /// argon2 checks of client secrets (cache misses), per client id
    /// (`--rate-limit-token`) and per client IP (`--rate-limit-client-ip`):
    /// wrong secrets cannot queue work on the hash pool that sign-in shares.
    client_hash_by_id: Keyed<String>,
    client_hash_by_ip: Keyed<IpAddr>,
    graphql: Keyed<String>,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Keyed<K> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

fn check<K: std::hash::Hash + Eq + Clone>(l: &Keyed<K>, key: K) -> Result<(), Duration> {
    match l {
        None => Ok(()),
        Some(l) => l
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now())),
    }
}

impl Limiters {
    pub fn new(config: &Config) -> Self {
        Limiters {
            token_user: keyed(config.rate_limit_token),
            token_client: keyed(config.rate_limit_token),
            client_hash_by_id: keyed(config.rate_limit_token),
            client_hash_by_ip: keyed(config.rate_limit_client_ip),
            graphql: keyed(config.rate_limit_graphql),
        }
    }

    /// Password guessing: per (client IP, username).
    pub fn token_by_user(&self, ip: IpAddr, username: &str) -> Result<(), Duration> {
        check(&self.token_user, (ip, username.trim().to_lowercase()))
    }

    pub fn token_by_client(&self, client_id: &str) -> Result<(), Duration> {
        check(&self.token_client, client_id.to_string())
    }

    /// Before an argon2 check of a client secret (client-credentials grant,
    /// introspection): per client id and per client IP. A secret already
    /// verified (cached) costs nothing and is not counted.
    pub fn client_secret_hash(&self, ip: IpAddr, client_id: &str) -> Result<(), Duration> {
        check(&self.client_hash_by_ip, ip)?;
        check(&self.client_hash_by_id, client_id.to_string())
    }

    pub fn graphql(&self, principal_key: String) -> Result<(), Duration> {
        check(&self.graphql, principal_key)
    }

    /// Forget idle keys, so memory stays bounded.
    pub fn shrink(&self) {
        if let Some(l) = &self.token_user {
            l.retain_recent();
        }
        if let Some(l) = &self.token_client {
            l.retain_recent();
        }
        if let Some(l) = &self.client_hash_by_id {
            l.retain_recent();
        }
        if let Some(l) = &self.client_hash_by_ip {
            l.retain_recent();
        }
        if let Some(l) = &self.graphql {
            l.retain_recent();
        }
    }
}

/// Aliases in a document (fragments counted once each).
pub fn alias_count(doc: &ExecutableDocument) -> usize {
    fn walk(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|s| match &s.node {
                Selection::Field(f) => {
                    usize::from(f.node.alias.is_some()) + walk(&f.node.selection_set.node)
                }
                Selection::InlineFragment(i) => walk(&i.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let ops: usize = match &doc.operations {
        DocumentOperations::Single(op) => walk(&op.node.selection_set.node),
        DocumentOperations::Multiple(m) => {
            m.values().map(|op| walk(&op.node.selection_set.node)).sum()
        }
    };
    ops + doc
        .fragments
        .values()
        .map(|f| walk(&f.node.selection_set.node))
        .sum::<usize>()
}
