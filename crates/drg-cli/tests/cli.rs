//! The command-line contract of issue 3: flags, CSV columns, one output row per input row in
//! order, malformed rows reported without stopping the run.
use clap::Parser;
use drg_cli::DrgCommand;
use std::io::Read;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Top,
}

#[derive(clap::Subcommand)]
enum Top {
    #[command(subcommand)]
    Drg(DrgCommand),
}

fn run(args: &[&str]) -> anyhow::Result<()> {
    let Top::Drg(cmd) = Cli::try_parse_from(args)?.cmd;
    drg_cli::run(cmd)
}

const CASES: &str = "\
case_id,sex,age_years,age_days,birth_weight_g,los_days,discharge_mode,principal_dx,secondary_dx,procedures
c1,1,70,,,9,1,I63.900,J96.000|N18.100,
c2,2,0,3,1200,30,1,P07.300x001,,
c3,1,70,,,5,1,I63.900,,81.5100
c4,1,abc,,,5,1,I63.900,,
c5,1,70,,,5,1
c6,1,70,,,5,1,,,
c7,2,60,,,5,1,N40.x00,,
\"c8\",1,55,,,20,1,I50.900,,\"37.5100|39.6500\"
c9,1,70,,,9,1,I63.900,,
";

fn read_rows(path: &std::path::Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["case_id", "mdc", "adrg", "drg", "drg_name", "status", "reason"]
    );
    r.records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect()
}

#[test]
fn group_writes_one_row_per_input_row_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.csv");
    let output = dir.path().join("grouped.csv");
    std::fs::write(&input, CASES).unwrap();
    run(&[
        "shouwang",
        "drg",
        "group",
        "--version",
        "chs-drg-2.0",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ])
    .unwrap();
    let rows = read_rows(&output);
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"]);
    let brief: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r[1].as_str(), r[3].as_str(), r[5].as_str()))
        .collect();
    assert_eq!(brief[0], ("MDCB", "BR21", "grouped"));
    assert_eq!(brief[1], ("MDCP", "PS15", "grouped"));
    assert_eq!(brief[2], ("MDCB", "BQY", "qy"));
    assert_eq!(brief[3].2, "ungroupable");
    assert!(rows[3][6].contains("age_years"), "{:?}", rows[3]);
    assert_eq!(brief[4].2, "ungroupable");
    assert!(rows[4][6].contains("fields"), "{:?}", rows[4]);
    assert_eq!(brief[5].2, "ungroupable");
    assert!(rows[5][6].contains("principal"));
    assert_eq!(brief[6].2, "ungroupable");
    assert!(rows[6][6].contains("sex"));
    assert_eq!(brief[7], ("MDCA", "AA29", "grouped"));
    assert_eq!(rows[0][4], "其他脑缺血性疾病，伴严重合并症或并发症");
    assert_eq!(brief[8], ("MDCB", "BR25", "grouped"));
}

#[test]
fn version_1_1_is_selected_by_flag_and_unknown_versions_fail() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.csv");
    let output = dir.path().join("grouped.csv");
    std::fs::write(&input, CASES).unwrap();
    let args = |v: &'static str| {
        vec![
            "shouwang".to_string(),
            "drg".into(),
            "group".into(),
            "--version".into(),
            v.into(),
            "--input".into(),
            input.display().to_string(),
            "--output".into(),
            output.display().to_string(),
        ]
    };
    let a = args("chs-drg-1.1");
    run(&a.iter().map(|s| s.as_str()).collect::<Vec<_>>()).unwrap();
    let rows = read_rows(&output);
    assert_eq!(rows.len(), 9);
    assert_eq!(rows[7][3], "AA19", "1.1 numbers heart transplant AA1");
    let a = args("chs-drg-9.9");
    assert!(run(&a.iter().map(|s| s.as_str()).collect::<Vec<_>>()).is_err());
}

#[test]
fn large_files_stream_in_chunks_and_keep_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.csv");
    let output = dir.path().join("grouped.csv");
    let mut text = drg_cli::csvio::INPUT_HEADER.join(",");
    text.push('\n');
    let n = 70_000; // more than two chunks
    for i in 0..n {
        let row = match i % 3 {
            0 => format!("r{i},1,70,,,9,1,I63.900,J96.000,\n"),
            1 => format!("r{i},1,70,,,9,1,I63.900,,\n"),
            _ => format!("r{i},1,x,,,9,1,I63.900,,\n"),
        };
        text.push_str(&row);
    }
    std::fs::write(&input, text).unwrap();
    let g = drg::Grouper::load(&drg::Version::default()).unwrap();
    let stats = drg_cli::csvio::group_file(&g, &input, &output, false).unwrap();
    assert_eq!(stats.rows, n as u64);
    assert_eq!(stats.ungroupable, (n / 3) as u64);
    let rows = read_rows(&output);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], format!("r{i}"));
        let want = ["BR21", "BR25", "0000"][i % 3];
        assert_eq!(r[3], want, "row {i}");
    }
}

#[test]
fn bad_header_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.csv");
    std::fs::write(&input, "id,pdx\n1,I63.900\n").unwrap();
    let g = drg::Grouper::load(&drg::Version::default()).unwrap();
    let err = drg_cli::csvio::group_file(&g, &input, &dir.path().join("o.csv"), false);
    assert!(err.unwrap_err().to_string().contains("header"));
}

#[test]
fn explain_prints_the_trace() {
    let g = drg::Grouper::load(&drg::Version::default()).unwrap();
    let lines = drg_cli::csvio::explain_row(&g, "c1,1,70,,,9,1,I63.900,J96.000,").unwrap();
    let text = lines.join("\n");
    assert!(text.contains("MDC MDCB"), "{text}");
    assert!(text.contains("MCC J96.000"), "{text}");
    assert!(text.contains("=> MDCB BR21"), "{text}");
    assert!(drg_cli::csvio::explain_row(&g, "c1,1,70").is_err());
    run(&[
        "shouwang",
        "drg",
        "explain",
        "--case",
        "c1,1,70,,,9,1,I63.900,J96.000,",
    ])
    .unwrap();
}

#[test]
fn search_finds_codes_and_drgs_by_name_and_prefix() {
    let g = drg::Grouper::load(&drg::Version::default()).unwrap();
    let hits: Vec<String> = g
        .search("脑梗死", 500)
        .iter()
        .map(drg_cli::csvio::format_hit)
        .collect();
    assert!(hits.iter().any(|h| h.contains("I63.900")), "{hits:?}");
    let hits: Vec<String> = g
        .search("br2", 50)
        .iter()
        .map(drg_cli::csvio::format_hit)
        .collect();
    assert!(hits.iter().any(|h| h.starts_with("DRG\tBR21")), "{hits:?}");
    assert!(hits.iter().any(|h| h.starts_with("ADRG\tBR2")), "{hits:?}");
    run(&["shouwang", "drg", "search", "脑梗死"]).unwrap();
}

/// The committed packs are exactly what build-pack makes from the shared data (skipped when
/// the shared data is not checked out next to the repository).
#[test]
fn committed_packs_are_reproducible() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/drg");
    if !shared.join("chs-drg-2.0/adrg_rules.csv").exists() {
        eprintln!("skipped: {} not present", shared.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for v in ["chs-drg-2.0", "chs-drg-1.1"] {
        let out = dir.path().join(v);
        drg_cli::build_pack(&shared.join(v), &shared.join("icd"), &out, None).unwrap();
        let unzip = |p: std::path::PathBuf| {
            let mut s = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap())
                .read_to_string(&mut s)
                .unwrap();
            s
        };
        let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../drg/packs")
            .join(v);
        assert!(
            unzip(out.join("tables.txt.gz")) == unzip(committed.join("tables.txt.gz")),
            "{v}: committed pack differs from a fresh build-pack; regenerate it"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("manifest.txt")).unwrap(),
            std::fs::read_to_string(committed.join("manifest.txt")).unwrap()
        );
    }
}
