//! The reflector loop for one target: list → watch → (rewatch | relist), never
//! giving up, with every failure counted and logged.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::api::{Object, ResourceType};
use crate::client::{
    list_pages, start_streaming_list, start_watch, ApiClient, ClientError, ClientMetrics, Format,
    ListOptions, ListProgress, Target, WatchEvent, WatchOptions,
};

use super::auth::{missing_rule, AuthFailures, Refusal, CREDENTIALS_HINT};
use super::backoff::{Backoff, BackoffOptions};
use super::event::{Event, Sink};

/// `--content-type`: which encoding to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentTypeMode {
    /// Protobuf, switching a resource to JSON when its objects do not match our schema.
    #[default]
    Auto,
    Protobuf,
    Json,
}

impl ContentTypeMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentTypeMode::Auto => "auto",
            ContentTypeMode::Protobuf => "protobuf",
            ContentTypeMode::Json => "json",
        }
    }
}

impl std::str::FromStr for ContentTypeMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(ContentTypeMode::Auto),
            "protobuf" => Ok(ContentTypeMode::Protobuf),
            "json" => Ok(ContentTypeMode::Json),
            other => Err(format!(
                "unknown content type {other:?}: expected auto, protobuf or json"
            )),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ReflectorOptions {
    pub list: ListOptions,
    pub watch: WatchOptions,
    pub backoff: BackoffOptions,
    pub content_type: ContentTypeMode,
    /// Where refused requests (401/403) are recorded for the health endpoints.
    pub auth_failures: AuthFailures,
    /// `--watch-list`: whether the initial state comes from a streaming list
    /// (`sendInitialEvents=true`) or from list requests.
    pub watch_list: WatchListMode,
}

/// `--watch-list`: how a reflector gets the current objects before it watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WatchListMode {
    /// A streaming list where the server has it (Kubernetes 1.34+, or the WatchList
    /// feature gate); a server that refuses it (1.28–1.33 without the gate answer 422
    /// Invalid) is listed with list requests from then on.
    #[default]
    Auto,
    /// Always a streaming list; a refusal is an error, retried with backoff.
    On,
    /// Always list requests (paged by `limit`).
    Off,
}

impl WatchListMode {
    pub fn as_str(self) -> &'static str {
        match self {
            WatchListMode::Auto => "auto",
            WatchListMode::On => "on",
            WatchListMode::Off => "off",
        }
    }
}

impl std::str::FromStr for WatchListMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(WatchListMode::Auto),
            "on" | "true" => Ok(WatchListMode::On),
            "off" | "false" => Ok(WatchListMode::Off),
            other => Err(format!(
                "unknown watch-list mode {other:?}: expected auto, on or off"
            )),
        }
    }
}

/// Whether a streaming-list request was refused by a server that does not offer
/// the feature (as opposed to failing): 1.28–1.33 without the WatchList gate answer
/// 422 Invalid ("sendInitialEvents is forbidden for watch unless the WatchList
/// feature gate is enabled"); 400 BadRequest from a server that does not know the
/// parameters at all; 405/501 from a proxy that serves no watches of this kind.
/// Transport errors, throttling and 5xx are failures: retried, not a refusal.
fn is_refusal(error: &ClientError) -> bool {
    matches!(error, ClientError::Api(api) if matches!(api.code, 400 | 405 | 422 | 501))
}

/// How one watch ended.
enum WatchEnd {
    /// Server closed the stream after its timeout: watch again from the last RV.
    Clean {
        events: usize,
    },
    /// 410 (in-band or HTTP): the RV is too old, relist.
    Expired(String),
    Failed(ClientError),
}

/// One reflector: a target, where its events go, and how it reports.
pub struct Reflector {
    client: ApiClient,
    target: Target,
    sink: Arc<dyn Sink>,
    metrics: ClientMetrics,
    options: ReflectorOptions,
    format: Format,
    /// UIDs currently known, for the objects gauge.
    known: HashSet<String>,
    diagnosed: bool,
    /// Label values of the `schema_drift` series this reflector set, to remove
    /// exactly those when the resource decodes cleanly again.
    drift_series: Vec<[String; 4]>,
    /// The server refused a streaming list (auto mode): list requests from now on.
    watch_list_refused: bool,
    label: String,
}

impl Reflector {
    pub fn new(
        client: ApiClient,
        target: Target,
        sink: Arc<dyn Sink>,
        metrics: ClientMetrics,
        options: ReflectorOptions,
    ) -> Reflector {
        let format = match options.content_type {
            ContentTypeMode::Json => Format::Json,
            ContentTypeMode::Auto | ContentTypeMode::Protobuf => Format::Protobuf,
        };
        Reflector {
            client,
            label: target.label(),
            target,
            sink,
            metrics,
            options,
            format,
            known: HashSet::new(),
            diagnosed: false,
            drift_series: Vec::new(),
            watch_list_refused: false,
        }
    }

    fn resource(&self) -> &'static ResourceType {
        self.target.resource
    }

    fn plural(&self) -> &'static str {
        self.target.resource.plural
    }

    /// Runs forever; abort the task to stop it.
    pub async fn run(mut self) {
        let mut backoff = Backoff::new(self.options.backoff.clone());
        let mut listed_before = false;
        let mut after_expired = false;
        // 0 from the start, so "no fallback" is a series an alert can compare with.
        self.metrics
            .json_fallback
            .with_label_values(&[self.plural()])
            .set(0);
        loop {
            if listed_before {
                self.metrics
                    .relists_total
                    .with_label_values(&[self.plural()])
                    .inc();
            }
            let mut list_options = self.options.list.clone();
            list_options.use_apiserver_cache &= !after_expired;
            let listed = match self.options.watch_list {
                WatchListMode::Off => self.list(&list_options).await,
                WatchListMode::Auto if self.watch_list_refused => self.list(&list_options).await,
                // A Table watch's bookmarks are Tables too; the server-side Table kinds
                // (secrets: one short row each) are listed.
                WatchListMode::Auto if self.resource().view == crate::api::View::Table => {
                    self.list(&list_options).await
                }
                WatchListMode::On => self.stream_initial().await,
                WatchListMode::Auto => match self.stream_initial().await {
                    Err(error) if is_refusal(&error) => {
                        self.watch_list_refused = true;
                        tracing::info!(resource = %self.label, %error, "the apiserver does not serve streaming lists (WatchList); using list requests");
                        self.list(&list_options).await
                    }
                    Err(error) => {
                        // As client-go does: making progress beats waiting on a
                        // streaming list; the next relist tries it again. A refusal
                        // (401/403/404) will refuse the list too, which reports it once.
                        if Refusal::of(&error).is_some() {
                            tracing::debug!(resource = %self.label, %error, "streaming list refused; listing with list requests this time");
                        } else {
                            tracing::warn!(resource = %self.label, %error, "streaming list failed; listing with list requests this time");
                        }
                        self.metrics
                            .list_total
                            .with_label_values(&[self.plural(), "error"])
                            .inc();
                        self.list(&list_options).await
                    }
                    ok => ok,
                },
            };
            let mut resource_version = match listed {
                Ok(resource_version) => {
                    self.metrics
                        .list_total
                        .with_label_values(&[self.plural(), "success"])
                        .inc();
                    // A whole list decoded as protobuf: whatever drift was found
                    // before is gone (a JSON list says nothing about the schema).
                    if self.format == Format::Protobuf {
                        self.clear_drift();
                    }
                    listed_before = true;
                    after_expired = false;
                    self.clear_refusal("list");
                    resource_version
                }
                Err(error) => {
                    self.metrics
                        .list_total
                        .with_label_values(&[self.plural(), "error"])
                        .inc();
                    listed_before = true;
                    if self.on_decode_failure(&error) {
                        continue;
                    }
                    after_expired |= error.is_expired();
                    let delay = backoff.next_delay(error.retry_after());
                    self.report_failure("list", &error, delay);
                    tokio::time::sleep(delay).await;
                    continue;
                }
            };
            loop {
                let started = Instant::now();
                match self.watch_once(&mut resource_version).await {
                    WatchEnd::Clean { events } => {
                        // A server that closes watches at once would otherwise spin us.
                        if events == 0 && started.elapsed() < Duration::from_millis(200) {
                            tokio::time::sleep(backoff.next_delay(None)).await;
                        }
                    }
                    WatchEnd::Expired(reason) => {
                        tracing::info!(resource = %self.label, rv = %resource_version, %reason, "watch expired; relisting");
                        after_expired = true;
                        break;
                    }
                    WatchEnd::Failed(error) => {
                        if self.on_decode_failure(&error) {
                            break;
                        }
                        let delay = backoff.next_delay(error.retry_after());
                        self.report_failure("watch", &error, delay);
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        }
    }

    /// A paged list, handed to the sink as one Init..InitDone; returns its resourceVersion.
    /// Each page goes to the sink as it arrives, so at most one decoded page is alive.
    async fn list(&mut self, options: &ListOptions) -> Result<String, ClientError> {
        let resource = self.resource();
        let sink = Arc::clone(&self.sink);
        let mut known = HashSet::new();
        sink.handle(resource, Event::Init);
        let summary = list_pages(
            &self.client,
            &self.target,
            self.format,
            options,
            |progress| match progress {
                ListProgress::Restarted => {
                    known.clear();
                    sink.handle(resource, Event::Init);
                }
                ListProgress::Page(objects) => {
                    for object in objects {
                        if let Some(uid) = uid_of(&object) {
                            known.insert(uid);
                        }
                        sink.handle(resource, Event::InitApply(object));
                    }
                }
            },
        )
        .await?;
        tracing::debug!(resource = %self.label, objects = summary.objects, pages = summary.pages, rv = %summary.resource_version, "listed");
        sink.handle(resource, Event::InitDone);
        self.known = known;
        self.publish_count();
        self.metrics.mark_synced(self.plural());
        self.metrics
            .lists_total
            .with_label_values(&[self.plural(), "list"])
            .inc();
        Ok(summary.resource_version)
    }

    /// A streaming list: the initial ADDED events up to the `initial-events-end`
    /// bookmark become one Init..InitDone, each object handed to the sink as its
    /// event arrives; returns the bookmark's resourceVersion. The stream is then
    /// dropped and an ordinary watch resumes from there. Between events, the stream
    /// may be silent at most the list stall timeout.
    async fn stream_initial(&mut self) -> Result<String, ClientError> {
        let mut stream =
            start_streaming_list(&self.client, &self.target, self.format, &self.options.watch)
                .await?;
        stream.set_stall_timeout(
            self.options.list.stall_timeout,
            "streaming list (initial events)",
        );
        let resource = self.resource();
        let sink = Arc::clone(&self.sink);
        let mut known = HashSet::new();
        sink.handle(resource, Event::Init);
        loop {
            match stream.next().await? {
                Some(WatchEvent::Added(object)) => {
                    if let Some(uid) = uid_of(&object) {
                        known.insert(uid);
                    }
                    sink.handle(resource, Event::InitApply(object));
                }
                Some(WatchEvent::Bookmark {
                    resource_version,
                    initial_events_end: true,
                }) => {
                    sink.handle(resource, Event::InitDone);
                    tracing::debug!(resource = %self.label, objects = known.len(), rv = %resource_version, "streaming list complete");
                    self.known = known;
                    self.publish_count();
                    self.metrics.mark_synced(self.plural());
                    self.metrics
                        .lists_total
                        .with_label_values(&[self.plural(), "watch_list"])
                        .inc();
                    return Ok(resource_version);
                }
                Some(WatchEvent::Bookmark { .. }) => {}
                Some(WatchEvent::Error(error)) => return Err(ClientError::Api(error)),
                Some(other) => {
                    return Err(ClientError::Body(format!(
                        "unexpected {} event before the end of the initial events",
                        match other {
                            WatchEvent::Modified(_) => "MODIFIED",
                            _ => "DELETED",
                        }
                    )))
                }
                None => {
                    return Err(ClientError::Body(
                        "stream ended before the initial-events-end bookmark".to_string(),
                    ))
                }
            }
        }
    }

    /// One watch from `resource_version`, applying events as they come and moving
    /// `resource_version` forward.
    /// One watch. `kube_state_metrics_watch_total` counts it when it starts, as KSM does:
    /// success once the stream is open, error when it cannot be opened; a watch that
    /// opened and then failed (cut, undecodable frame, in-band error or 410) counts once
    /// more as error, where KSM's reflector swallows the failure (KSM issue #2221).
    async fn watch_once(&mut self, resource_version: &mut String) -> WatchEnd {
        let end = self.watch_stream(resource_version).await;
        if !matches!(end, WatchEnd::Clean { .. }) {
            self.count_watch("error");
        }
        end
    }

    fn count_watch(&self, result: &str) {
        self.metrics
            .watch_total
            .with_label_values(&[self.plural(), result])
            .inc();
    }

    async fn watch_stream(&mut self, resource_version: &mut String) -> WatchEnd {
        let mut stream = match start_watch(
            &self.client,
            &self.target,
            self.format,
            resource_version,
            &self.options.watch,
        )
        .await
        {
            Ok(stream) => {
                self.clear_refusal("watch");
                stream
            }
            Err(error) if error.is_expired() => return WatchEnd::Expired(error.to_string()),
            Err(error) => return WatchEnd::Failed(error),
        };
        self.count_watch("success");
        let mut events = 0;
        loop {
            let event = match stream.next().await {
                Ok(Some(event)) => event,
                Ok(None) => return WatchEnd::Clean { events },
                Err(error) => return WatchEnd::Failed(error),
            };
            if let Some(rv) = event.resource_version() {
                if !rv.is_empty() {
                    *resource_version = rv.to_string();
                }
            }
            events += 1;
            match event {
                WatchEvent::Added(object) => self.apply(object, "ADDED"),
                WatchEvent::Modified(object) => self.apply(object, "MODIFIED"),
                WatchEvent::Deleted(object) => self.delete(object),
                WatchEvent::Bookmark { .. } => {
                    self.metrics
                        .bookmarks_total
                        .with_label_values(&[self.plural()])
                        .inc();
                    self.metrics.mark_synced(self.plural());
                }
                WatchEvent::Error(error) if error.is_expired() => {
                    return WatchEnd::Expired(error.to_string())
                }
                WatchEvent::Error(error) => return WatchEnd::Failed(ClientError::Api(error)),
            }
        }
    }

    /// Logs a failed list or watch. A refusal (401/403/404) is logged once, with what
    /// to fix, until the same request succeeds again; retries in between log at debug.
    fn report_failure(&self, verb: &'static str, error: &ClientError, retry_in: Duration) {
        let Some(refusal) = Refusal::of(error) else {
            tracing::warn!(resource = %self.label, %error, ?retry_in, "{verb} failed");
            return;
        };
        if !self
            .options
            .auth_failures
            .record(&self.label, verb, refusal)
        {
            tracing::debug!(resource = %self.label, %error, ?retry_in, "{verb} refused again");
            return;
        }
        match refusal {
            Refusal::Unauthenticated => tracing::error!(
                resource = %self.label,
                %error,
                ?retry_in,
                "{verb} refused: the apiserver does not accept our credentials (HTTP 401); \
                 {CREDENTIALS_HINT}; retrying with backoff, further refusals are logged at debug"
            ),
            Refusal::Forbidden => tracing::error!(
                resource = %self.label,
                %error,
                ?retry_in,
                "{verb} forbidden by RBAC (HTTP 403): the exporter's identity needs a rule with {}; \
                 other resources keep serving; retrying with backoff, further refusals are logged at debug",
                missing_rule(verb, &self.target)
            ),
            Refusal::NotServed => tracing::warn!(
                resource = %self.label,
                %error,
                ?retry_in,
                "{verb}: the apiserver does not serve this resource (HTTP 404): API {} is not \
                 enabled there; /readyz does not wait for it; retrying with backoff in case it \
                 is enabled (leave it out with --resources to stop this)",
                self.target.resource.api_version
            ),
        }
    }

    /// `verb` succeeded: a refusal logged before is over.
    fn clear_refusal(&self, verb: &'static str) {
        if self.options.auth_failures.clear(&self.label, verb) {
            tracing::info!(resource = %self.label, "{verb} allowed again");
        }
    }

    /// Counts a decode failure; on a schema mismatch, logs the diagnosis once and, in
    /// auto mode, switches this resource to JSON. True when the caller should relist now.
    fn on_decode_failure(&mut self, error: &ClientError) -> bool {
        let ClientError::Decode { format, .. } = error else {
            return false;
        };
        self.metrics
            .decode_errors_total
            .with_label_values(&[self.plural(), format])
            .inc();
        let Some(bytes) = error.schema_mismatch() else {
            return false;
        };
        if self.format != Format::Protobuf {
            return false;
        }
        if !self.diagnosed {
            self.diagnosed = true;
            let diagnosis =
                crate::api::diagnose::diagnose(&crate::api::schema::compiled_pool(), bytes);
            self.publish_drift(&diagnosis);
            let diagnosis = diagnosis.summary();
            tracing::warn!(
                resource = %self.label,
                %error,
                %diagnosis,
                "schema drift: the apiserver's protobuf objects do not match the schema of this build"
            );
        }
        if self.options.content_type == ContentTypeMode::Auto {
            self.metrics
                .json_fallbacks_total
                .with_label_values(&[self.plural()])
                .inc();
            self.metrics
                .json_fallback
                .with_label_values(&[self.plural()])
                .set(1);
            tracing::warn!(resource = %self.label, "falling back to JSON for this resource");
            self.format = Format::Json;
            return true;
        }
        false
    }

    /// One `schema_drift` series per disagreement of the diagnosis, replacing the
    /// ones set before.
    fn publish_drift(&mut self, diagnosis: &crate::api::diagnose::Diagnosis) {
        self.clear_drift();
        self.diagnosed = true;
        for drift in diagnosis.drifts() {
            let labels = [
                self.plural().to_string(),
                drift.field_path,
                drift.field_number.to_string(),
                drift.wire_type.to_string(),
            ];
            self.metrics
                .schema_drift
                .with_label_values(&labels.each_ref().map(String::as_str))
                .set(1);
            self.drift_series.push(labels);
        }
    }

    /// Removes this reflector's drift series; the next mismatch is diagnosed afresh.
    fn clear_drift(&mut self) {
        for labels in self.drift_series.drain(..) {
            // Absent already (another reflector of the resource removed it): fine.
            let _ = self
                .metrics
                .schema_drift
                .remove_label_values(&labels.each_ref().map(String::as_str));
        }
        self.diagnosed = false;
    }

    fn apply(&mut self, object: Object, kind: &str) {
        if let Some(uid) = uid_of(&object) {
            self.known.insert(uid);
        }
        self.metrics
            .watch_events_total
            .with_label_values(&[self.plural(), kind])
            .inc();
        self.sink.handle(self.resource(), Event::Apply(object));
        self.publish_count();
        self.metrics.mark_synced(self.plural());
    }

    fn delete(&mut self, object: Object) {
        if let Some(uid) = uid_of(&object) {
            self.known.remove(&uid);
        }
        self.metrics
            .watch_events_total
            .with_label_values(&[self.plural(), "DELETED"])
            .inc();
        self.sink.handle(self.resource(), Event::Delete(object));
        self.publish_count();
        self.metrics.mark_synced(self.plural());
    }

    /// The objects gauge is per target; with several namespaces of one resource it
    /// would need summing, so per-namespace reflectors label it `plural/namespace`.
    fn publish_count(&self) {
        let count = i64::try_from(self.known.len()).unwrap_or(i64::MAX);
        self.metrics
            .objects
            .with_label_values(&[self.label.as_str()])
            .set(count);
    }
}

fn uid_of(object: &Object) -> Option<String> {
    object.metadata().and_then(|m| m.uid.clone())
}

/// One target per resource, or per namespace of a namespaced resource when
/// `namespaces` is not empty.
pub fn plan(resources: &[&'static ResourceType], namespaces: &[String]) -> Vec<Target> {
    let mut targets = Vec::new();
    for &resource in resources {
        if resource.namespaced && !namespaces.is_empty() {
            targets.extend(
                namespaces
                    .iter()
                    .map(|ns| Target::new(resource, Some(ns.clone()))),
            );
        } else {
            targets.push(Target::new(resource, None));
        }
    }
    targets
}

/// Applies `--namespaces-denylist` as KSM does: every list and watch of a namespaced
/// resource carries `metadata.namespace!=<ns>` for each denied namespace (also with
/// `--namespaces`, where a namespace in both lists then yields nothing). Cluster-scoped
/// resources, `namespaces` included, are not filtered.
pub fn exclude_namespaces(targets: Vec<Target>, denylist: &[String]) -> Vec<Target> {
    if denylist.is_empty() {
        return targets;
    }
    let selector = denylist
        .iter()
        .map(|ns| format!("metadata.namespace!={ns}"))
        .collect::<Vec<_>>()
        .join(",");
    targets
        .into_iter()
        .map(|target| {
            if target.resource.namespaced {
                target.with_field_selector(selector.clone())
            } else {
                target
            }
        })
        .collect()
}

/// Starts one task per target. `sink_for` gives each target its own sink (per
/// namespace targets of one resource must not swap each other's objects away).
pub fn spawn_all(
    client: &ApiClient,
    targets: Vec<Target>,
    sink_for: impl Fn(&Target) -> Arc<dyn Sink>,
    metrics: &ClientMetrics,
    options: &ReflectorOptions,
) -> Vec<JoinHandle<()>> {
    targets
        .into_iter()
        .map(|target| {
            let sink = sink_for(&target);
            let reflector = Reflector::new(
                client.clone(),
                target,
                sink,
                metrics.clone(),
                options.clone(),
            );
            tokio::spawn(reflector.run())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_namespace_denylist_filters_namespaced_targets_only() {
        let by_plural =
            |plural| ResourceType::by_plural(plural).unwrap_or_else(|| panic!("{plural}"));
        let targets = exclude_namespaces(
            plan(
                &[
                    by_plural("pods"),
                    by_plural("nodes"),
                    by_plural("namespaces"),
                ],
                &["a".to_string(), "b".to_string()],
            ),
            &["b".to_string(), "c".to_string()],
        );
        let described: Vec<(String, Option<&str>)> = targets
            .iter()
            .map(|t| (t.label(), t.field_selector.as_deref()))
            .collect();
        let selector = Some("metadata.namespace!=b,metadata.namespace!=c");
        assert_eq!(
            described,
            [
                ("pods/a".to_string(), selector),
                ("pods/b".to_string(), selector),
                ("nodes".to_string(), None),
                ("namespaces".to_string(), None),
            ]
        );
    }
}
