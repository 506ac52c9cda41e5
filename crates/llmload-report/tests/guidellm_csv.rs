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

/// GuideLLM 0.8.1's own reports (constant, sweep, multi-turn) through the
/// schema-2 CSV writer give 0.8.1's own CSV: the same three header rows and
/// the same values, cell for cell.
#[test]
fn guidellm_08_fixtures_reexport_to_its_own_csv() {
    std::env::set_var("TZ", "UTC");
    let dir = Path::new(env!("LLMLOAD_SHARED")).join("fixtures/guidellm-0.8.1");
    for name in ["constant", "sweep", "multiturn"] {
        let doc: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(name).join("benchmarks.json")).unwrap(),
        )
        .unwrap();
        let ours = parse_csv(&llmload_report::schema2::csv::to_csv(&doc));
        let theirs =
            parse_csv(&std::fs::read_to_string(dir.join(name).join("benchmarks.csv")).unwrap());
        assert_eq!(ours.len(), theirs.len(), "{name}: rows");
        for r in 0..3 {
            assert_eq!(ours[r], theirs[r], "{name}: header row {r}");
        }
        let mut diffs = Vec::new();
        for (r, (a, b)) in ours.iter().zip(&theirs).enumerate().skip(3) {
            assert_eq!(a.len(), b.len(), "{name}: row {r} length");
            for (c, (x, y)) in a.iter().zip(b).enumerate() {
                if x != y {
                    let h = (&theirs[0][c], &theirs[1][c], &theirs[2][c]);
                    diffs.push(format!("row {r} {h:?}: ours {x:.80} theirs {y:.80}"));
                }
            }
        }
        assert!(diffs.is_empty(), "{name}: {}", diffs.join("\n"));
    }
}
