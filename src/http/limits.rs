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
    /// Keyed by (IP, client id), not the id alone: anyone who knows a
    /// client id could otherwise spend its budget and lock the real client
    /// out (red-team finding). Client secrets are random 256-bit values, so
    /// the limit is against hashing work, not guessing; the per-IP limit
    /// below bounds that work whatever the ids.
    token_client: Keyed<(IpAddr, String)>,
    /// argon2 checks of client secrets (cache misses), per (IP, client id)
    /// (`--rate-limit-token`) and per client IP (`--rate-limit-client-ip`):
    /// wrong secrets cannot queue work on the hash pool that sign-in shares.
    client_hash_by_id: Keyed<(IpAddr, String)>,
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

    pub fn token_by_client(&self, ip: IpAddr, client_id: &str) -> Result<(), Duration> {
        check(&self.token_client, (ip, client_id.to_string()))
    }

    /// Before an argon2 check of a client secret (client-credentials grant,
    /// introspection): per client id and per client IP. A secret already
    /// verified (cached) costs nothing and is not counted.
    pub fn client_secret_hash(&self, ip: IpAddr, client_id: &str) -> Result<(), Duration> {
        check(&self.client_hash_by_ip, ip)?;
        check(&self.client_hash_by_id, (ip, client_id.to_string()))
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

/// Aliases a document executes: every fragment spread counts its
/// fragment's aliases again, so nested spreads multiply (three fragments of
/// 16 aliased fields, each spreading the next 16 times, are 16³ aliases,
/// not 48 — red-team finding). Saturating; a fragment cycle (invalid, and
/// refused later by validation) counts as `usize::MAX`.
pub fn alias_count(doc: &ExecutableDocument) -> usize {
    use std::collections::HashMap;
    struct Walk<'a> {
        doc: &'a ExecutableDocument,
        memo: HashMap<&'a str, usize>,
        visiting: Vec<&'a str>,
    }
    impl<'a> Walk<'a> {
        fn set(&mut self, set: &'a SelectionSet) -> usize {
            let mut n = 0usize;
            for s in &set.items {
                let here = match &s.node {
                    Selection::Field(f) => usize::from(f.node.alias.is_some())
                        .saturating_add(self.set(&f.node.selection_set.node)),
                    Selection::InlineFragment(i) => self.set(&i.node.selection_set.node),
                    Selection::FragmentSpread(sp) => {
                        self.fragment(sp.node.fragment_name.node.as_str())
                    }
                };
                n = n.saturating_add(here);
            }
            n
        }
        fn fragment(&mut self, name: &'a str) -> usize {
            if let Some(n) = self.memo.get(name) {
                return *n;
            }
            if self.visiting.contains(&name) {
                return usize::MAX;
            }
            let Some((key, f)) = self.doc.fragments.get_key_value(name) else {
                return 0;
            };
            self.visiting.push(key.as_str());
            let n = self.set(&f.node.selection_set.node);
            self.visiting.pop();
            self.memo.insert(key.as_str(), n);
            n
        }
    }
    let mut w = Walk {
        doc,
        memo: HashMap::new(),
        visiting: Vec::new(),
    };
    match &doc.operations {
        DocumentOperations::Single(op) => w.set(&op.node.selection_set.node),
        DocumentOperations::Multiple(m) => m
            .values()
            .map(|op| w.set(&op.node.selection_set.node))
            .fold(0usize, usize::saturating_add),
    }
}
