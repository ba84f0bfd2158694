//! Measures the roster import on a fresh SQLite county, with the peak resident memory:
//!
//!     cargo run --release -p app --example import_probe -- time 100000   (a generated roster)
//!     cargo run --release -p app --example import_probe -- file PATH
//!     cargo run --release -p app --example import_probe -- hostile far|far60k|dim|sst300|uniq|bomb|lie
//!     cargo run --release -p app --example import_probe -- gen 100000 PATH   (writes a roster)
use app::import::testing::*;
use app::{Actor, App, PiiKeys};

pub fn hostile(kind: &str) -> Vec<u8> {
    let cols: Vec<&str> = app::import::COLUMNS.to_vec();
    let mut cells = header_cells(&cols);
    match kind {
        "far" | "far60k" => {
            let r = if kind == "far" { 1_048_575 } else { 59_999 };
            cells.push((r, 16_383, Cell::Inline("x".into())));
            xlsx(Body::Bytes(sheet_xml(None, &cells)), None)
        }
        "dim" => {
            cells.push((1, 0, Cell::Inline("370323104201".into())));
            xlsx(Body::Bytes(sheet_xml(Some("A1:XFD1048576"), &cells)), None)
        }
        "sst300" => {
            cells.push((1, 3, Cell::Shared(0)));
            xlsx(
                Body::Bytes(sheet_xml(None, &cells)),
                Some(huge_shared_string(300_000_000)),
            )
        }
        "uniq" => {
            cells.push((1, 3, Cell::Shared(0)));
            xlsx(
                Body::Bytes(sheet_xml(None, &cells)),
                Some(Body::Bytes(shared_strings_xml(&["x"], Some(4_000_000_000)))),
            )
        }
        "bomb" => {
            let full = String::from_utf8(sheet_xml(None, &cells)).unwrap();
            let (head, tail) = full.split_at(full.find("</sheetData>").unwrap());
            xlsx(
                Body::Repeat {
                    head: head.as_bytes().to_vec(),
                    fill: b" ".to_vec(),
                    len: 2_000_000_000,
                    tail: tail.as_bytes().to_vec(),
                },
                None,
            )
        }
        "lie" => {
            let full = String::from_utf8(sheet_xml(None, &cells)).unwrap();
            let (head, tail) = full.split_at(full.find("</sheetData>").unwrap());
            let mut z = xlsx(
                Body::Repeat {
                    head: head.as_bytes().to_vec(),
                    fill: b" ".to_vec(),
                    len: 1_000_000_000,
                    tail: tail.as_bytes().to_vec(),
                },
                None,
            );
            declare_size(&mut z, "xl/worksheets/sheet1.xml", 2000);
            z
        }
        _ => panic!("kind"),
    }
}

use std::time::Instant;

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    kb / 1024.0
}

fn rows(n: usize) -> Vec<[String; 11]> {
    let spec = sim::PopulationSpec {
        seed: 42,
        villages: app::demo::demo_villages()
            .into_iter()
            .map(|(code, _, _)| sim::VillageSpec {
                code,
                members: n / 20,
            })
            .collect(),
    };
    app::import::population_rows(&sim::generate_population(&spec))
}

async fn county() -> (App, String) {
    let url = store::testing::fresh_database(store::Backend::Sqlite)
        .await
        .unwrap();
    let app = App::new(
        store::Db::connect(&url).await.unwrap(),
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap(),
    );
    app.load_demo(0, 1).await.unwrap().unwrap();
    (app, url)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args[1].as_str() {
        "gen" => {
            let n: usize = args[2].parse().unwrap();
            let bytes = app::import::roster_xlsx(&rows(n)).unwrap();
            std::fs::write(&args[3], bytes).unwrap();
        }
        "time" | "file" | "hostile" => {
            let bytes = if args[1] == "hostile" {
                let b = hostile(&args[2]);
                println!("{} bytes", b.len());
                b
            } else if args[1] == "time" {
                app::import::roster_xlsx(&rows(args[2].parse().unwrap())).unwrap()
            } else {
                std::fs::read(&args[2]).unwrap()
            };
            let (app, url) = county().await;
            let base = peak_rss_mb();
            let actor = Actor::system();
            let writer = actor.roster_writer().unwrap();
            let t = Instant::now();
            let marks = std::sync::Mutex::new(Vec::<(String, f64)>::new());
            let report = |p: app::import::Progress| {
                let mut m = marks.lock().unwrap();
                let label = p.phase.label_zh().to_string();
                if m.last().map(|(l, _)| l != &label).unwrap_or(true) {
                    m.push((label, t.elapsed().as_secs_f64()));
                }
            };
            let out = app
                .import_roster(&writer, &actor, "probe.xlsx", bytes, &report)
                .await;
            let total = t.elapsed().as_secs_f64();
            match out {
                Ok(o) => println!(
                    "rows {} added {} errors {} first {:?}",
                    o.total_rows,
                    o.added_members,
                    o.errors.len(),
                    o.errors.first()
                ),
                Err(e) => println!("error: {e}"),
            }
            println!("phases {:?}", marks.lock().unwrap());
            println!(
                "total {total:.2} s; peak RSS {:.0} MB (before import {base:.0} MB)",
                peak_rss_mb()
            );
            let _ = std::fs::remove_file(url.trim_start_matches("sqlite://"));
        }
        "read" => {
            // The read phase alone, interleaved, best of 5: the whole-grid read the import used
            // before, the zip and XML checks alone, and the checked streaming read.
            use calamine::Reader;
            let bytes = std::fs::read(&args[2]).unwrap();
            let cols = app::import::COLUMNS;
            let (mut grid, mut pre, mut stream, mut inflate) =
                (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
            for _ in 0..5 {
                let t = Instant::now();
                let mut z = zip::ZipArchive::new(std::io::Cursor::new(&bytes[..])).unwrap();
                for i in 0..z.len() {
                    std::io::copy(&mut z.by_index(i).unwrap(), &mut std::io::sink()).unwrap();
                }
                inflate = inflate.min(t.elapsed().as_secs_f64());
                let t = Instant::now();
                let mut wb = calamine::Xlsx::new(std::io::Cursor::new(&bytes[..])).unwrap();
                let range = wb.worksheet_range_at(0).unwrap().unwrap();
                let mut n = 0usize;
                for r in range.rows().skip(1) {
                    let cells: Vec<String> = r.iter().map(|c| c.to_string()).collect();
                    n += cells.len();
                }
                assert!(n > 0);
                grid = grid.min(t.elapsed().as_secs_f64());
                let t = Instant::now();
                app::import::sheet::preflight(&bytes).unwrap();
                pre = pre.min(t.elapsed().as_secs_f64());
                let t = Instant::now();
                let mut m = 0usize;
                app::import::sheet::read_first_sheet(
                    &bytes,
                    &cols,
                    |_| Ok(()),
                    |r| m += r.cells.len(),
                )
                .unwrap();
                assert!(m > 0);
                stream = stream.min(t.elapsed().as_secs_f64());
            }
            println!("grid read {grid:.3} s; checks alone {pre:.3} s (of which unpacking {inflate:.3} s); checked streaming read {stream:.3} s");
        }
        _ => panic!("usage"),
    }
}
