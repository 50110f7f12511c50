//! The baseline: what a Rust user would build instead of this exporter. kube-runtime's
//! `watcher` + `reflector` keep k8s-openapi objects, decoded from JSON, in a
//! `reflector::Store`; a scrape turns them into the same metric families.
//!
//! No one has written KSM's families over k8s-openapi types, so the baseline's scrape
//! converts each cached object to the generated types (serde, object by object) and
//! runs this crate's own family code on it: the shortest path to byte-identical
//! output. That conversion is part of its render time and is reported as such.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;

use kube_state_exporter::api::Object;
use kube_state_exporter::metrics::{ExpositionFormat, MetricsSource, RenderRequest};
use kube_state_exporter::reflector::Event;
use kube_state_exporter::store::{Store as MetricsStore, StoreOptions};

use crate::measure::Counter;

/// The child process: reflect pods and nodes from `apiserver`, say `ready` on stdout,
/// then render once per `render` line on stdin until stdin closes.
pub fn run_child(apiserver: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let config = kube::Config::new(apiserver.parse().context("--apiserver")?);
        let client = Client::try_from(config)?;
        let pods = reflect::<Pod>(client.clone());
        let nodes = reflect::<Node>(client);
        pods.wait_until_ready().await?;
        nodes.wait_until_ready().await?;
        say("ready")?;
        let mut lines = std::io::stdin().lock().lines();
        while let Some(Ok(line)) = lines.next() {
            if line.trim() == "render" {
                let started = Instant::now();
                let bytes = render(&pods.state(), &nodes.state())?;
                say(&format!(
                    "rendered {} {bytes}",
                    started.elapsed().as_secs_f64()
                ))?;
            }
        }
        Ok(())
    })
}

fn say(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

/// The kube-runtime idiom: a reflector over a watcher with the default backoff,
/// drained by a task; the store is the reader half.
fn reflect<K>(client: Client) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let api: Api<K> = Api::all(client);
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .for_each(|_| futures_util::future::ready(()));
    tokio::spawn(stream);
    reader
}

/// Converts to the generated types and renders with this crate's families; the bytes
/// of text written.
pub fn render(pods: &[Arc<Pod>], nodes: &[Arc<Node>]) -> anyhow::Result<u64> {
    let store = MetricsStore::new(&["pods", "nodes"], &StoreOptions::default())?;
    fill(&store, "pods", "v1", "Pod", pods)?;
    fill(&store, "nodes", "v1", "Node", nodes)?;
    let mut counter = Counter::default();
    let request = RenderRequest::all(ExpositionFormat::Text);
    store.write_exposition(&request, &mut counter)?;
    Ok(counter.0)
}

fn fill<K: serde::Serialize>(
    store: &MetricsStore,
    plural: &str,
    api_version: &str,
    kind: &str,
    objects: &[Arc<K>],
) -> anyhow::Result<()> {
    store.apply(plural, Event::Init);
    for object in objects {
        let json = serde_json::to_vec(object.as_ref())?;
        let converted = Object::from_json(api_version, kind, &json)
            .with_context(|| format!("{kind} is not a served kind"))??;
        store.apply(plural, Event::InitApply(converted));
    }
    store.apply(plural, Event::InitDone);
    Ok(())
}
