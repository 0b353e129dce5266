//! `cargo stateless-lint routes`: the route table of each framework's routes fixture, as a
//! user sees it (human table and JSON), pinned with insta snapshots; and the command's exit
//! codes.

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn routes(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-stateless-lint"))
        .arg("routes")
        .args(args)
        .current_dir(repo())
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const FIXTURES: &[&str] = &[
    "actix-web",
    "axum",
    "loco",
    "poem",
    "rocket",
    "salvo",
    "warp",
];

#[test]
fn route_tables_of_every_framework() {
    for fw in FIXTURES {
        let dir = format!("fixtures/{fw}/routes");
        let (code, human, err) = routes(&[&dir]);
        assert_eq!(code, 0, "{dir}: {err}");
        insta::assert_snapshot!(format!("{fw}__human"), human);
        let (code, json, err) = routes(&[&dir, "--format", "json"]);
        assert_eq!(code, 0, "{dir}: {err}");
        let doc: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(doc["version"], 1);
        insta::assert_snapshot!(format!("{fw}__json"), json);
    }
}

#[test]
fn auth_statuses_follow_each_frameworks_scoping() {
    let (_, json, _) = routes(&["fixtures/axum/routes", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let status = |path: &str| {
        doc["crates"][0]["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["path"] == path)
            .map(|r| r["auth"]["status"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no route {path}"))
    };
    // Added before `route_layer(from_fn(check_staff))`: covered; after it: not.
    assert_eq!(status("/admin/users"), "protected");
    assert_eq!(status("/admin/export"), "unprotected");
    // A router built in a fn of another file, nested under a prefix.
    assert_eq!(status("/ops/heap"), "protected");
    assert_eq!(status("/ops/config"), "protected");
    assert_eq!(status("/admin/audit"), "unprotected");
}

#[test]
fn a_path_that_does_not_exist_is_a_usage_error() {
    let (code, _, err) = routes(&["fixtures/no-such-dir"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error"), "{err}");
}

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-stateless-lint"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn flagged_paths(json: &str) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let mut out: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "unauthenticated-ops-route")
        .map(|f| {
            f["message"]
                .as_str()
                .unwrap()
                .split('`')
                .nth(1)
                .unwrap()
                .to_string()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn configured_auth_layers_and_sensitive_prefixes_change_the_findings() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("routes-config");
    std::fs::create_dir_all(&dir).unwrap();
    let base = ["--format", "json", "--select", "unauthenticated-ops-route"];
    let (_, json, _) = check(&[&base[..], &["fixtures/axum/routes"]].concat());
    let before = flagged_paths(&json);
    assert!(
        before.contains(&"GET /internal/sessions".to_string()),
        "{before:?}"
    );
    assert!(!before.contains(&"GET /administrators-guide".to_string()));

    let cfg = dir.join("stateless-lint.toml");
    std::fs::write(
        &cfg,
        "[unauthenticated-ops-route]\nauth-layers = [\"axum_login::AuthManagerLayerBuilder\"]\nsensitive-prefixes = [\"/administrators-guide\"]\n",
    )
    .unwrap();
    let cfg_arg = cfg.to_string_lossy().into_owned();
    let (_, json, err) =
        check(&[&base[..], &["--config", &cfg_arg, "fixtures/axum/routes"]].concat());
    let after = flagged_paths(&json);
    assert!(
        !after.contains(&"GET /internal/sessions".to_string()),
        "{after:?} {err}"
    );
    assert!(
        after.contains(&"GET /administrators-guide".to_string()),
        "{after:?}"
    );

    std::fs::write(&cfg, "[unauthenticated-ops-route]\nauth-layer = [\"x\"]\n").unwrap();
    let (code, _, err) = check(&["--config", &cfg_arg, "fixtures/axum/routes"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unauthenticated-ops-route.auth-layer"),
        "{err}"
    );
}
