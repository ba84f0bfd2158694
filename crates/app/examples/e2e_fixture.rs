//! Writes the roster fixture the browser test uploads: `cargo run -p app --example e2e_fixture OUT`.
use app::import::{roster_xlsx, COLUMNS};
use chrono::NaiveDate;
use domain::ResidentIdNumber;

fn main() {
    let out = std::env::args().nth(1).expect("output path");
    let person = |no: &str, name: &str, y: i32, seq: u16, rel: &str, phone: &str| {
        let mut r: [String; COLUMNS.len()] = Default::default();
        r[0] = "370323104205".into();
        r[2] = no.into();
        r[3] = name.into();
        r[4] =
            ResidentIdNumber::from_parts("370323", NaiveDate::from_ymd_opt(y, 6, 1).unwrap(), seq)
                .unwrap()
                .to_string();
        r[5] = rel.into();
        r[6] = phone.into();
        r[7] = "城乡居民医保".into();
        r
    };
    let rows = vec![
        person("E2E01", "欧阳守望", 1958, 771, "户主", "13800138000"),
        person("E2E01", "上官春花", 1960, 772, "配偶", ""),
        person("E2E01", "欧阳小雨", 1988, 774, "子女", "13900139000"),
    ];
    std::fs::write(out, roster_xlsx(&rows).unwrap()).unwrap();
}
