//! The crate's one error type, grouped by who is at fault.

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong loading policies or resources.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- the policy or resource file is malformed ---
    /// A YAML document could not be parsed.
    #[error("{source_name}: document {index}: not valid YAML: {reason}")]
    Yaml {
        /// File or label.
        source_name: String,
        /// 0-based document index.
        index: usize,
        /// Parser message (with line and column).
        reason: String,
    },
    /// A document does not have the shape of its kind.
    #[error("{source_name}: {kind} {name}: {reason}")]
    Shape {
        /// File or label.
        source_name: String,
        /// `ClusterPolicy`, `Pod`, ...
        kind: String,
        /// metadata.name.
        name: String,
        /// Deserializer message naming the field.
        reason: String,
    },
    /// Policy validation found mistakes Kyverno rejects; each names its field path.
    #[error("policy {policy} is invalid:\n  {}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid {
        /// The policy name.
        policy: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// An input exceeds a [`crate::Limits`] bound.
    #[error("{what} exceeds the limit of {limit}")]
    TooLarge {
        /// What was counted.
        what: &'static str,
        /// The bound.
        limit: usize,
    },
    /// An image string in a resource is not a reference.
    #[error("image {image:?}: {reason}")]
    BadImage {
        /// The string as written.
        image: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A resource's containers are not where the kind puts them.
    #[error("{pointer}: {reason}")]
    BadResource {
        /// JSON pointer of the offending node.
        pointer: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A condition (JMESPath subset) could not be evaluated.
    #[error("condition {expression:?}: {reason}")]
    Condition {
        /// The expression.
        expression: String,
        /// What is wrong.
        reason: String,
    },
}

/// One policy validation finding: the field path (as Kyverno prints it) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `spec.rules[0].verifyImages[0].attestors[0].count`.
    pub path: String,
    /// What Kyverno says about it.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}
