//! The HTTP layer's state: the domain's services plus what only HTTP and
//! the websocket use (the GraphQL schema, rate limiters, the parsed-document
//! cache). Built by the composition root (`app.rs`); nothing below `http`
//! imports it.

use std::sync::Arc;

use crate::domain::Services;
use crate::graphql::AppSchema;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub schema: AppSchema,
    /// Rate limiters (in memory, per instance).
    pub limits: Arc<super::limits::Limiters>,
    /// Parsed GraphQL documents by query text (see http/documents.rs).
    pub documents: Arc<super::documents::Documents>,
}
