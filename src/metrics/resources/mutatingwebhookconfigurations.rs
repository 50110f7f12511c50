//! `mutatingwebhookconfigurations`: 4 families, in kube-state-metrics' order. Default
//! labels: namespace (always empty: cluster-scoped), mutatingwebhookconfiguration.

use crate::api::admissionregistration::v1::MutatingWebhookConfiguration;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::s;
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<MutatingWebhookConfiguration>] = &[
    generic::info("kube_mutatingwebhookconfiguration_info", Alpha, "One series per mutating webhook configuration."),
    generic::created("kube_mutatingwebhookconfiguration_created", Alpha),
    generic::resource_version("kube_mutatingwebhookconfiguration_metadata_resource_version", Alpha),
    gauge("kube_mutatingwebhookconfiguration_webhook_clientconfig_service", Alpha, "Each webhook with the service the apiserver calls it through (empty for URL webhooks).", &["webhook_name", "service_name", "service_namespace"], webhook_clientconfig_service),
];

pub static RESOURCE: ResourceDef<MutatingWebhookConfiguration> = ResourceDef {
    default_labels: &["namespace", "mutatingwebhookconfiguration"],
    default_values: namespace_and_name::<MutatingWebhookConfiguration>,
    families: FAMILIES,
};

fn webhook_clientconfig_service<'a>(
    c: &'a MutatingWebhookConfiguration,
    _: &Context,
    out: Out<'a, '_>,
) {
    for webhook in &c.webhooks {
        let service = webhook
            .client_config
            .as_ref()
            .and_then(|c| c.service.as_ref());
        let (name, namespace) = service.map_or(("", ""), |r| (s(&r.name), s(&r.namespace)));
        out.push([s(&webhook.name), name, namespace], 1.0);
    }
}
