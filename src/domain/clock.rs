//! The time background work decides by: the wall clock, which tests may
//! move forward (`Application::clock`) to see what happens a day later
//! without waiting a day. Only schedules read it (when a webhook delivery
//! is due, how long an endpoint has failed); what is signed or stored as
//! the time of a change is the wall clock's.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// The wall clock plus an offset that only tests set.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every copy of it) forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_clock_moves_every_copy() {
        let clock = Clock::default();
        let copy = clock.clone();
        clock.advance(Duration::days(1));
        assert!(copy.now() - Utc::now() > Duration::hours(23));
    }
}
