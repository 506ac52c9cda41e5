//! GuideLLM 0.4.0's own reports re-exported to CSV give GuideLLM's own CSV:
//! the same three header rows and the same values, cell for cell.

use std::path::Path;

use llmload_data::parse_csv;
use llmload_report::{csv::to_csv, Report};

#[test]
fn fixtures_reexport_to_guidellms_own_csv() {
    std::env::set_var("TZ", "UTC");
    let dir = Path::new(env!("LLMLOAD_SHARED")).join("fixtures/guidellm-0.4.0");
    for name in ["mock-constant5", "vllm-constant2", "vllm-sweep4"] {
        let report = Report::load(&dir.join(format!("{name}-benchmarks.json"))).unwrap();
        let ours = parse_csv(&to_csv(&report));
        let theirs = parse_csv(
            &std::fs::read_to_string(dir.join(format!("{name}-benchmarks.csv"))).unwrap(),
        );
        assert_eq!(ours.len(), theirs.len(), "{name}: rows");
        for r in 0..3 {
            assert_eq!(ours[r], theirs[r], "{name}: header row {r}");
        }
        for (r, (a, b)) in ours.iter().zip(&theirs).enumerate().skip(3) {
            assert_eq!(a.len(), b.len(), "{name}: row {r} length");
            for (c, (x, y)) in a.iter().zip(b).enumerate() {
                let header = &theirs[1][c.min(theirs[1].len() - 1)];
                assert_eq!(x, y, "{name}: row {r} column {c} ({header})");
            }
        }
    }
}
