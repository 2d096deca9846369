//! EdDSA JWTs (RFC 8725): one signing key with a `kid`, any number of
//! verification keys (rotation), algorithm pinned, `iss`/`aud`/`exp`/`sub`
//! required and `nbf` checked. An unknown `kid` is refused before anything
//! touches the database.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const AUDIENCE: &str = "orgraph";

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// Account id (person) or service-account id (service).
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    /// "person" or "service".
    pub kind: String,
    /// The service account's organization; for a sign-in link's session,
    /// the one organization it may act in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// RFC 8693 §4.1: the admin acting as `sub` (sign-in link sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// The sign-in link a session came from; every request re-checks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sil: Option<String>,
    /// The account's session epoch when issued (person sessions); a JWT
    /// of an older epoch is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sep: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct Actor {
    pub sub: String,
}

/// What a sign-in link's session is bound to (see `Keys::issue_impersonation`).
#[derive(Debug, Clone, Copy)]
pub struct Impersonation {
    pub organization_id: Uuid,
    pub actor_account_id: Uuid,
    pub link_id: Uuid,
}

pub struct Keys {
    kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
    issuer: String,
    ttl_seconds: i64,
    /// Claims of tokens whose signature and claims already checked out, by
    /// SHA-256 of the whole token (never the token itself). A console sends
    /// the same JWT on every request; its Ed25519 check was ~5% of a
    /// members page (callgrind, issue 8). Time claims are still checked
    /// against the clock on every use. Bounded: emptied at 4,096 entries.
    verified: parking_lot::Mutex<HashMap<[u8; 32], Claims>>,
}

const VERIFIED_MAX: usize = 4096;

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("kid", &self.kid)
            .field(
                "verification_kids",
                &self.decoding.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn kid_of(public: &VerifyingKey) -> String {
    let digest = Sha256::digest(public.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..12])
}

fn jwk_of(public: &VerifyingKey) -> serde_json::Value {
    serde_json::json!({
        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
        "kid": kid_of(public),
        "x": URL_SAFE_NO_PAD.encode(public.as_bytes()),
    })
}

/// A verification key file holds a public key (SPKI PEM) or a private one.
fn load_public(path: &Path) -> anyhow::Result<VerifyingKey> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if let Ok(public) = VerifyingKey::from_public_key_pem(&pem) {
        return Ok(public);
    }
    let private = SigningKey::from_pkcs8_pem(&pem)
        .map_err(|_| anyhow::anyhow!("{} is not an Ed25519 PEM key", path.display()))?;
    Ok(private.verifying_key())
}

/// Load the signing key, generating it into `data_dir` on first start.
pub fn load_or_generate(configured: Option<&Path>, data_dir: &Path) -> anyhow::Result<SigningKey> {
    let path: PathBuf = match configured {
        Some(p) => p.to_path_buf(),
        None => data_dir.join("jwt-ed25519.pem"),
    };
    if path.exists() {
        let pem = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return SigningKey::from_pkcs8_pem(&pem).map_err(|_| {
            anyhow::anyhow!(
                "{} is not an Ed25519 private key (PKCS#8 PEM)",
                path.display()
            )
        });
    }
    if configured.is_some() {
        anyhow::bail!("signing key {} does not exist", path.display());
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| anyhow::anyhow!("encoding key: {e}"))?;
    write_private(&path, pem.as_bytes())?;
    Ok(key)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

impl Keys {
    pub fn new(
        signing: &SigningKey,
        extra_verify: &[PathBuf],
        issuer: String,
        ttl_seconds: i64,
    ) -> anyhow::Result<Self> {
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("encoding key: {e}"))?;
        let public = signing.verifying_key();
        let kid = kid_of(&public);
        let mut decoding = HashMap::new();
        let mut jwks = vec![jwk_of(&public)];
        decoding.insert(kid.clone(), DecodingKey::from_ed_der(public.as_bytes()));
        for path in extra_verify {
            let p = load_public(path)?;
            let k = kid_of(&p);
            if decoding
                .insert(k, DecodingKey::from_ed_der(p.as_bytes()))
                .is_none()
            {
                jwks.push(jwk_of(&p));
            }
        }
        let keys = Keys {
            kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding,
            jwks: serde_json::json!({ "keys": jwks }),
            issuer,
            ttl_seconds,
            verified: Default::default(),
        };
        // Sign and verify once now: a missing crypto backend fails the boot,
        // not the first login.
        let probe = keys.issue(Uuid::nil(), "person", None, Utc::now())?;
        keys.verify(&probe, Utc::now())
            .map_err(|e| anyhow::anyhow!("JWT self-check failed: {e}"))?;
        Ok(keys)
    }

    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.ttl_seconds
    }

    pub fn issue(
        &self,
        sub: Uuid,
        kind: &str,
        org: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        self.sign(self.claims(sub, kind, org, now))
    }

    /// A person's session, in the account's current session epoch.
    pub fn issue_person(
        &self,
        sub: Uuid,
        epoch: i32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let mut claims = self.claims(sub, "person", None, now);
        claims.sep = Some(epoch.into());
        self.sign(claims)
    }

    /// A person's session from a sign-in link: `org` is the only
    /// organization it acts in, `act` names the admin who minted the link.
    pub fn issue_impersonation(
        &self,
        sub: Uuid,
        scope: Impersonation,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let mut claims = self.claims(sub, "person", Some(scope.organization_id), now);
        claims.act = Some(Actor {
            sub: scope.actor_account_id.to_string(),
        });
        claims.sil = Some(scope.link_id.to_string());
        self.sign(claims)
    }

    fn claims(&self, sub: Uuid, kind: &str, org: Option<Uuid>, now: DateTime<Utc>) -> Claims {
        let iat = now.timestamp();
        Claims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_string(),
            sub: sub.to_string(),
            exp: iat + self.ttl_seconds,
            iat,
            nbf: iat,
            jti: Uuid::new_v4().to_string(),
            kind: kind.to_string(),
            org: org.map(|o| o.to_string()),
            act: None,
            sil: None,
            sep: None,
        }
    }

    fn sign(&self, claims: Claims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }

    /// Verify signature and claims against `now` (the server clock).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, JwtError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let known = self.verified.lock().get(&digest).cloned();
        let c = match known {
            Some(c) => c,
            None => {
                let c = self.verify_signed(token)?;
                let mut v = self.verified.lock();
                if v.len() >= VERIFIED_MAX {
                    v.clear();
                }
                v.insert(digest, c.clone());
                c
            }
        };
        let t = now.timestamp();
        const LEEWAY: i64 = 30;
        if c.exp + LEEWAY < t || c.nbf - LEEWAY > t {
            return Err(JwtError);
        }
        Ok(c)
    }

    /// Header, signature and the claims that do not depend on the time.
    fn verify_signed(&self, token: &str) -> Result<Claims, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError)?;
        if header.alg != Algorithm::EdDSA {
            return Err(JwtError);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|k| self.decoding.get(k))
            .ok_or(JwtError)?;
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[AUDIENCE]);
        v.validate_nbf = true;
        // The library checks exp/nbf against the system clock; we check
        // against ours below, so disable its own and keep a leeway of 30 s.
        v.validate_exp = false;
        v.validate_nbf = false;
        let data = jsonwebtoken::decode::<Claims>(token, key, &v).map_err(|_| JwtError)?;
        Ok(data.claims)
    }
}

/// Deliberately uninformative: every bad token is the same failure.
#[derive(Debug, Clone, Copy)]
pub struct JwtError;

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid token")
    }
}
