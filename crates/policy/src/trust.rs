//! Trust per attestor, as Kyverno (`buildCosignVerifier`, `K:pkg/engine/internal/imageverifier.go`;
//! `K:pkg/image/verifiers/cpol/cosign/cosign.go`): an attestor entry that carries its own trust
//! material verifies against exactly that material:
//!
//! * `keyless.roots` (PEM CA chain): the only certificate authorities;
//! * `rekor.pubkey` (PEM): the only transparency log;
//! * `ctlog.pubkey` (PEM): the only certificate transparency log.
//!
//! A piece the entry does not carry comes from the deployment's trusted root
//! (`--trusted-root`), as Kyverno falls back to the public-good TUF root piece by piece
//! (`getRekorPubs`, `getCTLogPubs`, the default Fulcio roots). Timestamp authorities only
//! come from the trusted root, and only for entries that carry no material of their own.

use vouch_sign::TrustedRoot;
use vouch_sign::VerifyingKey;
use vouch_sign::trust_root::{CertificateAuthority, TransparencyLog, Validity};
use x509_cert::Certificate;
use x509_cert::der::Encode as _;

/// The material one attestor entry names (PEM text as written in the policy).
#[derive(Debug, Clone, Copy, Default)]
pub struct AttestorMaterial<'a> {
    /// `keyless.roots` / `keyless.ca-cert`: the CA chain(s).
    pub roots: Option<&'a str>,
    /// `rekor.pubkey` / a TrustRoot's tlog key.
    pub rekor_pubkey: Option<&'a str>,
    /// `rekor.url` (recorded as the log's base URL; never contacted).
    pub rekor_url: Option<&'a str>,
    /// `ctlog.pubkey`.
    pub ctlog_pubkey: Option<&'a str>,
}

impl AttestorMaterial<'_> {
    /// Whether the entry carries any trust material of its own.
    pub fn is_empty(&self) -> bool {
        self.roots.is_none() && self.rekor_pubkey.is_none() && self.ctlog_pubkey.is_none()
    }
}

/// The trusted root one attestor verifies against: its own material where it has some, the
/// deployment's `global` root for the rest.
pub fn attestor_root(
    global: &TrustedRoot,
    m: &AttestorMaterial<'_>,
) -> Result<TrustedRoot, String> {
    if m.is_empty() {
        return Ok(global.clone());
    }
    let certificate_authorities = match m.roots {
        Some(pem) => ca_chains(pem)?,
        None => global.certificate_authorities.clone(),
    };
    let tlogs = match m.rekor_pubkey {
        Some(pem) => {
            logs(pem, m.rekor_url.unwrap_or_default()).map_err(|e| format!("rekor.pubkey: {e}"))?
        }
        None => global.tlogs.clone(),
    };
    let ctlogs = match m.ctlog_pubkey {
        Some(pem) => logs(pem, "").map_err(|e| format!("ctlog.pubkey: {e}"))?,
        None => global.ctlogs.clone(),
    };
    Ok(TrustedRoot {
        tlogs,
        ctlogs,
        certificate_authorities,
        timestamp_authorities: Vec::new(),
    })
}

/// One log per PEM key block.
fn logs(pem: &str, url: &str) -> Result<Vec<TransparencyLog>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in pem.lines() {
        let l = line.trim();
        if l.starts_with("-----BEGIN") {
            cur.clear();
        }
        cur.push_str(l);
        cur.push('\n');
        if l.starts_with("-----END") {
            out.push(log(&cur, url)?);
            cur.clear();
        }
    }
    if out.is_empty() {
        return Err("no PEM public key".into());
    }
    Ok(out)
}

/// A log trusted by its key alone: the log ID is the SHA-256 of the key's SubjectPublicKeyInfo
/// (RFC 6962 §3.2 for CT logs; Rekor uses the same), valid for all time (the policy gives no
/// window).
fn log(pem: &str, url: &str) -> Result<TransparencyLog, String> {
    let key = VerifyingKey::from_pem(pem.trim()).map_err(|e| e.to_string())?;
    Ok(TransparencyLog {
        base_url: url.to_owned(),
        log_id: key.key_id().to_vec(),
        key_details: key.algorithm_name().to_owned(),
        key: Some(key),
        valid_for: Validity {
            start: Some(0),
            end: None,
        },
    })
}

/// The DER certificates of a PEM bundle, in the order written.
pub fn parse_certificates(pem: &str) -> Result<Vec<Certificate>, String> {
    let certs = Certificate::load_pem_chain(pem.trim().as_bytes())
        .map_err(|e| format!("not a PEM certificate chain: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the PEM text".into());
    }
    Ok(certs)
}

/// The PEM bundle as certificate authorities: one chain per leaf-most certificate (one no
/// other certificate of the bundle names as issuer), followed up through its issuers in the
/// bundle, so the order the PEM blocks were written in does not matter.
fn ca_chains(pem: &str) -> Result<Vec<CertificateAuthority>, String> {
    let certs = parse_certificates(pem).map_err(|e| format!("roots: {e}"))?;
    let subject = |c: &Certificate| c.tbs_certificate().subject().to_der().unwrap_or_default();
    let issuer = |c: &Certificate| c.tbs_certificate().issuer().to_der().unwrap_or_default();
    let mut out = Vec::new();
    for (i, leaf) in certs.iter().enumerate() {
        let issues_another = certs
            .iter()
            .enumerate()
            .any(|(j, c)| j != i && issuer(c) == subject(leaf) && issuer(c) != subject(c));
        if issues_another {
            continue;
        }
        let mut chain = vec![i];
        let mut cur = leaf;
        while issuer(cur) != subject(cur) {
            let Some((j, parent)) = certs
                .iter()
                .enumerate()
                .find(|(j, c)| !chain.contains(j) && subject(c) == issuer(cur))
            else {
                break;
            };
            chain.push(j);
            cur = parent;
        }
        out.push(CertificateAuthority {
            uri: String::new(),
            chain: chain
                .into_iter()
                .map(|j| certs[j].to_der().map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?,
            valid_for: Validity::default(),
        });
    }
    if out.is_empty() {
        return Err("roots: no chain could be built".into());
    }
    Ok(out)
}
