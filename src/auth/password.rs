//! Password hashing with argon2id (RFC 9106). Production uses the crate's
//! recommended parameters; tests and seeding may ask for cheap ones.

use argon2::password_hash::{PasswordHash, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
}

impl PasswordHasher {
    /// `cheap` trades security for speed: for tests and demo data only.
    pub fn new(cheap: bool) -> Self {
        let params = if cheap {
            Params::new(256, 1, 1, None).expect("static argon2 parameters are valid")
        } else {
            Params::default()
        };
        Self { params }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string holding the salt and parameters.
    pub fn hash(&self, password: &str) -> Result<String, AppError> {
        let salt = SaltString::generate(&mut OsRng);
        argon2::password_hash::PasswordHasher::hash_password(
            &self.argon2(),
            password.as_bytes(),
            &salt,
        )
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::internal(e.to_string()))
    }

    /// Whether `password` matches `phc`. A malformed stored hash never
    /// matches.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        PasswordHash::new(phc)
            .map(|parsed| {
                self.argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    }

    /// Spends the time of one verification, so that a log-in for an unknown
    /// email takes as long as one with a wrong password.
    pub fn verify_dummy(&self, password: &str) {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let phc = DUMMY.get_or_init(|| {
            PasswordHasher::new(false)
                .hash("orgql-dummy-password")
                .unwrap_or_default()
        });
        let _ = self.verify(password, phc);
    }
}
