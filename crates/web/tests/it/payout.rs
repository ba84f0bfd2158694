//! The payout's staff pages through the real server: a town officer creates a batch, the
//! preparer cannot approve it (four eyes) nor anyone during the notice, a reviewer decides an
//! objection, a second officer approves after the notice, the bank files download (audited,
//! CSV and xlsx), the bank's result file marks lines paid and failed, a line is marked by hand;
//! a clerk records a bank card (a bad check digit is refused next to the form, nothing
//! written). Also the fixture of the area walk (`payout_in`).

use super::common::*;
use crate::on_both_backends;
use app::payout::{CardInput, LineOutcome, ObjectionInput};
use app::{Actor, App, Clock};
use domain::{
    BatchId, BatchStatus, CardStatus, ClaimId, ClaimStatus, LineState, ObjectionStatus, Role,
};
use store::sqlx_reexport as sqlx;

/// The payout entities of one town, for the area walk.
pub struct PayoutIds {
    pub batch: i64,
    pub line: i64,
    pub objection: i64,
    pub card: i64,
    pub card_member: i64,
    pub recovery: i64,
}

fn actor(username: &str, role: Role, region: &str) -> Actor {
    Actor {
        user_id: None,
        username: username.into(),
        display_name: username.into(),
        role,
        region: Some(domain::RegionCode::parse(region).unwrap()),
        ip: "127.0.0.1".into(),
    }
}

/// A card number with a valid Luhn check digit: `622848` + 12 digits from `n` + check.
pub fn card_number(n: u64) -> String {
    payout::card::with_check_digit(&format!("622848{n:012}"))
}

/// The year of the town's approved demo claims, with a card recorded for each of their
/// members (as the system).
async fn cards_for_approved(app: &App, town: &str) -> (i64, Vec<(ClaimId, i64)>) {
    let mut conn = app.db.acquire().await.unwrap();
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, member_id, year_id FROM claims WHERE pool_code = $1 AND status = 'approved' \
         ORDER BY id",
    )
    .bind(town)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert!(!rows.is_empty(), "approved demo claims in {town}");
    let system = Actor::system();
    let keeper = system.card_keeper().unwrap();
    for (_, member, _) in &rows {
        let input = CardInput {
            bank_name: "沂源农商银行".into(),
            card_number: card_number(*member as u64),
            ..Default::default()
        };
        app.record_card(&keeper, &system, *member, &input)
            .await
            .unwrap();
    }
    let year = rows[0].2;
    (
        year,
        rows.into_iter()
            .filter(|r| r.2 == year)
            .map(|(c, m, _)| (ClaimId(c), m))
            .collect(),
    )
}

/// The same app with its clock moved past a batch's notice.
fn after_notice(app: &App, notice_end: chrono::NaiveDate) -> App {
    let days = (notice_end - app.today()).num_days() + 1;
    let at = app.now() + chrono::Duration::days(days);
    app.clone().with_clock(Clock::fixed(at))
}

/// A batch of the town's approved claims made through the use cases: an objection dismissed,
/// approved by a second officer after the notice, its first line paid and then recovered.
pub async fn payout_in(app: &App, town: &str) -> PayoutIds {
    let (year, _) = cards_for_approved(app, town).await;
    let preparer = actor(&format!("prep{town}"), Role::TownAdmin, town);
    let approver = actor(&format!("appr{town}"), Role::TownAdmin, town);
    let reviewer = actor("reviewer", Role::Reviewer, "370323");
    let id = app
        .create_batch(
            &preparer.payout_officer().unwrap(),
            &preparer,
            year,
            app.today(),
        )
        .await
        .unwrap();
    let v = app.batch(&Actor::system(), id).await.unwrap();
    let line = v.lines[0].clone();
    let objection = app
        .object(
            &v.batch.batch_no,
            &ObjectionInput {
                line_id: line.id,
                phone: "13800138000".into(),
                text: "此人当时并未住院".into(),
                client_ip: "10.0.0.9".into(),
            },
        )
        .await
        .unwrap();
    let r = reviewer.claim_reviewer().unwrap();
    app.decide_objection(&r, &reviewer, objection, false, "经核实住院属实")
        .await
        .unwrap();
    let later = after_notice(app, v.batch.notice_end);
    let officer = approver.payout_officer().unwrap();
    later
        .approve_batch(&officer, &approver, id, v.batch.revision)
        .await
        .unwrap();
    later
        .record_results(&officer, &approver, id, &[(line.id, LineOutcome::Paid)])
        .await
        .unwrap();
    let recovery = later
        .recover_claim(
            &r,
            &reviewer,
            line.claim_id,
            "伪造住院费用清单",
            "医院核查函",
        )
        .await
        .unwrap();
    PayoutIds {
        batch: id.0,
        line: line.id.0,
        objection: objection.0,
        card: line.card_id.0,
        card_member: line.member_id,
        recovery: recovery.0,
    }
}

async fn audited(app: &App, action: &str, subject: &str) -> i64 {
    let mut conn = app.db.acquire().await.unwrap();
    sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action = $1 AND subject = $2",
    )
    .bind(action)
    .bind(subject)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

fn field<'a>(body: &'a str, name: &str) -> &'a str {
    let key = format!("name=\"{name}\" value=\"");
    let i = body.find(&key).unwrap_or_else(|| panic!("no {name} field")) + key.len();
    body[i..].split('"').next().unwrap()
}

async fn post_file(c: &Client, path: &str, csrf: &str, name: &str, bytes: Vec<u8>) -> Page {
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
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

const TOWN: &str = "370323104";

/// The month through the pages: create, four eyes, notice, objection, approval, files, results.
async fn batch_from_preview_to_results(backend: Backend) {
    let t = TestApp::spawn(backend, 400).await;
    t.app.load_demo_years().await.unwrap();
    t.app.load_demo_claims(20).await.unwrap();
    let (year, approved) = cards_for_approved(&t.app, TOWN).await;
    let town = t.login("town").await;

    // The list offers a new batch for the town's open year; the preview counts the claims.
    let list = town.get("/payout").await;
    assert_eq!(list.status, 200);
    assert!(
        list.has(&format!("/years/{year}/payout/new")),
        "{}",
        list.body
    );
    let today = t.app.today().to_string();
    let preview = town
        .get(&format!("/years/{year}/payout/new?cutoff={today}"))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(
        preview.has(&format!("{} 笔", approved.len())),
        "{}",
        preview.body
    );
    let bad = town
        .get(&format!("/years/{year}/payout/new?cutoff=tomorrow"))
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.has("应为日期"));

    // Created: on notice, the claims in the batch.
    let csrf = preview.csrf();
    let created = town
        .post_form(
            &format!("/years/{year}/payout/new"),
            &[("csrf", &csrf), ("cutoff", &today)],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.url.contains("/payout/batches/"), "{}", created.url);
    assert!(created.has("公示中") && created.has("批次已生成"));
    let id: i64 = created
        .url
        .split("/payout/batches/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let id = BatchId(id);
    let view = t.app.batch(&Actor::system(), id).await.unwrap();
    assert_eq!(view.count, approved.len());
    let batch_path = format!("/payout/batches/{id}");
    let revision = field(&created.body, "revision").to_string();

    // Four eyes: the preparer cannot approve; nobody can during the notice.
    let own = town
        .post_form(
            &format!("{batch_path}/approve"),
            &[("csrf", &csrf), ("revision", &revision)],
        )
        .await;
    assert_eq!(own.status, 409);
    assert!(own.has("双人复核"), "{}", own.body);
    let county = t.login("county").await;
    let county_csrf = county.csrf().await;
    let early = county
        .post_form(
            &format!("{batch_path}/approve"),
            &[("csrf", &county_csrf), ("revision", &revision)],
        )
        .await;
    assert_eq!(early.status, 409);
    assert!(early.has("起方可审批发放"), "{}", early.body);
    // No file before approval.
    let nofile = town.get(&format!("{batch_path}/file/generic.csv")).await;
    assert_eq!(nofile.status, 409);

    // An objection to the first line; the reviewer decides it (a 处理意见 is required).
    let first = view.lines[0].clone();
    let objection = t
        .app
        .object(
            &view.batch.batch_no,
            &ObjectionInput {
                line_id: first.id,
                phone: "13800138000".into(),
                text: "此人当时并未住院".into(),
                client_ip: "10.0.0.9".into(),
            },
        )
        .await
        .unwrap();
    let reviewer = t.login("reviewer").await;
    let queue = reviewer.get("/payout/objections").await;
    assert_eq!(queue.status, 200);
    assert!(queue.has("此人当时并未住院") && queue.has("待处理"));
    assert_eq!(town.get("/payout/objections").await.status, 403);
    let decide = format!("{batch_path}/objections/{objection}/decide");
    let rcsrf = queue.csrf();
    let missing = reviewer
        .post_form(&decide, &[("csrf", &rcsrf), ("decision", "dismissed")])
        .await;
    assert_eq!(missing.status, 422);
    assert!(missing.has("请填写处理意见"));
    let decided = reviewer
        .post_form(
            &decide,
            &[
                ("csrf", &rcsrf),
                ("decision", "dismissed"),
                ("note", "经核实住院属实"),
            ],
        )
        .await;
    assert_eq!(decided.status, 200, "{}", decided.body);
    assert!(decided.has("异议已处理"));
    let o = t
        .app
        .batch(&Actor::system(), id)
        .await
        .unwrap()
        .objections
        .into_iter()
        .find(|o| o.id == objection)
        .unwrap();
    assert_eq!(o.status, ObjectionStatus::Dismissed);

    // After the notice (a server on the same database with a later clock), a second officer
    // approves.
    let later = TestApp::serve(after_notice(&t.app, view.batch.notice_end)).await;
    let county_later = later.login("county").await;
    let page = county_later.get(&batch_path).await;
    assert!(page.has("审批发放"));
    let approved_page = county_later
        .post_form(
            &format!("{batch_path}/approve"),
            &[
                ("csrf", &page.csrf()),
                ("revision", field(&page.body, "revision")),
            ],
        )
        .await;
    assert_eq!(approved_page.status, 200, "{}", approved_page.body);
    assert!(approved_page.has("批次已审批"));
    let view = t.app.batch(&Actor::system(), id).await.unwrap();
    assert_eq!(view.batch.status, BatchStatus::Approved);
    assert_eq!(view.batch.approved_by.as_deref(), Some("county"));

    // The bank files: audited, CSV and xlsx with their types; unknown names are not found.
    let subject = format!("batch:{id}");
    let before = audited(&t.app, "payout.file_download", &subject).await;
    let csv = town
        .http
        .get(town.url(&format!("{batch_path}/file/generic.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert!(!csv.bytes().await.unwrap().is_empty());
    let xlsx = town
        .http
        .get(town.url(&format!("{batch_path}/file/rural_credit.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    assert_eq!(
        xlsx.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    assert_eq!(
        audited(&t.app, "payout.file_download", &subject).await,
        before + 2
    );
    assert_eq!(
        town.get(&format!("{batch_path}/file/generic.pdf"))
            .await
            .status,
        404
    );
    assert_eq!(
        town.get(&format!("{batch_path}/file/nobank.csv"))
            .await
            .status,
        404
    );
    // A reviewer sees the batch but downloads nothing.
    assert_eq!(
        reviewer
            .get(&format!("{batch_path}/file/generic.csv"))
            .await
            .status,
        403
    );

    // The bank's results: the first line paid, the second failed; the rest marked by hand.
    let page = town.get(&batch_path).await;
    let csrf = page.csrf();
    let garbage = post_file(
        &town,
        &format!("{batch_path}/results"),
        &csrf,
        "r.csv",
        b"a,b\n1,2\n".to_vec(),
    )
    .await;
    assert_eq!(garbage.status, 422, "{}", garbage.body);
    let file = "序号,状态,失败原因\n1,成功,\n2,失败,账户已销户\n";
    let done = post_file(
        &town,
        &format!("{batch_path}/results"),
        &csrf,
        "回盘.csv",
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.has("成功 1 笔，失败 1 笔"), "{}", done.body);
    let view = t.app.batch(&Actor::system(), id).await.unwrap();
    let state = |seq: i64| view.lines.iter().find(|l| l.seq == seq).unwrap().state;
    assert_eq!(state(1), LineState::Paid);
    assert_eq!(state(2), LineState::Failed);
    let claim_of = |seq: i64| view.lines.iter().find(|l| l.seq == seq).unwrap().claim_id;
    let system = Actor::system();
    assert_eq!(
        t.app
            .claim(&system, claim_of(1))
            .await
            .unwrap()
            .claim
            .status,
        ClaimStatus::Paid
    );
    assert_eq!(
        t.app
            .claim(&system, claim_of(2))
            .await
            .unwrap()
            .claim
            .status,
        ClaimStatus::Approved
    );
    for l in view.lines.iter().filter(|l| l.state == LineState::Pending) {
        let path = format!("{batch_path}/lines/{}/result", l.id);
        let no_reason = town
            .post_form(&path, &[("csrf", &csrf), ("outcome", "failed")])
            .await;
        assert_eq!(no_reason.status, 422);
        assert!(no_reason.has("请填写银行退回的原因"));
        let marked = town
            .post_form(&path, &[("csrf", &csrf), ("outcome", "paid")])
            .await;
        assert_eq!(marked.status, 200, "{}", marked.body);
    }
    let view = t.app.batch(&Actor::system(), id).await.unwrap();
    assert_eq!(view.batch.status, BatchStatus::Closed);

    // A paid member's new card waits for a reviewer (not its clerk), who confirms it.
    let paid_member = view.lines.iter().find(|l| l.seq == 1).unwrap().member_id;
    let new_card = card_number(900_000 + paid_member as u64);
    let pending = town
        .post_form(
            &format!("/members/{paid_member}/cards"),
            &[
                ("csrf", &csrf),
                ("bank_name", "沂源农商银行"),
                ("card_number", &new_card),
            ],
        )
        .await;
    assert_eq!(pending.status, 200, "{}", pending.body);
    assert!(pending.has("须由审核员确认后生效"), "{}", pending.body);
    let card = t
        .app
        .member_cards(&system, paid_member)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.status == CardStatus::Pending)
        .expect("a pending card");
    let queue = reviewer.get("/payout/cards").await;
    assert!(queue.has(&card.masked), "{}", queue.body);
    let confirmed = reviewer
        .post_form(
            &format!("/members/{paid_member}/cards/{}/decide", card.id),
            &[("csrf", &queue.csrf()), ("decision", "confirm")],
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert!(confirmed.has("银行卡变更已处理"));
    let now_active = t.app.member_cards(&system, paid_member).await.unwrap();
    assert!(now_active
        .iter()
        .any(|c| c.id == card.id && c.status == CardStatus::Active));

    // The paid claim's page offers the reviewer recovery; the recovery has its announcement.
    let claim_page = reviewer.get(&format!("/claims/{}", claim_of(1))).await;
    assert!(claim_page.has("认定违规，追回补助"));
    let recovered = reviewer
        .post_form(
            &format!("/claims/{}/recover", claim_of(1)),
            &[
                ("csrf", &claim_page.csrf()),
                ("reason", "伪造住院费用清单"),
                ("evidence", "医院出具的核查函"),
            ],
        )
        .await;
    assert_eq!(recovered.status, 200, "{}", recovered.body);
    assert!(recovered.url.contains("/payout/recoveries/"));
    let rec_path = recovered.url.split('?').next().unwrap().to_string();
    let rec_path = &rec_path[rec_path.find("/payout/").unwrap()..];
    let announcement = reviewer.get(&format!("{rec_path}/announcement")).await;
    assert_eq!(announcement.status, 200);
    assert!(announcement.has("追回通报") && announcement.has("伪造住院费用清单"));
    assert!(announcement.has("/payout/print.css"));
    let css = reviewer.get("/payout/print.css").await;
    assert!(css.has("size: A4"));
    let rpage = town.get(rec_path).await;
    let too_much = town
        .post_form(
            &format!("{rec_path}/receipts"),
            &[
                ("csrf", &rpage.csrf()),
                ("amount", "99999999"),
                ("received_on", &today),
            ],
        )
        .await;
    assert_eq!(too_much.status, 422);
    assert!(too_much.has("超过尚未追回"));
}

/// A clerk records a member's bank card on the member page: a number failing the check digit
/// is refused next to the form with nothing written; a good one is shown masked.
async fn clerk_records_a_card(backend: Backend) {
    let t = TestApp::spawn(backend, 200).await;
    let clerk = t.login("clerk").await;
    let home = clerk.get("/").await;
    let village = home.url.rsplit('/').next().unwrap().to_string();
    let mut conn = t.app.db.acquire().await.unwrap();
    let all = store::Scope::all();
    let hh = store::roster::village_households(&mut conn, &all, &village, 0, 1)
        .await
        .unwrap();
    let member = store::roster::household_members(&mut conn, &all, hh[0].id)
        .await
        .unwrap()[0]
        .id;
    drop(conn);
    let page = clerk.get(&format!("/members/{member}")).await;
    assert_eq!(page.status, 200);
    assert!(page.has("银行卡") && page.has("登记银行卡"));
    let csrf = page.csrf();
    let good = card_number(member as u64);
    let mut bad = good.clone();
    let last = bad.pop().unwrap().to_digit(10).unwrap();
    bad.push(char::from_digit((last + 1) % 10, 10).unwrap());
    let path = format!("/members/{member}/cards");
    let refused = clerk
        .post_form(
            &path,
            &[
                ("csrf", &csrf),
                ("bank_name", "沂源农商银行"),
                ("card_number", &bad),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.has("银行卡号："), "{}", refused.body);
    assert!(refused.has("value=\"沂源农商银行\""));
    let system = Actor::system();
    assert!(t
        .app
        .member_cards(&system, member)
        .await
        .unwrap()
        .is_empty());
    let recorded = clerk
        .post_form(
            &path,
            &[
                ("csrf", &csrf),
                ("bank_name", "沂源农商银行"),
                ("card_number", &good),
            ],
        )
        .await;
    assert_eq!(recorded.status, 200, "{}", recorded.body);
    assert!(recorded.has("银行卡已登记并生效"));
    assert!(recorded.has(&good[good.len() - 4..]));
    assert!(!recorded.has(&good));
    let cards = t.app.member_cards(&system, member).await.unwrap();
    assert_eq!(cards.len(), 1);
    // Someone else's household member as holder without a reason is refused.
    let holder = clerk
        .post_form(
            &path,
            &[
                ("csrf", &csrf),
                ("bank_name", "沂源农商银行"),
                ("card_number", &good),
                ("holder", "999999"),
                ("reason", "minor"),
            ],
        )
        .await;
    assert_eq!(holder.status, 422);
    // The reviewers' card queue is theirs.
    assert_eq!(clerk.get("/payout/cards").await.status, 403);
    let reviewer = t.login("reviewer").await;
    assert_eq!(reviewer.get("/payout/cards").await.status, 200);
}

on_both_backends!(batch_from_preview_to_results, clerk_records_a_card);
