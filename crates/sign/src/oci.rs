//! Image signatures and attestations in OCI registries, stored the two ways cosign stores them
//! (`../shared/notes/sigstore-formats.md` §1):
//!
//! * **legacy tag scheme** (`sigstore/cosign:specs/SIGNATURE_SPEC.md`, `ATTESTATION_SPEC.md`): an
//!   image at tag `sha256-<hex>.sig` (`.att` for attestations) with one layer per signature. A
//!   signature layer is the simple-signing payload (`application/vnd.dev.cosign.simplesigning.v1+json`)
//!   with the base64 signature in the `dev.cosignproject.cosign/signature` annotation; an
//!   attestation layer is a whole DSSE envelope (`application/vnd.dsse.envelope.v1+json`) with an
//!   empty signature annotation and a `predicateType` annotation. Signing appends a layer and
//!   re-pushes the tag (`sigstore/cosign:pkg/oci/mutate/mutate.go`), never dropping one.
//! * **OCI 1.1 referrer** (`sigstore/cosign:specs/BUNDLE_SPEC.md`, cosign 3's default): a manifest
//!   with `subject` = the image, `artifactType` = `application/vnd.dev.sigstore.bundle.v0.3+json`,
//!   the empty config and one layer holding a Sigstore bundle whose DSSE envelope carries an
//!   in-toto statement about the image digest (predicate `https://sigstore.dev/cosign/sign/v1`
//!   for plain signatures). When the registry has no referrers API the client maintains the
//!   distribution-spec "referrers tag schema" index at tag `sha256-<hex>`.
//!
//! Signing always targets the image *digest*; [`ImageTarget::resolve`] turns a tag into one.
//! Reading ([`discover`]) treats everything as untrusted: sizes are bounded by [`Limits`] and
//! nothing found is believed until [`crate::image`] verifies it.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use vouch_oci::manifest::media;
use vouch_oci::{Digest, ImageSink, ImageSource, RawManifest, Reference, Selector};

use crate::bundle::{Bundle, Content};
use crate::error::{Error, Result};
use crate::intoto::{PREDICATE_COSIGN_SIGN, Statement, Subject};
use crate::keys::{Signer, VerifyingKey};
use crate::limits::Limits;
use crate::sign::{Witnesses, legacy_annotations, sign_message, sign_statement_with};

/// Layer media type of a simple-signing payload (`sigstore/cosign:pkg/types/media.go`).
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer media type of a legacy attestation (a whole DSSE envelope).
pub const DSSE_LAYER_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// Layer annotation: base64 signature over the layer blob (empty for attestations).
pub const ANNOTATION_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// Layer annotation: PEM leaf certificate (keyless).
pub const ANNOTATION_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// Layer annotation: PEM intermediates and root (keyless).
pub const ANNOTATION_CHAIN: &str = "dev.sigstore.cosign/chain";
/// Layer annotation: the Rekor bundle (`{"SignedEntryTimestamp","Payload":{…}}`).
pub const ANNOTATION_REKOR_BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// Layer annotation of legacy attestations: the in-toto predicate type.
pub const ANNOTATION_PREDICATE_TYPE: &str = "predicateType";
/// Referrer manifest annotation: `dsse-envelope` or `message-signature`.
pub const ANNOTATION_BUNDLE_CONTENT: &str = "dev.sigstore.bundle.content";
/// Referrer manifest annotation: the statement's predicate type.
pub const ANNOTATION_BUNDLE_PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";
/// `artifactType` of referrer manifests holding a bundle.
pub const BUNDLE_ARTIFACT_TYPE: &str = crate::bundle::MEDIA_TYPE_V0_3;
/// Media type prefix every bundle layer has (cosign accepts any bundle version).
pub const BUNDLE_MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// `critical.type` of simple-signing payloads.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";
/// The OCI empty JSON blob `{}` used as the config of artifacts.
const EMPTY_JSON: &[u8] = b"{}";

/// The image being signed or verified, always by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTarget {
    /// Repository name (`registry/repo`), the simple-signing `docker-reference`.
    pub repository: String,
    /// The manifest (or index) digest; what signatures cover.
    pub digest: Digest,
    /// The manifest's media type (for referrers' `subject`).
    pub media_type: String,
    /// The manifest's size in bytes.
    pub size: u64,
}

impl ImageTarget {
    /// Resolves `reference` (tag or digest) in `source` to the digest of what it names. A
    /// multi-platform index is signed as the index (cosign without `--recursive`).
    pub fn resolve(source: &dyn ImageSource, reference: &Reference) -> Result<Self> {
        Self::resolve_selector(source, &reference.selector(), reference.name())
    }

    /// Resolves `selector` in any source (an OCI layout too); `repository` is the name the
    /// simple-signing payload carries as `docker-reference` (cosign's
    /// `--sign-container-identity`; verifiers check the digest, not this name).
    pub fn resolve_selector(
        source: &dyn ImageSource,
        selector: &Selector,
        repository: String,
    ) -> Result<Self> {
        let top = source.manifest(selector)?;
        Ok(Self {
            repository,
            digest: top.digest.clone(),
            media_type: top.media_type.clone(),
            size: top.bytes.len() as u64,
        })
    }

    /// Every manifest under an index, nested indexes walked (cosign's `--recursive` walks the
    /// same way, `sigstore/cosign:pkg/oci/walk`), parents before children, each once; empty
    /// for an image manifest. At most [`Limits::max_image_signatures`] manifests.
    pub fn descendants(&self, source: &dyn ImageSource, limits: &Limits) -> Result<Vec<Self>> {
        let mut out: Vec<Self> = Vec::new();
        let mut next = 0;
        let mut queue = self.children(source, limits)?;
        while next < queue.len() {
            let child = queue[next].clone();
            next += 1;
            if child.digest == self.digest || out.iter().any(|o| o.digest == child.digest) {
                continue;
            }
            crate::limits::check(
                "manifests under one index",
                limits.max_image_signatures,
                out.len() + 1,
            )?;
            queue.extend(child.children(source, limits)?);
            out.push(child);
        }
        Ok(out)
    }

    /// The manifests an index lists directly (see [`Self::descendants`]); empty for an image
    /// manifest. Entries whose digest is not a valid
    /// digest are refused.
    pub fn children(&self, source: &dyn ImageSource, limits: &Limits) -> Result<Vec<Self>> {
        if !vouch_oci::manifest::is_index(&self.media_type) {
            return Ok(Vec::new());
        }
        let raw = source.manifest(&Selector::Digest(self.digest.clone()))?;
        let entries = json_array(&raw.bytes, "manifests", "image index")?;
        check_count(entries.len(), limits)?;
        entries
            .iter()
            .map(|e| {
                let digest: Digest = e["digest"]
                    .as_str()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|err| Error::malformed("index entry digest", err))?;
                Ok(Self {
                    repository: self.repository.clone(),
                    digest,
                    media_type: e["mediaType"].as_str().unwrap_or_default().to_owned(),
                    size: e["size"].as_u64().ok_or(Error::MissingField {
                        what: "index entry",
                        field: "size",
                    })?,
                })
            })
            .collect()
    }

    /// `repository@digest`.
    pub fn pinned(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }

    /// The raw SHA-256 of the manifest; other digest algorithms cannot be signed.
    pub fn sha256(&self) -> Result<[u8; 32]> {
        let bytes = hex::decode(self.digest.hex())
            .ok()
            .filter(|b| b.len() == 32);
        match (self.digest.algorithm(), bytes) {
            (vouch_oci::digest::Algorithm::Sha256, Some(b)) => {
                let mut out = [0u8; 32];
                out.copy_from_slice(&b);
                Ok(out)
            }
            _ => Err(Error::UnsupportedAlgorithm {
                algorithm: format!("image digest {} (only sha256 is signed)", self.digest),
            }),
        }
    }
}

/// Where `vouch sign` / `vouch attest` store what they sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureFormat {
    /// The `sha256-<hex>.sig` / `.att` tag scheme (cosign 2, sigstore-rs, policy-controller).
    Legacy,
    /// A Sigstore bundle v0.3 as an OCI 1.1 referrer (cosign 3's default).
    #[default]
    Bundle,
    /// Both.
    Both,
}

impl SignatureFormat {
    fn legacy(self) -> bool {
        matches!(self, Self::Legacy | Self::Both)
    }

    fn bundle(self) -> bool {
        matches!(self, Self::Bundle | Self::Both)
    }
}

/// Which storage scheme something was written to or found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// A layer of the `sha256-<hex>.sig` / `.att` image.
    LegacyTag,
    /// A referrer manifest holding a bundle.
    Referrer,
}

impl Scheme {
    /// `legacy-tag` or `referrer`.
    pub fn name(self) -> &'static str {
        match self {
            Self::LegacyTag => "legacy-tag",
            Self::Referrer => "referrer",
        }
    }
}

/// What one write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The scheme.
    pub scheme: Scheme,
    /// The tag written (legacy tag, or the referrers fallback index tag), if any.
    pub tag: Option<String>,
    /// Digest of the manifest pushed.
    pub manifest: Digest,
    /// Signatures now stored at this place (legacy: layers of the tag; referrer: entries of the
    /// fallback index, or 1 when the registry indexes referrers itself).
    pub count: usize,
    /// A human note (`appended`, `already present`, `already listed as a referrer`, `fallback tag index`).
    pub note: &'static str,
}

/// A registry (or layout) opened for reading and writing the same repository.
pub struct Store<'a> {
    /// Reads manifests, blobs and referrers.
    pub source: &'a dyn ImageSource,
    /// Writes blobs and manifests.
    pub sink: &'a dyn ImageSink,
    /// Bounds on what is read back.
    pub limits: Limits,
}

/// The simple-signing payload cosign signs (`sigstore/sigstore:pkg/signature/payload`): Go
/// `encoding/json` of the struct, fields in declaration order, `optional` null when there are no
/// annotations, else an object with sorted keys.
pub fn simple_signing_payload(
    target: &ImageTarget,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let optional = if annotations.is_empty() {
        Value::Null
    } else {
        json!(annotations)
    };
    let critical = format!(
        r#"{{"identity":{{"docker-reference":{}}},"image":{{"docker-manifest-digest":{}}},"type":{}}}"#,
        Value::from(target.repository.as_str()),
        Value::from(target.digest.to_string()),
        Value::from(SIMPLE_SIGNING_TYPE),
    );
    format!(r#"{{"critical":{critical},"optional":{optional}}}"#).into_bytes()
}

impl Store<'_> {
    /// `vouch sign`: signs `target` and stores the signature per `format`, without log entry
    /// ([`Store::sign_image_with`]).
    pub fn sign_image(
        &self,
        target: &ImageTarget,
        signer: &dyn Signer,
        format: SignatureFormat,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Vec<Stored>> {
        self.sign_image_with(target, signer, &Witnesses::default(), format, annotations)
    }

    /// `vouch sign`: signs `target` and stores the signature per `format`: legacy = a
    /// simple-signing layer with the signature annotation and, when logged, cosign's Rekor
    /// bundle annotation (plus certificate and chain for a certificate signer); bundle = a
    /// v0.3 referrer bundle (statement with predicate `https://sigstore.dev/cosign/sign/v1`,
    /// logged as `dsse`). `annotations` become signed claims (simple-signing `optional`, the
    /// statement subject's `annotations`).
    pub fn sign_image_with(
        &self,
        target: &ImageTarget,
        signer: &dyn Signer,
        witnesses: &Witnesses<'_>,
        format: SignatureFormat,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Vec<Stored>> {
        let mut out = Vec::new();
        if format.legacy() {
            let payload = simple_signing_payload(target, annotations);
            let (signature, entries) = sign_message(&payload, signer, witnesses)?;
            let mut layer_annotations = legacy_annotations(signer, &entries)?;
            layer_annotations.insert(ANNOTATION_SIGNATURE.to_owned(), B64.encode(signature));
            let layer = NewLayer {
                media_type: SIMPLE_SIGNING_MEDIA_TYPE,
                blob: payload,
                annotations: layer_annotations,
            };
            out.push(self.append_legacy(target, "sig", layer, &signer.verifying_key())?);
        }
        if format.bundle() {
            let mut subject = Subject::sha256("", hex::encode(target.sha256()?));
            if !annotations.is_empty() {
                subject.annotations = Some(
                    annotations
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                        .collect(),
                );
            }
            let statement = Statement::new(vec![subject], PREDICATE_COSIGN_SIGN, json!({}));
            let bundle = sign_statement_with(&statement, signer, witnesses)?;
            out.push(self.push_referrer(target, &bundle.to_json(), PREDICATE_COSIGN_SIGN)?);
        }
        Ok(out)
    }

    /// `vouch attest`: an in-toto statement about `target` with `predicate`, signed once,
    /// stored per `format`, without log entry ([`Store::attest_image_with`]).
    pub fn attest_image(
        &self,
        target: &ImageTarget,
        signer: &dyn Signer,
        format: SignatureFormat,
        predicate_type: &str,
        predicate: Value,
    ) -> Result<Vec<Stored>> {
        self.attest_image_with(
            target,
            signer,
            &Witnesses::default(),
            format,
            predicate_type,
            predicate,
        )
    }

    /// `vouch attest`: an in-toto statement about `target` with `predicate`, signed once into
    /// a DSSE envelope (logged as `dsse` when `witnesses` has a log), stored per `format`: the
    /// legacy `.att` layer carries the envelope and the same log entry as cosign's Rekor
    /// bundle annotation, the referrer the v0.3 bundle.
    pub fn attest_image_with(
        &self,
        target: &ImageTarget,
        signer: &dyn Signer,
        witnesses: &Witnesses<'_>,
        format: SignatureFormat,
        predicate_type: &str,
        predicate: Value,
    ) -> Result<Vec<Stored>> {
        let subject = Subject::sha256(target.repository.as_str(), hex::encode(target.sha256()?));
        let statement = Statement::new(vec![subject], predicate_type, predicate);
        let bundle = sign_statement_with(&statement, signer, witnesses)?;
        let Content::DsseEnvelope(envelope) = &bundle.content else {
            return Err(Error::MissingField {
                what: "statement bundle",
                field: "dsseEnvelope",
            });
        };
        let mut out = Vec::new();
        if format.legacy() {
            let mut annotations = legacy_annotations(signer, &bundle.tlog_entries)?;
            annotations.insert(ANNOTATION_SIGNATURE.to_owned(), String::new());
            annotations.insert(
                ANNOTATION_PREDICATE_TYPE.to_owned(),
                predicate_type.to_owned(),
            );
            let layer = NewLayer {
                media_type: DSSE_LAYER_MEDIA_TYPE,
                blob: envelope.to_json(),
                annotations,
            };
            out.push(self.append_legacy(target, "att", layer, &signer.verifying_key())?);
        }
        if format.bundle() {
            out.push(self.push_referrer(target, &bundle.to_json(), predicate_type)?);
        }
        Ok(out)
    }

    /// Appends a prepared layer to the legacy `sha256-<hex>.sig` / `.att` image of `target`:
    /// for signers that add their own annotations (keyless signing adds the certificate, chain
    /// and Rekor bundle ones, `sigstore/cosign:specs/SIGNATURE_SPEC.md`). `media_type` is
    /// [`SIMPLE_SIGNING_MEDIA_TYPE`] or [`DSSE_LAYER_MEDIA_TYPE`]; `key` verifies `blob`'s
    /// signature for duplicate detection.
    pub fn append_legacy_layer(
        &self,
        target: &ImageTarget,
        kind: Kind,
        media_type: &'static str,
        blob: Vec<u8>,
        annotations: BTreeMap<String, String>,
        key: &VerifyingKey,
    ) -> Result<Stored> {
        let layer = NewLayer {
            media_type,
            blob,
            annotations,
        };
        self.append_legacy(target, kind.suffix(), layer, key)
    }

    /// Pushes a finished bundle as an OCI 1.1 referrer of `target` (keyless signing builds the
    /// bundle with its certificate and log entry itself).
    pub fn push_bundle_referrer(
        &self,
        target: &ImageTarget,
        bundle: &Bundle,
        predicate_type: &str,
    ) -> Result<Stored> {
        self.push_referrer(target, &bundle.to_json(), predicate_type)
    }

    /// Appends `layer` to the image at tag `sha256-<hex>.<suffix>` (creating it), unless an
    /// equivalent layer is already there (cosign's `NewDupeDetector`: same blob, media type and
    /// annotations, and the stored signature verifies with the signer's key).
    fn append_legacy(
        &self,
        target: &ImageTarget,
        suffix: &str,
        layer: NewLayer,
        key: &VerifyingKey,
    ) -> Result<Stored> {
        let tag = format!("{}.{suffix}", target.digest.tag_form());
        let (existing, mut layers) = match self.source.manifest(&Selector::Tag(tag.clone())) {
            Ok(raw) => {
                let layers = json_array(&raw.bytes, "layers", &tag)?;
                (Some(raw.digest), layers)
            }
            Err(vouch_oci::Error::NotFound { .. }) => (None, Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let blob_digest = Digest::sha256(&layer.blob);
        if let Some(manifest) = existing
            && layers
                .iter()
                .any(|l| layer.duplicates(l, &blob_digest, key))
        {
            return Ok(Stored {
                scheme: Scheme::LegacyTag,
                tag: Some(tag),
                manifest,
                count: layers.len(),
                note: "identical signature already present",
            });
        }
        self.put_blob(&layer.blob)?;
        layers.push(json!({
            "mediaType": layer.media_type,
            "size": layer.blob.len(),
            "digest": blob_digest.to_string(),
            "annotations": layer.annotations,
        }));
        let raw = self.write_legacy(&tag, &layers)?;
        Ok(Stored {
            scheme: Scheme::LegacyTag,
            tag: Some(tag),
            manifest: raw.digest,
            count: layers.len(),
            note: "appended",
        })
    }

    /// Writes the legacy signature image holding `layers` (every one kept, in order) at `tag`.
    fn write_legacy(&self, tag: &str, layers: &[Value]) -> Result<RawManifest> {
        // go-containerregistry's generic config for the signature image; verifiers ignore it.
        let diff_ids: Vec<&Value> = layers.iter().map(|l| &l["digest"]).collect();
        let config = serde_json::to_vec(&json!({
            "architecture": "",
            "config": {},
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .map_err(|e| Error::malformed("signature config", e))?;
        self.put_blob(&config)?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "config": {
                "mediaType": media::OCI_CONFIG,
                "size": config.len(),
                "digest": Digest::sha256(&config).to_string(),
            },
            "layers": layers,
        });
        let raw = raw_manifest(&manifest, media::OCI_MANIFEST, tag)?;
        self.sink.put_manifest(&raw, Some(tag))?;
        Ok(raw)
    }

    /// Pushes `bundle_json` as a referrer of `target` (by digest, no tag), then makes sure it is
    /// discoverable: if the registry's referrers API does not list it, adds it to the
    /// referrers tag schema index (distribution-spec v1.1 "Pushing Manifests with Subject").
    fn push_referrer(
        &self,
        target: &ImageTarget,
        bundle_json: &[u8],
        predicate_type: &str,
    ) -> Result<Stored> {
        self.put_blob(EMPTY_JSON)?;
        self.put_blob(bundle_json)?;
        let annotations = json!({
            ANNOTATION_BUNDLE_CONTENT: "dsse-envelope",
            ANNOTATION_BUNDLE_PREDICATE_TYPE: predicate_type,
        });
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "artifactType": BUNDLE_ARTIFACT_TYPE,
            "config": {
                "mediaType": media::OCI_EMPTY,
                "size": EMPTY_JSON.len(),
                "digest": Digest::sha256(EMPTY_JSON).to_string(),
            },
            "layers": [{
                "mediaType": BUNDLE_ARTIFACT_TYPE,
                "size": bundle_json.len(),
                "digest": Digest::sha256(bundle_json).to_string(),
            }],
            "subject": {
                "mediaType": target.media_type,
                "size": target.size,
                "digest": target.digest.to_string(),
            },
            "annotations": annotations,
        });
        let raw = raw_manifest(&manifest, media::OCI_MANIFEST, "referrer manifest")?;
        self.sink.put_manifest(&raw, None)?;
        self.list_referrer(&target.digest, &raw)
    }

    /// Makes the referrer `raw` (already stored) discoverable from `subject`: nothing to do
    /// when the referrers API (or a layout's `index.json`) lists it, else it is added to the
    /// referrers tag schema index, keeping every entry already there (distribution-spec v1.1
    /// "Pushing Manifests with Subject"). The entry carries the manifest's `artifactType` (or
    /// config media type) and annotations, as the spec's descriptors do.
    fn list_referrer(&self, subject: &Digest, raw: &RawManifest) -> Result<Stored> {
        let listed = self.source.referrers(subject, None)?;
        if listed
            .iter()
            .any(|d| d.digest().to_string() == raw.digest.to_string())
        {
            return Ok(Stored {
                scheme: Scheme::Referrer,
                tag: None,
                manifest: raw.digest.clone(),
                count: listed.len(),
                note: "already listed as a referrer",
            });
        }
        let tag = subject.tag_form();
        let mut entries = match self.source.manifest(&Selector::Tag(tag.clone())) {
            Ok(index) => json_array(&index.bytes, "manifests", &tag)?,
            Err(vouch_oci::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        if entries
            .iter()
            .any(|e| e["digest"].as_str() == Some(&raw.digest.to_string()))
        {
            return Ok(Stored {
                scheme: Scheme::Referrer,
                tag: Some(tag),
                manifest: raw.digest.clone(),
                count: entries.len(),
                note: "already in the referrers tag schema index",
            });
        }
        let manifest: Value = serde_json::from_slice(&raw.bytes)
            .map_err(|e| Error::malformed("referrer manifest", e))?;
        let artifact_type = manifest["artifactType"]
            .as_str()
            .or_else(|| manifest["config"]["mediaType"].as_str())
            .unwrap_or_default();
        let mut entry = json!({
            "mediaType": raw.media_type,
            "size": raw.bytes.len(),
            "digest": raw.digest.to_string(),
            "artifactType": artifact_type,
        });
        if manifest["annotations"].is_object() {
            entry["annotations"] = manifest["annotations"].clone();
        }
        entries.push(entry);
        let index =
            json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": entries});
        let index_raw = raw_manifest(&index, media::OCI_INDEX, &tag)?;
        self.sink.put_manifest(&index_raw, Some(&tag))?;
        Ok(Stored {
            scheme: Scheme::Referrer,
            tag: Some(tag),
            manifest: raw.digest.clone(),
            count: entries.len(),
            note: "referrers tag schema index (registry has no referrers API)",
        })
    }

    /// Carries the signatures and attestations of `subject` from `src` into this store (the
    /// image itself must already be here, by the same digest): the legacy `.sig` / `.att`
    /// images (copied as they are when this store has none, else their layers are merged in
    /// so nothing already here is dropped) and every referrer of the digest (copied by digest,
    /// then listed as [`Self::sign_image`] lists its own). Blobs are verified against their
    /// digests on the way; nothing is verified as a signature here.
    pub fn copy_signatures_from(
        &self,
        src: &dyn ImageSource,
        subject: &ImageTarget,
    ) -> Result<Vec<Stored>> {
        let mut out = Vec::new();
        for kind in [Kind::Signatures, Kind::Attestations] {
            let tag = format!("{}.{}", subject.digest.tag_form(), kind.suffix());
            let theirs = match src.manifest(&Selector::Tag(tag.clone())) {
                Ok(raw) => raw,
                Err(vouch_oci::Error::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            out.push(self.merge_legacy(src, &tag, &theirs)?);
        }
        let referrers = src.referrers(&subject.digest, None)?;
        check_count(referrers.len(), &self.limits)?;
        for descriptor in referrers {
            let digest: Digest = descriptor
                .digest()
                .to_string()
                .parse()
                .map_err(|e| Error::malformed("referrer descriptor", e))?;
            let report = vouch_oci::copy_image(
                src,
                &Selector::Digest(digest.clone()),
                self.sink,
                None,
                &vouch_oci::CopyOptions {
                    platform: None,
                    parallelism: 2,
                },
                &|_| {},
            )?;
            let raw = src.manifest(&Selector::Digest(report.digest))?;
            out.push(self.list_referrer(&subject.digest, &raw)?);
        }
        Ok(out)
    }

    /// Puts the legacy signature image `theirs` at `tag` here: verbatim when there is none,
    /// else appending each of its layers that is not already here.
    fn merge_legacy(
        &self,
        src: &dyn ImageSource,
        tag: &str,
        theirs: &RawManifest,
    ) -> Result<Stored> {
        let their_layers = json_array(&theirs.bytes, "layers", tag)?;
        check_count(their_layers.len(), &self.limits)?;
        let mut layers = match self.source.manifest(&Selector::Tag(tag.to_owned())) {
            Ok(raw) => json_array(&raw.bytes, "layers", tag)?,
            Err(vouch_oci::Error::NotFound { .. }) => {
                vouch_oci::copy_image(
                    src,
                    &Selector::Digest(theirs.digest.clone()),
                    self.sink,
                    Some(tag),
                    &vouch_oci::CopyOptions {
                        platform: None,
                        parallelism: 2,
                    },
                    &|_| {},
                )?;
                return Ok(Stored {
                    scheme: Scheme::LegacyTag,
                    tag: Some(tag.to_owned()),
                    manifest: theirs.digest.clone(),
                    count: their_layers.len(),
                    note: "copied",
                });
            }
            Err(e) => return Err(e.into()),
        };
        let before = layers.len();
        for layer in their_layers {
            let same = |l: &Value| {
                l["digest"] == layer["digest"]
                    && l["mediaType"] == layer["mediaType"]
                    && l["annotations"] == layer["annotations"]
            };
            if layers.iter().any(same) {
                continue;
            }
            let blob = read_descriptor_blob(src, &layer, &self.limits)?;
            self.put_blob(&blob)?;
            layers.push(layer);
        }
        check_count(layers.len(), &self.limits)?;
        if layers.len() == before {
            let here = self.source.manifest(&Selector::Tag(tag.to_owned()))?;
            return Ok(Stored {
                scheme: Scheme::LegacyTag,
                tag: Some(tag.to_owned()),
                manifest: here.digest,
                count: layers.len(),
                note: "all already present",
            });
        }
        let raw = self.write_legacy(tag, &layers)?;
        Ok(Stored {
            scheme: Scheme::LegacyTag,
            tag: Some(tag.to_owned()),
            manifest: raw.digest,
            count: layers.len(),
            note: "merged with the signatures already there",
        })
    }

    fn put_blob(&self, blob: &[u8]) -> Result<()> {
        let digest = Digest::sha256(blob);
        if !self.sink.has_blob(&digest)? {
            self.sink
                .put_blob(&digest, blob.len() as u64, &mut &blob[..])?;
        }
        Ok(())
    }
}

/// A signature layer about to be appended.
struct NewLayer {
    media_type: &'static str,
    blob: Vec<u8>,
    annotations: BTreeMap<String, String>,
}

impl NewLayer {
    fn duplicates(&self, existing: &Value, blob_digest: &Digest, key: &VerifyingKey) -> bool {
        if existing["digest"].as_str() != Some(&blob_digest.to_string())
            || existing["mediaType"].as_str() != Some(self.media_type)
        {
            return false;
        }
        let found = &existing["annotations"];
        let others_equal = self
            .annotations
            .iter()
            .filter(|(k, _)| k.as_str() != ANNOTATION_SIGNATURE)
            .all(|(k, v)| found[k].as_str() == Some(v.as_str()));
        let signature = found[ANNOTATION_SIGNATURE].as_str().unwrap_or_default();
        let signature_ok = if signature.is_empty() {
            // Attestations: the signature is inside the (identical) envelope blob.
            self.annotations
                .get(ANNOTATION_SIGNATURE)
                .is_some_and(String::is_empty)
        } else {
            B64.decode(signature)
                .is_ok_and(|sig| key.verify("existing signature", &self.blob, &sig).is_ok())
        };
        others_equal && signature_ok
    }
}

fn raw_manifest(value: &Value, media_type: &str, what: &str) -> Result<RawManifest> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::malformed("manifest", e))?;
    Ok(RawManifest::new(bytes, Some(media_type), None, what)?)
}

fn json_array(bytes: &[u8], field: &str, what: &str) -> Result<Vec<Value>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| Error::Malformed {
        what: "signature manifest",
        detail: format!("{what}: {e}"),
    })?;
    Ok(value[field].as_array().cloned().unwrap_or_default())
}

// ------------------------------------------------------------------------------- discovery

/// What to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Image signatures: `.sig` layers and referrer bundles with predicate
    /// `https://sigstore.dev/cosign/sign/v1`.
    Signatures,
    /// Attestations: `.att` layers and other referrer bundles.
    Attestations,
}

impl Kind {
    fn suffix(self) -> &'static str {
        match self {
            Self::Signatures => "sig",
            Self::Attestations => "att",
        }
    }

    /// `signatures` or `attestations`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Signatures => "signatures",
            Self::Attestations => "attestations",
        }
    }
}

/// A signature or attestation found in the registry, not yet verified.
#[derive(Debug)]
pub enum Candidate {
    /// One layer of the legacy tag image.
    Legacy {
        /// The tag.
        tag: String,
        /// Layer index.
        index: usize,
        /// Layer media type.
        media_type: String,
        /// The layer blob (simple-signing payload or DSSE envelope JSON).
        payload: Vec<u8>,
        /// The layer's annotations.
        annotations: BTreeMap<String, String>,
    },
    /// A referrer manifest's bundle.
    Referrer {
        /// The referrer manifest's digest.
        manifest: Digest,
        /// The bundle JSON.
        bundle: Vec<u8>,
    },
    /// A layer or referrer the registry lists but whose manifest or blob could not be read:
    /// one rejected candidate with its reason, so that whoever can push a broken referrer
    /// cannot hide the good signatures beside it.
    Unreadable {
        /// Where it was listed (as [`Candidate::location`] spells it).
        location: String,
        /// Its storage scheme.
        scheme: Scheme,
        /// Why it could not be read.
        reason: Error,
    },
}

impl Candidate {
    /// Its storage scheme.
    pub fn scheme(&self) -> Scheme {
        match self {
            Self::Legacy { .. } => Scheme::LegacyTag,
            Self::Referrer { .. } => Scheme::Referrer,
            Self::Unreadable { scheme, .. } => *scheme,
        }
    }

    /// Where it was found, for messages (`tag sha256-….sig layer 0`, `referrer sha256:…`).
    pub fn location(&self) -> String {
        match self {
            Self::Legacy { tag, index, .. } => format!("tag {tag} layer {index}"),
            Self::Referrer { manifest, .. } => format!("referrer {manifest}"),
            Self::Unreadable { location, .. } => location.clone(),
        }
    }
}

/// Finds every signature (or attestation) of `digest` by both schemes. The legacy tag name is
/// returned for messages. Nothing is verified here.
pub fn discover(
    source: &dyn ImageSource,
    digest: &Digest,
    kind: Kind,
    limits: &Limits,
) -> Result<(Vec<Candidate>, String)> {
    discover_in(source, digest, kind, None, limits)
}

/// [`discover`] restricted to one storage scheme when `only` is set: the other is not read at
/// all. Kyverno's `verifyImages[].type` works this way (`Cosign` reads only the legacy tag,
/// `SigstoreBundle` only referrer bundles: `kyverno/kyverno:pkg/cosign/cosign.go`
/// `VerifySignature`), so a policy evaluator must not accept a signature from the other place.
pub fn discover_in(
    source: &dyn ImageSource,
    digest: &Digest,
    kind: Kind,
    only: Option<Scheme>,
    limits: &Limits,
) -> Result<(Vec<Candidate>, String)> {
    let tag = format!("{}.{}", digest.tag_form(), kind.suffix());
    let mut out = Vec::new();
    let legacy = match only {
        Some(Scheme::Referrer) => None,
        _ => Some(source.manifest(&Selector::Tag(tag.clone()))),
    };
    match legacy {
        None => {}
        Some(Ok(raw)) => {
            let layers = json_array(&raw.bytes, "layers", &tag)?;
            check_count(layers.len(), limits)?;
            for (index, layer) in layers.iter().enumerate() {
                let media_type = layer["mediaType"].as_str().unwrap_or_default().to_owned();
                let wanted = match kind {
                    Kind::Signatures => SIMPLE_SIGNING_MEDIA_TYPE,
                    Kind::Attestations => DSSE_LAYER_MEDIA_TYPE,
                };
                if media_type != wanted {
                    continue;
                }
                let payload = match read_descriptor_blob(source, layer, limits) {
                    Ok(payload) => payload,
                    Err(reason) => {
                        out.push(Candidate::Unreadable {
                            location: format!("tag {tag} layer {index}"),
                            scheme: Scheme::LegacyTag,
                            reason,
                        });
                        continue;
                    }
                };
                let annotations = layer["annotations"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Candidate::Legacy {
                    tag: tag.clone(),
                    index,
                    media_type,
                    payload,
                    annotations,
                });
            }
        }
        Some(Err(vouch_oci::Error::NotFound { .. })) => {}
        Some(Err(e)) => return Err(e.into()),
    }
    if only == Some(Scheme::LegacyTag) {
        return Ok((out, tag));
    }
    let referrers = source.referrers(digest, None)?;
    check_count(referrers.len(), limits)?;
    for descriptor in referrers {
        let is_bundle = descriptor
            .artifact_type()
            .as_ref()
            .is_some_and(|a| a.to_string().starts_with(BUNDLE_MEDIA_TYPE_PREFIX));
        if !is_bundle {
            continue;
        }
        let manifest_digest: Digest = descriptor
            .digest()
            .to_string()
            .parse()
            .map_err(|e| Error::malformed("referrer descriptor", e))?;
        let location = format!("referrer {manifest_digest}");
        let unreadable = |reason| Candidate::Unreadable {
            location: location.clone(),
            scheme: Scheme::Referrer,
            reason,
        };
        let manifest: Value = match source
            .manifest(&Selector::Digest(manifest_digest.clone()))
            .map_err(Error::from)
            .and_then(|raw| {
                serde_json::from_slice(&raw.bytes)
                    .map_err(|e| Error::malformed("referrer manifest", e))
            }) {
            Ok(manifest) => manifest,
            Err(reason) => {
                out.push(unreadable(reason));
                continue;
            }
        };
        // The predicate type annotation is a hint for sorting signatures from attestations;
        // verification checks the signed statement itself.
        let hinted = manifest["annotations"][ANNOTATION_BUNDLE_PREDICATE_TYPE].as_str();
        let is_signature = hinted == Some(PREDICATE_COSIGN_SIGN);
        match kind {
            Kind::Signatures if hinted.is_some() && !is_signature => continue,
            Kind::Attestations if is_signature => continue,
            _ => {}
        }
        let Some(layer) = manifest["layers"].as_array().and_then(|layers| {
            layers.iter().find(|l| {
                l["mediaType"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(BUNDLE_MEDIA_TYPE_PREFIX))
            })
        }) else {
            continue;
        };
        match read_descriptor_blob(source, layer, limits) {
            Ok(bundle) => out.push(Candidate::Referrer {
                manifest: manifest_digest,
                bundle,
            }),
            Err(reason) => out.push(unreadable(reason)),
        }
    }
    Ok((out, tag))
}

fn check_count(n: usize, limits: &Limits) -> Result<()> {
    crate::limits::check("signatures of one image", limits.max_image_signatures, n)
}

fn read_descriptor_blob(
    source: &dyn ImageSource,
    descriptor: &Value,
    limits: &Limits,
) -> Result<Vec<u8>> {
    let size = descriptor["size"].as_u64().ok_or(Error::MissingField {
        what: "layer descriptor",
        field: "size",
    })?;
    if size > limits.max_payload_bytes {
        return Err(Error::TooLarge {
            what: "signature layer",
            limit: usize::try_from(limits.max_payload_bytes).unwrap_or(usize::MAX),
            actual: usize::try_from(size).unwrap_or(usize::MAX),
        });
    }
    let digest: Digest = descriptor["digest"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| Error::malformed("layer descriptor digest", e))?;
    Ok(vouch_oci::read_blob(source, &digest, size)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_signing_payload_has_cosigns_bytes() {
        let hex = "ab".repeat(32);
        let target = ImageTarget {
            repository: "registry.example/repo".into(),
            digest: format!("sha256:{hex}").parse().expect("digest"),
            media_type: media::OCI_MANIFEST.into(),
            size: 1,
        };
        // Go encoding/json of sigstore/sigstore's payload.Cosign: struct order, no spaces.
        let expected = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"registry.example/repo"}},"image":{{"docker-manifest-digest":"sha256:{hex}"}},"type":"cosign container image signature"}},"optional":null}}"#
        );
        assert_eq!(
            String::from_utf8(simple_signing_payload(&target, &BTreeMap::new())).expect("utf8"),
            expected
        );
        let annotations = BTreeMap::from([
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "1".to_owned()),
        ]);
        let with = String::from_utf8(simple_signing_payload(&target, &annotations)).expect("utf8");
        assert!(with.ends_with(r#""optional":{"a":"1","b":"2"}}"#), "{with}");
        assert_eq!(target.sha256().expect("sha256"), [0xab; 32]);
    }
}
