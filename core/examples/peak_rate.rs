//! The arithmetic peak of one core, for judging the dense path's rates: independent chains of
//! one instruction (12 or 24 accumulators in registers), timed per instruction kind this CPU
//! has.
//!
//! Usage: `cargo run --release -p bonemask-core --example peak_rate`. Prints GFLOP/s of f32
//! fma (a multiply-add counted as 2) with 256-bit and 512-bit vectors, and G multiply-adds/s
//! of 512-bit `vpdpbusd`, and millions of 16-lane gathers per second (the clock over it is
//! cycles per gather). Single-threaded: multiply by the cores for a machine's peak. Not
//! here: memory bandwidth, or anything the kernels do besides the arithmetic.

#[cfg(target_arch = "x86_64")]
use std::time::Instant;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Iterations of each timed loop.
#[cfg(target_arch = "x86_64")]
const ROUNDS: usize = 50_000_000;

/// Independent accumulator chains with 512-bit vectors (32 registers): more than the fma
/// latency times its throughput.
#[cfg(target_arch = "x86_64")]
const CHAINS: usize = 24;

/// Chains with 256-bit vectors: 12 of the 16 ymm registers, so none spills.
#[cfg(target_arch = "x86_64")]
const CHAINS_256: usize = 12;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma256(rounds: usize) -> f32 {
    let mut acc = [_mm256_set1_ps(1.0); CHAINS_256];
    let scale = std::hint::black_box(_mm256_set1_ps(0.999_999));
    let step = std::hint::black_box(_mm256_set1_ps(1e-7));
    for _ in 0..rounds {
        for lanes in acc.iter_mut() {
            *lanes = _mm256_fmadd_ps(*lanes, scale, step);
        }
    }
    let mut sums = [0.0f32; 8];
    let total = acc
        .iter()
        .fold(_mm256_setzero_ps(), |s, v| _mm256_add_ps(s, *v));
    // SAFETY: `sums` holds eight floats.
    unsafe { _mm256_storeu_ps(sums.as_mut_ptr(), total) };
    sums.iter().sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma512(rounds: usize) -> f32 {
    let mut acc = [_mm512_set1_ps(1.0); CHAINS];
    let scale = std::hint::black_box(_mm512_set1_ps(0.999_999));
    let step = std::hint::black_box(_mm512_set1_ps(1e-7));
    for _ in 0..rounds {
        for lanes in acc.iter_mut() {
            *lanes = _mm512_fmadd_ps(*lanes, scale, step);
        }
    }
    _mm512_reduce_add_ps(
        acc.iter()
            .fold(_mm512_setzero_ps(), |s, v| _mm512_add_ps(s, *v)),
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
fn dpbusd512(rounds: usize) -> i32 {
    let mut acc = [_mm512_set1_epi32(1); CHAINS];
    let bytes = std::hint::black_box(_mm512_set1_epi32(0x0101_0101));
    let weights = std::hint::black_box(_mm512_set1_epi32(0x01ff_01ff));
    for _ in 0..rounds {
        for lanes in acc.iter_mut() {
            *lanes = _mm512_dpbusd_epi32(*lanes, bytes, weights);
        }
    }
    _mm512_reduce_add_epi32(
        acc.iter()
            .fold(_mm512_setzero_si512(), |s, v| _mm512_add_epi32(s, *v)),
    )
}

/// 16-lane `vpgatherdd` from a 2048-entry i32 table (the int8 `tanh` table's size), eight
/// independent index chains; returns the checksum.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn gather512(rounds: usize, table: &[i32; 2048]) -> i32 {
    let mut index: [__m512i; 8] = core::array::from_fn(|chain| {
        let lanes: [i32; 16] = core::array::from_fn(|lane| (lane * 131 + chain * 17) as i32);
        // SAFETY: `lanes` is sixteen i32.
        unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) }
    });
    let (mask, step) = (_mm512_set1_epi32(2047), _mm512_set1_epi32(7));
    let mut sum = _mm512_setzero_si512();
    for _ in 0..rounds {
        for lanes in index.iter_mut() {
            // SAFETY: every index is masked to 0 ..= 2047, inside `table`.
            let value = unsafe { _mm512_i32gather_epi32::<4>(*lanes, table.as_ptr().cast()) };
            sum = _mm512_add_epi32(sum, value);
            *lanes = _mm512_and_si512(_mm512_add_epi32(*lanes, step), mask);
        }
    }
    _mm512_reduce_add_epi32(sum)
}

/// Runs `job` and prints `work / seconds / 1e9` with `label`.
#[cfg(target_arch = "x86_64")]
fn report<T: std::fmt::Debug>(label: &str, work: f64, job: impl FnOnce() -> T) {
    let start = Instant::now();
    let result = job();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{label:28} {:8.1} (check value {result:?})",
        work / seconds / 1e9
    );
}

#[cfg(target_arch = "x86_64")]
fn main() {
    let instructions = (ROUNDS * CHAINS) as f64;
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        let instructions = (ROUNDS * CHAINS_256) as f64;
        // SAFETY: AVX2 and FMA were detected just above.
        report("f32 fma 256-bit, GFLOP/s", instructions * 16.0, || unsafe {
            fma256(ROUNDS)
        });
    } else {
        println!("skipped: no AVX2+FMA on this CPU");
    }
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512 F was detected just above.
        report("f32 fma 512-bit, GFLOP/s", instructions * 32.0, || unsafe {
            fma512(ROUNDS)
        });
    } else {
        println!("skipped: no AVX-512 on this CPU");
    }
    if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vnni") {
        // SAFETY: AVX-512 F and VNNI were detected just above.
        report(
            "vpdpbusd 512-bit, G MAC/s",
            instructions * 64.0,
            || unsafe { dpbusd512(ROUNDS) },
        );
    } else {
        println!("skipped: no AVX-512 VNNI on this CPU");
    }
    if std::is_x86_feature_detected!("avx512f") {
        let table: [i32; 2048] = core::array::from_fn(|i| i as i32);
        let gathers = (ROUNDS / 10 * 8) as f64 * 1000.0;
        // SAFETY: AVX-512 F was detected just above.
        report("vpgatherdd 16 lanes, M/s", gathers, || unsafe {
            gather512(ROUNDS / 10, &table)
        });
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    println!("skipped: this example measures x86-64 instructions only");
}
