//! deploy/kubernetes/ is what `llmload kube-manifest` renders from the
//! documented example's options, byte for byte (so the two cannot drift;
//! CI validates both with kubernetes-validate).

mod common;

#[test]
fn the_shipped_manifests_are_the_rendered_ones() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes");
    let args = std::fs::read_to_string(root.join("example.args")).unwrap();
    let dir = common::tempdir("kube-manifest");
    let mut argv = vec!["kube-manifest"];
    argv.extend(args.split_whitespace());
    argv.extend(["--manifests-dir", dir.to_str().unwrap()]);
    let out = common::run(&argv);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["run.yaml", "merge.yaml"] {
        let shipped = std::fs::read_to_string(root.join(name)).unwrap();
        let rendered = std::fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(
            shipped, rendered,
            "deploy/kubernetes/{name} is stale: rerun the command in deploy/kubernetes/README.md"
        );
    }
}
