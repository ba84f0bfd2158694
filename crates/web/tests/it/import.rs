use super::common::*;
use crate::on_both_backends;
use app::import::{roster_xlsx, COLUMNS};

type Row = [String; COLUMNS.len()];

fn row(village: &str, no: &str, name: &str, id: &str, rel: &str, phone: &str, ins: &str) -> Row {
    let mut r: Row = Default::default();
    r[0] = village.into();
    r[2] = no.into();
    r[3] = name.into();
    r[4] = id.into();
    r[5] = rel.into();
    r[6] = phone.into();
    r[7] = ins.into();
    r
}

async fn member_count(t: &TestApp) -> i64 {
    let mut conn = t.app.db.acquire().await.unwrap();
    store::roster::count_members(&mut conn, &store::Scope::all())
        .await
        .unwrap()
}

fn good_file() -> Vec<Row> {
    let v = "370323104203";
    let mut rows = vec![
        row(
            v,
            "T001",
            "赵铁柱",
            &id_number(901, 1960),
            "户主",
            "13912345678",
            "城乡居民医保",
        ),
        row(
            v,
            "T001",
            "钱秀英",
            &id_number(902, 1962),
            "配偶",
            "",
            "居民医保",
        ),
        row(
            v,
            "T001",
            "赵小明",
            &id_number(903, 1990),
            "子女",
            "13712345678",
            "城镇职工医保",
        ),
        row(
            "",
            "T002",
            "孙大力",
            &id_number(905, 1955),
            "户主",
            "",
            "未参保",
        ),
    ];
    rows[3][1] = "张家坪村".into(); // by village name instead of code
    rows[3][8] = "防返贫监测、低保".into();
    rows[3][9] = "2024-02-01".into();
    rows
}

/// A good file is imported; the same file again adds nothing; the people are findable.
async fn good_file_imports_once(backend: Backend) {
    let t = TestApp::spawn(backend, 100).await;
    let c = t.login("town").await;
    let template = c
        .http
        .get(c.url("/roster/template.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(template.status(), 200);
    assert!(template.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("xlsx"));
    assert!(template.bytes().await.unwrap().starts_with(b"PK"));

    let before = member_count(&t).await;
    let bytes = roster_xlsx(&good_file()).unwrap();
    let done = c.import("花名册.xlsx", bytes.clone()).await;
    assert!(done.has("data-status=\"done\""), "{}", done.body);
    assert!(done.has("新增 4 人"), "{}", done.body);
    assert_eq!(member_count(&t).await, before + 4);

    let again = c.import("花名册.xlsx", bytes).await;
    assert!(
        again.has("data-status=\"done\"") && again.has("新增 0 人") && again.has("未变化 4 行"),
        "{}",
        again.body
    );
    assert_eq!(member_count(&t).await, before + 4);

    let found = c.get("/search?q=孙大力").await;
    assert!(found.has("孙大力"));
    let mid = found.first_id("/members/");
    let page = c.get(&format!("/members/{mid}")).await;
    assert!(
        page.has("防返贫监测") && page.has("低保") && page.has("张家坪村") && page.has("未参保")
    );
    // The import is in the audit log.
    assert!(c.get("/audit").await.has("导入花名册"));
}

/// Every kind of bad row is reported on its own row, in Chinese, and nothing is written.
async fn bad_rows_are_reported_and_nothing_changes(backend: Backend) {
    let t = TestApp::spawn(backend, 100).await;
    let c = t.login("town").await;
    // Someone already registered in the demo data, in another household.
    let mut conn = t.app.db.acquire().await.unwrap();
    let hh =
        store::roster::village_households(&mut conn, &store::Scope::all(), "370323104201", 0, 1)
            .await
            .unwrap();
    let existing = store::roster::household_members(&mut conn, &store::Scope::all(), hh[0].id)
        .await
        .unwrap();
    drop(conn);
    let existing_id = t
        .app
        .reveal_member(&app::Actor::system(), existing[0].id)
        .await
        .unwrap()
        .id_number;

    let v = "370323104203";
    let mut bad_check = id_number(911, 1970);
    bad_check.replace_range(17..18, if bad_check.ends_with('0') { "1" } else { "0" });
    let rows = vec![
        row(
            v,
            "B001",
            "好户主",
            &id_number(910, 1970),
            "户主",
            "",
            "城乡居民医保",
        ), // row 2: fine
        row(v, "B001", "校验错", &bad_check, "配偶", "", "城乡居民医保"), // row 3: checksum
        row(
            v,
            "B001",
            "重复人",
            &id_number(910, 1970),
            "子女",
            "",
            "城乡居民医保",
        ), // row 4: dup in file
        row(
            v,
            "B002",
            "无户主",
            &id_number(912, 1971),
            "配偶",
            "",
            "城乡居民医保",
        ), // row 5: no head
        row(
            "999999999999",
            "B003",
            "错村",
            &id_number(913, 1972),
            "户主",
            "",
            "城乡居民医保",
        ), // row 6: village
        row(
            v,
            "B004",
            "坏手机",
            &id_number(914, 1973),
            "户主",
            "12345",
            "城乡居民医保",
        ), // row 7: phone
        row(
            v,
            "B005",
            "",
            &id_number(915, 1974),
            "户主",
            "",
            "城乡居民医保",
        ), // row 8: name
        row(
            v,
            "B006",
            "已登记",
            &existing_id,
            "户主",
            "",
            "城乡居民医保",
        ), // row 9: registered elsewhere
        row(
            "370323105201",
            "B007",
            "外镇村",
            &id_number(916, 1975),
            "户主",
            "",
            "城乡居民医保",
        ), // row 10: other town
        row(
            v,
            "B008",
            "怪关系",
            &id_number(917, 1976),
            "邻居",
            "",
            "农合",
        ), // row 11: relation + insurance
    ];
    let before = member_count(&t).await;
    let done = c.import("bad.xlsx", roster_xlsx(&rows).unwrap()).await;
    assert!(done.has("data-status=\"rejected\""), "{}", done.body);
    let expect = [
        (3, "校验位错误"),
        (4, "与第2行重复"),
        (5, "没有户主"),
        (6, "不存在或不在您的管辖范围内"),
        (7, "手机号应为11位"),
        (8, "姓名不能为空"),
        (9, "已在其他家庭登记"),
        (10, "不存在或不在您的管辖范围内"),
        (11, "无法识别的与户主关系"),
        (11, "无法识别的医保类型"),
    ];
    for (r, msg) in expect {
        let cell = format!("<td class=\"num\">{r}</td>");
        let line = done
            .body
            .split("<tr>")
            .find(|l| l.contains(&cell) && l.contains(msg));
        assert!(
            line.is_some(),
            "row {r} should report {msg}:\n{}",
            done.body
        );
    }
    assert!(
        !done
            .body
            .split("<tr>")
            .any(|l| l.contains("<td class=\"num\">2</td>")),
        "row 2 is fine"
    );
    assert_eq!(
        member_count(&t).await,
        before,
        "a file with errors changes nothing"
    );

    // Not a spreadsheet at all.
    let junk = c.import("x.xlsx", b"not a spreadsheet".to_vec()).await;
    assert!(junk.has("data-status=\"rejected\"") && junk.has("无法读取文件"));
    assert_eq!(member_count(&t).await, before);
}

/// Many rows: the job finishes and the counts add up (the progress page is polled meanwhile).
async fn larger_import_completes(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let c = t.login("town").await;
    let mut rows = Vec::new();
    for h in 0..400u16 {
        for m in 0..3u16 {
            let seq = (h * 3 + m) % 1000;
            let year = 1950 + (h as i32 * 3 + m as i32) / 1000;
            let rel = if m == 0 { "户主" } else { "子女" };
            rows.push(row(
                "370323104204",
                &format!("L{h:04}"),
                "测试人",
                &id_number(seq, year),
                rel,
                "",
                "城乡居民医保",
            ));
        }
    }
    let before = member_count(&t).await;
    let done = c.import("big.xlsx", roster_xlsx(&rows).unwrap()).await;
    assert!(done.has("新增 1200 人"), "{}", done.body);
    assert_eq!(member_count(&t).await, before + 1200);
}

on_both_backends!(
    good_file_imports_once,
    bad_rows_are_reported_and_nothing_changes,
    larger_import_completes
);
