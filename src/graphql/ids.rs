//! Opaque global IDs: base64url("Type:uuid"). A malformed ID is
//! BAD_USER_INPUT; an ID of another type reads as "no such object".

use async_graphql::ID;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const TYPES: &[&str] = &[
    "Account",
    "Organization",
    "Membership",
    "Invitation",
    "AccessToken",
    "ServiceAccount",
    "Message",
    "AuditEvent",
    "SignInToken",
];

pub fn encode(kind: &str, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{kind}:{id}")))
}

/// `(type, uuid)` of a well-formed ID, whatever its type.
pub fn parse(id: &str) -> Option<(&'static str, Uuid)> {
    if id.len() > 128 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(id.trim_end_matches('=')).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (kind, uuid) = text.split_once(':')?;
    let kind = TYPES.iter().find(|t| **t == kind)?;
    Some((kind, uuid.parse().ok()?))
}

/// Decode an ID argument that must name a `kind`.
pub fn decode(id: &ID, kind: &str, field: &[&str]) -> AppResult<Uuid> {
    match parse(id.as_str()) {
        None => Err(AppError::bad_input(field, "not a valid ID")),
        Some((k, uuid)) if k == kind => Ok(uuid),
        Some(_) => Err(AppError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let u = Uuid::now_v7();
        let id = encode("Organization", u);
        assert_eq!(decode(&id, "Organization", &["id"]).unwrap(), u);
        assert!(matches!(
            decode(&id, "Account", &["id"]),
            Err(AppError::NotFound)
        ));
        for junk in ["", "%%%", "QWNjb3VudDp4", &"A".repeat(500)] {
            assert!(matches!(
                decode(&ID(junk.into()), "Account", &["id"]),
                Err(AppError::BadInput { .. })
            ));
        }
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn id_decoder_never_panics(s in "\\PC{0,300}") {
            let r = decode(&ID(s), "Account", &["id"]);
            let fine = r.is_ok() || matches!(r, Err(AppError::BadInput { .. }) | Err(AppError::NotFound));
            prop_assert!(fine);
        }
    }
}
