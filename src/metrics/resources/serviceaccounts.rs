//! `serviceaccounts`: 7 families, in kube-state-metrics' order. Default labels:
//! namespace, serviceaccount, uid.

use crate::api::core::v1::ServiceAccount;
use crate::api::Kind;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{bool_word, s};
use crate::metrics::resource::ResourceDef;

#[rustfmt::skip]
pub static FAMILIES: &[Family<ServiceAccount>] = &[
    gauge("kube_serviceaccount_info", Alpha, "Whether the service account mounts its API token (empty when unset).", &["automount_token"], info),
    generic::created("kube_serviceaccount_created", Alpha),
    generic::deletion_timestamp("kube_serviceaccount_deleted", Alpha),
    gauge("kube_serviceaccount_secret", Alpha, "Each secret the service account references.", &["name"], secret),
    gauge("kube_serviceaccount_image_pull_secret", Alpha, "Each image pull secret the service account references.", &["name"], image_pull_secret),
    generic::annotations("kube_serviceaccount_annotations", Alpha),
    generic::labels("kube_serviceaccount_labels", Alpha),
];

pub static RESOURCE: ResourceDef<ServiceAccount> = ResourceDef {
    default_labels: &["namespace", "serviceaccount", "uid"],
    default_values,
    families: FAMILIES,
};

fn default_values(account: &ServiceAccount) -> Vec<&str> {
    let m = account.metadata();
    vec![s(&m.namespace), s(&m.name), s(&m.uid)]
}

fn info<'a>(a: &'a ServiceAccount, _: &Context, out: Out<'a, '_>) {
    let automount = a.automount_service_account_token.map_or("", bool_word);
    out.push([automount], 1.0);
}

fn secret<'a>(a: &'a ServiceAccount, _: &Context, out: Out<'a, '_>) {
    for reference in &a.secrets {
        out.push([s(&reference.name)], 1.0);
    }
}

fn image_pull_secret<'a>(a: &'a ServiceAccount, _: &Context, out: Out<'a, '_>) {
    for reference in &a.image_pull_secrets {
        out.push([s(&reference.name)], 1.0);
    }
}
