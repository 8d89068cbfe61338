//! Percentiles of timed samples, printed one line per measurement.

use std::time::Duration;

pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index.min(samples.len() - 1)]
}

pub fn report(name: &str, samples: &mut [Duration], budget: &str) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p50 = percentile(samples, 0.50);
    let p95 = percentile(samples, 0.95);
    let p99 = percentile(samples, 0.99);
    let max = percentile(samples, 1.0);
    println!(
        "{name:<58} p50 {:>7.2}  p95 {:>7.2}  p99 {:>7.2}  max {:>7.2} ms  (n={}, budget {budget})",
        ms(p50),
        ms(p95),
        ms(p99),
        ms(max),
        samples.len()
    );
}
