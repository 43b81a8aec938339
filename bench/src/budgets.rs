//! The issue's budgets, judged. A miss is a finding to report, not a failure of the bench.

use crate::results::Results;
use crate::rows::Row;

/// The wasm size budget.
pub const WASM_MAX_BYTES: u64 = 1 << 20;
/// Row 3 must reach this share of row 2.
pub const BROWSER_SHARE_OF_FLOOR: f64 = 0.90;
/// Row 4 must reach this share of row 2.
pub const BEARER_SHARE_OF_FLOOR: f64 = 0.85;
/// Allowed memory growth from the baseline to the end of the heap check.
pub const MAX_HEAP_GROWTH: f64 = 0.05;
/// Signed-in requests the issue's heap check asks for.
pub const LEAK_REQUESTS_ASKED: u64 = 1_000_000;

/// How a budget came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Met.
    Pass,
    /// Not met.
    Miss,
    /// Could not be judged (a row is not measurable yet).
    NotApplicable,
}

impl Verdict {
    /// `PASS`, `MISS`, `n/a`.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Miss => "MISS",
            Verdict::NotApplicable => "n/a",
        }
    }

    fn of(ok: bool) -> Verdict {
        if ok {
            Verdict::Pass
        } else {
            Verdict::Miss
        }
    }
}

/// One judged budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// The rule, as the issue states it.
    pub rule: &'static str,
    /// The outcome.
    pub verdict: Verdict,
    /// The numbers behind it.
    pub detail: String,
}

/// Every budget of the issue, in its order.
pub fn judge(r: &Results) -> Vec<Budget> {
    let rps = |row| r.rps(row);
    let mut out = Vec::new();

    // Verdicts use the median of per-round ratios (steadier on a shared machine); the ratio of
    // the medians in the table and the ratio the instruction counts predict (noise-free, but
    // not time) are shown next to it.
    let paired = |a, b| r.paired(a, b);
    let both = |p: f64, a: Row, b: Row| {
        let medians = match (rps(a), rps(b)) {
            (Some(x), Some(y)) if y > 0.0 => Some(x / y),
            _ => None,
        };
        ratio_detail(p, medians, r.instruction_ratio(a, b))
    };

    out.push(match paired(Row::EntraBrowser, Row::EmptyWasm) {
        Some(p) => Budget {
            rule: "row 3 ≥ 0.90 × row 2",
            verdict: Verdict::of(p >= BROWSER_SHARE_OF_FLOOR),
            detail: format!(
                "row 3 / row 2 = {}",
                both(p, Row::EntraBrowser, Row::EmptyWasm)
            ),
        },
        None => not_measured("row 3 ≥ 0.90 × row 2", "row 2 or 3 not measured"),
    });

    // Row 4's floor is row 2's listener loaded with row 4's own request (the bearer token), as
    // row 2 carries row 3's cookies for row 3: each budget compares the same bytes on the wire.
    // Envoy alone spends ~100k more instructions on the 9 KB Authorization header than on the
    // 7.3 KB Cookie header, so the cookie floor would charge Envoy's parsing to the filter.
    out.push(
        match (r.bearer_paired(), paired(Row::EntraBearer, Row::JwtAuthn)) {
            (Some(f), Some(j)) => Budget {
                rule: "row 4 ≥ 0.85 × row 2 and ≥ row 6",
                verdict: Verdict::of(f >= BEARER_SHARE_OF_FLOOR && j >= 1.0),
                detail: format!(
                    "row 4 / row 2 with row 4's request = {}, row 4 / row 6 = {}; row 4 / row 2 with row 3's cookie = {}",
                    ratio_detail(f, r.bearer_medians(), r.bearer_instruction_ratio()),
                    both(j, Row::EntraBearer, Row::JwtAuthn),
                    paired(Row::EntraBearer, Row::EmptyWasm).map_or("-".to_string(), |c| both(
                        c,
                        Row::EntraBearer,
                        Row::EmptyWasm
                    )),
                ),
            },
            _ => not_measured(
                "row 4 ≥ 0.85 × row 2 and ≥ row 6",
                "row 4, row 6 or row 2 with row 4's request not measured",
            ),
        },
    );

    out.push(match paired(Row::EntraBrowser, Row::OAuth2) {
        Some(p) => Budget {
            rule: "row 3 ≥ row 5",
            verdict: Verdict::of(p >= 1.0),
            detail: format!(
                "row 3 / row 5 = {}",
                both(p, Row::EntraBrowser, Row::OAuth2)
            ),
        },
        None => not_measured("row 3 ≥ row 5", "row 3 or 5 not measured"),
    });

    out.push(Budget {
        rule: "release wasm ≤ 1 MiB",
        verdict: Verdict::of(r.wasm_bytes <= WASM_MAX_BYTES),
        detail: format!(
            "{} bytes = {:.1}% of 1 MiB",
            r.wasm_bytes,
            r.wasm_bytes as f64 * 100.0 / WASM_MAX_BYTES as f64
        ),
    });

    out.push(match &r.leak {
        Ok(leak) => {
            let growth = leak.end.growth_over(&leak.baseline);
            let short = if leak.requests < LEAK_REQUESTS_ASKED {
                format!(
                    "; the issue asks for {LEAK_REQUESTS_ASKED}: BENCH_LEAK_REQUESTS={LEAK_REQUESTS_ASKED}"
                )
            } else {
                String::new()
            };
            Budget {
                rule: "no per-request heap growth (≤ 5%)",
                verdict: Verdict::of(growth <= MAX_HEAP_GROWTH),
                detail: format!(
                    "{:+.2}% from {} to {} signed-in requests (worse of allocator and RSS){short}",
                    growth * 100.0,
                    leak.baseline_requests,
                    leak.requests
                ),
            }
        }
        Err(e) => not_measured("no per-request heap growth (≤ 5%)", e),
    });
    out
}

/// `0.842 (per-round median; ratio of medians 0.915; instructions 0.951)`: the verdict's ratio
/// first, then whichever of the other two estimates exist.
pub fn ratio_detail(paired: f64, medians: Option<f64>, instructions: Option<f64>) -> String {
    let mut others = Vec::new();
    if let Some(m) = medians {
        others.push(format!("ratio of medians {m:.3}"));
    }
    if let Some(i) = instructions {
        others.push(format!("instructions {i:.3}"));
    }
    if others.is_empty() {
        format!("{paired:.3}")
    } else {
        format!("{paired:.3} (per-round median; {})", others.join("; "))
    }
}

fn not_measured(rule: &'static str, why: &str) -> Budget {
    Budget {
        rule,
        verdict: Verdict::NotApplicable,
        detail: why.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instructions::Instructions;
    use crate::machine::Machine;
    use crate::memory::Memory;
    use crate::results::{Leak, Measured, RowResult};
    use crate::rows::Load;
    use crate::wrk::WrkResult;
    use std::time::Duration;

    fn measured(row: Row, rps: f64) -> (Row, RowResult) {
        let mut m = Measured::new(Load {
            name: row.listener().into(),
            label: row.label().into(),
            row,
            headers: vec![],
        });
        m.runs = vec![
            WrkResult {
                rps,
                ..WrkResult::default()
            };
            3
        ];
        (row, RowResult::Measured(m))
    }

    fn results(browser: f64, oauth2: f64, wasm_bytes: u64, end_rss: u64) -> Results {
        let mem = |rss| Memory {
            allocated: 1000,
            heap_size: 0,
            rss,
        };
        Results {
            machine: Machine::default(),
            command: String::new(),
            settings: String::new(),
            rows: vec![
                measured(Row::Bare, 1200.0),
                measured(Row::EmptyWasm, 1000.0),
                measured(Row::EntraBrowser, browser),
                (Row::EntraBearer, RowResult::Skipped("n/a".into())),
                measured(Row::OAuth2, oauth2),
                measured(Row::JwtAuthn, 950.0),
            ],
            groups: vec![],
            sign_ins: vec![],
            overage: vec![],
            oauth2_cookies: None,
            bearer_bytes: 0,
            wasm_bytes,
            empty_wasm_bytes: 0,
            memory_before: mem(100),
            memory_after: mem(100),
            leak: Ok(Leak {
                baseline_requests: 10_000,
                baseline: mem(100),
                requests: 1_000_000,
                end: mem(end_rss),
            }),
            vm: Err("skipped".into()),
            cold_start: Err("skipped".into()),
            header_floor: Err("skipped".into()),
            bearer_floor: Err("skipped".into()),
            v8: Err("skipped".into()),
            instructions: Err("skipped".into()),
            wall: Duration::ZERO,
        }
    }

    fn verdicts(r: &Results) -> Vec<Verdict> {
        judge(r).iter().map(|b| b.verdict).collect()
    }

    #[test]
    fn every_budget_is_judged_in_the_issues_order() {
        use Verdict::*;
        let cases = [
            (
                results(950.0, 900.0, 800_000, 104),
                [Pass, NotApplicable, Pass, Pass, Pass],
            ),
            (
                results(899.0, 900.0, 800_000, 104),
                [Miss, NotApplicable, Miss, Pass, Pass],
            ),
            (
                results(950.0, 900.0, 1_048_577, 106),
                [Pass, NotApplicable, Pass, Miss, Miss],
            ),
        ];
        for (r, want) in cases {
            assert_eq!(verdicts(&r), want);
        }
    }

    #[test]
    fn ratios_carry_the_instruction_estimate_when_counted() {
        assert_eq!(ratio_detail(0.8421, None, None), "0.842");
        assert_eq!(
            ratio_detail(0.8421, Some(0.9149), None),
            "0.842 (per-round median; ratio of medians 0.915)"
        );
        assert_eq!(
            ratio_detail(0.8421, Some(0.9149), Some(0.95123)),
            "0.842 (per-round median; ratio of medians 0.915; instructions 0.951)"
        );

        let mut r = results(950.0, 900.0, 800_000, 104);
        r.instructions = Ok(Instructions {
            requests: 400,
            rows: vec![
                ("wasm_floor".into(), Row::EmptyWasm, Ok(420_000.0)),
                ("entra_browser".into(), Row::EntraBrowser, Ok(467_000.0)),
                ("oauth2".into(), Row::OAuth2, Err("answered 302".into())),
            ],
            wall: Duration::ZERO,
        });
        let budgets = judge(&r);
        assert!(
            budgets[0].detail.ends_with("; instructions 0.899)"),
            "{}",
            budgets[0].detail
        );
        // Row 5 was not counted: its budget keeps the req/s estimates only.
        assert!(
            !budgets[2].detail.contains("instructions"),
            "{}",
            budgets[2].detail
        );
        // The verdict stays on req/s: 950 / 1000 passes although the counts say 0.899.
        assert_eq!(budgets[0].verdict, Verdict::Pass);
    }

    #[test]
    fn row_4_is_judged_against_the_floor_with_its_own_request() {
        let mut r = results(950.0, 900.0, 800_000, 104);
        r.rows[3] = measured(Row::EntraBearer, 960.0);
        // Without the bearer floor, row 4 is not judged against the cookie floor instead.
        assert_eq!(judge(&r)[1].verdict, Verdict::NotApplicable);
        let floor = |rps| {
            let (_, m) = measured(Row::EmptyWasm, rps);
            match m {
                RowResult::Measured(m) => m,
                RowResult::Skipped(_) => unreachable!(),
            }
        };
        r.bearer_floor = Ok(floor(1100.0));
        let budget = &judge(&r)[1];
        assert_eq!(budget.verdict, Verdict::Pass, "{}", budget.detail);
        assert!(
            budget
                .detail
                .starts_with("row 4 / row 2 with row 4's request = 0.873"),
            "{}",
            budget.detail
        );
        assert!(
            budget.detail.ends_with(
                "with row 3's cookie = 0.960 (per-round median; ratio of medians 0.960)"
            ),
            "{}",
            budget.detail
        );
        // Against a faster floor for its own request, the same row 4 misses.
        r.bearer_floor = Ok(floor(1200.0));
        assert_eq!(judge(&r)[1].verdict, Verdict::Miss);
    }

    #[test]
    fn a_short_heap_check_says_how_to_run_the_full_one() {
        let mut r = results(950.0, 900.0, 1, 100);
        if let Ok(leak) = &mut r.leak {
            leak.requests = 200_000;
        }
        let heap = &judge(&r)[4];
        assert!(
            heap.detail.contains("BENCH_LEAK_REQUESTS=1000000"),
            "{}",
            heap.detail
        );
    }
}
