//! Waiting for a [`CancellationToken`] across the many wake-ups of a stream.
//!
//! The token's own future takes a mutex (and the token's waiter list lock) on
//! every poll, and a streaming request is polled once or twice per chunk. The
//! watch polls it only when the token's wake-up actually fired (or the task's
//! waker changed); every other poll is one atomic load.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// A future that completes when the token is cancelled.
pub(crate) struct CancelWatch<'a> {
    inner: Pin<Box<WaitForCancellationFuture<'a>>>,
    relay: Arc<Relay>,
    /// The task waker the relay forwards to, as last seen.
    task: Option<Waker>,
}

/// Stands between the token and the task: notes that the token woke us.
struct Relay {
    fired: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::Release);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = task.as_ref() {
            w.wake_by_ref();
        }
    }
}

impl<'a> CancelWatch<'a> {
    pub(crate) fn new(token: &'a CancellationToken) -> Self {
        CancelWatch {
            inner: Box::pin(token.cancelled()),
            relay: Arc::new(Relay {
                fired: AtomicBool::new(false),
                task: Mutex::new(None),
            }),
            task: None,
        }
    }
}

impl Future for CancelWatch<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let same_task = self.task.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if same_task && !self.relay.fired.load(Ordering::Acquire) {
            return Poll::Pending;
        }
        self.relay.fired.store(false, Ordering::Relaxed);
        if !same_task {
            let w = cx.waker().clone();
            *self.relay.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(w.clone());
            self.task = Some(w);
        }
        let relay = Waker::from(Arc::clone(&self.relay));
        self.inner.as_mut().poll(&mut Context::from_waker(&relay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn completes_on_cancel_after_many_idle_polls() {
        let token = CancellationToken::new();
        let watch = CancelWatch::new(&token);
        tokio::pin!(watch);
        // Polled repeatedly while not cancelled (as a stream's chunks would).
        for _ in 0..100 {
            assert!(futures_poll_once(watch.as_mut()).is_pending());
        }
        let t2 = token.clone();
        let canceller = tokio::spawn(async move { t2.cancel() });
        watch.await;
        canceller.await.unwrap();
    }

    #[tokio::test]
    async fn completes_at_once_when_already_cancelled() {
        let token = CancellationToken::new();
        token.cancel();
        CancelWatch::new(&token).await;
    }

    fn futures_poll_once<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
        let mut cx = Context::from_waker(Waker::noop());
        f.poll(&mut cx)
    }
}
