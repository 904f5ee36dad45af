//! Secrets (capability URLs, API tokens) are stored only as hashes: this is the hash.
//!
//! The secrets are 256 bits of OS randomness, so a fast hash is enough; a slow password
//! hash would only cost CPU on every request.

use sha2::{Digest, Sha256};

/// The lowercase hex SHA-256 of a secret, as stored.
pub fn hash(secret: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(secret.as_bytes()))
}

/// Whether `text` looks like a capability hash: 64 lowercase hex characters.
pub fn is_capability(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_lowercase_hex_sha256() {
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(is_capability(&hash("x")));
        assert!(!is_capability(&hash("x").to_uppercase()));
        assert!(!is_capability("abc"));
    }
}
