//! The client's requests and decoding against the replay of the real recording:
//! paged lists, recorded watch frames, Status errors.

mod replay_support;

use std::time::Duration;

use bytes::Bytes;
use kube_state_exporter::api::ResourceType;
use kube_state_exporter::client::{
    list_all, start_watch, ApiError, ClientError, Format, ListOptions, Target, WatchEvent,
    WatchOptions,
};
use kube_state_exporter::replay::{Faults, ReplayServer};
use replay_support::{bounded, plain_client, recording};

const STEP: Duration = Duration::from_secs(20);

fn pods() -> Target {
    Target::new(ResourceType::by_plural("pods").unwrap(), None)
}

fn short_watch() -> WatchOptions {
    WatchOptions {
        timeout: Duration::from_secs(1),
        slack: Duration::from_secs(2),
        ..WatchOptions::default()
    }
}

#[tokio::test]
async fn lists_in_pages_and_reports_the_list_resource_version() {
    let (addr, _server) = ReplayServer::start(&recording(), Faults::default())
        .await
        .unwrap();
    let client = plain_client(addr);
    for format in [Format::Protobuf, Format::Json] {
        let options = ListOptions {
            limit: 3,
            ..ListOptions::default()
        };
        let outcome = bounded(STEP, list_all(&client, &pods(), format, &options))
            .await
            .unwrap();
        assert_eq!(outcome.objects.len(), 10, "{format:?}");
        assert_eq!(outcome.pages, 4, "{format:?}");
        assert_eq!(outcome.resource_version, "313");
        assert_eq!(outcome.format, format);
    }
}

#[tokio::test]
async fn decodes_every_recorded_watch_frame() {
    let (addr, _server) = ReplayServer::start(&recording(), Faults::default())
        .await
        .unwrap();
    let client = plain_client(addr);
    for format in [Format::Protobuf, Format::Json] {
        let mut stream = bounded(
            STEP,
            start_watch(&client, &pods(), format, "313", &short_watch()),
        )
        .await
        .unwrap();
        assert_eq!(stream.format(), format);
        let mut events = Vec::new();
        while let Some(event) = bounded(STEP, stream.next()).await.unwrap() {
            events.push(event);
        }
        let count = |f: fn(&WatchEvent) -> bool| events.iter().filter(|e| f(e)).count();
        assert_eq!(
            count(|e| matches!(e, WatchEvent::Added(_))),
            2,
            "{format:?}"
        );
        assert_eq!(
            count(|e| matches!(e, WatchEvent::Modified(_))),
            11,
            "{format:?}"
        );
        assert_eq!(
            count(|e| matches!(e, WatchEvent::Deleted(_))),
            2,
            "{format:?}"
        );
        assert!(
            matches!(events.last(), Some(WatchEvent::Bookmark { .. })),
            "{format:?}"
        );
        let rvs: Vec<u64> = events
            .iter()
            .filter_map(|e| e.resource_version()?.parse().ok())
            .collect();
        assert!(
            rvs.windows(2).all(|w| w[0] <= w[1]),
            "resourceVersions only grow: {rvs:?}"
        );
    }
}

#[tokio::test]
async fn a_too_old_watch_gets_an_in_band_410() {
    let (addr, _server) = ReplayServer::start(&recording(), Faults::default())
        .await
        .unwrap();
    let client = plain_client(addr);
    let mut stream = bounded(
        STEP,
        start_watch(&client, &pods(), Format::Protobuf, "1", &short_watch()),
    )
    .await
    .unwrap();
    match bounded(STEP, stream.next()).await.unwrap() {
        Some(WatchEvent::Error(error)) => {
            assert!(error.is_expired(), "{error}");
            assert!(
                error.message.contains("too old resource version"),
                "{error}"
            );
        }
        other => panic!("expected an in-band ERROR, got {other:?}"),
    }
}

#[test]
fn reads_the_recorded_protobuf_404_status() {
    let recording = recording();
    let capture = recording
        .manifest
        .captures
        .iter()
        .find(|c| c.status == 404)
        .unwrap();
    let body: Bytes = recording.bodies[&capture.body].clone();
    let error = ApiError::from_response(404, &capture.content_type, &body, None);
    assert_eq!(error.code, 404);
    assert_eq!(error.reason, "NotFound");
    assert!(error.message.contains("does-not-exist"), "{error}");
}

#[tokio::test]
async fn an_unknown_path_is_a_readable_404() {
    let (addr, _server) = ReplayServer::start(&recording(), Faults::default())
        .await
        .unwrap();
    let client = plain_client(addr);
    let error = bounded(
        STEP,
        client.get_bytes(
            "/apis/example.com/v1/widgets",
            "application/vnd.kubernetes.protobuf",
        ),
    )
    .await
    .unwrap_err();
    match error {
        ClientError::Api(api) => assert_eq!((api.code, api.reason.as_str()), (404, "NotFound")),
        other => panic!("expected an API error, got {other}"),
    }
}
