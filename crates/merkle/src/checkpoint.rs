//! Checkpoints (C2SP `tlog-checkpoint.md`; Rekor `pkg/util/checkpoint.go`): a signed note
//! whose text is `<origin>\n<size>\n<base64 root>\n` plus optional extension lines.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::note::{NoteLimits, SignedNote, new_signature};
use crate::{
    ConsistencyProof, Error, Hash, InclusionProof, KeyHint, NoteSigner, NoteVerifier, Syntax,
    VerifiedConsistency, VerifiedInclusion,
};

/// The content of a checkpoint: which log, how many leaves, which root.
///
/// Rekor v1 origins are `"<host> - <tree ID>"` and may carry a `Timestamp: <ns>` extension
/// line; Rekor v2 origins are the log's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint of `size` leaves with root `root`. The origin must be a non-empty line.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Result<Self, Error> {
        let origin = origin.into();
        check_line(&origin, Syntax::EmptyOrigin)?;
        Ok(Self {
            origin,
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds an extension line (for example Rekor v1's `Timestamp: <ns>`), signed with the rest.
    pub fn with_extension(mut self, line: impl Into<String>) -> Result<Self, Error> {
        let line = line.into();
        check_line(&line, Syntax::EmptyExtension)?;
        self.extensions.push(line);
        Ok(self)
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Root hash of the tree of `size` leaves.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Extension lines after the root hash, in order.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text that gets signed: `<origin>\n<size>\n<base64 root>\n[<extension>\n]*`.
    pub fn to_note_text(&self) -> String {
        let mut text = format!("{}\n{}\n", self.origin, self.size);
        STANDARD.encode_string(self.root.as_bytes(), &mut text);
        text.push('\n');
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses note text strictly: anything accepted re-serializes to the same bytes
    /// (C2SP `tlog-checkpoint.md`, "Note text").
    fn parse(text: &str, limits: &NoteLimits) -> Result<Self, Error> {
        let err = |line, syntax| Error::Syntax { line, syntax };
        // SignedNote guarantees a final newline.
        let mut lines = text.strip_suffix('\n').unwrap_or(text).split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(err(text.matches('\n').count(), Syntax::TooFewLines));
        };
        if origin.is_empty() {
            return Err(err(1, Syntax::EmptyOrigin));
        }
        let size = parse_size(size).ok_or(err(2, Syntax::TreeSize))?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|bytes| Hash::from_slice(&bytes).ok())
            .ok_or(err(3, Syntax::RootHash))?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            if extensions.len() == limits.max_extension_lines {
                return Err(Error::TooManyExtensions {
                    limit: limits.max_extension_lines,
                });
            }
            if line.is_empty() {
                return Err(err(4 + i, Syntax::EmptyExtension));
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// Canonical decimal: digits only, no leading zero except for "0" itself.
fn parse_size(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

fn check_line(line: &str, if_empty: Syntax) -> Result<(), Error> {
    let syntax = if line.is_empty() {
        if_empty
    } else if line.contains('\n') {
        Syntax::Newline
    } else if line.bytes().any(|b| b < 0x20) {
        Syntax::ControlCharacter
    } else {
        return Ok(());
    };
    Err(Error::Syntax { line: 0, syntax })
}

/// A checkpoint with its signatures, exactly as received or as signed; not yet trusted.
///
/// [`verify`](Self::verify) with a trusted key turns it into a [`VerifiedCheckpoint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    note: SignedNote,
    checkpoint: Checkpoint,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint with the default [`NoteLimits`].
    pub fn parse(text: &[u8]) -> Result<Self, Error> {
        Self::parse_with_limits(text, &NoteLimits::default())
    }

    /// Parses a signed checkpoint (C2SP `signed-note.md` and `tlog-checkpoint.md`).
    pub fn parse_with_limits(text: &[u8], limits: &NoteLimits) -> Result<Self, Error> {
        let note = SignedNote::parse(text, limits)?;
        let checkpoint = Checkpoint::parse(note.body(), limits)?;
        Ok(Self { note, checkpoint })
    }

    /// Signs a checkpoint: the log's side.
    pub fn sign(
        checkpoint: Checkpoint,
        signer: &(impl NoteSigner + ?Sized),
    ) -> Result<Self, Error> {
        let mut signed = Self {
            note: SignedNote::unsigned(checkpoint.to_note_text()),
            checkpoint,
        };
        signed.add_signature(signer)?;
        Ok(signed)
    }

    /// Adds another signature line (a second log key, or a witness cosignature).
    pub fn add_signature(&mut self, signer: &(impl NoteSigner + ?Sized)) -> Result<(), Error> {
        let signature = signer.sign(self.note.body().as_bytes())?;
        let line = new_signature(signer.key_name(), signer.key_hint(), signature)?;
        self.note.push_signature(line);
        Ok(())
    }

    /// Checks the signature of `verifier`'s key over the original note text.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<VerifiedCheckpoint, Error> {
        verifier.verify_note(&self.note)?;
        Ok(VerifiedCheckpoint {
            checkpoint: self.checkpoint.clone(),
            key_name: verifier.key_name().to_owned(),
            key_hint: verifier.key_hint(),
        })
    }

    /// The content, **not yet verified**: only for choosing which key to verify with, or for
    /// error messages.
    pub fn unverified_checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The note with all its signature lines.
    pub fn note(&self) -> &SignedNote {
        &self.note
    }

    /// The exact text, as received or as signed.
    pub fn as_str(&self) -> &str {
        self.note.as_str()
    }
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Evidence that a trusted key signed this checkpoint; proofs checked against it are bound to
/// its root and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    key_name: String,
    key_hint: KeyHint,
}

impl VerifiedCheckpoint {
    /// The verified content.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        self.checkpoint.origin()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.checkpoint.size()
    }

    /// Root hash.
    pub fn root(&self) -> Hash {
        self.checkpoint.root()
    }

    /// Name of the key whose signature verified.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// Hint of the key whose signature verified.
    pub fn key_hint(&self) -> KeyHint {
        self.key_hint
    }

    /// Insists the checkpoint comes from the log named `origin` (C2SP `tlog-checkpoint.md`:
    /// clients check the origin they expect).
    pub fn expect_origin(self, origin: &str) -> Result<Self, Error> {
        if self.origin() != origin {
            return Err(Error::OriginMismatch {
                expected: origin.to_owned(),
                found: self.origin().to_owned(),
            });
        }
        Ok(self)
    }

    /// Verifies that `leaf_hash` is in this checkpoint's tree (the proof must be for this size).
    pub fn verify_inclusion(
        &self,
        leaf_hash: &Hash,
        proof: &InclusionProof,
    ) -> Result<VerifiedInclusion, Error> {
        if proof.size() != self.size() {
            return Err(Error::ProofSizeMismatch {
                checkpoint_size: self.size(),
                proof_size: proof.size(),
            });
        }
        proof.verify(leaf_hash, &self.root())
    }

    /// Verifies that this checkpoint's tree is a prefix of `newer`'s, from the same origin.
    pub fn verify_consistency(
        &self,
        newer: &Self,
        proof: &ConsistencyProof,
    ) -> Result<VerifiedConsistency, Error> {
        if newer.origin() != self.origin() {
            return Err(Error::OriginMismatch {
                expected: self.origin().to_owned(),
                found: newer.origin().to_owned(),
            });
        }
        for (checkpoint_size, proof_size) in [
            (self.size(), proof.old_size()),
            (newer.size(), proof.new_size()),
        ] {
            if checkpoint_size != proof_size {
                return Err(Error::ProofSizeMismatch {
                    checkpoint_size,
                    proof_size,
                });
            }
        }
        proof.verify(&self.root(), &newer.root())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EMPTY_ROOT;

    fn parse_body(text: &str) -> Result<Checkpoint, Error> {
        Checkpoint::parse(text, &NoteLimits::default())
    }

    const ROOT: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    #[test]
    fn body_round_trips() {
        let text = format!("example.com/log\n42\n{ROOT}\nTimestamp: 1\n");
        let parsed = parse_body(&text).ok();
        assert_eq!(parsed.as_ref().map(Checkpoint::to_note_text), Some(text));
        assert_eq!(parsed.map(|c| c.root()), Some(EMPTY_ROOT));
    }

    #[test]
    fn rejects_malformed_bodies() {
        let cases: &[(&str, String, usize, Syntax)] = &[
            ("too few lines", "o\n1\n".into(), 2, Syntax::TooFewLines),
            (
                "empty origin",
                format!("\n1\n{ROOT}\n"),
                1,
                Syntax::EmptyOrigin,
            ),
            (
                "leading zero",
                format!("o\n01\n{ROOT}\n"),
                2,
                Syntax::TreeSize,
            ),
            ("plus sign", format!("o\n+1\n{ROOT}\n"), 2, Syntax::TreeSize),
            ("negative", format!("o\n-1\n{ROOT}\n"), 2, Syntax::TreeSize),
            (
                "overflow",
                format!("o\n18446744073709551616\n{ROOT}\n"),
                2,
                Syntax::TreeSize,
            ),
            (
                "hex root",
                format!("o\n1\n{EMPTY_ROOT}\n"),
                3,
                Syntax::RootHash,
            ),
            ("short root", "o\n1\nAAAA\n".into(), 3, Syntax::RootHash),
            (
                "empty extension",
                format!("o\n1\n{ROOT}\na\n\nb\n"),
                5,
                Syntax::EmptyExtension,
            ),
        ];
        for (name, text, line, want) in cases {
            match parse_body(text) {
                Err(Error::Syntax { line: l, syntax }) => {
                    assert_eq!((l, syntax), (*line, *want), "{name}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(
            parse_body(&format!("o\n0\n{ROOT}\n"))
                .map(|c| c.size())
                .ok(),
            Some(0)
        );
    }

    #[test]
    fn limits_extension_lines() {
        let limits = NoteLimits {
            max_extension_lines: 1,
            ..NoteLimits::default()
        };
        let text = format!("o\n1\n{ROOT}\na\nb\n");
        assert!(matches!(
            Checkpoint::parse(&text, &limits),
            Err(Error::TooManyExtensions { limit: 1 })
        ));
    }

    #[test]
    fn builder_rejects_bad_lines() {
        assert!(matches!(
            Checkpoint::new("", 1, EMPTY_ROOT),
            Err(Error::Syntax {
                syntax: Syntax::EmptyOrigin,
                ..
            })
        ));
        assert!(matches!(
            Checkpoint::new("a\nb", 1, EMPTY_ROOT),
            Err(Error::Syntax {
                syntax: Syntax::Newline,
                ..
            })
        ));
        let with_ext = Checkpoint::new("a", 1, EMPTY_ROOT).and_then(|c| c.with_extension(""));
        assert!(matches!(
            with_ext,
            Err(Error::Syntax {
                syntax: Syntax::EmptyExtension,
                ..
            })
        ));
    }
}
