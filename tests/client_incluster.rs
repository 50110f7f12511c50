//! In-cluster configuration: KUBERNETES_SERVICE_HOST/PORT plus the service account's
//! token and CA. Environment variables are process-wide, so this binary holds the
//! only test that sets them.

mod replay_support;

use std::time::Duration;

use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::{
    connect, list_all, ApiClient, ConnectOptions, Format, ListOptions, Target,
};
use kube_state_exporter::replay::{Faults, ReplayState};
use replay_support::{bounded, pki, recording, start_tls};

#[tokio::test]
async fn uses_the_service_account_when_no_flags_are_given() {
    let pki = pki();
    let state = ReplayState::new(&recording(), Faults::default());
    let (addr, task, _) = start_tls(state.clone(), &pki, false).await;
    let dir = tempfile::tempdir().unwrap();
    // Mounted tokens carry no trailing newline (kube sends the file verbatim).
    std::fs::write(dir.path().join("token"), "service-account-token").unwrap();
    std::fs::write(dir.path().join("ca.crt"), &pki.ca_pem).unwrap();
    std::fs::write(dir.path().join("namespace"), "monitoring").unwrap();
    std::env::set_var("KUBERNETES_SERVICE_HOST", "127.0.0.1");
    std::env::set_var("KUBERNETES_SERVICE_PORT", addr.port().to_string());
    let options = ConnectOptions {
        kubeconfig: None,
        apiserver: None,
        service_account_dir: Some(dir.path().to_path_buf()),
    };
    let kube = bounded(Duration::from_secs(20), connect(&options))
        .await
        .expect("in-cluster config");
    assert_eq!(kube.default_namespace(), "monitoring");
    let client = ApiClient::new(kube);
    let target = Target::new(ResourceType::by_plural("nodes").unwrap(), None);
    let outcome = bounded(
        Duration::from_secs(20),
        list_all(&client, &target, Format::Protobuf, &ListOptions::default()),
    )
    .await
    .expect("lists over TLS with the mounted CA");
    task.abort();
    assert_eq!(outcome.objects.len(), 2);
    let requests = state.requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer service-account-token")),
        "{requests:?}"
    );
}
