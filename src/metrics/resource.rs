//! A resource's metric definition (default labels + family table) and the
//! type-erased view the store works with. The list of resources with metrics is
//! [`super::resources`]; this module knows none of them.

use crate::api::{Kind, Object};

use super::family::{Context, Family, FamilyMeta, Samples};
use super::kube::s;

/// The families the selected schema overlays declare for a kind (`[[metric]]` in
/// their overlay.toml). `build.rs` generates an impl for every served kind
/// (src/metrics/overlay.rs); in the stock build all are empty. They follow the
/// resource's own (KSM's) families, so KSM's tables stay as KSM has them.
pub trait OverlayFamilies: Sized + 'static {
    const OVERLAY_FAMILIES: &'static [Family<Self>] = &[];
}

/// Metrics of one Kubernetes kind: its default labels and its family table.
pub struct ResourceDef<T: Kind> {
    /// Labels every series of the resource starts with (`namespace`, `pod`, `uid`).
    pub default_labels: &'static [&'static str],
    pub default_values: for<'a> fn(&'a T) -> Vec<&'a str>,
    /// In KSM's emission order.
    pub families: &'static [Family<T>],
}

/// Default label values `namespace, <name>`: what most namespaced resources use.
pub fn namespace_and_name<T: Kind>(object: &T) -> Vec<&str> {
    let m = object.metadata();
    vec![s(&m.namespace), s(&m.name)]
}

/// Default label value `<name>`: what most cluster-scoped resources use.
pub fn name_only<T: Kind>(object: &T) -> Vec<&str> {
    vec![s(&object.metadata().name)]
}

/// What one object yields: its default label values and, per enabled family, samples.
pub struct Generated<'a> {
    pub default_values: Vec<&'a str>,
    pub families: Vec<Samples<'a>>,
}

/// The store's view of a resource, independent of the Rust type.
pub trait ResourceMetrics: Send + Sync {
    /// `--resources` name (`pods`).
    fn plural(&self) -> &'static str;
    fn default_labels(&self) -> &'static [&'static str];
    fn families(&self) -> Vec<FamilyMeta>;
    /// Runs the families at `enabled` (indices into [`ResourceMetrics::families`]);
    /// `None` when the object is of another kind.
    fn generate<'a>(
        &self,
        object: &'a Object,
        enabled: &[usize],
        context: &Context,
    ) -> Option<Generated<'a>>;
}

impl<T: Kind> ResourceDef<T> {
    /// KSM's families, then the overlays': what `families()` indices refer to.
    fn all_families(&self) -> impl Iterator<Item = &Family<T>>
    where
        T: OverlayFamilies,
    {
        self.families.iter().chain(T::OVERLAY_FAMILIES)
    }
}

impl<T: Kind + OverlayFamilies> ResourceMetrics for ResourceDef<T> {
    fn plural(&self) -> &'static str {
        T::TYPE.plural
    }

    fn default_labels(&self) -> &'static [&'static str] {
        self.default_labels
    }

    fn families(&self) -> Vec<FamilyMeta> {
        self.all_families().map(|f| f.meta).collect()
    }

    fn generate<'a>(
        &self,
        object: &'a Object,
        enabled: &[usize],
        context: &Context,
    ) -> Option<Generated<'a>> {
        let typed = T::downcast(object)?;
        let families = enabled
            .iter()
            .filter_map(|&index| self.all_families().nth(index))
            .map(|family| {
                let mut samples = Samples::default();
                (family.generate)(typed, context, &mut samples);
                samples.dedup();
                samples
            })
            .collect();
        Some(Generated {
            default_values: (self.default_values)(typed),
            families,
        })
    }
}
