//! Formats of the opaque secrets (http.md "Tokens") and their hashing.

use rand::Rng;
use sha2::{Digest, Sha256};
use subtle_eq::ct_eq;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub const ACCESS_TOKEN_PREFIX: &str = "orgt_";
pub const CLIENT_SECRET_PREFIX: &str = "orgs_";

pub fn random_base62(len: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| BASE62[rng.gen_range(0..BASE62.len())] as char)
        .collect()
}

fn base62_fixed(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out).expect("base62 is ascii")
}

fn checksum(body: &str) -> String {
    base62_fixed(crc32fast::hash(body.as_bytes()) as u64, 6)
}

/// `orgt_` + 32 base62 + 6-char base62 CRC32 of those 32.
pub fn new_access_token() -> String {
    let body = random_base62(32);
    let sum = checksum(&body);
    format!("{ACCESS_TOKEN_PREFIX}{body}{sum}")
}

/// Shape and checksum only: a token that fails here is rejected without a
/// database lookup.
pub fn access_token_well_formed(token: &str) -> bool {
    let Some(rest) = token.strip_prefix(ACCESS_TOKEN_PREFIX) else {
        return false;
    };
    if rest.len() != 38 || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (body, sum) = rest.split_at(32);
    ct_eq(checksum(body).as_bytes(), sum.as_bytes())
}

/// What is shown of a token after creation: enough to recognise it.
pub fn access_token_prefix(token: &str) -> String {
    token.chars().take(ACCESS_TOKEN_PREFIX.len() + 6).collect()
}

pub fn new_client_secret() -> String {
    format!("{CLIENT_SECRET_PREFIX}{}", random_base62(40))
}

/// Invitation and sign-in tokens.
pub fn new_opaque_token() -> String {
    random_base62(43)
}

pub fn sha256_hex(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

mod subtle_eq {
    /// Constant-time equality for secrets of public length.
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

pub use subtle_eq::ct_eq as constant_time_eq;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_round_trip_and_detect_a_changed_character() {
        let t = new_access_token();
        assert_eq!(t.len(), 5 + 38);
        assert!(access_token_well_formed(&t));
        let mut bytes = t.clone().into_bytes();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        assert!(!access_token_well_formed(
            &String::from_utf8(bytes).unwrap()
        ));
        assert!(!access_token_well_formed("orgt_short"));
        assert!(!access_token_well_formed(""));
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn the_checksum_parser_never_panics(s in "\\PC{0,100}") {
            let _ = access_token_well_formed(&s);
        }

        #[test]
        fn any_single_character_change_is_detected(pos in 5usize..43, c in "[0-9A-Za-z]") {
            let t = new_access_token();
            let mut b = t.clone().into_bytes();
            let c = c.as_bytes()[0];
            prop_assume!(b[pos] != c);
            b[pos] = c;
            prop_assert!(!access_token_well_formed(&String::from_utf8(b).unwrap()));
        }
    }
}
