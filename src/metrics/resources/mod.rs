//! Every resource with metrics: one file each, named by its `--resources` plural,
//! holding a `pub static RESOURCE: ResourceDef<Kind>` table. The `registry!` line
//! below is the only other place a resource is named: it declares the module and
//! lists it in [`all`], so the two cannot drift. (`cargo fmt` does not see modules
//! declared in a macro: `rustfmt --edition 2021 src/metrics/resources/*.rs`, as
//! `.ci/run` checks.)

use super::resource::ResourceMetrics;

macro_rules! registry {
    ($($plural:ident),* $(,)?) => {
        $(pub mod $plural;)*

        /// Every resource with metrics, in alphabetical order of its plural name.
        pub fn all() -> &'static [&'static dyn ResourceMetrics] {
            static ALL: &[&dyn ResourceMetrics] = &[$(&$plural::RESOURCE),*];
            ALL
        }

        /// The module names, to check that each file serves the kind it is named after.
        #[cfg(test)]
        const MODULES: &[&str] = &[$(stringify!($plural)),*];
    };
}

registry! {
    certificatesigningrequests,
    clusterrolebindings,
    clusterroles,
    configmaps,
    daemonsets,
    deployments,
    endpoints,
    endpointslices,
    ingressclasses,
    ingresses,
    leases,
    limitranges,
    mutatingadmissionpolicies,
    mutatingadmissionpolicybindings,
    mutatingwebhookconfigurations,
    namespaces,
    networkpolicies,
    nodes,
    persistentvolumeclaims,
    persistentvolumes,
    pods,
    replicasets,
    replicationcontrollers,
    resourcequotas,
    rolebindings,
    roles,
    secrets,
    serviceaccounts,
    services,
    statefulsets,
    storageclasses,
    validatingadmissionpolicies,
    validatingadmissionpolicybindings,
    validatingwebhookconfigurations,
    volumeattachments,
}

/// The resource called `plural`, if it has metrics.
pub fn by_plural(plural: &str) -> Option<&'static dyn ResourceMetrics> {
    all().iter().copied().find(|r| r.plural() == plural)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ResourceType;

    #[test]
    fn each_file_serves_the_kind_it_is_named_after_in_alphabetical_order() {
        let plurals: Vec<&str> = all().iter().map(|r| r.plural()).collect();
        assert_eq!(plurals, MODULES);
        let mut sorted = plurals.clone();
        sorted.sort_unstable();
        assert_eq!(plurals, sorted, "keep registry! in alphabetical order");
        for plural in plurals {
            assert!(ResourceType::by_plural(plural).is_some(), "{plural}");
        }
    }

    #[test]
    fn family_names_are_unique_and_prefixed_by_the_kind() {
        let mut seen = std::collections::BTreeSet::new();
        for resource in all() {
            let kind = ResourceType::by_plural(resource.plural())
                .map(|r| r.kind.to_lowercase())
                .unwrap_or_default();
            // KSM names Endpoints' families in the singular (kube_endpoint_*).
            let singular = kind.strip_suffix("points").map(|k| format!("{k}point"));
            for family in resource.families() {
                assert!(seen.insert(family.name), "{} twice", family.name);
                // KSM's kube_limitrange and kube_resourcequota are the bare kind.
                let prefixed = |k: &str| {
                    family.name == format!("kube_{k}")
                        || family.name.starts_with(&format!("kube_{k}_"))
                };
                assert!(
                    prefixed(&kind) || singular.as_deref().is_some_and(prefixed),
                    "{} does not start with kube_{kind}_",
                    family.name
                );
            }
        }
    }
}
