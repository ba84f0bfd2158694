//! Protection of personal identifiers (PIPL; 等保三级 asks for confidentiality of stored personal
//! data). ID numbers and phones are stored encrypted with AES-256-GCM (authenticated, random
//! 96-bit nonce per value) and found again through an HMAC-SHA256 keyed hash, so the database
//! alone reveals neither the values nor, by dictionary attack, which person is which.

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;

const KEY_LEN: usize = 64; // 32 bytes for AES-256-GCM, 32 for the HMAC
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct PiiKeys {
    cipher: Aes256Gcm,
    mac_key: [u8; 32],
    chain_key: ledger::ChainKey,
}

impl std::fmt::Debug for PiiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PiiKeys(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the master key must be {KEY_LEN} bytes, base64-encoded")]
    BadKey,
    #[error("cannot read or create the key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("stored personal data could not be decrypted: wrong key or tampered record")]
    Decrypt,
}

/// What a keyed hash is of; part of the hashed input so that an ID number and a phone number
/// never share a hash.
#[derive(Debug, Clone, Copy)]
pub enum HashKind {
    IdNumber,
    Phone,
}

impl PiiKeys {
    pub fn from_bytes(bytes: &[u8]) -> Result<PiiKeys, KeyError> {
        if bytes.len() != KEY_LEN {
            return Err(KeyError::BadKey);
        }
        let cipher = Aes256Gcm::new_from_slice(&bytes[..32]).map_err(|_| KeyError::BadKey)?;
        let mut mac_key = [0u8; 32];
        mac_key.copy_from_slice(&bytes[32..]);
        let chain_key = derive_chain_key(&mac_key);
        Ok(PiiKeys {
            cipher,
            mac_key,
            chain_key,
        })
    }

    pub fn from_base64(s: &str) -> Result<PiiKeys, KeyError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| KeyError::BadKey)?;
        Self::from_bytes(&bytes)
    }

    pub fn generate_base64() -> String {
        let mut bytes = [0u8; KEY_LEN];
        rand::RngCore::fill_bytes(&mut OsRng, &mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Reads the key file, or creates it (owner read/write only) if it does not exist yet: the
    /// embedded default must work with zero set-up, and losing this file means losing the
    /// personal data, so it is never overwritten.
    pub fn load_or_create(path: &Path) -> Result<PiiKeys, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(s) => Self::from_base64(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate_base64();
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                let mut f = opts.open(path).map_err(io)?;
                std::io::Write::write_all(&mut f, key.as_bytes()).map_err(io)?;
                Self::from_base64(&key)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// nonce ‖ ciphertext ‖ tag
    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn decrypt(&self, data: &[u8]) -> Result<String, KeyError> {
        if data.len() < NONCE_LEN {
            return Err(KeyError::Decrypt);
        }
        let (nonce, ct) = data.split_at(NONCE_LEN);
        let pt = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| KeyError::Decrypt)?;
        String::from_utf8(pt).map_err(|_| KeyError::Decrypt)
    }

    /// The key of the fund ledger's hash chain. It lives with the installation's key, not in
    /// the database: holding the database alone does not let anyone re-seal a changed chain.
    pub fn chain_key(&self) -> &ledger::ChainKey {
        &self.chain_key
    }

    /// The key the claim documents are encrypted with in the document store: derived from the
    /// installation's key (HMAC with a purpose label), so one secret protects both and neither
    /// key can be computed from the other's ciphertexts.
    pub fn documents_key(&self) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key)
            .expect("HMAC takes any key length");
        mac.update(b"shouwang claim documents v1");
        mac.finalize().into_bytes().into()
    }

    pub fn hash(&self, kind: HashKind, value: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key)
            .expect("HMAC takes any key length");
        mac.update(match kind {
            HashKind::IdNumber => b"id\0",
            HashKind::Phone => b"ph\0",
        });
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// Derived from the MAC key under its own label, so it never equals a lookup hash.
fn derive_chain_key(mac_key: &[u8; 32]) -> ledger::ChainKey {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(mac_key).expect("HMAC takes any key length");
    mac.update(b"shouwang ledger chain key v1\0");
    ledger::ChainKey::new(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> PiiKeys {
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap()
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let k = keys();
        let a = k.encrypt("11010519491231002X");
        let b = k.encrypt("11010519491231002X");
        assert_ne!(a, b, "same plaintext must not give the same ciphertext");
        assert_eq!(k.decrypt(&a).unwrap(), "11010519491231002X");
    }

    #[test]
    fn tampering_and_wrong_keys_are_detected() {
        let k = keys();
        let mut c = k.encrypt("13812345678");
        let last = c.len() - 1;
        c[last] ^= 1;
        assert!(k.decrypt(&c).is_err());
        assert!(keys().decrypt(&k.encrypt("x")).is_err());
    }

    #[test]
    fn hashes_are_keyed_and_kind_separated() {
        let k = keys();
        assert_eq!(
            k.hash(HashKind::IdNumber, "1"),
            k.hash(HashKind::IdNumber, "1")
        );
        assert_ne!(
            k.hash(HashKind::IdNumber, "1"),
            k.hash(HashKind::Phone, "1")
        );
        assert_ne!(
            k.hash(HashKind::IdNumber, "1"),
            keys().hash(HashKind::IdNumber, "1")
        );
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("sw-key-{}", std::process::id()));
        let path = dir.join("test.key");
        let _ = std::fs::remove_file(&path);
        let k1 = PiiKeys::load_or_create(&path).unwrap();
        let k2 = PiiKeys::load_or_create(&path).unwrap();
        assert_eq!(k2.decrypt(&k1.encrypt("x")).unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(PiiKeys::from_base64("short").is_err());
        assert!(PiiKeys::from_bytes(&[0u8; 10]).is_err());
    }
}
