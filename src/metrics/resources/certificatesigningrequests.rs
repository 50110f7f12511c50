//! `certificatesigningrequests`: 5 families, in kube-state-metrics' order. Default
//! labels: certificatesigningrequest, signer_name.

use crate::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestSpec, CertificateSigningRequestStatus,
};
use crate::api::Kind;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{s, zero_or};
use crate::metrics::resource::ResourceDef;

#[rustfmt::skip]
pub static FAMILIES: &[Family<CertificateSigningRequest>] = &[
    generic::annotations("kube_certificatesigningrequest_annotations", Alpha),
    generic::labels("kube_certificatesigningrequest_labels", Stable),
    generic::created("kube_certificatesigningrequest_created", Stable),
    gauge("kube_certificatesigningrequest_condition", Stable, "How many conditions of each type (approved, denied, failed) the request has.", &["condition"], condition),
    gauge("kube_certificatesigningrequest_cert_length", Stable, "Length in bytes of the issued certificate (0 until one is issued).", &[], cert_length),
];

pub static RESOURCE: ResourceDef<CertificateSigningRequest> = ResourceDef {
    default_labels: &["certificatesigningrequest", "signer_name"],
    default_values,
    families: FAMILIES,
};

fn default_values(csr: &CertificateSigningRequest) -> Vec<&str> {
    vec![s(&csr.metadata().name), s(&spec(csr).signer_name)]
}

// ---- accessors -------------------------------------------------------------

fn spec(csr: &CertificateSigningRequest) -> &CertificateSigningRequestSpec {
    zero_or!(csr.spec, CertificateSigningRequestSpec)
}

fn status(csr: &CertificateSigningRequest) -> &CertificateSigningRequestStatus {
    zero_or!(csr.status, CertificateSigningRequestStatus)
}

// ---- families ----------------------------------------------------------------

/// Always three series; a value counts conditions, so a repeated type reads 2.
fn condition<'a>(csr: &'a CertificateSigningRequest, _: &Context, out: Out<'a, '_>) {
    let conditions = &status(csr).conditions;
    for (label, kind) in [
        ("approved", "Approved"),
        ("denied", "Denied"),
        ("failed", "Failed"),
    ] {
        let count = conditions.iter().filter(|c| s(&c.r#type) == kind).count();
        out.push([label], count as f64);
    }
}

fn cert_length<'a>(csr: &'a CertificateSigningRequest, _: &Context, out: Out<'a, '_>) {
    let length = status(csr).certificate.as_ref().map_or(0, Vec::len);
    out.push([], length as f64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::certificates::v1::CertificateSigningRequestCondition;
    use crate::metrics::family::Samples;

    #[test]
    fn conditions_are_counted_per_type() {
        let kinds = ["Approved", "Failed", "Approved", "Unknown"];
        let csr = CertificateSigningRequest {
            status: Some(CertificateSigningRequestStatus {
                conditions: kinds
                    .iter()
                    .map(|k| CertificateSigningRequestCondition {
                        r#type: Some(k.to_string()),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut out = Samples::default();
        condition(&csr, &Context::default(), &mut out);
        let got: Vec<(String, f64)> = out
            .samples
            .iter()
            .map(|s| (s.values[0].to_string(), s.value))
            .collect();
        assert_eq!(
            got,
            [
                ("approved".to_string(), 2.0),
                ("denied".to_string(), 0.0),
                ("failed".to_string(), 1.0)
            ]
        );
    }
}
