//! A fixed, process-wide vocabulary of label values that recur across objects
//! (booleans, units, resource names, phases, reasons, …). An object refers to them
//! by number instead of storing the text. The list is fixed at compile time, so it
//! needs no locking and never grows (unlike a runtime interner, which would have to
//! be swept when objects go away).

use std::collections::HashMap;
use std::sync::LazyLock;

#[rustfmt::skip]
const WORDS: &[&str] = &[
    "", "true", "false", "unknown", "deprecated", "4", "6",
    // resources and units
    "cpu", "memory", "storage", "ephemeral_storage", "pods", "nvidia_com_gpu", "hugepages_2Mi", "hugepages_1Gi",
    "core", "byte", "integer",
    // phases, QoS, policies
    "Pending", "Running", "Succeeded", "Failed", "Unknown", "BestEffort", "Burstable", "Guaranteed",
    "Always", "OnFailure", "Never", "default-scheduler", "default",
    // owners
    "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "Node", "ReplicationController", "Deployment", "CronJob",
    // container and pod reasons
    "ContainerCreating", "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError",
    "CreateContainerError", "InvalidImageName", "PodInitializing", "Completed", "Error", "OOMKilled",
    "ContainerCannotRun", "DeadlineExceeded", "Evicted", "NodeAffinity", "NodeLost", "PreemptionByScheduler",
    "SchedulingGated", "Shutdown", "TerminationByKubelet", "UnexpectedAdmissionError", "Other",
    "DeletionByTaintManager", "EvictionByEvictionAPI", "DeletionByPodGC",
    // node conditions, addresses, taints, tolerations
    "Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable",
    "InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS",
    "NoSchedule", "PreferNoSchedule", "NoExecute", "Exists", "Equal",
    "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable", "node.kubernetes.io/unschedulable",
    "node-role.kubernetes.io/control-plane", "control-plane", "master", "worker", "300",
];

static IDS: LazyLock<HashMap<&'static str, u32>> = LazyLock::new(|| {
    WORDS
        .iter()
        .enumerate()
        .map(|(index, word)| (*word, index as u32))
        .collect()
});

/// The number of a vocabulary word.
pub fn id(text: &str) -> Option<u32> {
    IDS.get(text).copied()
}

/// The word with number `id` (empty for an unknown number).
pub fn word(id: u64) -> &'static str {
    usize::try_from(id)
        .ok()
        .and_then(|i| WORDS.get(i))
        .copied()
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_need_no_escaping() {
        for (index, w) in WORDS.iter().enumerate() {
            assert_eq!(id(w), Some(index as u32), "{w:?} listed twice?");
            assert_eq!(word(index as u64), *w);
            assert!(!w.contains(['\\', '"', '\n']));
        }
        assert_eq!(id("not-a-word"), None);
    }
}
