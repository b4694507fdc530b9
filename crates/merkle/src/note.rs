//! Signed notes (C2SP `signed-note.md`, golang.org/x/mod/sumdb/note): text, a blank line,
//! then one line per signature, `— <key name> <base64(key hint || signature)>`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::{Error, Syntax};

/// Em dash (U+2014) and space: the start of every signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Limits applied when parsing untrusted signed notes and checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NoteLimits {
    /// Largest accepted note, signatures included. Default 64 KiB: a checkpoint is ~100
    /// bytes, and C2SP asks verifiers to accept 16 signatures of up to ~5 KB (post-quantum).
    pub max_bytes: usize,
    /// Most signature lines accepted. Default 32 (C2SP: at least 16).
    pub max_signatures: usize,
    /// Most checkpoint extension lines accepted after the root hash. Default 16.
    pub max_extension_lines: usize,
}

impl Default for NoteLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024,
            max_signatures: 32,
            max_extension_lines: 16,
        }
    }
}

/// The 4-byte key ID that starts every decoded signature and names the key that made it.
///
/// It is an identifier, not a security check: a verifier picks signatures by key name and
/// hint, then verifies them with the key it was configured with.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHint([u8; 4]);

impl KeyHint {
    /// Wraps 4 bytes.
    pub const fn new(bytes: [u8; 4]) -> Self {
        Self(bytes)
    }

    /// `SHA-256(DER SubjectPublicKeyInfo)[:4]`: what Rekor v1 uses for every key type
    /// (`sigstore/rekor:pkg/util/signed_note.go`), equal to the first 4 bytes of the Rekor log
    /// ID. C2SP signature type `0x02` (ECDSA) defines the same key ID.
    pub fn from_spki_der(spki_der: &[u8]) -> Self {
        Self::first_four(&Sha256::digest(spki_der))
    }

    /// `SHA-256(key name || 0x0A || signature type || public key)[:4]`, the key ID C2SP
    /// `signed-note.md` recommends; type `0x01` with the 32-byte key for Ed25519 (Rekor v2).
    pub fn c2sp(key_name: &str, signature_type: u8, public_key: &[u8]) -> Self {
        let mut sha = Sha256::new();
        sha.update(key_name.as_bytes());
        sha.update([b'\n', signature_type]);
        sha.update(public_key);
        Self::first_four(&sha.finalize())
    }

    fn first_four(digest: &[u8]) -> Self {
        Self([digest[0], digest[1], digest[2], digest[3]])
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }
}

impl fmt::Display for KeyHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHint({self})")
    }
}

/// One signature line of a signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    key_name: String,
    key_hint: KeyHint,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// Name of the key that claims to have signed.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The claimed key's hint.
    pub fn key_hint(&self) -> KeyHint {
        self.key_hint
    }

    /// The signature bytes after the key hint (DER for ECDSA, 64 bytes for Ed25519).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    fn write_line(&self, out: &mut String) {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(self.key_hint.as_bytes());
        raw.extend_from_slice(&self.signature);
        out.push_str(SIGNATURE_PREFIX);
        out.push_str(&self.key_name);
        out.push(' ');
        STANDARD.encode_string(raw, out);
        out.push('\n');
    }
}

/// A parsed signed note that keeps its exact text: signatures are verified over the original
/// bytes of the note text, and [`as_str`](Self::as_str) gives back the input unchanged.
///
/// The parser is strict: everything it accepts re-serializes byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    text: String,
    /// Length of the signed note text, final newline included.
    body_len: usize,
    signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// Parses a signed note (C2SP `signed-note.md`, "Format").
    ///
    /// The note text ends at the last blank line; every following line must be a signature
    /// line. Unknown signatures are kept (and ignored by verification).
    pub fn parse(input: &[u8], limits: &NoteLimits) -> Result<Self, Error> {
        if input.len() > limits.max_bytes {
            return Err(Error::NoteTooLarge {
                size: input.len(),
                limit: limits.max_bytes,
            });
        }
        let text = std::str::from_utf8(input).map_err(|e| syntax_at(input, e.valid_up_to()))?;
        if let Some(pos) = text.bytes().position(|b| b < 0x20 && b != b'\n') {
            return Err(Error::Syntax {
                line: line_of(text, pos),
                syntax: Syntax::ControlCharacter,
            });
        }
        let split = text.rfind("\n\n").ok_or(Error::Syntax {
            line: text.lines().count(),
            syntax: Syntax::MissingSeparator,
        })?;
        let body_len = split + 1;
        let block = &text[split + 2..];
        let first_line = line_of(text, split + 2);
        if block.is_empty() {
            return Err(Error::Syntax {
                line: first_line,
                syntax: Syntax::NoSignatures,
            });
        }
        let Some(block) = block.strip_suffix('\n') else {
            let line = first_line + block.matches('\n').count();
            return Err(Error::Syntax {
                line,
                syntax: Syntax::MissingFinalNewline,
            });
        };
        let mut signatures = Vec::new();
        for (i, line) in block.split('\n').enumerate() {
            if signatures.len() == limits.max_signatures {
                return Err(Error::TooManySignatures {
                    limit: limits.max_signatures,
                });
            }
            let signature = parse_signature_line(line).map_err(|syntax| Error::Syntax {
                line: first_line + i,
                syntax,
            })?;
            signatures.push(signature);
        }
        Ok(Self {
            text: text.to_owned(),
            body_len,
            signatures,
        })
    }

    /// A note with no signatures yet; [`push_signature`](Self::push_signature) adds them.
    pub(crate) fn unsigned(body: String) -> Self {
        let body_len = body.len();
        let mut text = body;
        text.push('\n');
        Self {
            text,
            body_len,
            signatures: Vec::new(),
        }
    }

    pub(crate) fn push_signature(&mut self, signature: NoteSignature) {
        signature.write_line(&mut self.text);
        self.signatures.push(signature);
    }

    /// The signed note text, final newline included, blank separator line excluded.
    pub fn body(&self) -> &str {
        &self.text[..self.body_len]
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The whole note, exactly as parsed or as built.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for SignedNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Builds a signature entry, checking the key name.
pub(crate) fn new_signature(
    key_name: &str,
    key_hint: KeyHint,
    signature: Vec<u8>,
) -> Result<NoteSignature, Error> {
    if !valid_key_name(key_name) {
        return Err(Error::InvalidKeyName {
            name: key_name.to_owned(),
        });
    }
    Ok(NoteSignature {
        key_name: key_name.to_owned(),
        key_hint,
        signature,
    })
}

/// Key names are non-empty, without Unicode spaces or `+` (C2SP `signed-note.md`, "Format").
pub(crate) fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, Syntax> {
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(Syntax::SignaturePrefix)?;
    let (name, encoded) = rest.split_once(' ').ok_or(Syntax::KeyName)?;
    if !valid_key_name(name) {
        return Err(Syntax::KeyName);
    }
    // The standard engine demands canonical padding and zero trailing bits, so the line
    // re-encodes to itself.
    let raw = STANDARD
        .decode(encoded)
        .map_err(|_| Syntax::SignatureBase64)?;
    if raw.len() < 5 {
        return Err(Syntax::SignatureTooShort);
    }
    let key_hint = KeyHint([raw[0], raw[1], raw[2], raw[3]]);
    Ok(NoteSignature {
        key_name: name.to_owned(),
        key_hint,
        signature: raw[4..].to_vec(),
    })
}

/// One-based line number of byte offset `pos`.
fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn syntax_at(input: &[u8], pos: usize) -> Error {
    let line = input[..pos].iter().filter(|&&b| b == b'\n').count() + 1;
    Error::Syntax {
        line,
        syntax: Syntax::NotUtf8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SignedNote, Error> {
        SignedNote::parse(text.as_bytes(), &NoteLimits::default())
    }

    fn syntax(text: &str) -> Option<(usize, Syntax)> {
        match parse(text) {
            Err(Error::Syntax { line, syntax }) => Some((line, syntax)),
            _ => None,
        }
    }

    // base64 of 01020304 05: hint 01020304, one signature byte.
    const SIG: &str = "AQIDBAU=";

    #[test]
    fn parses_and_round_trips() {
        let text = format!("hello\n\nworld\n\n\u{2014} a {SIG}\n\u{2014} b/c {SIG}\n");
        let note = parse(&text).ok();
        let note = note.as_ref();
        assert_eq!(note.map(SignedNote::body), Some("hello\n\nworld\n"));
        assert_eq!(note.map(|n| n.signatures().len()), Some(2));
        assert_eq!(note.map(|n| n.signatures()[1].key_name()), Some("b/c"));
        assert_eq!(
            note.map(|n| n.signatures()[0].key_hint()),
            Some(KeyHint([1, 2, 3, 4]))
        );
        assert_eq!(
            note.map(|n| n.signatures()[0].signature()),
            Some(&[5u8][..])
        );
        assert_eq!(note.map(SignedNote::as_str), Some(text.as_str()));
    }

    #[test]
    fn rejects_malformed_notes() {
        let cases: &[(&str, &str, usize, Syntax)] = &[
            (
                "no separator",
                "a\n\u{2014} k AQIDBAU=\n",
                2,
                Syntax::MissingSeparator,
            ),
            ("no signatures", "a\n\n", 3, Syntax::NoSignatures),
            (
                "no final newline",
                "a\n\n\u{2014} k AQIDBAU=",
                3,
                Syntax::MissingFinalNewline,
            ),
            (
                "hyphen not em dash",
                "a\n\n- k AQIDBAU=\n",
                3,
                Syntax::SignaturePrefix,
            ),
            (
                "blank in signatures",
                "a\n\n\u{2014} k AQIDBAU=\n\n",
                5,
                Syntax::NoSignatures,
            ),
            ("missing signature", "a\n\n\u{2014} k\n", 3, Syntax::KeyName),
            (
                "plus in name",
                "a\n\n\u{2014} k+1 AQIDBAU=\n",
                3,
                Syntax::KeyName,
            ),
            (
                "empty name",
                "a\n\n\u{2014}  AQIDBAU=\n",
                3,
                Syntax::KeyName,
            ),
            (
                "extra field",
                "a\n\n\u{2014} k AQIDBAU= x\n",
                3,
                Syntax::SignatureBase64,
            ),
            (
                "unpadded",
                "a\n\n\u{2014} k AQIDBAU\n",
                3,
                Syntax::SignatureBase64,
            ),
            (
                "trailing bits",
                "a\n\n\u{2014} k AQIDBAV=\n",
                3,
                Syntax::SignatureBase64,
            ),
            (
                "url-safe",
                "a\n\n\u{2014} k AQID-_U=\n",
                3,
                Syntax::SignatureBase64,
            ),
            (
                "short",
                "a\n\n\u{2014} k AQIDBA==\n",
                3,
                Syntax::SignatureTooShort,
            ),
            (
                "carriage return",
                "a\r\n\n\u{2014} k AQIDBAU=\n",
                1,
                Syntax::ControlCharacter,
            ),
            (
                "tab",
                "a\n\n\u{2014} k\tAQIDBAU=\n",
                3,
                Syntax::ControlCharacter,
            ),
        ];
        for (name, text, line, want) in cases {
            assert_eq!(syntax(text), Some((*line, *want)), "{name}");
        }
        assert!(matches!(
            SignedNote::parse(b"a\xff\n\n", &NoteLimits::default()),
            Err(Error::Syntax {
                line: 1,
                syntax: Syntax::NotUtf8
            })
        ));
    }

    #[test]
    fn enforces_limits() {
        let limits = NoteLimits {
            max_bytes: 10,
            ..NoteLimits::default()
        };
        let text = format!("a\n\n\u{2014} k {SIG}\n");
        assert!(matches!(
            SignedNote::parse(text.as_bytes(), &limits),
            Err(Error::NoteTooLarge { limit: 10, .. })
        ));
        let limits = NoteLimits {
            max_signatures: 2,
            ..NoteLimits::default()
        };
        let text = format!("a\n\n{0}{0}{0}", format!("\u{2014} k {SIG}\n"));
        assert!(matches!(
            SignedNote::parse(text.as_bytes(), &limits),
            Err(Error::TooManySignatures { limit: 2 })
        ));
    }

    #[test]
    fn c2sp_key_hint_of_spec_example() {
        // golang.org/x/mod/sumdb/note: the key "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        // has name PeterNeumann, hint c74f20a3, type 0x01 and this Ed25519 key.
        let key = STANDARD
            .decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .ok();
        let hint = key.map(|k| KeyHint::c2sp("PeterNeumann", k[0], &k[1..]));
        assert_eq!(hint, Some(KeyHint([0xc7, 0x4f, 0x20, 0xa3])));
    }
}
