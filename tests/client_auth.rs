//! Authentication through kube's Config against the replay apiserver: bearer token,
//! client certificate (TLS), exec plugin, and the `--apiserver` override.

mod replay_support;

use std::time::Duration;

use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::{
    connect, list_all, ApiClient, ConnectOptions, Format, ListOptions, Target,
};
use kube_state_exporter::replay::{Faults, ReplayServer, ReplayState};
use replay_support::{b64, bounded, pki, recording, start_tls, write_kubeconfig};

const STEP: Duration = Duration::from_secs(20);

async fn list_nodes(options: &ConnectOptions) -> usize {
    let client = ApiClient::new(bounded(STEP, connect(options)).await.expect("connects"));
    let target = Target::new(ResourceType::by_plural("nodes").unwrap(), None);
    let outcome = bounded(
        STEP,
        list_all(&client, &target, Format::Protobuf, &ListOptions::default()),
    )
    .await
    .expect("lists nodes");
    outcome.objects.len()
}

#[tokio::test]
async fn sends_the_kubeconfig_bearer_token() {
    let (addr, server) = ReplayServer::start(&recording(), Faults::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(
        dir.path(),
        &format!("http://{addr}"),
        "",
        "    token: s3cret-token\n",
    );
    let options = ConnectOptions {
        kubeconfig: Some(kubeconfig),
        ..ConnectOptions::default()
    };
    assert_eq!(list_nodes(&options).await, 2);
    let requests = server.requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer s3cret-token")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn runs_the_exec_plugin_for_a_token() {
    let (addr, server) = ReplayServer::start(&recording(), Faults::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("credential.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"from-exec-plugin\"}}'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let user = format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
        script.display()
    );
    let kubeconfig = write_kubeconfig(dir.path(), &format!("http://{addr}"), "", &user);
    let options = ConnectOptions {
        kubeconfig: Some(kubeconfig),
        ..ConnectOptions::default()
    };
    assert_eq!(list_nodes(&options).await, 2);
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer from-exec-plugin")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn apiserver_flag_overrides_the_kubeconfig_server() {
    let (addr, server) = ReplayServer::start(&recording(), Faults::default())
        .await
        .unwrap();
    // Reserve a port and close it again: nothing listens there.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(
        dir.path(),
        &format!("http://{dead}"),
        "",
        "    token: kept\n",
    );
    let options = ConnectOptions {
        kubeconfig: Some(kubeconfig),
        apiserver: Some(format!("http://{addr}")),
        ..ConnectOptions::default()
    };
    assert_eq!(list_nodes(&options).await, 2);
    let requests = server.requests();
    assert!(!requests.is_empty(), "requests went to the --apiserver URL");
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer kept")),
        "the kubeconfig's user still applies"
    );
}

#[tokio::test]
async fn apiserver_flag_alone_needs_no_kubeconfig_file() {
    let (addr, server) = ReplayServer::start(&recording(), Faults::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // An explicit kubeconfig path that has no server, overridden by --apiserver.
    let kubeconfig = write_kubeconfig(dir.path(), "http://127.0.0.1:1", "", "    token: t\n");
    let options = ConnectOptions {
        kubeconfig: Some(kubeconfig),
        apiserver: Some(format!("http://{addr}")),
        ..Default::default()
    };
    assert_eq!(list_nodes(&options).await, 2);
    assert!(!server.requests().is_empty());
    let bad = ConnectOptions {
        apiserver: Some("not a url".into()),
        kubeconfig: None,
        ..Default::default()
    };
    assert!(connect(&bad).await.is_err());
}

#[tokio::test]
async fn presents_the_kubeconfig_client_certificate_over_tls() {
    let pki = pki();
    let state = ReplayState::new(&recording(), Faults::default());
    let (addr, task, presented) = start_tls(state.clone(), &pki, true).await;
    let dir = tempfile::tempdir().unwrap();
    let cluster_extra = format!("    certificate-authority-data: {}\n", b64(&pki.ca_pem));
    let user = format!(
        "    client-certificate-data: {}\n    client-key-data: {}\n",
        b64(&pki.client_pem),
        b64(&pki.client_key_pem)
    );
    let kubeconfig = write_kubeconfig(
        dir.path(),
        &format!("https://{addr}"),
        &cluster_extra,
        &user,
    );
    let options = ConnectOptions {
        kubeconfig: Some(kubeconfig),
        ..ConnectOptions::default()
    };
    assert_eq!(list_nodes(&options).await, 2);
    task.abort();
    let presented = presented.lock().unwrap().clone();
    assert!(
        !presented.is_empty() && presented.iter().all(|&n| n == 1),
        "client certificate presented: {presented:?}"
    );
    assert!(state.requests().iter().all(|r| r.authorization.is_none()));
}

#[tokio::test]
async fn tls_without_the_client_certificate_is_refused() {
    let pki = pki();
    let state = ReplayState::new(&recording(), Faults::default());
    let (addr, task, _) = start_tls(state.clone(), &pki, true).await;
    let dir = tempfile::tempdir().unwrap();
    let cluster_extra = format!("    certificate-authority-data: {}\n", b64(&pki.ca_pem));
    let kubeconfig = write_kubeconfig(
        dir.path(),
        &format!("https://{addr}"),
        &cluster_extra,
        "    token: t\n",
    );
    let client = ApiClient::new(
        connect(&ConnectOptions {
            kubeconfig: Some(kubeconfig),
            ..Default::default()
        })
        .await
        .unwrap(),
    );
    let target = Target::new(ResourceType::by_plural("nodes").unwrap(), None);
    let result = bounded(
        STEP,
        list_all(&client, &target, Format::Protobuf, &ListOptions::default()),
    )
    .await;
    task.abort();
    assert!(result.is_err(), "the server demands a client certificate");
    assert!(state.requests().is_empty());
}
