//! One error type for the whole server. Each variant maps to exactly one
//! contract `ErrorCode`; `Internal` carries the cause (the whole chain) for
//! the log and shows the client nothing but the code (the HTTP layer adds
//! the request id). Building or converting an error has no side effect: an
//! INTERNAL error is logged once, where its answer is produced
//! ([`log_internal`], with the request id).

/// The contract's error codes (GraphQL shows them through the mirror in
/// `graphql/error.rs`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    AlreadyExists,
    SeatLimitReached,
    NoSeat,
    NotAMember,
    LastAdmin,
    CannotChangeOwnRole,
    InvitationExpired,
    InvitationNotPending,
    RateLimited,
    QueryTooComplex,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::SeatLimitReached => "SEAT_LIMIT_REACHED",
            ErrorCode::NoSeat => "NO_SEAT",
            ErrorCode::NotAMember => "NOT_A_MEMBER",
            ErrorCode::LastAdmin => "LAST_ADMIN",
            ErrorCode::CannotChangeOwnRole => "CANNOT_CHANGE_OWN_ROLE",
            ErrorCode::InvitationExpired => "INVITATION_EXPIRED",
            ErrorCode::InvitationNotPending => "INVITATION_NOT_PENDING",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

/// Not `Display`/`std::error::Error` on purpose: async-graphql converts any
/// `Display` type into an error carrying only its text, which would skip the
/// `extensions.code` mapping below. Every path must go through `From`.
/// `Debug` shows an INTERNAL cause as the log does (see [`Cause`]).
#[derive(Debug)]
pub enum AppError {
    Unauthenticated,
    Forbidden(&'static str),
    NotFound,
    BadInput { message: String, field: Vec<String> },
    AlreadyExists(String),
    SeatLimitReached,
    NoSeat,
    NotAMember,
    LastAdmin,
    CannotChangeOwnRole,
    InvitationExpired,
    InvitationNotPending,
    RateLimited,
    QueryTooComplex(String),
    Internal(Cause),
}

/// What an INTERNAL error came from, with its causes. Its `Debug` is the
/// chain's text, as the log shows it, never the causes' own `Debug`: a
/// PostgreSQL error's `Debug` carries the server's DETAIL, which quotes the
/// offending row's values (an email, a token hash).
pub struct Cause(pub anyhow::Error);

impl std::fmt::Debug for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", Chain(self.0.as_ref()))
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(field: &[&str], message: impl Into<String>) -> Self {
        AppError::BadInput {
            message: message.into(),
            field: field.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// An INTERNAL error keeping `e` and its causes (not logged here).
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(Cause(e.into()))
    }

    /// The cause of an INTERNAL error, for the log; None for the others.
    pub fn cause(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppError::Internal(e) => Some(e.0.as_ref()),
            _ => None,
        }
    }

    /// Log this error, which is answered as INTERNAL, with the answer's
    /// request id (see [`log_internal`]).
    pub fn log(&self, request_id: &str) {
        match self.cause() {
            Some(cause) => log_internal(request_id, Some(cause)),
            None => tracing::error!(request_id, code = self.code().as_str(), "internal error"),
        }
    }

    /// For a log line where no request is answered (background work): the
    /// code and, for INTERNAL, the whole chain.
    pub fn report(&self) -> String {
        match self.cause() {
            Some(cause) => format!("{}: {}", self.code().as_str(), Chain(cause)),
            None => self.code().as_str().to_string(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::NotFound => ErrorCode::NotFound,
            AppError::BadInput { .. } => ErrorCode::BadUserInput,
            AppError::AlreadyExists(_) => ErrorCode::AlreadyExists,
            AppError::SeatLimitReached => ErrorCode::SeatLimitReached,
            AppError::NoSeat => ErrorCode::NoSeat,
            AppError::NotAMember => ErrorCode::NotAMember,
            AppError::LastAdmin => ErrorCode::LastAdmin,
            AppError::CannotChangeOwnRole => ErrorCode::CannotChangeOwnRole,
            AppError::InvitationExpired => ErrorCode::InvitationExpired,
            AppError::InvitationNotPending => ErrorCode::InvitationNotPending,
            AppError::RateLimited => ErrorCode::RateLimited,
            AppError::QueryTooComplex(_) => ErrorCode::QueryTooComplex,
            AppError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message a client may see.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Unauthenticated => "authentication required".into(),
            AppError::Forbidden(m) => (*m).into(),
            AppError::NotFound => "not found".into(),
            AppError::BadInput { message, .. } => message.clone(),
            AppError::AlreadyExists(m) => m.clone(),
            AppError::SeatLimitReached => "the plan's seat limit is reached".into(),
            AppError::NoSeat => "the account holds no seat in this organization".into(),
            AppError::NotAMember => "the account is not a member of this organization".into(),
            AppError::LastAdmin => "an organization must keep at least one admin".into(),
            AppError::CannotChangeOwnRole => "you cannot change your own role".into(),
            AppError::InvitationExpired => "the invitation has expired".into(),
            AppError::InvitationNotPending => "the invitation is not pending".into(),
            AppError::RateLimited => "rate limit exceeded".into(),
            AppError::QueryTooComplex(m) => m.clone(),
            AppError::Internal(_) => "internal error".into(),
        }
    }

    /// Field path for `UserError.field` / `extensions.field`.
    pub fn field(&self) -> Option<Vec<String>> {
        match self {
            AppError::BadInput { field, .. } if !field.is_empty() => Some(field.clone()),
            _ => None,
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::internal(e)
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

/// The unique indexes a write can run into on purpose (names of the
/// migration): `on_unique` turns a violation of one into a client error.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UniqueIndex {
    AccountsEmail,
    OrganizationsHandle,
    MembershipsOrgAccount,
    ServiceAccountsOrgName,
}

impl UniqueIndex {
    const ALL: [UniqueIndex; 4] = [
        UniqueIndex::AccountsEmail,
        UniqueIndex::OrganizationsHandle,
        UniqueIndex::MembershipsOrgAccount,
        UniqueIndex::ServiceAccountsOrgName,
    ];

    /// The index's name, which PostgreSQL reports.
    pub fn name(self) -> &'static str {
        match self {
            UniqueIndex::AccountsEmail => "ux_accounts_email",
            UniqueIndex::OrganizationsHandle => "ux_organizations_handle",
            UniqueIndex::MembershipsOrgAccount => "ux_memberships_org_account",
            UniqueIndex::ServiceAccountsOrgName => "ux_service_accounts_org_name",
        }
    }

    /// Its columns as SQLite reports them, which names no index.
    fn sqlite_columns(self) -> &'static str {
        match self {
            UniqueIndex::AccountsEmail => "accounts.email",
            UniqueIndex::OrganizationsHandle => "organizations.handle",
            UniqueIndex::MembershipsOrgAccount => {
                "memberships.organization_id, memberships.account_id"
            }
            UniqueIndex::ServiceAccountsOrgName => {
                "service_accounts.organization_id, service_accounts.name"
            }
        }
    }
}

/// Which of the indexes above `e` violates; None when `e` is anything else
/// (another index included). The one place a unique violation is
/// classified: sea-orm's `sql_err` tells a unique violation on both
/// databases; PostgreSQL names the constraint, SQLite only its columns
/// ("UNIQUE constraint failed: accounts.email").
pub fn unique_violation(e: &sea_orm::DbErr) -> Option<UniqueIndex> {
    let Some(sea_orm::SqlErr::UniqueConstraintViolation(message)) = e.sql_err() else {
        return None;
    };
    if let Some(name) = constraint_name(e) {
        return UniqueIndex::ALL.into_iter().find(|i| i.name() == name);
    }
    let columns = message.strip_prefix("UNIQUE constraint failed: ")?;
    UniqueIndex::ALL
        .into_iter()
        .find(|i| i.sqlite_columns() == columns)
}

/// The violated constraint's name, where the driver reports one (PostgreSQL).
fn constraint_name(e: &sea_orm::DbErr) -> Option<String> {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => {
            match &**x {
                sea_orm::sqlx::Error::Database(d) => d.constraint().map(str::to_string),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A violation of `index` is the client error `err`; anything else stays
/// internal.
pub fn on_unique(e: sea_orm::DbErr, index: UniqueIndex, err: AppError) -> AppError {
    if unique_violation(&e) == Some(index) {
        err
    } else {
        AppError::internal(e)
    }
}

/// An error and its causes, outermost first, joined by ": " (as `{:#}`
/// shows an `anyhow::Error`).
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            write!(f, ": {e}")?;
            next = e.source();
        }
        Ok(())
    }
}

/// Log an INTERNAL error where its answer is produced — the one place it is
/// logged — with the answer's request id and every cause in the chain.
pub fn log_internal(request_id: &str, cause: Option<&(dyn std::error::Error + 'static)>) {
    match cause {
        Some(c) => tracing::error!(request_id, error = %Chain(c), "internal error"),
        None => tracing::error!(request_id, "internal error (no cause recorded)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose `Debug` holds what its `Display` leaves out, as a
    /// PostgreSQL error's DETAIL does.
    #[derive(Debug)]
    struct Detailed {
        #[allow(dead_code)] // read through Debug only
        detail: &'static str,
    }

    impl std::fmt::Display for Detailed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("duplicate key value violates unique constraint")
        }
    }

    impl std::error::Error for Detailed {}

    #[test]
    fn debug_of_an_internal_error_shows_the_chain_text_only() {
        let e = AppError::internal(
            anyhow::Error::new(Detailed {
                detail: "Key (token_hash)=(s3cr3t) already exists",
            })
            .context("inserting an access token"),
        );
        for shown in [format!("{e:?}"), format!("{e:#?}"), e.report()] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
            assert!(
                shown.contains("inserting an access token: duplicate key"),
                "{shown}"
            );
        }
    }
}
