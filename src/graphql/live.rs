//! Live subscriptions that hold almost nothing while idle and render each event once per
//! instance, not once per subscriber.
//!
//! A subscription is *opened* once through async-graphql: its field checks the viewer and its
//! arguments, starts listening on the broker, hands the listener over as a [`LiveSource`],
//! and returns only what it sends first (a backlog, a snapshot), which that one execution
//! resolves and the socket sends. From then on the socket keeps only the source and an [`Arc`]
//! of the [`PreparedOperation`], which every subscriber with the same document and variables
//! shares.
//!
//! Each event is *rendered* by running the operation again with the event injected into its
//! field ([`rendering`]). The rendering is cached on the event for its operation, so thousands
//! of subscribers of a room share one resolution and one serialization. A rendering that read
//! the viewer (an address shown only to its owner, `likedByViewer`) is not shared: each
//! subscriber then renders its own, which is correct whatever the document asks.

use std::{
    collections::{HashMap, VecDeque},
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError, Weak,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context as TaskContext, Poll},
};

use async_graphql::{Context, Data, Response, ServerError, parser::types::ExecutableDocument};
use futures_util::{
    FutureExt as _, Stream, StreamExt as _,
    future::BoxFuture,
    stream::{self, BoxStream},
};
use sea_orm::DatabaseConnection;

use super::{
    AppSchema,
    context::{Viewer, ViewerReads, per_request},
    document::{RequestParams, never_ran},
    errors::{INTERNAL_SERVER_ERROR, assign_codes, refusal},
    types::{Notification, room_events::ContactPresence, room_events::RoomEvent},
};
use crate::{
    config::QueryLimits,
    error::AppError,
    realtime::broker::{self, Delivery, Event, Lagged},
};

/// One value a subscription field emits.
pub enum LiveItem {
    /// Of `notifications`.
    Notification(Notification),
    /// Of `roomEvents`.
    Room(RoomEvent),
    /// Of `contactPresence`.
    Contact(ContactPresence),
}

/// What one subscriber gets of an event.
pub enum Pick {
    /// Nothing (not for this subscriber).
    Skip,
    /// What this function makes of the event, the same for every subscriber that picks it,
    /// so its rendering can be shared.
    Shared(fn(&Event) -> Option<LiveItem>),
    /// An item of this subscriber's own.
    Own(LiveItem),
    /// Items this subscriber missed, read (from the database) before it goes on: after a
    /// jump in a room's message numbers, or a `Resync`. Each is rendered for this subscriber
    /// alone and sent in order; no other event is picked until they are.
    Fill(BoxFuture<'static, Vec<LiveItem>>),
}

/// Chooses, per subscriber, which events of its topic it receives.
pub trait EventFilter: Send {
    /// What this subscriber gets of `event`.
    fn pick(&mut self, event: &Event) -> Pick;
}

/// What a subscription field hands over when it opens (it returns what it sends first).
pub struct LiveSource {
    /// The topic listened on, since before what is sent first was read.
    pub listener: broker::Subscription,
    /// Which events of the topic this subscriber gets.
    pub filter: Box<dyn EventFilter>,
}

/// In the request data while a subscription opens: where its field leaves its source. The
/// opener keeps a clone to take the source from after the execution.
#[derive(Clone, Default)]
struct OpenSlot(Arc<Mutex<Option<LiveSource>>>);

/// In the request data while one item is rendered: the item the field emits.
struct RenderItem(Mutex<Option<LiveItem>>);

/// Hands the opened subscription's source to the socket. Subscriptions are served over
/// graphql-ws only; elsewhere there is nobody to hand it to.
pub fn hand_over(ctx: &Context<'_>, source: LiveSource) -> Result<(), AppError> {
    let slot = ctx.data_opt::<OpenSlot>().ok_or_else(|| {
        AppError::bad_input("Subscriptions are served over graphql-ws (subprotocol graphql-transport-ws) at /graphql.")
    })?;
    *slot.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(source);
    Ok(())
}

/// The item to render, when this execution renders one instead of opening the subscription.
fn rendering(ctx: &Context<'_>) -> Option<LiveItem> {
    ctx.data_opt::<RenderItem>()?.0.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// When this execution renders one item rather than opening the subscription: a stream of
/// that item, which `take` picks out of the [`LiveItem`] (an item of another field is an
/// internal error; it cannot happen while items come from the field's own filter).
pub fn rendered<T: Send + 'static>(
    ctx: &Context<'_>,
    take: fn(LiveItem) -> Option<T>,
) -> Option<Result<BoxStream<'static, T>, AppError>> {
    let item = rendering(ctx)?;
    Some(
        take(item).map(|value| stream::once(std::future::ready(value)).boxed()).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("a live item was rendered by another subscription field"))
        }),
    )
}

/// A subscription document with its variables, shared by every subscriber that sent the same.
pub struct PreparedOperation {
    /// Unique for the life of the process: the key of this operation's renderings.
    id: u64,
    params: RequestParams,
    /// The parsed document, cloned into each execution: cloning the syntax tree costs a
    /// fraction of parsing the text again (`cargo bench --bench admission`).
    document: ExecutableDocument,
    /// This operation's entry in `interned`.
    text: String,
    interned: Weak<Mutex<HashMap<String, Weak<PreparedOperation>>>>,
}

impl PreparedOperation {
    /// An async-graphql request for one execution of this operation.
    fn request(&self) -> async_graphql::Request {
        let mut request = self.params.to_request();
        request.set_parsed_query(self.document.clone());
        request
    }
}

impl Drop for PreparedOperation {
    fn drop(&mut self) {
        let Some(interned) = self.interned.upgrade() else { return };
        let mut interned = interned.lock().unwrap_or_else(PoisonError::into_inner);
        // A subscriber may have interned the same text again since; keep its entry.
        if interned.get(&self.text).is_some_and(|entry| entry.strong_count() == 0) {
            interned.remove(&self.text);
        }
    }
}

/// The prepared operations of this instance, by their text.
#[derive(Default)]
pub struct LiveOperations {
    interned: Arc<Mutex<HashMap<String, Weak<PreparedOperation>>>>,
    next_id: AtomicU64,
}

impl LiveOperations {
    /// The shared operation for `params`: the same `Arc` for the same document, operation
    /// name, variables and extensions.
    pub fn prepare(&self, params: RequestParams, document: ExecutableDocument) -> Arc<PreparedOperation> {
        let text = params.canonical_text();
        let mut interned = self.interned.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(operation) = interned.get(&text).and_then(Weak::upgrade) {
            return operation;
        }
        let operation = Arc::new(PreparedOperation {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            params,
            document,
            text: text.clone(),
            interned: Arc::downgrade(&self.interned),
        });
        interned.insert(text, Arc::downgrade(&operation));
        operation
    }

    /// Operations in use now (for leak checks).
    pub fn len(&self) -> usize {
        self.interned.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no operation is in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a socket gives its live subscriptions to run and render with. One per socket.
pub struct LiveContext {
    /// The schema.
    pub schema: AppSchema,
    /// Viewer, socket handle and client.
    pub session_data: Arc<Data>,
    /// For the loaders of renderings.
    pub db: DatabaseConnection,
    /// The socket's viewer.
    pub viewer: Viewer,
    /// To label limit errors.
    pub limits: QueryLimits,
}

/// What a socket sends for an operation.
#[derive(Debug)]
pub enum Outgoing {
    /// A `next` payload: a GraphQL response as JSON.
    Next(Arc<str>),
    /// An `error` payload (the operation never ran) as JSON; the operation is over.
    Error(String),
    /// The operation is over.
    Complete,
    /// The subscriber fell so far behind that events for it were dropped: the socket closes
    /// as a slow consumer, and the client's next subscription starts from the stored state.
    SlowConsumer(u64),
}

/// The outgoing messages of a query or mutation (or a subscription that never opened): its
/// responses, the first one as `error` when it never ran, then `complete`.
pub fn responses<S>(responses: S, limits: QueryLimits) -> impl Stream<Item = Outgoing> + Send + 'static
where
    S: Stream<Item = Response> + Send + Unpin + 'static,
{
    stream::unfold((responses, limits, 0_usize, false), |(mut responses, limits, sent, over)| async move {
        if over {
            return None;
        }
        let Some(mut response) = responses.next().await else {
            return Some((Outgoing::Complete, (responses, limits, sent, true)));
        };
        assign_codes(&mut response, &limits);
        if sent == 0 && never_ran(&response) {
            return Some((Outgoing::Error(errors_json(&response.errors)), (responses, limits, 1, true)));
        }
        Some((Outgoing::Next(response_json(&response)), (responses, limits, sent + 1, false)))
    })
}

/// A live subscription's outgoing messages: it opens, sends what it holds first, then each
/// event its filter picks, until the broker goes away.
pub fn subscription(context: Arc<LiveContext>, operation: Arc<PreparedOperation>) -> LiveStream {
    let opening = {
        let (context, operation) = (context.clone(), operation.clone());
        async move { open(&context, &operation).await }.boxed()
    };
    LiveStream { context, operation, state: State::Opening(opening) }
}

/// The stream [`subscription`] returns. Written out by hand rather than with combinators so an
/// idle subscription holds only its listener and filter (no suspended render future sized for
/// the largest rendering), and an event whose shared rendering is ready is sent without any
/// allocation but its frame.
pub struct LiveStream {
    context: Arc<LiveContext>,
    operation: Arc<PreparedOperation>,
    state: State,
}

/// How opening ends: the source and the responses to send first, or the responses that
/// refused the subscription.
type Opening = Result<(LiveSource, Vec<Response>), Vec<Response>>;

enum State {
    /// Running the field in open mode.
    Opening(BoxFuture<'static, Opening>),
    /// Waiting for the next event (or sending `first`).
    Waiting(Box<Opened>),
    /// Rendering an item; then back to waiting.
    Rendering(Box<Opened>, BoxFuture<'static, Option<Arc<str>>>),
    /// Reading and rendering missed items; they are queued to send, then back to waiting.
    Filling(Box<Opened>, BoxFuture<'static, VecDeque<Arc<str>>>),
    /// The field refused to open: its responses, then the end.
    Refused(BoxStream<'static, Outgoing>),
    /// Nothing more to send.
    Over,
}

/// An opened subscription.
struct Opened {
    /// What the open execution resolved to send first, as `next` payloads.
    first: VecDeque<Arc<str>>,
    listener: broker::Subscription,
    filter: Box<dyn EventFilter>,
}

impl Stream for LiveStream {
    type Item = Outgoing;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Outgoing>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, State::Over) {
                State::Over => return Poll::Ready(None),
                State::Opening(mut opening) => match opening.as_mut().poll(cx) {
                    Poll::Pending => {
                        this.state = State::Opening(opening);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok((source, first))) => {
                        let limits = &this.context.limits;
                        this.state = State::Waiting(Box::new(Opened {
                            first: first
                                .into_iter()
                                .map(|mut response| {
                                    assign_codes(&mut response, limits);
                                    response_json(&response)
                                })
                                .collect(),
                            listener: source.listener,
                            filter: source.filter,
                        }));
                        continue;
                    }
                    Poll::Ready(Err(refused)) => {
                        // As a query's: `error` if it never ran, else `next` and `complete`.
                        this.state =
                            State::Refused(responses(stream::iter(refused), this.context.limits.clone()).boxed());
                        continue;
                    }
                },
                State::Refused(mut refused) => {
                    let next = refused.poll_next_unpin(cx);
                    if !matches!(next, Poll::Ready(None)) {
                        this.state = State::Refused(refused);
                    }
                    return next;
                }
                State::Rendering(opened, mut rendering) => match rendering.as_mut().poll(cx) {
                    Poll::Pending => {
                        this.state = State::Rendering(opened, rendering);
                        return Poll::Pending;
                    }
                    Poll::Ready(payload) => {
                        this.state = State::Waiting(opened);
                        match payload {
                            Some(payload) => return Poll::Ready(Some(Outgoing::Next(payload))),
                            None => continue,
                        }
                    }
                },
                State::Filling(mut opened, mut filling) => match filling.as_mut().poll(cx) {
                    Poll::Pending => {
                        this.state = State::Filling(opened, filling);
                        return Poll::Pending;
                    }
                    Poll::Ready(payloads) => {
                        opened.first.extend(payloads);
                        this.state = State::Waiting(opened);
                        continue;
                    }
                },
                State::Waiting(mut opened) => {
                    if let Some(payload) = opened.first.pop_front() {
                        if opened.first.is_empty() {
                            // Frees the backlog's buffer: an idle subscription keeps none of it.
                            opened.first = VecDeque::new();
                        }
                        this.state = State::Waiting(opened);
                        return Poll::Ready(Some(Outgoing::Next(payload)));
                    }
                    let delivery = match opened.listener.poll_next_unpin(cx) {
                        Poll::Pending => {
                            this.state = State::Waiting(opened);
                            return Poll::Pending;
                        }
                        Poll::Ready(None) => return Poll::Ready(Some(Outgoing::Complete)),
                        Poll::Ready(Some(Err(Lagged(missed)))) => {
                            return Poll::Ready(Some(Outgoing::SlowConsumer(missed)));
                        }
                        Poll::Ready(Some(Ok(delivery))) => delivery,
                    };
                    let (context, operation) = (this.context.clone(), this.operation.clone());
                    let rendering = match opened.filter.pick(&delivery.event) {
                        Pick::Skip => {
                            this.state = State::Waiting(opened);
                            continue;
                        }
                        Pick::Shared(make) => {
                            let shared = delivery.rendering(operation.id);
                            if let Some(Some(payload)) = shared.get() {
                                // Rendered already for another subscriber: the common case.
                                this.state = State::Waiting(opened);
                                return Poll::Ready(Some(Outgoing::Next(payload.clone())));
                            }
                            async move { render_shared(&context, &operation, &delivery, make).await }.boxed()
                        }
                        Pick::Own(item) => async move { Some(execute(&context, &operation, item).await.0) }.boxed(),
                        Pick::Fill(items) => {
                            let filling = async move {
                                let mut payloads = VecDeque::new();
                                for item in items.await {
                                    payloads.push_back(execute(&context, &operation, item).await.0);
                                }
                                payloads
                            };
                            this.state = State::Filling(opened, filling.boxed());
                            continue;
                        }
                    };
                    this.state = State::Rendering(opened, rendering);
                }
            }
        }
    }
}

/// Opens the subscription: runs its field in open mode and takes the source it handed over
/// with the responses it sent first, or the responses that refused it (an unknown room, no
/// viewer, a validation error).
async fn open(
    context: &LiveContext,
    operation: &PreparedOperation,
) -> Result<(LiveSource, Vec<Response>), Vec<Response>> {
    let slot = OpenSlot::default();
    let request = per_request(operation.request(), &context.db, Some(context.viewer)).data(slot.clone());
    let mut results = context.schema.execute_stream_with_session_data(request, context.session_data.clone());
    let mut first = Vec::new();
    while let Some(response) = results.next().await {
        first.push(response);
    }
    drop(results);
    let opened = slot.0.lock().unwrap_or_else(PoisonError::into_inner).take();
    match opened {
        Some(source) => Ok((source, first)),
        None if first.is_empty() => {
            Err(vec![Response::from_errors(vec![refusal(INTERNAL_SERVER_ERROR, "The subscription did not start.")])])
        }
        None => Err(first),
    }
}

/// Renders `make(event)` for `operation` once for every subscriber on this instance; `None`
/// when the event makes no item.
async fn render_shared(
    context: &LiveContext,
    operation: &PreparedOperation,
    delivery: &Delivery,
    make: fn(&Event) -> Option<LiveItem>,
) -> Option<Arc<str>> {
    let shared = delivery.rendering(operation.id);
    if let Some(Some(payload)) = shared.get() {
        return Some(payload.clone());
    }
    let mut own = None;
    let payload = shared
        .get_or_init(|| async {
            let item = make(&delivery.event)?;
            let (payload, read_viewer) = execute(context, operation, item).await;
            if read_viewer {
                own = Some(payload);
                None
            } else {
                Some(payload)
            }
        })
        .await;
    match (payload, own) {
        (Some(payload), _) => Some(payload.clone()),
        (None, Some(own)) => Some(own),
        // Someone else found that the rendering depends on the viewer: render this one's own.
        (None, None) => Some(execute(context, operation, make(&delivery.event)?).await.0),
    }
}

/// Runs `operation` emitting `item`; the response as JSON, and whether it read the viewer.
async fn execute(context: &LiveContext, operation: &PreparedOperation, item: LiveItem) -> (Arc<str>, bool) {
    let reads = ViewerReads::default();
    let request = per_request(operation.request(), &context.db, Some(context.viewer))
        .data(reads.clone())
        .data(RenderItem(Mutex::new(Some(item))));
    let mut results = context.schema.execute_stream_with_session_data(request, context.session_data.clone());
    let mut response = results.next().await.unwrap_or_else(|| {
        Response::from_errors(vec![refusal(INTERNAL_SERVER_ERROR, "The subscription produced no result for an event.")])
    });
    assign_codes(&mut response, &context.limits);
    (response_json(&response), reads.happened())
}

fn response_json(response: &Response) -> Arc<str> {
    // A GraphQL response always serializes: its data and errors are JSON values.
    serde_json::to_string(response).unwrap_or_else(|_| r#"{"data":null}"#.to_string()).into()
}

fn errors_json(errors: &[ServerError]) -> String {
    serde_json::to_string(errors).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepare(operations: &LiveOperations, query: &str, variables: serde_json::Value) -> Arc<PreparedOperation> {
        let params =
            RequestParams { query: query.into(), variables: variables.as_object().cloned(), ..Default::default() };
        operations.prepare(params, async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn equal_requests_share_one_operation_until_the_last_subscriber_lets_go() {
        let operations = LiveOperations::default();
        let first = prepare(&operations, "subscription { a }", serde_json::json!({ "x": 1, "y": 2 }));
        let same = prepare(&operations, "subscription { a }", serde_json::json!({ "y": 2, "x": 1 }));
        let other = prepare(&operations, "subscription { a }", serde_json::json!({ "x": 2, "y": 2 }));
        assert!(Arc::ptr_eq(&first, &same), "variables in another order are the same request");
        assert!(!Arc::ptr_eq(&first, &other));
        assert_ne!(first.id, other.id, "each operation renders under its own key");
        assert_eq!(operations.len(), 2);
        drop(first);
        assert_eq!(operations.len(), 2, "still used by `same`");
        drop((same, other));
        assert!(operations.is_empty(), "nothing is kept for operations nobody runs");
        let again = prepare(&operations, "subscription { a }", serde_json::json!({}));
        assert_eq!(operations.len(), 1);
        drop(again);
        assert!(operations.is_empty());
    }
}
