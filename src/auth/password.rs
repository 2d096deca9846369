//! argon2id hashing for passwords and client secrets (OWASP minimum:
//! m=19456 KiB, t=2, p=1). Hashing runs on the blocking pool behind a
//! semaphore, so a burst of logins cannot take all memory or all workers.

use std::sync::Arc;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random secret: verified against when the account is
    /// unknown, so timing does not tell whether an email exists.
    dummy: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19_456, 2, 1, None).expect("valid argon2 params"),
    )
}

fn hash_now(secret: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(anyhow::anyhow!("argon2: {e}")))
}

impl Hasher {
    pub fn new(max_concurrent: usize) -> Self {
        let dummy = hash_now(&crate::auth::tokens::random_base62(32)).expect("argon2 works");
        Hasher {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy: Arc::new(dummy),
        }
    }

    pub async fn hash(&self, secret: &str) -> AppResult<String> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let secret = secret.to_string();
        tokio::task::spawn_blocking(move || hash_now(&secret))
            .await
            .map_err(AppError::internal)?
    }

    /// Verify against a stored hash, or against the dummy hash when there is
    /// none (the answer is then always false).
    pub async fn verify(&self, secret: &str, stored: Option<&str>) -> AppResult<bool> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let secret = secret.to_string();
        let (hash, real) = match stored {
            Some(h) => (h.to_string(), true),
            None => (self.dummy.as_str().to_string(), false),
        };
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| argon2().verify_password(secret.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .map_err(AppError::internal)?;
        Ok(ok && real)
    }
}
