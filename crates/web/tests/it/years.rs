//! A scheme year over HTTP: opened from a template, rules changed (a new version), households
//! enrolled by a clerk (duplicates refused, a member left out with a reason, a mistake
//! reversed), money recorded, a design run, submitted and approved by someone else, and the
//! table published for residents.

use super::common::*;
use crate::on_both_backends;
use chrono::{Datelike, Days};

/// The path's last segment as an id (`/years/7` → 7).
fn tail_id(url: &str) -> i64 {
    url.rsplit('/').next().unwrap().parse().unwrap()
}

/// The `href` of the first link whose target ends with `suffix`.
fn link_ending(page: &Page, suffix: &str) -> String {
    page.body
        .split("href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .find(|h| h.ends_with(suffix))
        .unwrap_or_else(|| panic!("no link ending {suffix} on {}", page.url))
        .to_string()
}

async fn a_town_runs_its_year(backend: Backend) {
    let t = TestApp::spawn(backend, 400).await;
    let today = t.app.today();
    let town = t.login("town").await;
    let csrf = town.csrf().await;

    // Open the year from the 沂源 template.
    assert_eq!(town.get("/years/new").await.status, 200);
    let start = today.year() + 1;
    let opened = town
        .post_form(
            "/years/new",
            &[
                ("csrf", &csrf),
                ("pool", "370323104"),
                ("template", "yiyuan-dazhangzhuang"),
                ("start_year", &start.to_string()),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let year = tail_id(&opened.url);
    assert!(opened.has(&format!("{start}年度")));
    assert!(opened.has("沂源红"));

    // A rules change that does not add up is refused with the reason and what was typed.
    let rules_page = town.get(&format!("/years/{year}/rules")).await;
    assert!(rules_page.has("第 1 版"));
    let field = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let i = rules_page.body.find(&marker).unwrap() + marker.len();
        rules_page.body[i..].split('"').next().unwrap().to_string()
    };
    let names = [
        "programme_name",
        "fee",
        "personal",
        "village",
        "town",
        "county",
        "window_start",
        "window_end",
        "village_threshold",
        "min_pool_size",
        "tiers",
        "resident_threshold",
        "employee_threshold",
        "uninsured_threshold",
        "min_subsidy",
        "per_stay_cap",
        "yearly_cap",
        "loyalty",
        "service_fee",
        "review_above",
    ];
    let mut form: Vec<(String, String)> = names.iter().map(|n| (n.to_string(), field(n))).collect();
    let set = |form: &mut Vec<(String, String)>, k: &str, v: String| {
        form.iter_mut().find(|(n, _)| n == k).unwrap().1 = v;
    };
    set(&mut form, "town", "5".into());
    form.push(("csrf".into(), csrf.clone()));
    form.push(("reason".into(), "镇财政出资".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let refused = town
        .post_form(&format!("/years/{year}/rules"), &pairs)
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.has("不等于互助费标准"), "{}", refused.body);
    assert!(
        refused.has("value=\"镇财政出资\""),
        "the form keeps what was typed"
    );

    // The payment window opened today (a real change, a second version with its reason).
    set(&mut form, "town", "0".into());
    set(
        &mut form,
        "window_start",
        (today - Days::new(3)).to_string(),
    );
    set(&mut form, "window_end", (today + Days::new(40)).to_string());
    set(&mut form, "reason", "提前开始收缴".into());
    set(&mut form, "service_fee", "2.5%".into());
    let pairs: Vec<(&str, &str)> = form.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let saved = town
        .post_form(&format!("/years/{year}/rules"), &pairs)
        .await;
    assert_eq!(saved.status, 200);
    assert!(saved.has("第 2 版") && saved.has("提前开始收缴"));
    assert!(saved.has("value=\"2.5%\""), "the service fee is kept");

    // The clerk enrols a household of the village.
    let clerk = t.login("clerk").await;
    let village = clerk
        .get(&format!("/years/{year}/villages/370323104201"))
        .await;
    assert_eq!(village.status, 200);
    let enrol_path = link_ending(&village, "/enrol");
    let form_page = clerk.get(&enrol_path).await;
    assert!(form_page.has("整户参加"));
    let ccsrf = form_page.csrf();
    let receipt = clerk
        .post_form(&enrol_path, &[("csrf", &ccsrf), ("method", "cash")])
        .await;
    assert_eq!(receipt.status, 200, "{}", receipt.body);
    assert!(receipt.url.contains("/enrolments/"));
    assert!(receipt.has("缴费收据") && receipt.has(&format!("{start}-")));
    let enrolment = tail_id(&receipt.url);

    // Twice is refused, with the receipt number of the first.
    let again = clerk
        .post_form(&enrol_path, &[("csrf", &ccsrf), ("method", "cash")])
        .await;
    assert_eq!(again.status, 409);
    assert!(again.has("不能重复参加"));

    // A member left out needs a valid reason; with one, the receipt says so.
    let village = clerk
        .get(&format!("/years/{year}/villages/370323104201"))
        .await;
    let second = link_ending(&village, "/enrol");
    let page = clerk.get(&second).await;
    let member = page
        .body
        .split("name=\"leave_")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let key = format!("leave_{member}");
    let bad = clerk
        .post_form(
            &second,
            &[("csrf", &ccsrf), ("method", "cash"), (&key, "不想参加")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.has("不参加原因无效"));
    let ok = clerk
        .post_form(
            &second,
            &[("csrf", &ccsrf), ("method", "cash"), (&key, "deceased")],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.has("不参加（已故）"));

    // A clerical mistake is reversed, never deleted; the household can then enrol again.
    let reversed = clerk
        .post_form(
            &format!("/enrolments/{enrolment}/reverse"),
            &[("csrf", &ccsrf), ("reason", "户编号录错")],
        )
        .await;
    assert_eq!(reversed.status, 200);
    assert!(reversed.has("本登记已冲正") && reversed.has("户编号录错"));
    let again = clerk
        .post_form(
            &enrol_path,
            &[
                ("csrf", &ccsrf),
                ("method", "transfer"),
                ("reference", "TX-1"),
            ],
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.has("-2</dd>"), "a new receipt number");

    // A spreadsheet with a bad row enrols nobody and lists the row.
    assert!(clerk
        .get("/enrolments/template.xlsx")
        .await
        .body
        .starts_with("PK"));
    let cell = |s: &str| s.to_string();
    let file = app::enrol_import::enrolment_xlsx(&[
        [
            cell("370323104201"),
            cell("0002"),
            cell("现金"),
            cell(""),
            cell(""),
            cell(""),
        ],
        [
            cell("370323104201"),
            cell("9999"),
            cell("现金"),
            cell(""),
            cell(""),
            cell(""),
        ],
    ]);
    let upload = reqwest::multipart::Form::new()
        .text("csrf", ccsrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(file).file_name("e.xlsx"),
        );
    let r = clerk
        .http
        .post(clerk.url(&format!("/years/{year}/enrol/import")))
        .multipart(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("没有登记任何一户") && body.contains("9999"),
        "{body}"
    );

    // Everyone else of the town enrols in bulk (the spreadsheet path, without the file).
    let system = app::Actor::system();
    let mut conn = t.app.db.acquire().await.unwrap();
    let households =
        store::roster::village_households(&mut conn, &store::Scope::all(), "370323104202", 0, 1000)
            .await
            .unwrap();
    drop(conn);
    let list: Vec<app::enrol::BulkHousehold> = households
        .iter()
        .enumerate()
        .map(|(i, h)| app::enrol::BulkHousehold {
            row: i + 2,
            village_code: "370323104202".into(),
            household_no: h.household_no.clone(),
            method: app::enrol::PaymentMethod::Online,
            payment_reference: String::new(),
            left_out: Vec::new(),
        })
        .collect();
    let outcome = t
        .app
        .enrol_bulk(&system.enroller().unwrap(), &system, year, &list)
        .await
        .unwrap();
    assert!(
        matches!(outcome, app::enrol::BulkOutcome::Enrolled { households, .. } if households == list.len())
    );

    // Money: a donation; the books balance and the chain verifies.
    let donated = town
        .post_form(
            &format!("/years/{year}/fund/receipts"),
            &[
                ("csrf", &csrf),
                ("kind", "donation"),
                ("donor", "张记农资店"),
                ("amount", "5000"),
                ("date", &today.to_string()),
            ],
        )
        .await;
    assert_eq!(donated.status, 200);
    assert!(donated.has("借贷平衡") && donated.has("张记农资店"));
    let bad_money = town
        .post_form(
            &format!("/years/{year}/fund/receipts"),
            &[
                ("csrf", &csrf),
                ("kind", "interest"),
                ("amount", "12.345"),
                ("date", &today.to_string()),
            ],
        )
        .await;
    assert_eq!(bad_money.status, 422);
    assert!(bad_money.has("应为金额"));
    for v in t.app.verify_ledgers().await.unwrap() {
        v.unwrap();
    }

    // The one-click design, submitted by the town and approved by the county.
    let run = town
        .post_form(
            &format!("/years/{year}/design"),
            &[
                ("csrf", &csrf),
                ("surplus", "5"),
                ("shortfall", "2.5"),
                ("weighting", "need"),
                ("rounding", "10"),
            ],
        )
        .await;
    assert_eq!(run.status, 200, "{}", run.body);
    assert!(run.url.contains("/designs/"));
    assert!(run.has("<svg") && run.has("可用资金"));
    let design = tail_id(&run.url);
    let searched = town
        .get(&format!("/years/{year}/designs/{design}?q=BR2"))
        .await;
    assert!(searched.has("BR2"));
    let submitted = town
        .post_form(
            &format!("/years/{year}/designs/{design}/submit"),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(submitted.has("待审批"));
    let own = town
        .post_form(
            &format!("/years/{year}/designs/{design}/decide"),
            &[("csrf", &csrf), ("decision", "approve")],
        )
        .await;
    assert_eq!(own.status, 403, "a town administrator cannot approve");
    let county = t.login("county").await;
    let kcsrf = county.csrf().await;
    let approved = county
        .post_form(
            &format!("/years/{year}/designs/{design}/decide"),
            &[("csrf", &kcsrf), ("decision", "approve")],
        )
        .await;
    assert_eq!(approved.status, 200);
    assert!(approved.url.ends_with(&format!("/years/{year}/table")));
    assert!(approved.has("第 1 版") && approved.has("住院补助标准"));

    // Reports: charts drawn by the server, every table as a workbook, the public notice with
    // personal donors masked and the ledger's chain head.
    let reports = town.get(&format!("/years/{year}/reports")).await;
    assert_eq!(reports.status, 200);
    assert!(reports.has("<svg") && reports.has("各村参保率") && reports.has("筹资情况"));
    for name in [
        "enrolment",
        "money",
        "ledger",
        "table",
        &format!("design-{design}"),
    ] {
        let x = town
            .get(&format!("/years/{year}/reports/{name}.xlsx"))
            .await;
        assert_eq!(x.status, 200, "{name}");
        assert!(x.body.starts_with("PK"), "{name} is an xlsx (zip)");
    }
    assert_eq!(
        clerk
            .get(&format!("/years/{year}/reports/money.xlsx"))
            .await
            .status,
        403,
        "a clerk does not read the books"
    );
    let notice = town.get(&format!("/years/{year}/notice")).await;
    assert!(notice.has("筹资情况公示") && notice.has("张****"));
    assert!(!notice.has("张记农资店"));
    let (_, head) = t.app.chain_head(&system, year).await.unwrap().unwrap();
    assert!(notice.has(&head));

    // Residents read it without signing in, and search it by disease name.
    let public = t
        .client()
        .get(&format!("/public/years/{year}/table?q=肺炎"))
        .await;
    assert_eq!(public.status, 200);
    // "肺炎" is in no DRG name; the grouper maps the diagnosis to its ADRG (呼吸系统感染).
    assert!(public.has("呼吸系统感染"), "{}", public.body);
    let stroke = t
        .client()
        .get(&format!("/public/years/{year}/table?q=脑梗死"))
        .await;
    assert!(
        stroke.has("BR2") || stroke.has("BB2"),
        "脑梗死 finds the stroke groups"
    );
    assert!(!stroke.has("AA19"), "and not the whole table");
    assert!(!public.has("county"), "no staff names on the public page");
}

/// Four eyes: whoever ran or submitted a design cannot approve it; a rejection needs a reason.
async fn the_county_approves_but_the_submitter_cannot(backend: Backend) {
    let t = TestApp::spawn(backend, 200).await;
    t.app.load_demo_years().await.unwrap();
    let years = t.app.years(&app::Actor::system()).await.unwrap();
    let year = years
        .iter()
        .find(|y| y.pool_code == "370323104" && y.previous_year_id.is_some())
        .unwrap()
        .id;
    // A county administrator who designs and submits cannot approve their own variant.
    let county = t.login("county").await;
    let csrf = county.csrf().await;
    let run = county
        .post_form(
            &format!("/years/{year}/design"),
            &[
                ("csrf", &csrf),
                ("surplus", "5"),
                ("shortfall", "2.5"),
                ("weighting", "ladder"),
                ("steps", "4"),
                ("rounding", "50"),
            ],
        )
        .await;
    assert_eq!(run.status, 200, "{}", run.body);
    let design = tail_id(&run.url);
    county
        .post_form(
            &format!("/years/{year}/designs/{design}/submit"),
            &[("csrf", &csrf)],
        )
        .await;
    let own = county
        .post_form(
            &format!("/years/{year}/designs/{design}/decide"),
            &[("csrf", &csrf), ("decision", "approve")],
        )
        .await;
    assert_eq!(own.status, 422);
    assert!(own.has("须由另一人审批"));
    // Rejecting needs a reason; the admin can then reject with one.
    let admin = t.login("admin").await;
    let acsrf = admin.csrf().await;
    let no_reason = admin
        .post_form(
            &format!("/years/{year}/designs/{design}/decide"),
            &[("csrf", &acsrf), ("decision", "reject")],
        )
        .await;
    assert_eq!(no_reason.status, 422);
    let rejected = admin
        .post_form(
            &format!("/years/{year}/designs/{design}/decide"),
            &[
                ("csrf", &acsrf),
                ("decision", "reject"),
                ("note", "结余率偏低"),
            ],
        )
        .await;
    assert!(rejected.has("已退回") && rejected.has("结余率偏低"));
    // Nothing was published.
    assert_eq!(
        t.client()
            .get(&format!("/public/years/{year}/table"))
            .await
            .status,
        404
    );
}

on_both_backends!(
    a_town_runs_its_year,
    the_county_approves_but_the_submitter_cannot
);
