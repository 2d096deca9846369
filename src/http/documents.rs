//! Parsed GraphQL documents, kept by query text.
//!
//! async-graphql parses every request with a pest grammar; for a members
//! page that parse (done twice: once here for the alias cap, once by the
//! engine) was ~6% of the request's instructions (callgrind, issue 8). A
//! console sends the same few query texts over and over, so the parsed
//! document is kept and handed to the engine (`Request::set_parsed_query`);
//! validation, complexity and depth checks still run on every request.
//! Bounded: only texts up to 4 KiB, at most 128 of them (the map is emptied
//! when full, so a client cycling through many texts costs a re-parse, never
//! memory).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::Request;
use parking_lot::Mutex;

use super::limits::alias_count;

const MAX_QUERY: usize = 4 * 1024;
const MAX_ENTRIES: usize = 128;

struct Parsed {
    doc: ExecutableDocument,
    aliases: usize,
}

#[derive(Default)]
pub struct Documents {
    map: Mutex<HashMap<Box<str>, Arc<Parsed>>>,
}

impl Documents {
    /// Give `r` its parsed document (cached or parsed now) and return its
    /// alias count; `None` when the text does not parse (the engine then
    /// reports the syntax error as usual).
    pub fn prepare(&self, r: &mut Request) -> Option<usize> {
        let cacheable = r.query.len() <= MAX_QUERY;
        if cacheable {
            let hit = self.map.lock().get(r.query.as_str()).cloned();
            if let Some(p) = hit {
                r.set_parsed_query(p.doc.clone());
                return Some(p.aliases);
            }
        }
        let doc = r.parsed_query().ok()?;
        let aliases = alias_count(doc);
        if cacheable {
            let parsed = Arc::new(Parsed {
                doc: doc.clone(),
                aliases,
            });
            let mut m = self.map.lock();
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(r.query.as_str().into(), parsed);
        }
        Some(aliases)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_document_is_the_same_parse_and_the_cache_stays_bounded() {
        let docs = Documents::default();
        let q = "query { a: viewer { id } b: viewer { id } }";
        let mut first = Request::new(q);
        assert_eq!(docs.prepare(&mut first), Some(2));
        let mut second = Request::new(q);
        assert_eq!(docs.prepare(&mut second), Some(2));
        assert_eq!(
            format!("{:?}", first.parsed_query().unwrap()),
            format!("{:?}", second.parsed_query().unwrap())
        );
        // A syntax error is left to the engine and not kept.
        assert_eq!(docs.prepare(&mut Request::new("query {")), None);
        assert_eq!(docs.map.lock().len(), 1);
        for i in 0..(MAX_ENTRIES * 2) {
            docs.prepare(&mut Request::new(format!("query {{ f{i} }}")));
            assert!(docs.map.lock().len() <= MAX_ENTRIES);
        }
        // Over 4 KiB: parsed, not kept.
        let big = format!("query {{ {} }}", "x ".repeat(MAX_QUERY));
        let before = docs.map.lock().len();
        assert_eq!(docs.prepare(&mut Request::new(big)), Some(0));
        assert_eq!(docs.map.lock().len(), before);
    }
}
