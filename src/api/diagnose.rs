//! Schema-drift diagnosis: walks protobuf wire data against compiled descriptors and
//! says where the server's schema and ours disagree. (Contract only; the walker is
//! being written.)

use std::fmt;

use prost_reflect::DescriptorPool;

/// Where one disagreement was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Field path from the object root, e.g. `status.config`.
    pub path: String,
    /// The message that holds the field (`NodeStatus`).
    pub message: String,
    pub field_number: u32,
    pub wire_type: u8,
    /// What our schema expects there (`NodeConfigStatus`, `string`, …), if it knows the field.
    pub expected: Option<String>,
    /// What went wrong, in words.
    pub detail: String,
}

/// The result of diagnosing one body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnosis {
    /// `v1.Node`, when the envelope could be read.
    pub kind: Option<String>,
    /// metadata.name, when it could be read.
    pub name: Option<String>,
    pub findings: Vec<Finding>,
}

impl Diagnosis {
    /// True when the body matches the schema completely.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} findings", self.findings.len())
    }
}

/// Diagnoses a whole body (envelope, object, list or watch frame).
pub fn diagnose(_pool: &DescriptorPool, _body: &[u8]) -> Diagnosis {
    Diagnosis::default()
}
