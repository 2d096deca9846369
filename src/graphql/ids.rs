//! Opaque global IDs: base64url("Type:uuid"). A malformed ID is
//! BAD_USER_INPUT; an ID of another type reads as "no such object".

use async_graphql::ID;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The object types a global ID can name; `as_str` is the type name the
/// ID encodes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Account,
    Organization,
    Membership,
    Invitation,
    AccessToken,
    ServiceAccount,
    Message,
    AuditEvent,
    SignInToken,
}

impl NodeKind {
    pub const ALL: [NodeKind; 9] = [
        NodeKind::Account,
        NodeKind::Organization,
        NodeKind::Membership,
        NodeKind::Invitation,
        NodeKind::AccessToken,
        NodeKind::ServiceAccount,
        NodeKind::Message,
        NodeKind::AuditEvent,
        NodeKind::SignInToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Account => "Account",
            NodeKind::Organization => "Organization",
            NodeKind::Membership => "Membership",
            NodeKind::Invitation => "Invitation",
            NodeKind::AccessToken => "AccessToken",
            NodeKind::ServiceAccount => "ServiceAccount",
            NodeKind::Message => "Message",
            NodeKind::AuditEvent => "AuditEvent",
            NodeKind::SignInToken => "SignInToken",
        }
    }
}

pub fn encode(kind: NodeKind, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.as_str())))
}

/// `(kind, uuid)` of a well-formed ID, whatever its kind.
pub fn parse(id: &str) -> Option<(NodeKind, Uuid)> {
    if id.len() > 128 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(id.trim_end_matches('=')).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (kind, uuid) = text.split_once(':')?;
    let kind = NodeKind::ALL.into_iter().find(|k| k.as_str() == kind)?;
    Some((kind, uuid.parse().ok()?))
}

/// Decode an ID argument that must name a `kind`.
pub fn decode(id: &ID, kind: NodeKind, field: &[&str]) -> AppResult<Uuid> {
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
        let id = encode(NodeKind::Organization, u);
        assert_eq!(decode(&id, NodeKind::Organization, &["id"]).unwrap(), u);
        assert!(matches!(
            decode(&id, NodeKind::Account, &["id"]),
            Err(AppError::NotFound)
        ));
        for junk in ["", "%%%", "QWNjb3VudDp4", &"A".repeat(500)] {
            assert!(matches!(
                decode(&ID(junk.into()), NodeKind::Account, &["id"]),
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
            let r = decode(&ID(s), NodeKind::Account, &["id"]);
            let fine = r.is_ok() || matches!(r, Err(AppError::BadInput { .. }) | Err(AppError::NotFound));
            prop_assert!(fine);
        }
    }
}
