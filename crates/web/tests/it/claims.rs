//! Claims through the web pages, on SQLite and PostgreSQL: a town admin files a claim with three
//! photos, refusals come back with the reasons and the typed values, the coder codes and sees the
//! DRG and the subsidy line by line and proposes, the coder cannot review, a stale form gets the
//! conflict message, the reviewer approves and the member page lists the claim; documents are
//! private to the area and never cached; the coder's queue shows the claim.

use super::common::*;
use crate::on_both_backends;
use app::claims::{StayInput, Upload};
use app::App;
use chrono::Days;
use domain::{DocumentRole, Fen};
use store::sqlx_reexport as sqlx;

/// A small valid PNG (a gradient; `seed` makes each file different).
pub fn png(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(40, 30, |x, y| {
        image::Rgb([seed, (x * 6) as u8, (y * 8) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// An enrolled member (resident insurance) of the town whose code starts `town`, covered by a
/// year on the day 20 days ago, and a hospital of the demo county's register.
pub async fn enrolled_member(app: &App, town: &str) -> (i64, i64) {
    let admission = app.today() - Days::new(20);
    let mut conn = app.db.acquire().await.unwrap();
    let (member,): (i64,) = sqlx::query_as(
        "SELECT m.id FROM members m JOIN enrolment_members e ON e.member_id = m.id \
         JOIN scheme_years y ON y.id = e.year_id WHERE e.active = 1 AND e.included = 1 \
         AND e.insurance = 'resident' AND m.village_code LIKE $1 AND m.village_code NOT LIKE $2 \
         AND y.period_start <= $3 AND y.period_end >= $3 ORDER BY m.id LIMIT 1",
    )
    .bind(format!("{town}%"))
    .bind(format!("{town}204%"))
    .bind(admission.to_string())
    .fetch_one(&mut *conn)
    .await
    .expect("an enrolled member");
    let county = domain::RegionCode::parse(&town[..6]).unwrap();
    let hospital = store::hospitals::list(&mut conn, &store::Scope::all(), &county)
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.active)
        .expect("the demo county's register")
        .id
        .get();
    (member, hospital)
}

/// The scheme year that covers the member's stay 20 days ago.
async fn year_of(app: &App, member: i64) -> i64 {
    let admission = app.today() - Days::new(20);
    let mut conn = app.db.acquire().await.unwrap();
    sqlx::query_scalar(
        "SELECT y.id FROM scheme_years y JOIN enrolment_members e ON e.year_id = y.id \
         WHERE e.member_id = $1 AND y.period_start <= $2 AND y.period_end >= $2",
    )
    .bind(member)
    .bind(admission.to_string())
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

/// A claim filed by the system in the town whose code starts `town`: (claim id, document id).
pub async fn claim_in(app: &App, town: &str) -> (i64, i64) {
    let (member, hospital) = enrolled_member(app, town).await;
    let system = app::Actor::system();
    let today = app.today();
    let id = app
        .file_claim(
            &system.claim_intake().unwrap(),
            &system,
            member,
            StayInput {
                hospital_id: hospital,
                admission: today - Days::new(20),
                discharge: today - Days::new(10),
                insurance: None,
                total: Fen::from_yuan(20_000),
                basic: Fen::from_yuan(12_000),
                serious: Fen::ZERO,
                assistance: Fen::ZERO,
                settlement_no: format!("JS-{town}"),
            },
            DocumentRole::REQUIRED
                .into_iter()
                .enumerate()
                .map(|(i, role)| Upload {
                    role,
                    bytes: png(town.len() as u8 * 7 + i as u8 + town.as_bytes()[8]),
                })
                .collect(),
        )
        .await
        .expect("filed");
    let view = app.claim(&system, id).await.unwrap();
    (id.0, view.documents[0].id)
}

/// Publishes a subsidy table for the year and returns a diagnosis whose DRG has an amount in it
/// (for either sex, adults, a ten-day stay).
async fn publish_table(app: &App, year_id: i64) -> String {
    let system = app::Actor::system();
    let mgr = system.scheme_manager().unwrap();
    let design = app
        .run_design(&mgr, &system, year_id, app::design::DesignParams::default())
        .await
        .unwrap();
    app.submit_design(&mgr, &system, year_id, design)
        .await
        .unwrap();
    let approver = app::Actor {
        user_id: None,
        username: "county".into(),
        display_name: "county".into(),
        role: domain::Role::CountyAdmin,
        region: Some(domain::RegionCode::parse("370323").unwrap()),
        ip: "127.0.0.1".into(),
    };
    app.decide_design(
        &approver.design_approver().unwrap(),
        &approver,
        year_id,
        design,
        true,
        "",
    )
    .await
    .unwrap();
    let (_, lines) = app
        .published_table(&system, year_id, "")
        .await
        .unwrap()
        .expect("published");
    let amounts: std::collections::HashMap<String, i64> =
        lines.into_iter().map(|l| (l.drg, l.amount_fen)).collect();
    let g = drg::Grouper::load(&drg::Version::chs_drg_2_0()).unwrap();
    for term in ["肺炎", "脑梗死", "胆囊", "心绞痛", "支气管", "高血压"] {
        for hit in g.search(term, 200) {
            let drg::SearchHit::Diagnosis { code, .. } = hit else {
                continue;
            };
            let ok = [1u8, 2].iter().all(|&sex| {
                [8u32, 30, 50, 80].iter().all(|&age| {
                    let o = g.group_fast(&drg::Stay {
                        sex: Some(sex),
                        age_years: Some(age),
                        los_days: Some(10),
                        discharge_mode: Some(1),
                        principal_dx: code.clone(),
                        ..Default::default()
                    });
                    o.status == drg::Status::Grouped
                        && amounts.get(g.drg_code(&o).as_ref()).is_some_and(|a| *a > 0)
                })
            });
            if ok {
                return code;
            }
        }
    }
    panic!("no common diagnosis groups into the published table");
}

/// The application form's fields as a multipart body, with the documents named in `files`.
fn application(
    csrf: &str,
    hospital: i64,
    today: chrono::NaiveDate,
    total: &str,
    basic: &str,
    settlement_no: &str,
    files: &[&str],
) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("hospital", hospital.to_string())
        .text("admission", (today - Days::new(20)).to_string())
        .text("discharge", (today - Days::new(10)).to_string())
        .text("insurance", "")
        .text("total", total.to_string())
        .text("basic", basic.to_string())
        .text("serious", "")
        .text("assistance", "")
        .text("settlement_no", settlement_no.to_string());
    for (i, name) in files.iter().enumerate() {
        let part = reqwest::multipart::Part::bytes(png(i as u8 * 40 + 3))
            .file_name(format!("{name}.png"))
            .mime_str("image/png")
            .unwrap();
        form = form.part(name.to_string(), part);
    }
    form
}

const ALL_THREE: [&str; 3] = ["discharge_record", "cost_list", "settlement"];

async fn post_multipart(c: &Client, path: &str, form: reqwest::multipart::Form) -> Page {
    let r = c
        .http
        .post(c.url(path))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let url = r.url().to_string();
    Page {
        status,
        body: r.text().await.unwrap(),
        url,
    }
}

/// The revision a claim page's forms carry.
fn revision(p: &Page) -> String {
    let key = "name=\"revision\" value=\"";
    let i = p
        .body
        .find(key)
        .unwrap_or_else(|| panic!("no revision on {}", p.url))
        + key.len();
    p.body[i..].split('"').next().unwrap().to_string()
}

async fn file_code_propose_approve(backend: Backend) {
    let w = TownYear::spawn(backend, 400).await;
    let app = &w.t.app;
    let (member, hospital) = enrolled_member(app, "370323104").await;
    let year_id = year_of(app, member).await;
    let dx = publish_table(app, year_id).await;
    let today = app.today();

    // Filed with three photos: to the claim page, 待编码, the application number.
    let form = application(
        &w.csrf, hospital, today, "20,000", "12000", "JS-WEB-1", &ALL_THREE,
    );
    let p = post_multipart(&w.town, &format!("/members/{member}/claims"), form).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.url.contains("/claims/") && p.url.contains("notice=filed"),
        "{}",
        p.url
    );
    let id: i64 = p
        .url
        .split("/claims/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let view = app
        .claim(&app::Actor::system(), domain::ClaimId(id))
        .await
        .unwrap();
    assert!(p.has("待编码"));
    assert!(p.has(&view.claim.application_no), "the application number");
    assert!(p.has("申请编号") && p.has("短信"));
    assert!(p.has("8,000.00"), "out of pocket");
    assert_eq!(view.documents.len(), 3);

    // Documents: the area's staff see them, never cached; another town does not find them.
    let doc = view.documents[0].id;
    for path in [
        format!("/claims/{id}/documents/{doc}"),
        format!("/claims/{id}/documents/{doc}?thumb=1"),
    ] {
        let r = w.town.http.get(w.town.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert_eq!(h["cache-control"], "no-store");
        assert!(h["content-type"].to_str().unwrap().starts_with("image/"));
        assert_eq!(h["content-disposition"], "inline");
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    let town2 = w.t.login("town2").await;
    assert_eq!(
        town2
            .get(&format!("/claims/{id}/documents/{doc}"))
            .await
            .status,
        404
    );
    assert_eq!(town2.get(&format!("/claims/{id}")).await.status, 404);

    // The coder's queue shows it; the coder codes and sees the DRG and the subsidy lines.
    let coder = w.t.login("coder").await;
    let queue = coder.get("/claims").await;
    assert!(queue.has("待编码队列"), "{}", queue.body);
    assert!(queue.has(&format!("/claims/{id}\"")));
    assert!(queue.has("剩余"));
    // Not overdue: the deadline filter leaves it out.
    assert!(!coder
        .get("/claims?due=overdue")
        .await
        .has(&format!("/claims/{id}\"")));
    let js = coder
        .http
        .get(coder.url("/assets/claims.js"))
        .send()
        .await
        .unwrap();
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let page = coder.get(&format!("/claims/{id}")).await;
    assert!(page.has("保存编码并计算"));
    assert!(
        !page.has(&format!("action=\"/claims/{id}/review\"")),
        "no review form for a coder"
    );
    let csrf = page.csrf();
    let rev = revision(&page);
    let p = coder
        .post_form(
            &format!("/claims/{id}/coding"),
            &[
                ("csrf", &csrf),
                ("revision", &rev),
                ("principal", &dx),
                ("secondary", ""),
                ("procedures", ""),
                ("mode", "1"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let view = app
        .claim(&app::Actor::system(), domain::ClaimId(id))
        .await
        .unwrap();
    assert!(view.evaluation.grouped, "{}", view.evaluation.group_reason);
    assert!(p.has(&view.evaluation.drg_code), "DRG code on the page");
    assert!(p.has("补助金额") && p.has(&view.evaluation.amount().to_string()));
    assert!(p.has("计算过程"));

    // A code the dictionary does not know: refused with the reason, the typed value kept.
    let rev = revision(&p);
    let bad = coder
        .post_form(
            &format!("/claims/{id}/coding"),
            &[
                ("csrf", &csrf),
                ("revision", &rev),
                ("principal", "Z99.999X"),
                ("mode", "1"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.has("不在 ICD-10 医保版字典中") && bad.has("Z99.999X"));

    // The code search answers by name.
    let found = coder
        .get(&format!("/claims/{id}/codes?q=%E8%82%BA%E7%82%8E"))
        .await;
    assert_eq!(found.status, 200);
    assert!(found.has("诊断"), "{}", found.body);

    // A stale revision gets the conflict message; the current one proposes.
    let stale = (rev.parse::<i64>().unwrap() - 1).to_string();
    let p = coder
        .post_form(
            &format!("/claims/{id}/propose"),
            &[
                ("csrf", &csrf),
                ("revision", &stale),
                ("proposal", "subsidy"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 409);
    assert!(p.has("该申请已被他人修改或处理，请刷新页面后重试"));
    let p = coder
        .post_form(
            &format!("/claims/{id}/propose"),
            &[
                ("csrf", &csrf),
                ("revision", &rev),
                ("proposal", "subsidy"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("待审核"));

    // The coder cannot review.
    let rev = revision(&w.town.get(&format!("/claims/{id}")).await);
    let p = coder
        .post_form(
            &format!("/claims/{id}/review"),
            &[("csrf", &csrf), ("revision", &rev), ("decision", "approve")],
        )
        .await;
    assert_eq!(p.status, 403);

    // The reviewer: refusing needs a reason; approving decides.
    let reviewer = w.t.login("reviewer").await;
    let queue = reviewer.get("/claims").await;
    assert!(queue.has("待审核队列") && queue.has(&format!("/claims/{id}\"")));
    let page = reviewer.get(&format!("/claims/{id}")).await;
    assert!(page.has(&format!("action=\"/claims/{id}/review\"")));
    let rcsrf = page.csrf();
    let p = reviewer
        .post_form(
            &format!("/claims/{id}/review"),
            &[
                ("csrf", &rcsrf),
                ("revision", &rev),
                ("decision", "refuse"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(p.has("请填写不予补助的原因"));
    let p = reviewer
        .post_form(
            &format!("/claims/{id}/review"),
            &[
                ("csrf", &rcsrf),
                ("revision", &rev),
                ("decision", "approve"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("已核准"));
    assert!(p.has("重新打开"), "a reviewer may re-open a decided claim");

    // Re-opening needs a reason and goes back to the coder, recorded in the history.
    let page = reviewer.get(&format!("/claims/{id}")).await;
    let rev = revision(&page);
    let p = reviewer
        .post_form(
            &format!("/claims/{id}/reopen"),
            &[("csrf", &rcsrf), ("revision", &rev), ("reason", "")],
        )
        .await;
    assert_eq!(p.status, 422);
    let p = reviewer
        .post_form(
            &format!("/claims/{id}/reopen"),
            &[
                ("csrf", &rcsrf),
                ("revision", &rev),
                ("reason", "结算单金额更正"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("待编码") && p.has("结算单金额更正"));

    // Intake staff add a page while the claim is open (补交材料).
    let page = w.town.get(&format!("/claims/{id}")).await;
    assert!(page.has(&format!("action=\"/claims/{id}/documents\"")));
    let form = reqwest::multipart::Form::new()
        .text("csrf", w.csrf.clone())
        .text("revision", revision(&page))
        .part(
            "other",
            reqwest::multipart::Part::bytes(png(99))
                .file_name("p.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let p = post_multipart(&w.town, &format!("/claims/{id}/documents"), form).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has("材料已补交") && p.has("其他材料"));
    // Back with the coder; approve once more for the member page below.
    let page = coder.get(&format!("/claims/{id}")).await;
    let rev = revision(&page);
    let p = coder
        .post_form(
            &format!("/claims/{id}/propose"),
            &[
                ("csrf", &csrf),
                ("revision", &rev),
                ("proposal", "subsidy"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let rev = revision(&reviewer.get(&format!("/claims/{id}")).await);
    let p = reviewer
        .post_form(
            &format!("/claims/{id}/review"),
            &[
                ("csrf", &rcsrf),
                ("revision", &rev),
                ("decision", "approve"),
                ("reason", ""),
            ],
        )
        .await;
    assert!(p.has("已核准"), "{}", p.body);

    // The member page lists the claim.
    let m = w.town.get(&format!("/members/{member}")).await;
    assert!(m.has(&view.claim.application_no) && m.has("已核准"));
    assert!(m.has(&format!("/members/{member}/claims/new")));
    // The list and its export.
    let list = w.town.get("/claims?status=approved").await;
    assert!(list.has(&format!("/claims/{id}\"")));
    let village = view.claim.village_code.clone();
    let list = w.town.get(&format!("/claims?village={village}")).await;
    assert!(
        list.has(&format!("<option value=\"{village}\" selected>")),
        "{}",
        list.body
    );
    assert!(list.has(&format!("/claims/{id}\"")));
    let other_village = w.town.get("/claims?village=370323104299").await;
    assert!(!other_village.has(&format!("/claims/{id}\"")));
    let r = w
        .town
        .http
        .get(w.town.url("/claims/export.xlsx?status=approved"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
}

async fn refusals_keep_what_was_typed(backend: Backend) {
    let w = TownYear::spawn(backend, 400).await;
    let app = &w.t.app;
    let (member, hospital) = enrolled_member(app, "370323104").await;
    let today = app.today();
    let path = format!("/members/{member}/claims");

    let form_page = w.town.get(&format!("/members/{member}/claims/new")).await;
    assert_eq!(form_page.status, 200);
    assert!(form_page.has("accept=\"image/*,application/pdf\"") && !form_page.has("capture"));

    // A document missing.
    let form = application(
        &w.csrf,
        hospital,
        today,
        "20000",
        "12000",
        "JS-KEEP-1",
        &ALL_THREE[..2],
    );
    let p = post_multipart(&w.town, &path, form).await;
    assert_eq!(p.status, 422);
    assert!(p.has("缺少医保结算单"), "{}", p.body);
    assert!(p.has("value=\"JS-KEEP-1\"") && p.has("value=\"20000\""));
    assert!(p.has("重新选择"));

    // Below the threshold (out of pocket 100 yuan).
    let form = application(
        &w.csrf,
        hospital,
        today,
        "1000",
        "900",
        "JS-KEEP-2",
        &ALL_THREE,
    );
    let p = post_multipart(&w.town, &path, form).await;
    assert_eq!(p.status, 422);
    assert!(
        p.has("未达到起付线") && p.has("value=\"JS-KEEP-2\""),
        "{}",
        p.body
    );

    // A money field that is not money.
    let form = application(
        &w.csrf,
        hospital,
        today,
        "两万",
        "0",
        "JS-KEEP-3",
        &ALL_THREE,
    );
    let p = post_multipart(&w.town, &path, form).await;
    assert_eq!(p.status, 422);
    assert!(p.has("住院总费用") && p.has("value=\"两万\""));

    // A member not enrolled this year.
    let year_id = year_of(app, member).await;
    let mut conn = app.db.acquire().await.unwrap();
    let unenrolled: Option<(i64,)> = sqlx::query_as(
        "SELECT m.id FROM members m WHERE m.village_code LIKE '370323104%' AND NOT EXISTS \
         (SELECT 1 FROM enrolment_members e WHERE e.member_id = m.id AND e.year_id = $1 \
         AND e.active = 1) ORDER BY m.id LIMIT 1",
    )
    .bind(year_id)
    .fetch_optional(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let (other,) = unenrolled.expect("the demo leaves some members unenrolled");
    let form = application(
        &w.csrf,
        hospital,
        today,
        "20000",
        "12000",
        "JS-KEEP-4",
        &ALL_THREE,
    );
    let p = post_multipart(&w.town, &format!("/members/{other}/claims"), form).await;
    assert_eq!(p.status, 422);
    assert!(
        p.has("不能申请补助") && p.has("value=\"JS-KEEP-4\""),
        "{}",
        p.body
    );

    // Nothing was filed; the coder cannot open the form.
    let coder = w.t.login("coder").await;
    assert_eq!(
        coder
            .get(&format!("/members/{member}/claims/new"))
            .await
            .status,
        403
    );
    let mut conn = app.db.acquire().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM claims")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

on_both_backends!(file_code_propose_approve, refusals_keep_what_was_typed);
