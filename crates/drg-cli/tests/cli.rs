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

/// Mandatory fields left empty (or coded unknown) in cases.csv: one `ungroupable` row each,
/// whose reason names the column to fill in; the row next to them still groups.
#[test]
fn missing_mandatory_fields_are_reported_by_column() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.csv");
    let output = dir.path().join("grouped.csv");
    let cases = "\
case_id,sex,age_years,age_days,birth_weight_g,los_days,discharge_mode,principal_dx,secondary_dx,procedures
m1,,45,,,5,1,I63.900,,
m2,9,45,,,5,1,I63.900,,
m3,1,,,,5,1,I63.900,,
m4,1,0,,,5,1,J18.900,,
m5,2,0,5,,3,1,P07.300x001,,
m6,,,,,5,1,I63.900,,
m7,1,45,,,5,1,I63.900,,
m8,2,,40,,5,1,J18.900,,
";
    std::fs::write(&input, cases).unwrap();
    for v in ["chs-drg-2.0", "chs-drg-1.1"] {
        run(&[
            "shouwang",
            "drg",
            "group",
            "--version",
            v,
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ])
        .unwrap();
        let rows = read_rows(&output);
        let want = [
            ("m1", "sex"),
            ("m2", "sex"),
            ("m3", "age_years"),
            ("m4", "age_days"),
            ("m5", "birth_weight_g"),
            ("m6", "sex (性别, 1 or 2), age_years"),
        ];
        for (row, (id, column)) in rows.iter().zip(want) {
            assert_eq!(row[0], id);
            assert_eq!((row[3].as_str(), row[5].as_str()), ("0000", "ungroupable"));
            assert!(
                row[6].starts_with("missing mandatory field") && row[6].contains(column),
                "{v}: {row:?}"
            );
        }
        assert_eq!(
            (rows[6][1].as_str(), rows[6][5].as_str()),
            ("MDCB", "grouped")
        );
        // The age in days alone is an age.
        assert_eq!(
            (rows[7][1].as_str(), rows[7][5].as_str()),
            ("MDCE", "grouped")
        );
    }
}

/// The readings of the entry rules through the command line: an HIV code among the
/// secondary diagnoses only, in each version.
#[test]
fn secondary_hiv_groups_by_each_versions_wording() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.csv");
    let output = dir.path().join("grouped.csv");
    let cases = "\
case_id,sex,age_years,age_days,birth_weight_g,los_days,discharge_mode,principal_dx,secondary_dx,procedures
h1,1,40,,,5,1,J18.900,Z21.x00x001,
h2,1,40,,,5,1,S72.000,B20.001,
h3,1,40,,,5,1,B20.000x001,,
";
    std::fs::write(&input, cases).unwrap();
    let mut got = Vec::new();
    for v in ["chs-drg-1.1", "chs-drg-2.0"] {
        run(&[
            "shouwang",
            "drg",
            "group",
            "--version",
            v,
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ])
        .unwrap();
        for r in read_rows(&output) {
            got.push(format!("{v} {} {} {} {}", r[0], r[1], r[2], r[5]));
        }
    }
    assert_eq!(
        got,
        [
            "chs-drg-1.1 h1 MDCE ES3 grouped",
            "chs-drg-1.1 h2 MDCI IR2 grouped",
            "chs-drg-1.1 h3 MDCY YR1 grouped",
            "chs-drg-2.0 h1 MDCY YR2 grouped",
            "chs-drg-2.0 h2 MDCY YR1 grouped",
            "chs-drg-2.0 h3 MDCY YR1 grouped",
        ]
    );
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
        // The readings build-pack takes from the table titles: every MDC table "包含以下主要
        // 诊断" (principal diagnosis) but, in 2.0, MDCY and MDCZ "包含以下诊断" (any diagnosis);
        // the entry rules test each table in that role.
        let text = unzip(out.join("tables.txt.gz"));
        let section = |name: &str| -> Vec<Vec<String>> {
            let head = format!("@{name}\n");
            let body = &text[text.find(&head).unwrap() + head.len()..];
            body.lines()
                .take_while(|l| !l.starts_with('@'))
                .map(|l| l.split('\t').map(String::from).collect())
                .collect()
        };
        let any_dx: Vec<String> = section("mdcdx")
            .into_iter()
            .filter(|r| r[2] != "pdx")
            .map(|r| format!("{}:{}", r[0], r[2]))
            .collect();
        let entries: Vec<String> = section("entry")
            .into_iter()
            .map(|r| {
                let kinds: Vec<&str> = r[1]
                    .split(" & ")
                    .filter_map(|a| a.split_once(':').map(|x| x.0))
                    .collect();
                format!("{} {}", r[0], kinds.join(","))
            })
            .collect();
        if v == "chs-drg-2.0" {
            assert_eq!(any_dx, ["MDCY:dx", "MDCZ:dx"]);
            assert_eq!(entries, ["MDCP pdx", "MDCP pdx", "MDCY dx", "MDCZ dx"]);
        } else {
            assert!(any_dx.is_empty(), "{any_dx:?}");
            assert_eq!(entries, ["MDCP pdx", "MDCP pdx", "MDCY pdx", "MDCZ pdx"]);
        }
    }
}
