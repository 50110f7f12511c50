//! A resource's metric definition (default labels + family table) and the
//! type-erased view the store works with. Adding a resource = one file with a
//! `pub static RESOURCE: ResourceDef<Kind>` and one line in [`all`].

use crate::api::Object;

use super::family::{Context, Family, FamilyMeta, Samples};
use super::{nodes, pods};

/// Metrics of one Kubernetes kind.
pub struct ResourceDef<T: 'static> {
    /// `--resources` name (`pods`).
    pub plural: &'static str,
    /// Labels every series of the resource starts with (`namespace`, `pod`, `uid`).
    pub default_labels: &'static [&'static str],
    pub default_values: for<'a> fn(&'a T) -> Vec<&'a str>,
    /// In KSM's emission order.
    pub families: &'static [Family<T>],
    /// Picks this kind out of the decoded-object enum.
    pub downcast: fn(&Object) -> Option<&T>,
}

/// What one object yields: its default label values and, per enabled family, samples.
pub struct Generated<'a> {
    pub default_values: Vec<&'a str>,
    pub families: Vec<Samples<'a>>,
}

/// The store's view of a resource, independent of the Rust type.
pub trait ResourceMetrics: Send + Sync {
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

impl<T: Send + Sync + 'static> ResourceMetrics for ResourceDef<T> {
    fn plural(&self) -> &'static str {
        self.plural
    }

    fn default_labels(&self) -> &'static [&'static str] {
        self.default_labels
    }

    fn families(&self) -> Vec<FamilyMeta> {
        self.families.iter().map(|f| f.meta).collect()
    }

    fn generate<'a>(
        &self,
        object: &'a Object,
        enabled: &[usize],
        context: &Context,
    ) -> Option<Generated<'a>> {
        let typed = (self.downcast)(object)?;
        let families = enabled
            .iter()
            .filter_map(|&index| self.families.get(index))
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

/// Every resource with metrics, in alphabetical order of its plural name.
pub fn all() -> [&'static dyn ResourceMetrics; 2] {
    [&nodes::RESOURCE, &pods::RESOURCE]
}

/// The resource called `plural`, if it has metrics.
pub fn by_plural(plural: &str) -> Option<&'static dyn ResourceMetrics> {
    all().into_iter().find(|r| r.plural() == plural)
}
