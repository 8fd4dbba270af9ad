//! Freeing committed pages off the thread that commits. A page of 5,000 file rows is some 50,000
//! allocations (JSON trees, strings); freeing them took a tenth of the commit thread's time in a
//! 1,000,000-row import, and the commit thread is the import's bottleneck while the other core
//! waits. So the committed batch goes to one helper thread that drops it. The channel is bounded:
//! if the helper falls behind, the committer waits rather than memory growing.

use std::sync::OnceLock;
use std::sync::mpsc::{SyncSender, sync_channel};

type Garbage = Box<dyn Send>;

/// Pages in flight to the helper at most.
const IN_FLIGHT: usize = 1;

fn helper() -> Option<&'static SyncSender<Garbage>> {
    static HELPER: OnceLock<Option<SyncSender<Garbage>>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let (tx, rx) = sync_channel::<Garbage>(IN_FLIGHT);
            std::thread::Builder::new()
                .name("accord-reclaim".into())
                .spawn(move || {
                    for garbage in rx {
                        drop(garbage);
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Drops `value` on the helper thread (here, if it could not start).
pub(crate) fn later<T: Send + 'static>(value: T) {
    match helper() {
        Some(tx) => {
            if let Err(back) = tx.send(Box::new(value)) {
                drop(back);
            }
        }
        None => drop(value),
    }
}
