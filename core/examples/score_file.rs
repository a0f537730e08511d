//! Scores one watch file with a model file through `inference::analyze` (the page's path) and
//! prints the time of each stage: the same code natively and as WebAssembly under a WASI runtime,
//! so the browser CPU backend's cost can be measured and profiled without a browser
//! (`benches/wasm/run.sh`).
//!
//! ```text
//! cargo run --release -p fallkd-core --example score_file -- MODEL ACC.csv [REPEATS]
//! ```
use std::time::Instant;

use burn::tensor::Device;
use fallkd_core::inference::{Detector, analyze};

/// Polls a future to completion on this thread (the detector's pause hook is ready at once
/// outside the browser).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: score_file MODEL ACC.csv [REPEATS]");
        std::process::exit(2);
    }
    let repeats: usize = args
        .get(3)
        .map_or(1, |r| r.parse().expect("REPEATS: a count"));
    let model = std::fs::read(&args[1]).unwrap_or_else(|e| panic!("{}: {e}", args[1]));
    let acc = std::fs::read(&args[2]).unwrap_or_else(|e| panic!("{}: {e}", args[2]));
    let t = Instant::now();
    let det = Detector::from_bytes(&model, &Device::flex())
        .unwrap_or_else(|e| panic!("{}: {e}", args[1]));
    println!("load_ms {:.1}", t.elapsed().as_secs_f64() * 1e3);
    for _ in 0..repeats {
        let t = Instant::now();
        let a =
            block_on(analyze(&det, (&args[2], &acc), None, None)).unwrap_or_else(|e| panic!("{e}"));
        let s = t.elapsed().as_secs_f64();
        let n = a.windows.len();
        let top = a.windows.iter().map(|w| w.prob).fold(0.0f64, f64::max);
        println!(
            "analyze_s {s:.3} windows {n} per_window_ms {:.3} highest {top:.6} alarms {}",
            s * 1e3 / n.max(1) as f64,
            a.alarms.len()
        );
    }
}
