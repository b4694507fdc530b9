//! cosign key files.
//!
//! Private keys (`cosign.key`): a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (current cosign) or
//! `ENCRYPTED COSIGN PRIVATE KEY` (older cosign, still read) whose body is a JSON document
//! (go-securesystemslib `encrypted`, as cosign's `pkg/cosign/keys.go` writes it):
//!
//! ```json
//! {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<base64 32 bytes>"},
//!  "cipher":{"name":"nacl/secretbox","nonce":"<base64 24 bytes>"},
//!  "ciphertext":"<base64 secretbox(PKCS#8 DER)>"}
//! ```
//!
//! The key is `scrypt(password, salt, N, r, p, 32)`; the cipher NaCl secretbox
//! (XSalsa20-Poly1305). The password may be empty. Public keys (`cosign.pub`) are PKIX
//! `PUBLIC KEY` PEM. Plain `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` (SEC1) and `RSA PRIVATE KEY`
//! (PKCS#1) PEM can be imported.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::{Aead, KeyInit};
use der::pem::LineEnding;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keys::SigningKey;
use crate::limits::{self, Limits};

/// PEM label written by current cosign (and by vouch).
pub const SIGSTORE_PRIVATE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// PEM label written by cosign before v2; still read.
pub const COSIGN_PRIVATE_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";

const ACCEPTED_LABELS: &[&str] = &[
    SIGSTORE_PRIVATE_KEY_LABEL,
    COSIGN_PRIVATE_KEY_LABEL,
    "PRIVATE KEY",
    "EC PRIVATE KEY",
];

/// scrypt cost written by vouch: N = 2^16, as `cosign generate-key-pair` does today.
const WRITE_LOG_N: u8 = 16;
const WRITE_R: u32 = 8;
const WRITE_P: u32 = 1;

// Field order and names follow the Go structs so the JSON is byte-identical to cosign's.
#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Encrypts `key` into an `ENCRYPTED SIGSTORE PRIVATE KEY` PEM document that cosign reads.
pub fn encrypt_private_key(key: &SigningKey, password: &[u8]) -> Result<String> {
    let pkcs8 = key.to_pkcs8_der()?;
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut salt).map_err(|_| Error::Random)?;
    getrandom::fill(&mut nonce).map_err(|_| Error::Random)?;
    let box_key = derive_key(password, &salt, WRITE_LOG_N, WRITE_R, WRITE_P)?;
    let cipher = XSalsa20Poly1305::new(&box_key.into());
    let ciphertext = cipher
        .encrypt(&nonce.into(), pkcs8.as_bytes())
        .map_err(|_| Error::malformed("private key", "secretbox encryption failed"))?;
    let doc = EncryptedKey {
        kdf: Kdf {
            name: "scrypt".into(),
            params: ScryptParams {
                n: 1 << WRITE_LOG_N,
                r: WRITE_R,
                p: WRITE_P,
            },
            salt: B64.encode(salt),
        },
        cipher: Cipher {
            name: "nacl/secretbox".into(),
            nonce: B64.encode(nonce),
        },
        ciphertext: B64.encode(ciphertext),
    };
    let json = serde_json::to_vec(&doc).map_err(|e| Error::malformed("private key", e))?;
    der::pem::encode_string(SIGSTORE_PRIVATE_KEY_LABEL, LineEnding::LF, &json)
        .map_err(|e| Error::malformed("private key", e))
}

/// Reads a private key PEM: cosign's encrypted formats (with `password`) or plain PKCS#8/SEC1
/// (password ignored).
pub fn read_private_key(pem: &str, password: &[u8], limits: &Limits) -> Result<SigningKey> {
    limits::check("key file", limits.max_key_file_bytes, pem.len())?;
    let block = private_key_block(pem)?;
    let (label, body) =
        der::pem::decode_vec(block.as_bytes()).map_err(|e| Error::malformed("PEM", e))?;
    match label {
        SIGSTORE_PRIVATE_KEY_LABEL | COSIGN_PRIVATE_KEY_LABEL => {
            let pkcs8 = decrypt(&body, password, limits)?;
            SigningKey::from_pkcs8_der(&pkcs8)
        }
        "PRIVATE KEY" => SigningKey::from_pkcs8_der(&body),
        "EC PRIVATE KEY" => SigningKey::from_sec1_der(&body),
        "RSA PRIVATE KEY" => SigningKey::from_pkcs1_der(&body),
        "ENCRYPTED PRIVATE KEY" => Err(Error::UnsupportedAlgorithm {
            algorithm: "password-protected PKCS#8 (ENCRYPTED PRIVATE KEY); decrypt it first \
                        (openssl pkey -in KEY -out plain.pem) or use a cosign key file"
                .into(),
        }),
        other => Err(Error::UnexpectedPemLabel {
            expected: ACCEPTED_LABELS,
            found: other.to_owned(),
        }),
    }
}

/// The private key block of a PEM file. `openssl ecparam -genkey` writes an `EC PARAMETERS`
/// block before the `EC PRIVATE KEY` one, and combined files put certificates beside keys
/// (RFC 7468 §2 allows text between blocks), so the first block whose label names a private
/// key is taken; failing that, the first block that is not parameters (its label is then
/// named in the refusal).
fn private_key_block(pem: &str) -> Result<&str> {
    let mut first_other = None;
    let mut rest = pem;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let label_end = block["-----BEGIN ".len()..]
            .find("-----")
            .ok_or_else(|| Error::malformed("PEM", "unterminated BEGIN line"))?;
        let label = &block["-----BEGIN ".len().."-----BEGIN ".len() + label_end];
        let end_line = format!("-----END {label}-----");
        let end = block
            .find(&end_line)
            .ok_or_else(|| Error::malformed("PEM", format!("no END line for {label}")))?
            + end_line.len();
        if label.ends_with("PRIVATE KEY") {
            return Ok(&block[..end]);
        }
        if !label.ends_with("PARAMETERS") {
            first_other.get_or_insert(&block[..end]);
        }
        rest = &block[end..];
    }
    first_other.ok_or_else(|| Error::malformed("PEM", "no private key block found"))
}

/// Decrypts the JSON body of an encrypted cosign key into PKCS#8 DER (zeroised on drop).
fn decrypt(json: &[u8], password: &[u8], limits: &Limits) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let doc: EncryptedKey =
        serde_json::from_slice(json).map_err(|e| Error::malformed("encrypted key JSON", e))?;
    if doc.kdf.name != "scrypt" {
        return Err(Error::UnsupportedAlgorithm {
            algorithm: format!("key derivation {:?}", doc.kdf.name),
        });
    }
    if doc.cipher.name != "nacl/secretbox" {
        return Err(Error::UnsupportedAlgorithm {
            algorithm: format!("cipher {:?}", doc.cipher.name),
        });
    }
    let ScryptParams { n, r, p } = doc.kdf.params;
    let out_of_range = || Error::KdfParamsOutOfRange { n, r, p };
    if !n.is_power_of_two() || n < 2 || r == 0 || p == 0 {
        return Err(out_of_range());
    }
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| out_of_range())?;
    if log_n > limits.max_scrypt_log_n || r > limits.max_scrypt_r || p > limits.max_scrypt_p {
        return Err(out_of_range());
    }
    let salt = decode_b64("kdf.salt", &doc.kdf.salt)?;
    let nonce: [u8; 24] = decode_b64("cipher.nonce", &doc.cipher.nonce)?
        .try_into()
        .map_err(|_| Error::malformed("encrypted key JSON", "nonce is not 24 bytes"))?;
    let ciphertext = decode_b64("ciphertext", &doc.ciphertext)?;
    let box_key = derive_key(password, &salt, log_n, r, p)?;
    let cipher = XSalsa20Poly1305::new(&box_key.into());
    cipher
        .decrypt(&nonce.into(), ciphertext.as_slice())
        .map(zeroize::Zeroizing::new)
        .map_err(|_| Error::KeyDecryption)
}

fn derive_key(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<[u8; 32]> {
    let params = scrypt::Params::new(log_n, r, p).map_err(|_| Error::KdfParamsOutOfRange {
        n: 1u64 << log_n,
        r,
        p,
    })?;
    let mut out = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut out)
        .map_err(|_| Error::malformed("encrypted key", "scrypt output length"))?;
    Ok(out)
}

fn decode_b64(field: &'static str, value: &str) -> Result<Vec<u8>> {
    B64.decode(value).map_err(|e| Error::malformed(field, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyAlgorithm;

    #[test]
    fn write_then_read_each_algorithm() {
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Ed25519,
        ] {
            let key = SigningKey::generate(alg).expect("generate");
            let pem = encrypt_private_key(&key, b"pw").expect("encrypt");
            assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
            assert!(pem.lines().all(|l| l.len() <= 64));
            let back = read_private_key(&pem, b"pw", &Limits::default()).expect("decrypt");
            assert_eq!(back.public_key(), key.public_key());
            assert!(matches!(
                read_private_key(&pem, b"wrong", &Limits::default()),
                Err(Error::KeyDecryption)
            ));
        }
    }

    #[test]
    fn json_envelope_matches_cosign_field_order() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("generate");
        let pem = encrypt_private_key(&key, b"").expect("encrypt");
        let (_, body) = der::pem::decode_vec(pem.as_bytes()).expect("pem");
        let json = String::from_utf8(body).expect("utf8");
        assert!(
            json.starts_with(
                r#"{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":""#
            ),
            "{json}"
        );
        assert!(json.contains(r#""cipher":{"name":"nacl/secretbox","nonce":""#));
    }

    #[test]
    fn pem_files_as_openssl_writes_them() {
        use p256::pkcs8::EncodePrivateKey as _;
        let limits = Limits::default();
        let key = p256::SecretKey::from_slice(&[7u8; 32]).expect("scalar");
        let sec1 = key.to_sec1_der().expect("sec1");
        let sec1_pem =
            der::pem::encode_string("EC PRIVATE KEY", LineEnding::LF, &sec1).expect("pem");
        // `openssl ecparam -name prime256v1 -genkey`: parameters first (the P-256 OID).
        let params = der::pem::encode_string(
            "EC PARAMETERS",
            LineEnding::LF,
            &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        )
        .expect("pem");
        let expected = SigningKey::from_sec1_der(&sec1).expect("key").public_key();
        for text in [
            sec1_pem.clone(),
            format!("{params}{sec1_pem}"),
            format!("Bag Attributes\n{params}\n{sec1_pem}\ntrailing text\n"),
        ] {
            let read = read_private_key(&text, b"", &limits).expect("read");
            assert_eq!(read.public_key(), expected, "{text}");
        }
        // A certificate beside the key does not hide it.
        let cert =
            der::pem::encode_string("CERTIFICATE", LineEnding::LF, &[0x30, 0x00]).expect("pem");
        let pkcs8 = key.to_pkcs8_der().expect("pkcs8");
        let p8_pem =
            der::pem::encode_string("PRIVATE KEY", LineEnding::LF, pkcs8.as_bytes()).expect("pem");
        let read = read_private_key(&format!("{cert}{p8_pem}"), b"", &limits).expect("read");
        assert_eq!(read.public_key(), expected);
        // Refusals name the problem.
        let only_cert = read_private_key(&cert, b"", &limits).expect_err("no key");
        assert!(
            matches!(&only_cert, Error::UnexpectedPemLabel { found, .. } if found == "CERTIFICATE"),
            "{only_cert}"
        );
        let encrypted =
            der::pem::encode_string("ENCRYPTED PRIVATE KEY", LineEnding::LF, &[0x30]).expect("pem");
        let e = read_private_key(&encrypted, b"", &limits).expect_err("encrypted pkcs8");
        assert!(e.to_string().contains("decrypt it first"), "{e}");
        let rsa = der::pem::encode_string("RSA PRIVATE KEY", LineEnding::LF, &[0x30]).expect("pem");
        let e = read_private_key(&rsa, b"", &limits).expect_err("rsa");
        assert!(e.to_string().contains("RSA private key refused"), "{e}");
        let e = read_private_key("no pem here", b"", &limits).expect_err("junk");
        assert!(e.to_string().contains("no private key block"), "{e}");
    }

    #[test]
    fn hostile_scrypt_cost_is_refused_before_work() {
        let doc = r#"{"kdf":{"name":"scrypt","params":{"N":1099511627776,"r":8,"p":1},"salt":"AA=="},"cipher":{"name":"nacl/secretbox","nonce":"AA=="},"ciphertext":"AA=="}"#;
        let pem =
            der::pem::encode_string(SIGSTORE_PRIVATE_KEY_LABEL, LineEnding::LF, doc.as_bytes())
                .expect("pem");
        assert!(matches!(
            read_private_key(&pem, b"", &Limits::default()),
            Err(Error::KdfParamsOutOfRange {
                n: 1_099_511_627_776,
                ..
            })
        ));
    }
}
