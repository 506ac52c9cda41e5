use std::future::Future;
use std::time::Duration;

use super::*;

/// Run `f` on a two-worker runtime whose sleeps the given driver serves.
fn on_runtime<F: Future<Output = ()> + Send + 'static>(runtime_timer: bool, f: F) {
    let timer = RuntimeTimer::new();
    let attach = timer.clone();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2).enable_all();
    if runtime_timer {
        builder.on_thread_start(move || attach.attach_thread());
    }
    let rt = builder.build().unwrap();
    if runtime_timer {
        timer.start(rt.handle()).unwrap();
    }
    // Polled inside a task, on a worker (the block_on thread is not attached).
    rt.block_on(async { tokio::spawn(f).await.unwrap() });
}

/// Whether the calling thread's sleeps go to a runtime timer.
fn served_by_runtime_timer() -> bool {
    let slot = Arc::new(Slot {
        fired: AtomicBool::new(false),
        waker: Mutex::new(Waker::noop().clone()),
    });
    reactor::register(now() + Duration::from_secs(3600), &slot)
}

async fn wakes_after_the_deadline_never_before() {
    let mut tasks = Vec::new();
    for i in 0..50u64 {
        tasks.push(tokio::spawn(async move {
            let deadline = now() + Duration::from_micros(500 + 137 * i);
            sleep_until(deadline).await;
            now().secs_since(deadline)
        }));
    }
    for t in tasks {
        let late = t.await.unwrap();
        assert!(late >= 0.0, "woke {late} s early");
        assert!(late < 1.0, "woke {late} s late");
    }
}

async fn a_later_registration_does_not_delay_an_earlier_one() {
    let far = tokio::spawn(sleep_until(now() + Duration::from_secs(30)));
    // Registered after the far one: the driver must re-arm for it.
    let near = now() + Duration::from_millis(2);
    sleep_until(near).await;
    assert!(now() >= near);
    // And an earlier one registered while a near one waits.
    let later = tokio::spawn(sleep_until(now() + Duration::from_millis(50)));
    let sooner = now() + Duration::from_millis(1);
    sleep_until(sooner).await;
    assert!(now() >= sooner);
    assert!(!later.is_finished(), "woke before its deadline");
    later.await.unwrap();
    far.abort();
}

#[test]
fn the_timer_thread_wakes_on_time_in_order() {
    on_runtime(false, async {
        assert!(!served_by_runtime_timer());
        wakes_after_the_deadline_never_before().await;
        a_later_registration_does_not_delay_an_earlier_one().await;
    });
}

#[cfg(target_os = "linux")]
#[test]
fn the_runtime_timer_wakes_on_time_in_order() {
    on_runtime(true, async {
        assert!(served_by_runtime_timer());
        wakes_after_the_deadline_never_before().await;
        a_later_registration_does_not_delay_an_earlier_one().await;
    });
}

#[test]
fn a_past_deadline_is_ready_at_once() {
    on_runtime(false, async {
        sleep_until(now() - Duration::from_secs(1)).await;
    });
}

#[test]
fn a_timer_started_twice_is_an_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let timer = RuntimeTimer::new();
    if timer.start(rt.handle()).is_ok() {
        assert!(timer.start(rt.handle()).is_err());
    }
}
