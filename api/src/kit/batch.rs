//! When DataLoader batches run: once the request can go no further without them.
//!
//! async-graphql's DataLoader starts a batch on a timer (1 ms by default) after its first key. Timers make batch
//! boundaries depend on the machine's load: a list of more than 32 items is polled in two goes (`FuturesUnordered`
//! yields after polling as many futures as it holds), and when more than the delay passes between the goes the
//! second half becomes a second batch, so a statement count that should be fixed grows with load. Here a request's
//! loader work is queued instead of spawned, and `drive` runs it only when the request is blocked: its last poll
//! returned `Pending` without waking itself. By then every key that can be asked for has been asked for, so each
//! level of nesting is one batch on any machine, and the loaders' delay can be zero.
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};

/// The loader work a request has queued and not yet started.
#[derive(Clone, Default)]
pub struct LoadQueue(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

impl LoadQueue {
    /// A DataLoader spawner that queues work here.
    pub fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let queue = self.0.clone();
        move |work| queue.lock().unwrap_or_else(PoisonError::into_inner).push(work)
    }

    fn take(&self) -> Vec<BoxFuture<'static, ()>> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A waker that notes whether it was woken, and passes the wake on.
struct Noting {
    woken: AtomicBool,
    inner: Waker,
}

impl Wake for Noting {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.inner.wake_by_ref();
    }
}

/// How often a request that keeps yielding is re-polled at once before it gives the thread back.
const EAGER_POLLS: usize = 64;

/// Runs `request`, and its queued loader work whenever it is blocked.
pub async fn drive<F: Future>(queue: LoadQueue, request: F) -> F::Output {
    let mut request = pin!(request);
    let mut running = FuturesUnordered::new();
    std::future::poll_fn(move |cx| {
        for _ in 0..EAGER_POLLS {
            let noting = Arc::new(Noting { woken: AtomicBool::new(false), inner: cx.waker().clone() });
            let waker = Waker::from(noting.clone());
            if let Poll::Ready(output) = request.as_mut().poll(&mut Context::from_waker(&waker)) {
                return Poll::Ready(output);
            }
            // It yielded, or something it waits on is already done: it can go on by itself.
            if noting.woken.load(Ordering::Acquire) {
                continue;
            }
            running.extend(self::LoadQueue::take(&queue));
            // A finished batch may unblock the request: poll it again.
            let mut finished = false;
            while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {
                finished = true;
            }
            if !finished {
                return Poll::Pending;
            }
        }
        // Fair to the other requests on this thread: come back after them.
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// `drive` for a subscription: runs `stream`, and its queued loader work whenever it is blocked. Each event's
/// object resolves through the subscription's loaders; nothing else would start their batches.
pub fn drive_stream<S: futures::Stream + Unpin>(
    queue: LoadQueue,
    mut stream: S,
) -> impl futures::Stream<Item = S::Item> {
    let mut running = FuturesUnordered::new();
    futures::stream::poll_fn(move |cx| {
        loop {
            if let Poll::Ready(item) = stream.poll_next_unpin(cx) {
                return Poll::Ready(item);
            }
            running.extend(queue.take());
            let mut finished = false;
            while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {
                finished = true;
            }
            // Waiting for an event (no loader work), or for a batch still running: either wakes this again.
            if !finished {
                return Poll::Pending;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_graphql::dataloader::{DataLoader, Loader};

    use super::*;

    /// Yields once, waking itself at once (as `FuturesUnordered` and budgeted futures do).
    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();

        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// Counts its batches.
    struct Counting(Arc<Mutex<Vec<usize>>>);

    impl Loader<u32> for Counting {
        type Value = u32;
        type Error = std::convert::Infallible;

        async fn load(&self, keys: &[u32]) -> Result<std::collections::HashMap<u32, u32>, Self::Error> {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).push(keys.len());
            Ok(keys.iter().map(|k| (*k, k * 2)).collect())
        }
    }

    #[tokio::test]
    async fn queued_work_waits_until_the_request_is_blocked() {
        use std::sync::atomic::AtomicUsize;
        let queue = LoadQueue::default();
        let spawn = queue.spawner();
        let step = Arc::new(AtomicUsize::new(0));
        let (ran_at, done) = (Arc::new(AtomicUsize::new(0)), futures::channel::oneshot::channel::<()>());
        let (tx, rx) = done;
        let (seen_step, ran) = (step.clone(), ran_at.clone());
        let output = drive(queue, async move {
            spawn(Box::pin(async move {
                ran.store(seen_step.load(Ordering::SeqCst), Ordering::SeqCst);
                let _ = tx.send(());
            }));
            // Yielding is not being blocked: the queued work must wait.
            for n in 1..=3 {
                step.store(n, Ordering::SeqCst);
                YieldOnce(false).await;
            }
            step.store(4, Ordering::SeqCst);
            rx.await.is_ok()
        })
        .await;
        assert!(output);
        assert_eq!(ran_at.load(Ordering::SeqCst), 4, "ran only once the request waited on it");
    }

    #[tokio::test]
    async fn a_long_list_is_one_batch_however_slowly_it_is_polled() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let queue = LoadQueue::default();
        let loader = DataLoader::new(Counting(batches.clone()), queue.spawner()).delay(Duration::ZERO);
        // 100 futures through FuturesUnordered, each yielding once (so FuturesUnordered yields part-way) and slow
        // to reach its key.
        let values = drive(queue, async {
            let all: FuturesUnordered<_> = (0..100u32)
                .map(|k| {
                    let loader = &loader;
                    async move {
                        YieldOnce(false).await;
                        std::thread::sleep(Duration::from_micros(50));
                        loader.load_one(k).await
                    }
                })
                .collect();
            all.collect::<Vec<_>>().await
        })
        .await;
        assert_eq!(values.len(), 100);
        assert!(values.iter().all(|v| matches!(v, Ok(Some(_)))));
        assert_eq!(*batches.lock().unwrap_or_else(PoisonError::into_inner), vec![100], "one batch of every key");
    }
}
