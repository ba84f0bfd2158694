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

/// Uploads a roster and returns its job page's path, without following the job.
async fn upload(c: &Client, name: &str, bytes: Vec<u8>) -> String {
    let csrf = c.csrf().await;
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    let r = c
        .http
        .post(c.url("/roster/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let job = r.url().path().to_string();
    assert!(job.starts_with("/roster/import/"), "went to {job}");
    job
}

/// Two app servers on one database, as a county or a province scales out: a roster uploaded to
/// server A is followed on server B, which shows its progress (stored with the job, not in A's
/// memory) and the same outcome.
async fn a_job_started_on_one_server_is_followed_on_another(backend: Backend) {
    let a = TestApp::spawn(backend, 50).await;
    let b = a.serve_same_database().await;
    let (on_a, on_b) = (a.login("town").await, b.login("town").await);
    let mut rows = Vec::new();
    for h in 0..1000u16 {
        for m in 0..3u16 {
            let n = h * 3 + m;
            rows.push(row(
                "370323104204",
                &format!("M{h:04}"),
                "测试人",
                &id_number(n % 1000, 1950 + i32::from(n / 1000)),
                if m == 0 { "户主" } else { "子女" },
                "",
                "城乡居民医保",
            ));
        }
    }
    let before = member_count(&b).await;
    let job = upload(&on_a, "三千人.xlsx", roster_xlsx(&rows).unwrap()).await;
    let mut seen_running = 0;
    let last = 'follow: {
        for _ in 0..1200 {
            let p = on_b.get(&job).await;
            assert_eq!(p.status, 200);
            if !p.has("data-status=\"running\"") {
                break 'follow p;
            }
            seen_running += 1;
            assert!(
                app::import::Phase::ALL
                    .iter()
                    .any(|ph| p.has(&format!("{}……", ph.label_zh()))),
                "{}",
                p.body
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the import did not finish");
    };
    assert!(seen_running > 0, "server B showed the job running");
    assert!(last.has("data-status=\"done\""), "{}", last.body);
    assert!(last.has("新增 3000 人"), "{}", last.body);
    let on_a_page = on_a.get(&job).await;
    assert!(on_a_page.has("data-status=\"done\"") && on_a_page.has("新增 3000 人"));
    assert_eq!(member_count(&a).await, before + 3000);
    // The progress went to the database: the last step written before the data.
    let mut conn = b.app.db.acquire().await.unwrap();
    let id: i64 = job.rsplit('/').next().unwrap().parse().unwrap();
    let stored = store::imports::get(&mut conn, &store::Scope::all(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.phase.as_str(), stored.phase_total),
        ("writing", 3000)
    );
}

/// A job whose server stopped: no outcome, and no progress within the lease. Every server shows
/// it as interrupted (and it can neither be renewed nor finished any more); a restarting server
/// ends it, but leaves alone the job of another server that is still alive.
async fn a_job_whose_server_stopped_shows_as_interrupted(backend: Backend) {
    let a = TestApp::spawn(backend, 50).await;
    let b = a.serve_same_database().await;
    let c = b.login("town").await;
    let mut conn = a.app.db.acquire().await.unwrap();
    let town = store::users::by_username(&mut conn, "town")
        .await
        .unwrap()
        .unwrap();
    let lease = chrono::Duration::from_std(app::import::JOB_LEASE).unwrap();
    let now = a.app.now();
    let long_ago = store::timestamp(now - lease - chrono::Duration::seconds(5));
    let lease_from = store::timestamp(now - lease);
    let dead = store::imports::create(&mut conn, town.id, "370323104", "停了.xlsx", &long_ago)
        .await
        .unwrap();
    let live = store::imports::create(
        &mut conn,
        town.id,
        "370323104",
        "在导.xlsx",
        &store::timestamp(now),
    )
    .await
    .unwrap();
    let page = c.get(&format!("/roster/import/{dead}")).await;
    assert!(page.has("data-status=\"interrupted\""), "{}", page.body);
    assert!(page.has("未写入任何数据"), "{}", page.body);
    assert!(!page.has("http-equiv=\"refresh\""), "no longer refreshed");
    let page = c.get(&format!("/roster/import/{live}")).await;
    assert!(page.has("data-status=\"running\""), "{}", page.body);
    assert!(page.has("正在排队等待"), "{}", page.body);

    // A lapsed lease is not renewed, and the job cannot be finished: what was shown stays true.
    let now_text = store::timestamp(now);
    assert!(
        !store::imports::progress(&mut conn, dead, "checking", 1, 2, &now_text, &lease_from)
            .await
            .unwrap()
    );
    let done = store::imports::Outcome {
        status: "done",
        total_rows: 2,
        added_members: 2,
        unchanged_rows: 0,
        errors_json: "[]",
        error_total: 0,
        errors_omitted_json: "[]",
        message: "",
    };
    assert!(
        !store::imports::finish(&mut conn, dead, &done, &now_text, &lease_from)
            .await
            .unwrap()
    );
    assert!(
        store::imports::progress(&mut conn, live, "checking", 1, 2, &now_text, &lease_from)
            .await
            .unwrap(),
        "a live job renews its lease"
    );
    drop(conn);

    // Server A restarts: the dead job is ended, the live one (another server's) is not.
    assert_eq!(a.app.end_interrupted_imports().await.unwrap(), 1);
    let page = c.get(&format!("/roster/import/{dead}")).await;
    assert!(page.has("data-status=\"failed\""), "{}", page.body);
    assert!(page.has(store::imports::INTERRUPTED), "{}", page.body);
    let page = c.get(&format!("/roster/import/{live}")).await;
    assert!(page.has("data-status=\"running\""), "{}", page.body);
    assert!(page.has("正在逐行检查"), "{}", page.body);
}

/// Uploads a bulk enrolment file; the status and the page.
async fn enrol_upload(c: &Client, year: i64, bytes: Vec<u8>) -> (u16, String) {
    let csrf = c.csrf().await;
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("e.xlsx"),
    );
    let r = c
        .http
        .post(c.url(&format!("/years/{year}/enrol/import")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// This year of 大张庄镇 (the `town` login's pool).
async fn this_year(t: &TestApp) -> i64 {
    t.app.load_demo_years().await.unwrap();
    t.app
        .years(&app::Actor::system())
        .await
        .unwrap()
        .iter()
        .filter(|y| y.pool_code == "370323104")
        .map(|y| y.id)
        .max()
        .unwrap()
}

/// The files, each uploaded to the roster import and to the bulk enrolment by an
/// ordinary clerk's login: a 1.8 KB file with one cell at XFD1048576 used to abort the server
/// ("memory allocation of 549755813888 bytes failed"), a 300 KB file with one 300 MB shared
/// string took it to 1.2 GB. Each is now refused with a Chinese message, and the server goes on
/// serving.
async fn hostile_uploads_are_refused_and_the_server_keeps_serving(backend: Backend) {
    use app::import::testing::*;
    let t = TestApp::spawn(backend, 50).await;
    let year = this_year(&t).await;
    let c = t.login("town").await;
    let before = member_count(&t).await;
    let roster_sheet = |extra: Vec<(u32, u32, Cell)>| {
        let mut cells = header_cells(&COLUMNS);
        cells.extend(extra);
        sheet_xml(None, &cells)
    };
    let enrol_sheet = |extra: Vec<(u32, u32, Cell)>| {
        let mut cells = header_cells(&app::enrol_import::COLUMNS);
        cells.extend(extra);
        sheet_xml(None, &cells)
    };
    let blanks = |len: u64| {
        let full = String::from_utf8(roster_sheet(Vec::new())).unwrap();
        let (head, tail) = full.split_at(full.find("</sheetData>").unwrap());
        Body::Repeat {
            head: head.as_bytes().to_vec(),
            fill: b" ".to_vec(),
            len,
            tail: tail.as_bytes().to_vec(),
        }
    };
    let x = || Cell::Inline("x".into());
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, &str)> = vec![
        (
            "XFD1048576",
            xlsx(
                Body::Bytes(roster_sheet(vec![(1_048_575, 16_383, x())])),
                None,
            ),
            xlsx(
                Body::Bytes(enrol_sheet(vec![(1_048_575, 16_383, x())])),
                None,
            ),
            "表格超过100列（单元格 XFD1048576 有内容）",
        ),
        (
            "XFD60000",
            xlsx(Body::Bytes(roster_sheet(vec![(59_999, 16_383, x())])), None),
            xlsx(Body::Bytes(enrol_sheet(vec![(59_999, 16_383, x())])), None),
            "表格超过100列（单元格 XFD60000 有内容）",
        ),
        (
            "A1048576",
            xlsx(Body::Bytes(roster_sheet(vec![(1_048_575, 0, x())])), None),
            xlsx(Body::Bytes(enrol_sheet(vec![(1_048_575, 0, x())])), None),
            "表格超过200000行",
        ),
        (
            "300 MB shared string",
            xlsx(
                Body::Bytes(roster_sheet(vec![(1, 3, Cell::Shared(0))])),
                Some(huge_shared_string(300_000_000)),
            ),
            xlsx(
                Body::Bytes(enrol_sheet(vec![(1, 1, Cell::Shared(0))])),
                Some(huge_shared_string(300_000_000)),
            ),
            "文字内容过多",
        ),
        (
            "4,000,000,000 shared strings declared",
            xlsx(
                Body::Bytes(roster_sheet(vec![(1, 3, Cell::Shared(0))])),
                Some(Body::Bytes(shared_strings_xml(
                    &["王丽"],
                    Some(4_000_000_000),
                ))),
            ),
            xlsx(
                Body::Bytes(enrol_sheet(vec![(1, 1, Cell::Shared(0))])),
                Some(Body::Bytes(shared_strings_xml(
                    &["0001"],
                    Some(4_000_000_000),
                ))),
            ),
            "文字条目数异常",
        ),
        (
            "2 GB of blanks",
            xlsx(blanks(2_000_000_000), None),
            xlsx(blanks(2_000_000_000), None),
            "工作表解压后过大",
        ),
    ];
    for (what, roster_file, enrol_file, expect) in cases {
        assert!(
            roster_file.len() < 3_000_000,
            "{what}: {}",
            roster_file.len()
        );
        let job = c.import("hostile.xlsx", roster_file).await;
        assert!(
            job.has("data-status=\"rejected\"") && job.has(expect),
            "{what}: {}",
            job.body
        );
        let (status, body) = enrol_upload(&c, year, enrol_file).await;
        assert_eq!(status, 422, "{what}: {body}");
        assert!(
            body.contains(expect) && body.contains("没有登记任何一户"),
            "{what}: {body}"
        );
        // The server is still there for everyone.
        assert_eq!(c.get("/search?q=王").await.status, 200, "{what}");
    }
    assert_eq!(member_count(&t).await, before);
}

/// 200,000 bad rows used to be stored as 1,000,000 errors (57 MB in one row, a 100 MB page).
/// The report lists the first errors of each column and counts the rest.
async fn a_file_of_many_bad_rows_gives_a_bounded_report(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let c = t.login("town").await;
    let rows: Vec<Row> = (0..3000u16)
        .map(|i| {
            row(
                "370323104203",
                &format!("M{i:04}"),
                "某人",
                &id_number(i % 1000, 1950 + i32::from(i / 1000)),
                "邻居",
                "",
                "农合",
            )
        })
        .collect();
    let before = member_count(&t).await;
    let done = c.import("many.xlsx", roster_xlsx(&rows).unwrap()).await;
    assert!(done.has("data-status=\"rejected\""), "{}", done.body);
    assert!(done.has("文件有 6000 处错误"), "{}", done.body);
    assert!(done.has("“与户主关系”列另有 2900 条同类错误未列出"));
    assert!(done.has("“医保类型”列另有 2900 条同类错误未列出"));
    let listed = done.body.matches("<td class=\"num\">").count();
    assert_eq!(listed, 2 * app::import::MAX_SHOWN_PER_KIND);
    assert!(
        done.body.len() < 100_000,
        "page of {} bytes",
        done.body.len()
    );
    // The first rows are the ones listed.
    assert!(done.has("<td class=\"num\">2</td>") && done.has("<td class=\"num\">101</td>"));
    assert!(!done.has("<td class=\"num\">102</td>"));
    let job: i64 = done.url.rsplit('/').next().unwrap().parse().unwrap();
    let mut conn = t.app.db.acquire().await.unwrap();
    let stored = store::imports::get(&mut conn, &store::Scope::all(), job)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.errors_json.len() < 64_000,
        "{}",
        stored.errors_json.len()
    );
    assert_eq!(stored.error_total, 6000);
    drop(conn);
    assert_eq!(member_count(&t).await, before);
}

/// NUL bytes, right-to-left overrides and zero-width characters in names (and any other cell)
/// are refused with a row error, as are names, household numbers and addresses over their
/// length; nothing is written.
async fn hidden_characters_and_overlong_fields_are_refused_by_row(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let c = t.login("town").await;
    let v = "370323104203";
    let person = |no: &str, name: &str, seq: u16| {
        row(
            v,
            no,
            name,
            &id_number(seq, 1980),
            "户主",
            "",
            "城乡居民医保",
        )
    };
    // Cells are read (and refused) before rows are checked: first a file with bad cells.
    let mut rows = vec![
        person("H001", "王\0丽", 921),           // row 2: NUL
        person("H002", "王\u{202E}丽", 922),     // row 3: right-to-left override
        person("H003", "王\u{200B}丽", 923),     // row 4: zero-width space
        person("H004", "\u{2066}王丽", 924),     // row 5: isolate
        person("H005", "钱多", 925),             // row 6: NUL in the address
        person("H006", &"长".repeat(5000), 926), // row 7: a cell far over any field
        person("H007", "孙好", 927),             // row 8: fine
    ];
    rows[4][10] = "新河村\u{0}1组".into();
    let before = member_count(&t).await;
    let done = c.import("hidden.xlsx", roster_xlsx(&rows).unwrap()).await;
    let expect = [
        (2, "姓名", "不可见字符"),
        (3, "姓名", "不可见字符"),
        (4, "姓名", "不可见字符"),
        (5, "姓名", "不可见字符"),
        (6, "家庭住址", "不可见字符"),
        (7, "姓名", "内容过长（最多200个字）"),
    ];
    let reported = |done: &Page, r: usize, col: &str, msg: &str| {
        let cell = format!("<td class=\"num\">{r}</td><td>{col}</td>");
        done.body
            .split("<tr>")
            .any(|l| l.contains(&cell) && l.contains(msg))
    };
    assert!(done.has("data-status=\"rejected\""), "{}", done.body);
    for (r, col, msg) in expect {
        assert!(
            reported(&done, r, col, msg),
            "row {r} should report {msg}:\n{}",
            done.body
        );
    }
    // The hidden characters are not echoed back.
    for bad in ['\0', '\u{202E}', '\u{200B}', '\u{2066}'] {
        assert!(!done.body.contains(bad), "{bad:?} in the page");
    }
    // Then each field's own limit.
    let mut rows = vec![
        person("H005", &"王".repeat(31), 925), // row 2: name too long
        person(&"户".repeat(31), "李明", 926), // row 3: household number too long
        person("H008", "赵强", 927),           // row 4: address too long
        person("H009", "孙好", 928),           // row 5: fine
    ];
    rows[2][10] = "地".repeat(101);
    let done = c.import("long.xlsx", roster_xlsx(&rows).unwrap()).await;
    assert!(done.has("data-status=\"rejected\""), "{}", done.body);
    for (r, col, msg) in [
        (2, "姓名", "姓名过长"),
        (3, "户编号", "户编号过长"),
        (4, "家庭住址", "家庭住址过长（最多100个字）"),
    ] {
        assert!(
            reported(&done, r, col, msg),
            "row {r} should report {msg}:\n{}",
            done.body
        );
    }
    assert_eq!(member_count(&t).await, before);
}

/// A bulk enrolment file of bad rows: the first 200 problems are listed, the rest counted.
async fn a_bulk_enrolment_of_many_bad_rows_lists_the_first_problems(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let year = this_year(&t).await;
    let c = t.login("town").await;
    let rows: Vec<[String; 6]> = (0..1500)
        .map(|i| {
            [
                "3703".to_string(),
                format!("{i:04}"),
                "刷卡".to_string(),
                String::new(),
                String::new(),
                String::new(),
            ]
        })
        .collect();
    let (status, body) = enrol_upload(&c, year, app::enrol_import::enrolment_xlsx(&rows)).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("另有 2800 处问题未列出（共 3000 处）"),
        "{}",
        &body[body.len().saturating_sub(3000)..]
    );
    assert!(body.len() < 100_000, "page of {} bytes", body.len());
}

on_both_backends!(
    good_file_imports_once,
    bad_rows_are_reported_and_nothing_changes,
    larger_import_completes,
    hostile_uploads_are_refused_and_the_server_keeps_serving,
    a_file_of_many_bad_rows_gives_a_bounded_report,
    hidden_characters_and_overlong_fields_are_refused_by_row,
    a_bulk_enrolment_of_many_bad_rows_lists_the_first_problems,
    a_job_started_on_one_server_is_followed_on_another,
    a_job_whose_server_stopped_shows_as_interrupted,
);
