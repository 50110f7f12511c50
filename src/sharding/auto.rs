//! Automatic sharding (`--pod`, `--pod-namespace`), as KSM does it: GET our own pod,
//! take its controller owner (an `apps/v1` StatefulSet), the shard is the ordinal at
//! the end of the pod's name (`<statefulset>-<n>`) and the total is the StatefulSet's
//! `spec.replicas` (1 when unset). A reflector on that one StatefulSet (field selector
//! `metadata.name`) follows `spec.replicas`; every change re-shards without a restart.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::apps::v1::StatefulSet;
use crate::api::{Kind, ResourceType};
use crate::client::{ApiClient, ClientError, ClientMetrics, Target};
use crate::reflector::{Backoff, BackoffOptions, Event, Reflector, ReflectorOptions, Sink};

/// Where this instance sits: its StatefulSet and ordinal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatefulSetSeat {
    pub namespace: String,
    pub statefulset: String,
    pub ordinal: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum AutoShardError {
    #[error("reading pod {namespace}/{pod} (--pod, --pod-namespace): {source}")]
    Get {
        namespace: String,
        pod: String,
        #[source]
        source: ClientError,
    },
    #[error("pod {namespace}/{pod}: {reason}")]
    Pod {
        namespace: String,
        pod: String,
        reason: String,
    },
    #[error("no spec.replicas of statefulset {namespace}/{statefulset} within {waited:?}")]
    NoReplicas {
        namespace: String,
        statefulset: String,
        waited: Duration,
    },
}

/// Finds our StatefulSet and ordinal, retrying transient errors until `deadline`
/// passes (KSM gives up at once; a pod that just started may race its RBAC binding).
pub async fn discover(
    client: &ApiClient,
    namespace: &str,
    pod: &str,
    deadline: Duration,
) -> Result<StatefulSetSeat, AutoShardError> {
    let path = format!("/api/v1/namespaces/{namespace}/pods/{pod}");
    let give_up = tokio::time::Instant::now() + deadline;
    let mut backoff = Backoff::new(BackoffOptions::default());
    let body = loop {
        match client.get_bytes(&path, "application/json").await {
            Ok((_, body)) => break body,
            Err(source) => {
                let delay = backoff.next_delay(source.retry_after());
                if tokio::time::Instant::now() + delay > give_up {
                    return Err(AutoShardError::Get {
                        namespace: namespace.to_string(),
                        pod: pod.to_string(),
                        source,
                    });
                }
                tracing::warn!(%namespace, %pod, error = %source, retry_in = ?delay, "reading our own pod for auto-sharding");
                tokio::time::sleep(delay).await;
            }
        }
    };
    let fail = |reason: String| AutoShardError::Pod {
        namespace: namespace.to_string(),
        pod: pod.to_string(),
        reason,
    };
    let object: Value =
        serde_json::from_slice(&body).map_err(|e| fail(format!("not a JSON object: {e}")))?;
    seat_of(&object, namespace, pod).map_err(fail)
}

/// The StatefulSet seat of a pod object (JSON): its controller owner must be an
/// `apps/v1` StatefulSet and its name `<statefulset>-<ordinal>`.
pub fn seat_of(pod_object: &Value, namespace: &str, pod: &str) -> Result<StatefulSetSeat, String> {
    let owners = pod_object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let controller = owners
        .iter()
        .find(|owner| owner.get("controller").and_then(Value::as_bool) == Some(true))
        .ok_or("has no controller owner: auto-sharding needs a pod of a StatefulSet")?;
    let text = |key: &str| controller.get(key).and_then(Value::as_str).unwrap_or("");
    if text("kind") != "StatefulSet" || text("apiVersion") != "apps/v1" {
        return Err(format!(
            "is controlled by {} {:?}, not by an apps/v1 StatefulSet: auto-sharding needs a pod of a StatefulSet",
            text("kind"),
            text("name")
        ));
    }
    let statefulset = text("name").to_string();
    let ordinal = pod
        .strip_prefix(&statefulset)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|digits| digits.parse::<u32>().ok())
        .ok_or_else(|| {
            format!(
                "its name does not end in the ordinal of statefulset {statefulset:?} (<name>-<n>)"
            )
        })?;
    Ok(StatefulSetSeat {
        namespace: namespace.to_string(),
        statefulset,
        ordinal,
    })
}

/// Follows `spec.replicas` of one StatefulSet; `None` until the first list.
pub struct ReplicasWatch {
    pub replicas: watch::Receiver<Option<i32>>,
    task: JoinHandle<()>,
}

impl Drop for ReplicasWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReplicasWatch {
    /// Starts a reflector on the seat's StatefulSet. Its list/watch counters go to a
    /// registry of their own: they are not the served resources' counters.
    pub fn start(
        client: &ApiClient,
        seat: &StatefulSetSeat,
        options: &ReflectorOptions,
    ) -> Result<ReplicasWatch, prometheus::Error> {
        let (sender, replicas) = watch::channel(None);
        let target = Target::new(StatefulSet::TYPE, Some(seat.namespace.clone()))
            .with_field_selector(format!("metadata.name={}", seat.statefulset));
        let metrics = ClientMetrics::register(&prometheus::Registry::new())?;
        let reflector = Reflector::new(
            client.clone(),
            target,
            Arc::new(ReplicasSink {
                name: seat.statefulset.clone(),
                sender,
            }),
            metrics,
            options.clone(),
        );
        Ok(ReplicasWatch {
            replicas,
            task: tokio::spawn(reflector.run()),
        })
    }

    /// The first known `spec.replicas`, waiting at most `deadline`.
    pub async fn first(
        &mut self,
        seat: &StatefulSetSeat,
        deadline: Duration,
    ) -> Result<i32, AutoShardError> {
        let waited = tokio::time::timeout(deadline, self.replicas.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(value)) => Ok(value.unwrap_or(1)),
            _ => Err(AutoShardError::NoReplicas {
                namespace: seat.namespace.clone(),
                statefulset: seat.statefulset.clone(),
                waited: deadline,
            }),
        }
    }
}

struct ReplicasSink {
    name: String,
    sender: watch::Sender<Option<i32>>,
}

impl Sink for ReplicasSink {
    fn handle(&self, _resource: &'static ResourceType, event: Event) {
        // A deleted StatefulSet leaves the last value: its pods are going too.
        let (Event::InitApply(object) | Event::Apply(object)) = event else {
            return;
        };
        let Some(statefulset) = StatefulSet::downcast(&object) else {
            return;
        };
        if statefulset.metadata().name.as_deref() != Some(self.name.as_str()) {
            return;
        }
        // KSM reads a nil spec.replicas as 1, the apiserver's default.
        let replicas = statefulset
            .spec
            .as_ref()
            .and_then(|spec| spec.replicas)
            .unwrap_or(1);
        self.sender.send_if_modified(|current| {
            let changed = *current != Some(replicas);
            *current = Some(replicas);
            changed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(owners: Value) -> Value {
        json!({"metadata": {"name": "ksm-2", "ownerReferences": owners}})
    }

    #[test]
    fn the_seat_comes_from_the_controller_statefulset_and_the_name() {
        let owners = json!([
            {"apiVersion": "v1", "kind": "Node", "name": "n1"},
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "ksm", "controller": true}
        ]);
        assert_eq!(
            seat_of(&pod(owners), "monitoring", "ksm-2"),
            Ok(StatefulSetSeat {
                namespace: "monitoring".into(),
                statefulset: "ksm".into(),
                ordinal: 2
            })
        );
    }

    #[test]
    fn pods_not_of_a_statefulset_are_refused_with_the_reason() {
        let replicaset = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "ksm-5d", "controller": true}]);
        let error = seat_of(&pod(replicaset), "m", "ksm-2").unwrap_err();
        assert!(
            error.contains("ReplicaSet") && error.contains("StatefulSet"),
            "{error}"
        );
        let none = seat_of(&pod(json!([])), "m", "ksm-2").unwrap_err();
        assert!(none.contains("no controller owner"), "{none}");
        let other_name = json!([{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "other", "controller": true}]);
        let error = seat_of(&pod(other_name), "m", "ksm-2").unwrap_err();
        assert!(error.contains("ordinal"), "{error}");
    }
}
