//! `persistentvolumes`: 11 families (one opt-in), in kube-state-metrics' order.
//! Default label: persistentvolume.

use std::borrow::Cow;

use crate::api::core::v1::{PersistentVolume, PersistentVolumeSource, PersistentVolumeSpec};
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{self, bool_value, s, zero_or};
use crate::metrics::resource::{name_only, ResourceDef};

const INFO_LABELS: &[&str] = &[
    "storageclass",
    "gce_persistent_disk_name",
    "ebs_volume_id",
    "azure_disk_name",
    "fc_wwids",
    "fc_lun",
    "fc_target_wwns",
    "iscsi_target_portal",
    "iscsi_iqn",
    "iscsi_lun",
    "iscsi_initiator_name",
    "nfs_server",
    "nfs_path",
    "csi_driver",
    "csi_volume_handle",
    "local_path",
    "local_fs",
    "host_path",
    "host_path_type",
    "reclaim_policy",
];

#[rustfmt::skip]
pub static FAMILIES: &[Family<PersistentVolume>] = &[
    gauge("kube_persistentvolume_claim_ref", Stable, "The claim the volume is bound to (name and namespace), when it has one.", &["name", "claim_namespace"], claim_ref),
    generic::annotations("kube_persistentvolume_annotations", Alpha),
    generic::labels("kube_persistentvolume_labels", Stable),
    gauge("kube_persistentvolume_status_phase", Stable, "Phase of the volume, one series per phase.", &["phase"], status_phase),
    gauge("kube_persistentvolume_info", Stable, "Storage class, backing volume source and reclaim policy of the volume.", INFO_LABELS, info),
    gauge("kube_persistentvolume_capacity_bytes", Stable, "Storage capacity of the volume in bytes.", &[], capacity_bytes),
    generic::created("kube_persistentvolume_created", Alpha),
    generic::deletion_timestamp("kube_persistentvolume_deletion_timestamp", Alpha),
    gauge("kube_persistentvolume_csi_attributes", Alpha, "Mounter and map options of a CSI volume's attributes.", &["csi_mounter", "csi_map_options"], csi_attributes).opt_in(),
    gauge("kube_persistentvolume_volume_mode", Alpha, "Volume mode of the volume (Filesystem when unset).", &["volumemode"], volume_mode),
    gauge("kube_persistentvolume_access_mode", Alpha, "Each access mode of the volume.", &["access_mode"], access_mode),
];

pub static RESOURCE: ResourceDef<PersistentVolume> = ResourceDef {
    default_labels: &["persistentvolume"],
    default_values: name_only,
    families: FAMILIES,
};

// ---- accessors -------------------------------------------------------------

fn spec(p: &PersistentVolume) -> &PersistentVolumeSpec {
    zero_or!(p.spec, PersistentVolumeSpec)
}

fn source(p: &PersistentVolume) -> &PersistentVolumeSource {
    zero_or!(spec(p).persistent_volume_source, PersistentVolumeSource)
}

// ---- families ----------------------------------------------------------------

fn claim_ref<'a>(p: &'a PersistentVolume, _: &Context, out: Out<'a, '_>) {
    if let Some(claim) = &spec(p).claim_ref {
        out.push([s(&claim.name), s(&claim.namespace)], 1.0);
    }
}

fn status_phase<'a>(p: &'a PersistentVolume, _: &Context, out: Out<'a, '_>) {
    let phase = p.status.as_ref().map_or("", |st| s(&st.phase));
    if phase.is_empty() {
        return;
    }
    for choice in ["Pending", "Available", "Bound", "Released", "Failed"] {
        out.push([choice], bool_value(phase == choice));
    }
}

/// Only the first populated source (in KSM's order of checking) fills its labels;
/// a volume has one source, so the order only matters for malformed objects.
fn info<'a>(p: &'a PersistentVolume, _: &Context, out: Out<'a, '_>) {
    let mut values: Vec<Cow<'a, str>> = vec![Cow::Borrowed(""); INFO_LABELS.len()];
    let mut set = |label: &str, value: Cow<'a, str>| {
        if let Some(slot) = INFO_LABELS.iter().position(|l| *l == label) {
            values[slot] = value;
        }
    };
    let src = source(p);
    set("storageclass", s(&spec(p).storage_class_name).into());
    set(
        "reclaim_policy",
        s(&spec(p).persistent_volume_reclaim_policy).into(),
    );
    if let Some(gce) = &src.gce_persistent_disk {
        set("gce_persistent_disk_name", s(&gce.pd_name).into());
    } else if let Some(ebs) = &src.aws_elastic_block_store {
        set("ebs_volume_id", s(&ebs.volume_id).into());
    } else if let Some(azure) = &src.azure_disk {
        set("azure_disk_name", s(&azure.disk_name).into());
    } else if let Some(fc) = &src.fc {
        // An unset LUN stays empty, unlike iSCSI's, which is not optional in Go.
        if let Some(lun) = fc.lun {
            set("fc_lun", lun.to_string().into());
        }
        set("fc_target_wwns", fc.target_ww_ns.join(",").into());
        set("fc_wwids", fc.wwids.join(",").into());
    } else if let Some(iscsi) = &src.iscsi {
        set("iscsi_target_portal", s(&iscsi.target_portal).into());
        set("iscsi_iqn", s(&iscsi.iqn).into());
        set("iscsi_lun", iscsi.lun.unwrap_or(0).to_string().into());
        set("iscsi_initiator_name", s(&iscsi.initiator_name).into());
    } else if let Some(nfs) = &src.nfs {
        set("nfs_server", s(&nfs.server).into());
        set("nfs_path", s(&nfs.path).into());
    } else if let Some(csi) = &src.csi {
        set("csi_driver", s(&csi.driver).into());
        set("csi_volume_handle", s(&csi.volume_handle).into());
    } else if let Some(local) = &src.local {
        set("local_path", s(&local.path).into());
        set("local_fs", s(&local.fs_type).into());
    } else if let Some(host) = &src.host_path {
        set("host_path", s(&host.path).into());
        set("host_path_type", s(&host.r#type).into());
    }
    out.push_owned(values, 1.0);
}

/// A volume without a storage capacity reads as Go's zero quantity: 0.
fn capacity_bytes<'a>(p: &'a PersistentVolume, _: &Context, out: Out<'a, '_>) {
    let bytes = spec(p)
        .capacity
        .get("storage")
        .and_then(kube::quantity)
        .map_or(0.0, |q| q.value());
    out.push([], bytes);
}

fn csi_attributes<'a>(p: &'a PersistentVolume, _: &Context, out: Out<'a, '_>) {
    if let Some(csi) = &source(p).csi {
        let attribute = |key: &str| csi.volume_attributes.get(key).map_or("", String::as_str);
        out.push([attribute("mounter"), attribute("mapOptions")], 1.0);
    }
}

fn volume_mode<'a>(p: &'a PersistentVolume, _: &Context, out: Out<'a, '_>) {
    out.push(
        [spec(p).volume_mode.as_deref().unwrap_or("Filesystem")],
        1.0,
    );
}

fn access_mode<'a>(p: &'a PersistentVolume, _: &Context, out: Out<'a, '_>) {
    for mode in &spec(p).access_modes {
        out.push([mode.as_str()], 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::core::v1::{FcVolumeSource, IscsiPersistentVolumeSource, NfsVolumeSource};
    use crate::metrics::family::Samples;

    fn info_of(src: PersistentVolumeSource) -> Vec<(&'static str, String)> {
        let pv = PersistentVolume {
            spec: Some(PersistentVolumeSpec {
                persistent_volume_source: Some(src),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut out = Samples::default();
        info(&pv, &Context::default(), &mut out);
        INFO_LABELS
            .iter()
            .copied()
            .zip(out.samples[0].values.iter().map(|v| v.to_string()))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }

    #[test]
    fn fc_lists_are_comma_joined_and_an_unset_lun_stays_empty() {
        let got = info_of(PersistentVolumeSource {
            fc: Some(FcVolumeSource {
                target_ww_ns: vec!["a".into(), "b".into()],
                wwids: vec!["c".into()],
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(
            got,
            [("fc_wwids", "c".into()), ("fc_target_wwns", "a,b".into())]
        );
    }

    #[test]
    fn iscsi_lun_reads_as_zero_when_unset() {
        let got = info_of(PersistentVolumeSource {
            iscsi: Some(IscsiPersistentVolumeSource {
                iqn: Some("iqn.x".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(
            got,
            [("iscsi_iqn", "iqn.x".into()), ("iscsi_lun", "0".into())]
        );
    }

    #[test]
    fn only_the_first_source_in_ksm_order_counts() {
        let got = info_of(PersistentVolumeSource {
            nfs: Some(NfsVolumeSource {
                server: Some("nfs".into()),
                ..Default::default()
            }),
            fc: Some(FcVolumeSource {
                lun: Some(7),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(got, [("fc_lun", "7".into())]);
    }
}
