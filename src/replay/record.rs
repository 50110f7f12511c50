//! `record`: captures raw list and watch responses from a live apiserver into a
//! recording the replay apiserver can serve. Per resource: a protobuf list and a JSON
//! list (metadata-only for secrets/configmaps: secret values are never recorded),
//! then a protobuf and a JSON watch from those lists, held for the given duration.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use thiserror::Error;

use crate::api::table::LAST_APPLIED;
use crate::api::{ResourceType, View};
use crate::client::request::{accept, view_query, with_query};
use crate::client::{ApiClient, ClientError, Format, Target};

use super::recording::{Capture, Manifest, Recording};

#[derive(Debug, Clone)]
pub struct RecordOptions {
    pub resources: Vec<&'static ResourceType>,
    /// How long the watches run (their `timeoutSeconds`).
    pub duration: Duration,
}

#[derive(Debug, Error)]
pub enum RecordError {
    #[error("nothing was recorded: every request failed (first error: {0})")]
    Nothing(#[source] ClientError),
}

/// One response as captured.
struct Captured {
    path: String,
    accept: String,
    status: u16,
    content_type: String,
    body: Bytes,
    seconds: f64,
    note: String,
}

async fn capture_get(
    client: &ApiClient,
    path: &str,
    accept: &str,
    deadline: Option<Duration>,
) -> Result<Captured, ClientError> {
    let started = Instant::now();
    let response = client.get(path, accept).await?;
    let mut body = response.body;
    let mut bytes = BytesMut::new();
    let mut note = String::new();
    loop {
        let next = match deadline {
            Some(limit) => {
                match tokio::time::timeout(limit.saturating_sub(started.elapsed()), body.frame())
                    .await
                {
                    Ok(next) => next,
                    Err(_) => {
                        note = " (cut at the recording deadline)".to_string();
                        break;
                    }
                }
            }
            None => body.frame().await,
        };
        match next {
            None => break,
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    bytes.extend_from_slice(data);
                }
            }
            Some(Err(error)) => {
                note = format!(" (body ended with an error: {error})");
                break;
            }
        }
    }
    Ok(Captured {
        path: path.to_string(),
        accept: accept.to_string(),
        status: 200,
        content_type: response.content_type,
        body: bytes.freeze(),
        seconds: started.elapsed().as_secs_f64(),
        note,
    })
}

/// The resourceVersion of a list body, to start the watch from.
fn list_resource_version(captured: &Captured) -> Option<String> {
    match Format::of_content_type(&captured.content_type)? {
        Format::Protobuf => {
            let envelope = crate::api::envelope::open(captured.body.clone()).ok()?;
            let (meta, _) = super::wire::split_list(&envelope.raw).ok()?;
            meta.resource_version
        }
        Format::Json => {
            let value: serde_json::Value = serde_json::from_slice(&captured.body).ok()?;
            value
                .pointer("/metadata/resourceVersion")?
                .as_str()
                .map(str::to_string)
        }
    }
}

/// Removes the `kubectl apply` annotation from every row of a recorded Table (a
/// list, or a watch stream of one Table per line): it copies a Secret's values,
/// which a recording must not hold. Other captures are written as received.
fn redact_table_capture(resource: &ResourceType, captured: &mut Captured) {
    if resource.view != View::Table {
        return;
    }
    let redact_table = |table: &mut serde_json::Value| {
        if let Some(rows) = table.get_mut("rows").and_then(|r| r.as_array_mut()) {
            for row in rows {
                if let Some(annotations) = row
                    .pointer_mut("/object/metadata/annotations")
                    .and_then(|a| a.as_object_mut())
                {
                    annotations.remove(LAST_APPLIED);
                }
            }
        }
    };
    if let Ok(mut list) = serde_json::from_slice::<serde_json::Value>(&captured.body) {
        redact_table(&mut list);
        captured.body = Bytes::from(list.to_string());
        return;
    }
    let mut out = Vec::with_capacity(captured.body.len());
    for line in captured
        .body
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
    {
        // A line that does not parse cannot be redacted, so it is not kept.
        let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        match value.get_mut("object") {
            Some(object) => redact_table(object),
            None => redact_table(&mut value),
        }
        out.extend_from_slice(value.to_string().as_bytes());
        out.push(b'\n');
    }
    captured.body = Bytes::from(out);
}

/// Records lists and watches of `options.resources`.
pub async fn record(client: &ApiClient, options: &RecordOptions) -> Result<Recording, RecordError> {
    let mut captured: Vec<Captured> = Vec::new();
    let mut first_error = None;
    let mut server_version = None;
    match capture_get(client, "/version", "application/json", None).await {
        Ok(version) => server_version = serde_json::from_slice(&version.body).ok(),
        Err(error) => tracing::warn!(%error, "GET /version failed"),
    }
    let mut watches = Vec::new();
    for &resource in &options.resources {
        let target = Target::new(resource, None);
        let path = target.collection_path();
        // A Table exists in JSON only.
        let formats: &[Format] = match resource.view {
            View::Table => &[Format::Json],
            View::Full | View::Metadata => &[Format::Protobuf, Format::Json],
        };
        for &format in formats {
            let list_accept = accept(resource, format, false);
            let list_path = with_query(&path, view_query(resource));
            match capture_get(client, &list_path, &list_accept, None).await {
                Ok(mut list) => {
                    redact_table_capture(resource, &mut list);
                    list.note = format!("list {} {}{}", resource.plural, format.label(), list.note);
                    if let Some(rv) = list_resource_version(&list) {
                        watches.push((resource, format, path.clone(), rv));
                    }
                    captured.push(list);
                }
                Err(error) => {
                    tracing::warn!(resource = resource.plural, format = format.label(), %error, "list failed; not recorded");
                    first_error.get_or_insert(error);
                }
            }
        }
    }
    let seconds = options.duration.as_secs().max(1).to_string();
    // Past the server's timeout, stop waiting for a stream that does not end.
    let deadline = options.duration + Duration::from_secs(10);
    let tasks: Vec<_> = watches
        .into_iter()
        .map(|(resource, format, path, rv)| {
            let client = client.clone();
            let seconds = seconds.clone();
            tokio::spawn(async move {
                let mut query = vec![
                    ("watch", "1"),
                    ("resourceVersion", rv.as_str()),
                    ("allowWatchBookmarks", "true"),
                    ("timeoutSeconds", seconds.as_str()),
                ];
                query.extend_from_slice(view_query(resource));
                let url = with_query(&path, &query);
                let result = capture_get(
                    &client,
                    &url,
                    &accept(resource, format, true),
                    Some(deadline),
                )
                .await;
                (resource, format, result)
            })
        })
        .collect();
    for task in tasks {
        let Ok((resource, format, result)) = task.await else {
            continue;
        };
        match result {
            Ok(mut watch) => {
                redact_table_capture(resource, &mut watch);
                watch.note = format!("watch {} {}{}", resource.plural, format.label(), watch.note);
                captured.push(watch);
            }
            Err(error) => {
                tracing::warn!(resource = resource.plural, format = format.label(), %error, "watch failed; not recorded");
                first_error.get_or_insert(error);
            }
        }
    }
    if captured.is_empty() {
        if let Some(error) = first_error {
            return Err(RecordError::Nothing(error));
        }
    }
    let mut manifest = Manifest {
        server_version,
        captures: Vec::new(),
    };
    let mut bodies = HashMap::new();
    for (index, capture) in captured.into_iter().enumerate() {
        let name = format!("{:04}.body", index + 1);
        manifest.captures.push(Capture {
            body: name.clone(),
            method: "GET".to_string(),
            path: capture.path,
            accept: capture.accept,
            status: capture.status,
            content_type: capture.content_type,
            bytes: capture.body.len() as u64,
            seconds: (capture.seconds * 1000.0).round() / 1000.0,
            note: capture.note,
        });
        bodies.insert(name, capture.body);
    }
    Ok(Recording { manifest, bodies })
}
