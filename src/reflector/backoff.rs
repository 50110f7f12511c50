//! Exponential backoff with jitter, reset after a healthy period.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct BackoffOptions {
    pub initial: Duration,
    pub max: Duration,
    /// Once this long has passed since the last failure, start again at `initial`.
    pub reset_after: Duration,
    /// Each delay is scaled by a random factor in `[1 - jitter, 1 + jitter]`.
    pub jitter: f64,
}

impl Default for BackoffOptions {
    fn default() -> BackoffOptions {
        BackoffOptions {
            initial: Duration::from_millis(800),
            max: Duration::from_secs(30),
            reset_after: Duration::from_secs(120),
            jitter: 0.2,
        }
    }
}

#[derive(Debug)]
pub struct Backoff {
    options: BackoffOptions,
    failures: u32,
    last_failure: Option<Instant>,
    seed: u64,
}

impl Backoff {
    pub fn new(options: BackoffOptions) -> Backoff {
        // Distinct per reflector so many reflectors failing together do not retry in step.
        let seed = std::collections::hash_map::RandomState::new().hash_one(0u8);
        Backoff {
            options,
            failures: 0,
            last_failure: None,
            seed,
        }
    }

    /// The delay before the next attempt after a failure; `at_least` (Retry-After)
    /// wins when longer, capped by `max`.
    pub fn next_delay(&mut self, at_least: Option<Duration>) -> Duration {
        let now = Instant::now();
        if self
            .last_failure
            .is_some_and(|at| now.duration_since(at) >= self.options.reset_after)
        {
            self.failures = 0;
        }
        self.last_failure = Some(now);
        let exponent = self.failures.min(20);
        self.failures = self.failures.saturating_add(1);
        let base = self
            .options
            .initial
            .saturating_mul(1u32 << exponent.min(16))
            .min(self.options.max);
        let jittered = base.mul_f64(1.0 + self.options.jitter * self.random_unit());
        let delay = jittered.min(self.options.max);
        match at_least {
            Some(wanted) => delay.max(wanted.min(self.options.max)),
            None => delay,
        }
    }

    /// A pseudo-random number in [-1, 1] (xorshift; quality is irrelevant here).
    fn random_unit(&mut self) -> f64 {
        let mut x = self.seed | 1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed = x;
        (x % 2001) as f64 / 1000.0 - 1.0
    }
}

use std::hash::BuildHasher;

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> BackoffOptions {
        BackoffOptions {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            reset_after: Duration::from_secs(3600),
            jitter: 0.2,
        }
    }

    #[tokio::test]
    async fn grows_to_the_cap_within_jitter() {
        let mut backoff = Backoff::new(options());
        let delays: Vec<Duration> = (0..8).map(|_| backoff.next_delay(None)).collect();
        assert!(
            delays[0] >= Duration::from_millis(80) && delays[0] <= Duration::from_millis(120),
            "{delays:?}"
        );
        assert!(
            delays[2] >= Duration::from_millis(320) && delays[2] <= Duration::from_millis(480),
            "{delays:?}"
        );
        assert!(
            delays[7] <= Duration::from_millis(1000) && delays[7] >= Duration::from_millis(800),
            "{delays:?}"
        );
    }

    #[tokio::test]
    async fn honours_retry_after_up_to_the_cap() {
        let mut backoff = Backoff::new(options());
        assert_eq!(
            backoff.next_delay(Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            backoff.next_delay(Some(Duration::from_secs(60))),
            Duration::from_millis(1000)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn resets_after_a_healthy_period() {
        let mut backoff = Backoff::new(BackoffOptions {
            reset_after: Duration::from_secs(10),
            ..options()
        });
        for _ in 0..5 {
            backoff.next_delay(None);
        }
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(backoff.next_delay(None) <= Duration::from_millis(120));
    }
}
