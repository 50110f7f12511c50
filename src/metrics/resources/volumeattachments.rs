//! `volumeattachments`: 6 families, in kube-state-metrics' order. Default label:
//! volumeattachment.

use crate::api::storage::v1::{
    VolumeAttachment, VolumeAttachmentSource, VolumeAttachmentSpec, VolumeAttachmentStatus,
};
use crate::api::Kind;
use crate::metrics::family::{dynamic_gauge, gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{self, bool_value, s, zero_or};
use crate::metrics::resource::{name_only, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<VolumeAttachment>] = &[
    dynamic_gauge("kube_volumeattachment_labels", Alpha, "Every Kubernetes label of the volume attachment as label_<key> labels (no allowlist applies).", labels),
    gauge("kube_volumeattachment_info", Alpha, "Attacher and node of the volume attachment.", &["attacher", "node"], info),
    generic::created("kube_volumeattachment_created", Alpha),
    gauge("kube_volumeattachment_spec_source_persistentvolume", Alpha, "Persistent volume the attachment is for, when it names one.", &["volumename"], spec_source_persistentvolume),
    gauge("kube_volumeattachment_status_attached", Alpha, "1 when the volume is attached.", &[], status_attached),
    dynamic_gauge("kube_volumeattachment_status_attachment_metadata", Alpha, "Attachment metadata reported by the attacher as metadata_<key> labels.", status_attachment_metadata),
];

pub static RESOURCE: ResourceDef<VolumeAttachment> = ResourceDef {
    default_labels: &["volumeattachment"],
    default_values: name_only,
    families: FAMILIES,
};

// ---- accessors -------------------------------------------------------------

fn spec(v: &VolumeAttachment) -> &VolumeAttachmentSpec {
    zero_or!(v.spec, VolumeAttachmentSpec)
}

fn status(v: &VolumeAttachment) -> &VolumeAttachmentStatus {
    zero_or!(v.status, VolumeAttachmentStatus)
}

// ---- families ----------------------------------------------------------------

/// KSM ignores `--metric-labels-allowlist` here and always writes one series.
fn labels<'a>(v: &'a VolumeAttachment, _: &Context, out: Out<'a, '_>) {
    out.push_dynamic(kube::all_pairs("label", &v.metadata().labels), 1.0);
}

fn info<'a>(v: &'a VolumeAttachment, _: &Context, out: Out<'a, '_>) {
    out.push([s(&spec(v).attacher), s(&spec(v).node_name)], 1.0);
}

fn spec_source_persistentvolume<'a>(v: &'a VolumeAttachment, _: &Context, out: Out<'a, '_>) {
    let source = zero_or!(spec(v).source, VolumeAttachmentSource);
    if let Some(name) = &source.persistent_volume_name {
        out.push([name.as_str()], 1.0);
    }
}

fn status_attached<'a>(v: &'a VolumeAttachment, _: &Context, out: Out<'a, '_>) {
    out.push([], bool_value(status(v).attached.unwrap_or(false)));
}

/// One series even without metadata, like the labels family.
fn status_attachment_metadata<'a>(v: &'a VolumeAttachment, _: &Context, out: Out<'a, '_>) {
    out.push_dynamic(
        kube::all_pairs("metadata", &status(v).attachment_metadata),
        1.0,
    );
}
