//! Paginated lists: `limit` + `continue`, restarted from scratch when the continue
//! token expires (HTTP 410), as client-go's pager does.

use crate::api::Object;

use http_body_util::BodyExt;

use super::decode::{Format, ListDecodeError, ListDecoder};
use super::request::{accept, view_query, with_query, Target};
use super::{ApiClient, ClientError};

/// Default longest silence inside a list body (and inside a streaming list's initial
/// events): an apiserver that is serving a list sends bytes far more often.
pub const DEFAULT_STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// How a list is made.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// Page size (`limit`); 0 asks for everything at once.
    pub limit: u32,
    /// `resourceVersion=0`: served from the apiserver's watch cache (cheaper, may be
    /// slightly stale). Not used after a 410.
    pub use_apiserver_cache: bool,
    /// How many times an expired continue token may restart the list.
    pub max_restarts: u32,
    /// Longest wait for a page's response to start (its status and headers; kube sets
    /// no read timeout, and a dead connection would otherwise hang the list forever).
    pub page_timeout: std::time::Duration,
    /// Longest silence inside a response body: a list that sends no bytes for this
    /// long is abandoned (and retried), however long the whole body takes.
    pub stall_timeout: std::time::Duration,
}

impl Default for ListOptions {
    fn default() -> ListOptions {
        ListOptions {
            limit: 500,
            use_apiserver_cache: false,
            max_restarts: 3,
            page_timeout: std::time::Duration::from_secs(120),
            stall_timeout: DEFAULT_STALL_TIMEOUT,
        }
    }
}

/// A complete list.
#[derive(Debug)]
pub struct ListOutcome {
    pub objects: Vec<Object>,
    /// The list's resourceVersion: where the watch starts.
    pub resource_version: String,
    pub pages: u32,
    /// Restarts caused by an expired continue token.
    pub restarts: u32,
    /// The format of the last page (what the server actually sent).
    pub format: Format,
}

/// What [`list_pages`] hands its caller while a list is under way.
#[derive(Debug)]
pub enum ListProgress {
    /// The continue token expired and the list starts over: forget the pages so far.
    Restarted,
    /// The next objects of the list, in order (a few at a time: a page is handed on
    /// while it is read).
    Page(Vec<Object>),
}

/// How a completed list ended (its objects went to the callback).
#[derive(Debug)]
pub struct ListSummary {
    /// The list's resourceVersion: where the watch starts.
    pub resource_version: String,
    pub pages: u32,
    pub objects: usize,
    /// Restarts caused by an expired continue token.
    pub restarts: u32,
    /// The format of the last page (what the server actually sent).
    pub format: Format,
}

/// Lists every object of `target`, collecting all pages (tests and small lists; the
/// reflector uses [`list_pages`] so a large list is never held decoded at once).
pub async fn list_all(
    client: &ApiClient,
    target: &Target,
    preferred: Format,
    options: &ListOptions,
) -> Result<ListOutcome, ClientError> {
    let mut objects = Vec::new();
    let summary = list_pages(
        client,
        target,
        preferred,
        options,
        |progress| match progress {
            ListProgress::Restarted => objects.clear(),
            ListProgress::Page(page) => objects.extend(page),
        },
    )
    .await?;
    Ok(ListOutcome {
        objects,
        resource_version: summary.resource_version,
        pages: summary.pages,
        restarts: summary.restarts,
        format: summary.format,
    })
}

/// Lists every object of `target` page by page, each page read as it arrives and its
/// objects handed to `on_progress` a few at a time. Neither a whole body nor a whole
/// page of objects is ever held, so a list the server answers in one response (a
/// watch-cache read ignores `limit`) costs no more than a paged one: this is what
/// keeps the start-up peak near the steady state.
pub async fn list_pages(
    client: &ApiClient,
    target: &Target,
    preferred: Format,
    options: &ListOptions,
    mut on_progress: impl FnMut(ListProgress),
) -> Result<ListSummary, ClientError> {
    let accept = accept(target.resource, preferred, false);
    let path = target.collection_path();
    let limit = options.limit.to_string();
    let mut restarts = 0;
    let mut use_cache = options.use_apiserver_cache;
    'restart: loop {
        let mut continue_token: Option<String> = None;
        let mut pages = 0;
        let mut objects = 0;
        loop {
            let mut query: Vec<(&str, &str)> = view_query(target.resource).to_vec();
            query.extend(target.selector_query());
            if options.limit > 0 {
                query.push(("limit", &limit));
            }
            match &continue_token {
                Some(token) => query.push(("continue", token)),
                None if use_cache => query.push(("resourceVersion", "0")),
                None => {}
            }
            let url = with_query(&path, &query);
            let response = tokio::time::timeout(options.page_timeout, client.get(&url, &accept))
                .await
                .unwrap_or(Err(ClientError::IdleTimeout(options.page_timeout)));
            let response = match response {
                Ok(ok) => ok,
                Err(error)
                    if error.is_expired()
                        && continue_token.is_some()
                        && restarts < options.max_restarts =>
                {
                    tracing::info!(resource = %target.label(), %error, "continue token expired; restarting the list");
                    restarts += 1;
                    use_cache = false;
                    on_progress(ListProgress::Restarted);
                    continue 'restart;
                }
                Err(error) => return Err(error),
            };
            let page = read_page(target, response, options, &mut on_progress).await?;
            pages += 1;
            objects += page.objects;
            let format = page.format;
            match page.continue_token {
                Some(token) => continue_token = Some(token),
                None => {
                    return Ok(ListSummary {
                        resource_version: page.resource_version,
                        pages,
                        objects,
                        restarts,
                        format,
                    })
                }
            }
        }
    }
}

/// Objects handed on together while a response is read: small, so that neither the
/// body nor its decoded objects pile up, large enough to spare per-call overhead.
pub const BATCH: usize = 64;

/// What one response of a list held, its objects already handed on.
struct PageRead {
    objects: usize,
    resource_version: String,
    continue_token: Option<String>,
    format: Format,
}

/// Reads one list response as it arrives, handing its objects on in batches of
/// [`BATCH`]. A body that sends nothing for `options.stall_timeout` is abandoned.
async fn read_page(
    target: &Target,
    response: super::Response,
    options: &ListOptions,
    on_progress: &mut impl FnMut(ListProgress),
) -> Result<PageRead, ClientError> {
    let decode_error = |error: ListDecodeError| ClientError::Decode {
        format: error.format.label(),
        source: error.source,
        bytes: error.bytes,
    };
    let mut decoder =
        ListDecoder::new(target.resource, &response.content_type).map_err(decode_error)?;
    let mut body = response.body;
    let mut batch = Vec::with_capacity(BATCH);
    let mut objects = 0;
    let mut received: u64 = 0;
    let mut ended = false;
    loop {
        while let Some(object) = decoder.next_object().map_err(decode_error)? {
            batch.push(object);
            if batch.len() == BATCH {
                objects += batch.len();
                on_progress(ListProgress::Page(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(BATCH),
                )));
            }
        }
        if ended {
            break;
        }
        let frame = match tokio::time::timeout(options.stall_timeout, body.frame()).await {
            Ok(frame) => frame,
            Err(_) => {
                return Err(ClientError::Stalled {
                    what: "list response body",
                    after: options.stall_timeout,
                    received,
                    objects: objects + batch.len(),
                })
            }
        };
        match frame {
            None => {
                decoder.end();
                ended = true;
            }
            Some(Err(error)) => return Err(ClientError::Body(error.to_string())),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    received += data.len() as u64;
                    decoder.push(data);
                }
            }
        }
    }
    objects += batch.len();
    if !batch.is_empty() {
        on_progress(ListProgress::Page(batch));
    }
    Ok(PageRead {
        objects,
        resource_version: decoder.resource_version().to_string(),
        continue_token: decoder.continue_token().map(str::to_string),
        format: decoder.format(),
    })
}
