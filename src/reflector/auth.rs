//! Credentials the apiserver refuses (401), RBAC rules it enforces (403), and
//! resources it does not serve at all (404: an API group/version not enabled, such as
//! `admissionregistration.k8s.io/v1beta1` on a stock 1.35, which is off by default).
//!
//! Retrying cannot cure either on its own, so a reflector says once per resource
//! and verb what the operator has to fix (which kubeconfig user or token file, which
//! RBAC rule) and then keeps retrying with backoff quietly (debug level) until the
//! request succeeds again. The shared [`AuthFailures`] lets `/livez` and `/readyz`
//! say what failed instead of a bare "unreachable" or "syncing".

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::client::{ClientError, Target};

/// Why the apiserver turned a request away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 401: our credentials were not accepted (wrong, expired or rotated token).
    Unauthenticated,
    /// 403: authenticated, but RBAC does not allow the verb on the resource.
    Forbidden,
    /// 404 on the collection: this apiserver does not serve the resource (its API
    /// group/version is not enabled). It cannot be listed, so it must not hold
    /// `/readyz` back; the reflector keeps retrying in case the API is enabled later.
    NotServed,
}

impl Refusal {
    /// The refusal an error carries, if it is one.
    pub fn of(error: &ClientError) -> Option<Refusal> {
        match error {
            ClientError::Api(api) if api.code == 401 => Some(Refusal::Unauthenticated),
            ClientError::Api(api) if api.code == 403 => Some(Refusal::Forbidden),
            ClientError::Api(api) if api.code == 404 => Some(Refusal::NotServed),
            _ => None,
        }
    }
}

/// The RBAC rule that would allow `verb` on `target`, as an operator writes it.
pub fn missing_rule(verb: &str, target: &Target) -> String {
    let resource = target.resource;
    let scope = match &target.namespace {
        Some(namespace) => format!("in namespace {namespace:?} (Role + RoleBinding)"),
        None => "cluster-wide (ClusterRole + ClusterRoleBinding)".to_string(),
    };
    format!(
        "verbs: [{verb}], apiGroups: [{:?}], resources: [{:?}], {scope}",
        resource.group, resource.plural
    )
}

/// What to check after a 401.
pub const CREDENTIALS_HINT: &str = "check the kubeconfig user of the current context \
     (--kubeconfig / KUBECONFIG), the token file it or the service account names, and \
     whether the credentials expired (a rotated token file is re-read within a minute)";

/// Targets (and verbs) whose last request was refused, shared by every reflector
/// and the health endpoints. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct AuthFailures(Arc<Mutex<BTreeMap<(String, &'static str), Refusal>>>);

impl AuthFailures {
    pub fn new() -> AuthFailures {
        AuthFailures::default()
    }

    /// Records a refusal of `verb` on the target labelled `label`; true when it is
    /// new (not refused the same way since the last success), i.e. worth a warning.
    pub fn record(&self, label: &str, verb: &'static str, refusal: Refusal) -> bool {
        let mut failures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        failures.insert((label.to_string(), verb), refusal) != Some(refusal)
    }

    /// `verb` on `label` succeeded; true when it had been refused before.
    pub fn clear(&self, label: &str, verb: &'static str) -> bool {
        let mut failures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        failures.remove(&(label.to_string(), verb)).is_some()
    }

    /// Target labels currently refused with `refusal`, sorted, each once.
    pub fn refused(&self, refusal: Refusal) -> Vec<String> {
        let failures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut labels: Vec<String> = failures
            .iter()
            .filter(|(_, r)| **r == refusal)
            .map(|((label, _), _)| label.clone())
            .collect();
        labels.dedup();
        labels
    }

    /// One line for `/livez` and `/readyz`, `None` when nothing is refused:
    /// "apiserver refused our credentials (HTTP 401) for 2 resources (pods, secrets);
    /// RBAC forbids 1 resource (secrets)".
    pub fn summary(&self) -> Option<String> {
        let unauthenticated = self.refused(Refusal::Unauthenticated);
        let forbidden = self.refused(Refusal::Forbidden);
        let mut parts = Vec::new();
        if !unauthenticated.is_empty() {
            parts.push(format!(
                "apiserver refused our credentials (HTTP 401) for {} ({}): {CREDENTIALS_HINT}",
                resources(unauthenticated.len()),
                unauthenticated.join(", ")
            ));
        }
        if !forbidden.is_empty() {
            parts.push(format!(
                "RBAC forbids (HTTP 403) {} ({}): the exporter's identity lacks list/watch there",
                resources(forbidden.len()),
                forbidden.join(", ")
            ));
        }
        let not_served = self.refused(Refusal::NotServed);
        if !not_served.is_empty() {
            parts.push(format!(
                "the apiserver does not serve (HTTP 404) {} ({}): not waited for",
                resources(not_served.len()),
                not_served.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// True when a list or watch of some target of `plural` was answered 404 since
    /// its last success: the apiserver does not serve that resource.
    pub fn is_not_served(&self, plural: &str) -> bool {
        self.refused(Refusal::NotServed).iter().any(|label| {
            label == plural
                || label
                    .strip_prefix(plural)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

fn resources(count: usize) -> String {
    if count == 1 {
        "1 resource".to_string()
    } else {
        format!("{count} resources")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ResourceType;
    use crate::client::ApiError;

    fn api_error(code: u16) -> ClientError {
        ClientError::Api(ApiError {
            code,
            reason: String::new(),
            message: String::new(),
            retry_after: None,
        })
    }

    #[test]
    fn classifies_401_403_and_404_only() {
        assert_eq!(Refusal::of(&api_error(401)), Some(Refusal::Unauthenticated));
        assert_eq!(Refusal::of(&api_error(403)), Some(Refusal::Forbidden));
        assert_eq!(Refusal::of(&api_error(404)), Some(Refusal::NotServed));
        assert_eq!(Refusal::of(&api_error(410)), None);
        assert_eq!(Refusal::of(&api_error(500)), None);
    }

    #[test]
    fn names_the_missing_rule() {
        let deployments = ResourceType::by_plural("deployments").expect("deployments");
        assert_eq!(
            missing_rule("list", &Target::new(deployments, None)),
            "verbs: [list], apiGroups: [\"apps\"], resources: [\"deployments\"], \
             cluster-wide (ClusterRole + ClusterRoleBinding)"
        );
        let secrets = ResourceType::by_plural("secrets").expect("secrets");
        assert_eq!(
            missing_rule("watch", &Target::new(secrets, Some("prod".to_string()))),
            "verbs: [watch], apiGroups: [\"\"], resources: [\"secrets\"], \
             in namespace \"prod\" (Role + RoleBinding)"
        );
    }

    #[test]
    fn warns_once_until_the_next_success() {
        let failures = AuthFailures::new();
        assert!(failures.record("pods", "list", Refusal::Forbidden));
        assert!(!failures.record("pods", "list", Refusal::Forbidden));
        assert!(failures.record("pods", "watch", Refusal::Forbidden));
        // A different refusal of the same request is news.
        assert!(failures.record("pods", "list", Refusal::Unauthenticated));
        assert!(failures.clear("pods", "list"));
        assert!(!failures.clear("pods", "list"));
        assert!(failures.record("pods", "list", Refusal::Forbidden));
    }

    #[test]
    fn summarises_by_refusal() {
        let failures = AuthFailures::new();
        assert_eq!(failures.summary(), None);
        failures.record("secrets", "list", Refusal::Forbidden);
        failures.record("secrets", "watch", Refusal::Forbidden);
        failures.record("pods", "list", Refusal::Unauthenticated);
        failures.record("nodes", "list", Refusal::Unauthenticated);
        let summary = failures.summary().expect("a summary");
        assert!(
            summary.starts_with(
                "apiserver refused our credentials (HTTP 401) for 2 resources (nodes, pods): check the kubeconfig user"
            ),
            "{summary}"
        );
        assert!(
            summary.ends_with(
                "; RBAC forbids (HTTP 403) 1 resource (secrets): the exporter's identity lacks list/watch there"
            ),
            "{summary}"
        );
    }
}
