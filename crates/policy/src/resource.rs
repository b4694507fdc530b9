//! Kubernetes resources from multi-document YAML, and the images in their pod specs.
//!
//! Image locations follow Kyverno's standard extractors (`kyverno/kyverno:pkg/utils/api/image.go`,
//! notes §2.2): `initContainers`, `containers`, `ephemeralContainers`, in that order, under the
//! kind's pod spec root, each with the JSON pointer a patch replaces (RFC 6901).

use serde::Deserialize as _;
use serde_json::Value;

use crate::Limits;
use crate::error::{Error, Result};
use crate::kyverno::{Policy, PolicyScope, Spec};

/// Kinds whose pod spec sits at `spec.template.spec`.
pub const TEMPLATE_KINDS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "ReplicationController",
];

/// Container lists, in Kyverno's order.
pub const CONTAINER_FIELDS: &[&str] = &["initContainers", "containers", "ephemeralContainers"];

/// A Kubernetes object.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (`default` when unset, as `kubectl apply` does).
    pub namespace: String,
    /// The admission operation (`CREATE` unless told otherwise, as `kyverno apply`).
    pub operation: String,
    /// The whole object.
    pub object: Value,
}

/// One image found in a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerImage {
    /// `containers`, `initContainers` or `ephemeralContainers`.
    pub field: &'static str,
    /// The container's name.
    pub container: String,
    /// The image string as written.
    pub image: String,
    /// JSON pointer to the `image` field.
    pub pointer: String,
}

impl Resource {
    /// Wraps an object, reading kind, name and namespace.
    pub fn from_value(object: Value) -> Self {
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let meta = &object["metadata"];
        let name = meta["name"]
            .as_str()
            .or_else(|| meta["generateName"].as_str())
            .unwrap_or_default()
            .to_owned();
        let namespace = meta["namespace"].as_str().unwrap_or("default").to_owned();
        Self {
            kind,
            name,
            namespace,
            operation: "CREATE".to_owned(),
            object,
        }
    }

    /// `(pointer, container name)` of every container whose `image` is missing, null or
    /// empty. Kyverno ignores them; vouch refuses them under any policy that matches the
    /// resource (issue 19 item 5): an image nobody verified must never be admitted.
    pub fn imageless_containers(&self) -> Vec<(String, String)> {
        let Some(root) = self.pod_spec_pointer() else {
            return Vec::new();
        };
        let Some(spec) = self.object.pointer(root) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for field in CONTAINER_FIELDS {
            let Some(Value::Array(list)) = spec.get(*field) else {
                continue;
            };
            for (i, c) in list.iter().enumerate() {
                if matches!(c.get("image"), None | Some(Value::Null))
                    || c.get("image").and_then(Value::as_str) == Some("")
                {
                    out.push((
                        format!("{root}/{field}/{i}/image"),
                        c["name"].as_str().unwrap_or_default().to_owned(),
                    ));
                }
            }
        }
        out
    }

    /// JSON pointer of the pod spec for this kind, `None` for kinds without one.
    pub fn pod_spec_pointer(&self) -> Option<&'static str> {
        match self.kind.as_str() {
            "Pod" => Some("/spec"),
            "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
            k if TEMPLATE_KINDS.contains(&k) => Some("/spec/template/spec"),
            _ => None,
        }
    }

    /// The images of every container, in Kyverno's order. Empty image strings are ignored.
    pub fn images(&self, limits: &Limits) -> Result<Vec<ContainerImage>> {
        let Some(root) = self.pod_spec_pointer() else {
            return Ok(Vec::new());
        };
        let Some(spec) = self.object.pointer(root) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for field in CONTAINER_FIELDS {
            let list = match spec.get(*field) {
                None | Some(Value::Null) => continue,
                Some(Value::Array(list)) => list,
                Some(_) => {
                    return Err(Error::BadResource {
                        pointer: format!("{root}/{field}"),
                        reason: "not a list",
                    });
                }
            };
            for (i, c) in list.iter().enumerate() {
                let pointer = format!("{root}/{field}/{i}/image");
                let image = match c.get("image") {
                    None | Some(Value::Null) => continue,
                    Some(Value::String(s)) if s.is_empty() => continue,
                    Some(Value::String(s)) => s.clone(),
                    Some(_) => {
                        return Err(Error::BadResource {
                            pointer,
                            reason: "image is not a string",
                        });
                    }
                };
                out.push(ContainerImage {
                    field,
                    container: c["name"].as_str().unwrap_or_default().to_owned(),
                    image,
                    pointer,
                });
                if out.len() > limits.max_containers {
                    return Err(Error::TooLarge {
                        what: "containers in one resource",
                        limit: limits.max_containers,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Parses multi-document YAML (or JSON) into objects; empty documents are dropped and
/// `kind: List` is flattened into its items.
pub fn parse_documents(text: &str, source_name: &str, limits: &Limits) -> Result<Vec<Value>> {
    if text.len() > limits.max_file_bytes {
        return Err(Error::TooLarge {
            what: "input file",
            limit: limits.max_file_bytes,
        });
    }
    let mut out = Vec::new();
    for (index, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| Error::Yaml {
            source_name: source_name.to_owned(),
            index,
            reason: e.to_string(),
        })?;
        match value {
            Value::Null => {}
            Value::Object(ref m) if m.get("kind").and_then(Value::as_str) == Some("List") => {
                if let Some(Value::Array(items)) = m.get("items") {
                    out.extend(items.iter().cloned());
                }
            }
            v => out.push(v),
        }
        if out.len() > limits.max_documents {
            return Err(Error::TooLarge {
                what: "documents in one file",
                limit: limits.max_documents,
            });
        }
    }
    Ok(out)
}

/// Everything found in a set of files: Kyverno policies, policy-controller
/// `ClusterImagePolicy`s and the other objects.
#[derive(Debug, Default)]
pub struct Documents {
    /// `ClusterPolicy` and `Policy` objects of kyverno.io.
    pub policies: Vec<Policy>,
    /// `ClusterImagePolicy` objects of policy.sigstore.dev.
    pub image_policies: Vec<crate::cip::ClusterImagePolicy>,
    /// policy-controller `TrustRoot`s (`spec.sigstoreKeys`), named by `trustRootRef`.
    pub trust_roots: Vec<crate::cip::TrustRootPem>,
    /// Everything else.
    pub resources: Vec<Resource>,
}

impl Documents {
    /// The policies found, as one set.
    pub fn policy_set(&self) -> crate::eval::PolicySet {
        let roots: std::collections::BTreeMap<String, crate::cip::TrustRootPem> = self
            .trust_roots
            .iter()
            .map(|t| (t.name.clone(), t.clone()))
            .collect();
        crate::eval::PolicySet {
            kyverno: self.policies.clone(),
            image_policies: self
                .image_policies
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    p.trust_roots = roots.clone();
                    p
                })
                .collect(),
        }
    }

    /// Sorts parsed documents into policies and resources.
    pub fn add(&mut self, docs: Vec<Value>, source_name: &str) -> Result<()> {
        for doc in docs {
            let api = doc["apiVersion"].as_str().unwrap_or_default();
            let kind = doc["kind"].as_str().unwrap_or_default();
            if api.starts_with("kyverno.io/") && matches!(kind, "ClusterPolicy" | "Policy") {
                self.policies.push(policy_from_value(&doc, source_name)?);
            } else if api.starts_with("policy.sigstore.dev/") && kind == "ClusterImagePolicy" {
                let cip = crate::cip::from_value(&doc).map_err(|reason| Error::Shape {
                    source_name: source_name.to_owned(),
                    kind: kind.to_owned(),
                    name: doc["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    reason,
                })?;
                self.image_policies.push(cip);
            } else if api.starts_with("policy.sigstore.dev/") && kind == "TrustRoot" {
                let root =
                    crate::cip::trust_root_from_value(&doc).map_err(|reason| Error::Shape {
                        source_name: source_name.to_owned(),
                        kind: kind.to_owned(),
                        name: doc["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        reason,
                    })?;
                self.trust_roots.push(root);
            } else if api.starts_with("policy.sigstore.dev/") {
                // Other policy-controller kinds are not resources to admit.
            } else {
                self.resources.push(Resource::from_value(doc));
            }
        }
        Ok(())
    }
}

/// Reads one Kyverno policy object strictly: unknown fields anywhere outside `metadata` are
/// refused with their path and the nearest known name ([`crate::strict`]); the deprecated
/// `verifyImages` fields are converted as Kyverno's `Convert()` does.
pub fn policy_from_value(doc: &Value, source_name: &str) -> Result<Policy> {
    let kind = doc["kind"].as_str().unwrap_or_default();
    let name = doc["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let shape = |e: crate::strict::ShapeError| Error::Shape {
        source_name: source_name.to_owned(),
        kind: kind.to_owned(),
        name: name.clone(),
        reason: e.to_string(),
    };
    crate::strict::check_keys(
        doc,
        "",
        &["apiVersion", "kind", "metadata", "spec", "status"],
    )
    .map_err(shape)?;
    let scope = if kind == "ClusterPolicy" {
        PolicyScope::Cluster
    } else {
        PolicyScope::Namespace(
            doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_owned(),
        )
    };
    let mut spec: Spec = crate::strict::from_value(&doc["spec"], "spec").map_err(shape)?;
    for rule in &mut spec.rules {
        for vi in &mut rule.verify_images {
            vi.convert();
        }
    }
    let annotations = doc["metadata"]["annotations"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Policy {
        name,
        scope,
        annotations,
        spec,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn images(yaml: &str) -> Vec<(String, String)> {
        let docs = parse_documents(yaml, "test", &Limits::default()).unwrap();
        Resource::from_value(docs.into_iter().next().unwrap())
            .images(&Limits::default())
            .unwrap()
            .into_iter()
            .map(|c| (c.pointer, c.image))
            .collect()
    }

    #[test]
    fn pod_order_and_pointers() {
        let got = images(
            "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: 'x:1'}, {name: b, image: ''}, {name: c, image: 'z'}]\n  initContainers: [{name: i, image: init}]\n  ephemeralContainers: [{name: e, image: dbg}]\n",
        );
        assert_eq!(
            got,
            [
                ("/spec/initContainers/0/image", "init"),
                ("/spec/containers/0/image", "x:1"),
                ("/spec/containers/2/image", "z"),
                ("/spec/ephemeralContainers/0/image", "dbg"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }

    #[test]
    fn controllers_and_cronjobs() {
        for kind in TEMPLATE_KINDS {
            let got = images(&format!(
                "kind: {kind}\nmetadata: {{name: d}}\nspec:\n  template:\n    spec:\n      containers: [{{name: a, image: app}}]\n"
            ));
            assert_eq!(
                got,
                [(
                    "/spec/template/spec/containers/0/image".to_owned(),
                    "app".to_owned()
                )],
                "{kind}"
            );
        }
        let got = images(
            "kind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [{name: a, image: i0}, {name: b, image: i1}]\n",
        );
        assert_eq!(
            got[1],
            (
                "/spec/jobTemplate/spec/template/spec/initContainers/1/image".to_owned(),
                "i1".to_owned()
            )
        );
        assert!(images("kind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n").is_empty());
    }

    #[test]
    fn multi_document_lists_and_errors() {
        let docs = parse_documents(
            "---\nkind: Pod\nmetadata: {name: a}\n---\n---\nkind: List\nitems: [{kind: Pod, metadata: {name: b}}, {kind: Pod, metadata: {name: c}}]\n",
            "t",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(docs.len(), 3);
        assert!(matches!(
            parse_documents("a: [", "t", &Limits::default()),
            Err(Error::Yaml { index: 0, .. })
        ));
        let bad = Resource::from_value(serde_json::json!({"kind":"Pod","spec":{"containers":{}}}));
        assert!(matches!(
            bad.images(&Limits::default()),
            Err(Error::BadResource { .. })
        ));
        let limits = Limits {
            max_documents: 1,
            ..Limits::default()
        };
        assert!(matches!(
            parse_documents("a: 1\n---\nb: 2\n", "t", &limits),
            Err(Error::TooLarge { .. })
        ));
    }
}
