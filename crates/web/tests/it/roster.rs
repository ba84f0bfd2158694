use super::common::*;
use crate::on_both_backends;

/// What a town admin does on a normal day: sees the villages with their counts, opens a
/// village, a household, a member, and finds people by name, ID number and phone.
async fn town_admin_browses_and_finds(backend: Backend) {
    let t = TestApp::spawn(backend, 600).await;
    let c = t.login("town").await;

    let home = c.get("/").await;
    assert!(home.url.ends_with("/regions/370323104"), "{}", home.url);
    assert!(home.has("大张庄镇"));
    assert!(home.has("东里村") && home.has("幸福社区"));
    assert!(
        !home.has("杏山村"),
        "a village of the other town must not be listed"
    );

    // Counts on the town page equal what the database holds for the town.
    let scope = store::Scope::region(&domain::RegionCode::parse("370323104").unwrap());
    let mut conn = t.app.db.acquire().await.unwrap();
    let members = store::roster::count_members(&mut conn, &scope)
        .await
        .unwrap();
    assert!(members > 200);
    assert!(
        home.has("登记 ") && home.has(&members.to_string()),
        "town total {members} shown"
    );

    let village = c.get("/regions/370323104201").await;
    assert_eq!(village.status, 200);
    let hh_link = village.first_id("/households/");
    let household = c.get(&format!("/households/{hh_link}")).await;
    assert_eq!(household.status, 200);
    assert!(household.has("户主"));
    let member_id = household.first_id("/members/");
    let member = c.get(&format!("/members/{member_id}")).await;
    assert_eq!(member.status, 200);
    // The ID number is masked in lists and on the page until revealed.
    let full = t
        .app
        .reveal_member(&app::Actor::system(), member_id.parse().unwrap())
        .await
        .unwrap();
    assert!(!member.has(&full.id_number));
    assert!(member.has(&format!(
        "{}**********{}",
        &full.id_number[..4],
        &full.id_number[14..]
    )));

    // Search by full ID number, by phone, by name prefix.
    let by_id = c.get(&format!("/search?q={}", full.id_number)).await;
    assert!(
        by_id.has(&format!("/members/{member_id}\"")),
        "found by ID number"
    );
    let name = member
        .body
        .split("<h1>")
        .nth(1)
        .unwrap()
        .split("</h1>")
        .next()
        .unwrap()
        .trim()
        .to_string();
    let by_name = c.get(&format!("/search?q={}", name)).await;
    assert!(
        by_name.has(&format!("/members/{member_id}\"")),
        "found by name {name}"
    );
    let surname: String = name.chars().take(1).collect();
    let by_prefix = c.get(&format!("/search?q={surname}")).await;
    assert!(
        by_prefix.has(&format!("/members/{member_id}\"")) || by_prefix.has("仅显示前"),
        "found by surname"
    );
    if let Some(phone) = full.phone {
        let by_phone = c.get(&format!("/search?q={phone}")).await;
        assert!(
            by_phone.has(&format!("/members/{member_id}\"")),
            "found by phone"
        );
    }
    // A partial number is not guessed at: it gets a clear message.
    let partial = c.get("/search?q=3703").await;
    assert_eq!(partial.status, 422);
    assert!(partial.has("完整的18位身份证号"));

    // The JSON API answers the same.
    let api: serde_json::Value = c
        .http
        .get(c.url(&format!("/api/v1/members/{member_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["name"], name.as_str());
    assert_eq!(api["id_masked"].as_str().unwrap().len(), 18);
}

/// Revealing a full ID number is shown once, and lands in the audit log the admin can read.
async fn reveal_is_audited(backend: Backend) {
    let t = TestApp::spawn(backend, 300).await;
    let clerk = t.login("clerk").await;
    let village = clerk.get("/regions/370323104201").await;
    let hh = village.first_id("/households/");
    let household = clerk.get(&format!("/households/{hh}")).await;
    let mid = household.first_id("/members/");
    let csrf = clerk.csrf().await;
    let shown = clerk
        .post_form(&format!("/members/{mid}/reveal"), &[("csrf", &csrf)])
        .await;
    assert_eq!(shown.status, 200);
    let full = t
        .app
        .reveal_member(&app::Actor::system(), mid.parse().unwrap())
        .await
        .unwrap();
    assert!(shown.has(&full.id_number));

    let admin = t.login("town").await;
    let audit = admin.get("/audit").await;
    assert_eq!(audit.status, 200);
    assert!(
        audit.has("<td>查看完整证件号</td>")
            && audit.has("<td>clerk</td>")
            && audit.has("127.0.0.1")
    );
    // The other town's admin does not see it.
    let other = t.login("town2").await;
    let other_log = other.get("/audit").await;
    assert_eq!(other_log.status, 200);
    assert!(!other_log.has("<td>查看完整证件号</td>") && !other_log.has("<td>clerk</td>"));
    // A clerk may not read the audit log at all.
    assert_eq!(clerk.get("/audit").await.status, 403);
}

on_both_backends!(town_admin_browses_and_finds, reveal_is_audited);

/// The county places a poverty-monitored person in the virtual village 幸福社区; nobody else
/// may, and only such people can be placed.
async fn county_places_poverty_monitored_in_virtual_village(backend: Backend) {
    let t = TestApp::spawn(backend, 100).await;
    let town = t.login("town").await;
    let mut r: [String; app::import::COLUMNS.len()] = Default::default();
    r[0] = "370323104206".into();
    r[2] = "P001".into();
    r[3] = "苗守贫".into();
    r[4] = id_number(613, 1950);
    r[5] = "户主".into();
    r[7] = "城乡居民医保".into();
    r[8] = "防返贫监测".into();
    r[9] = "2024-01-01".into();
    let mut plain = r.clone();
    plain[2] = "P002".into();
    plain[3] = "常普通".into();
    plain[4] = id_number(615, 1951);
    plain[8].clear();
    plain[9].clear();
    assert!(town
        .import("p.xlsx", app::import::roster_xlsx(&[r, plain]).unwrap())
        .await
        .has("新增 2 人"));
    let id_of = |page: &Page| page.first_id("/members/");
    let poor = id_of(&town.get("/search?q=苗守贫").await);
    let other = id_of(&town.get("/search?q=常普通").await);

    // A town admin sees no placement form and is refused.
    assert!(!town
        .get(&format!("/members/{poor}"))
        .await
        .has("划入虚拟村"));
    let csrf = town.csrf().await;
    let p = town
        .post_form(
            &format!("/members/{poor}/place"),
            &[("csrf", &csrf), ("village", "370323104999")],
        )
        .await;
    assert_eq!(p.status, 403);

    let county = t.login("county").await;
    let page = county.get(&format!("/members/{poor}")).await;
    assert!(page.has("划入虚拟村") && page.has("370323104999"));
    let csrf = county.csrf().await;
    // Not into an ordinary village, and not someone without the status.
    let p = county
        .post_form(
            &format!("/members/{poor}/place"),
            &[("csrf", &csrf), ("village", "370323104201")],
        )
        .await;
    assert_eq!(p.status, 422);
    let p = county
        .post_form(
            &format!("/members/{other}/place"),
            &[("csrf", &csrf), ("village", "370323104999")],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(p.has("防返贫监测"));

    let p = county
        .post_form(
            &format!("/members/{poor}/place"),
            &[("csrf", &csrf), ("village", "370323104999")],
        )
        .await;
    assert_eq!(p.status, 200);
    assert!(p.url.ends_with(&format!("/members/{poor}")));
    assert!(
        p.has("幸福社区") && !p.has("划入虚拟村（"),
        "now in the virtual village, no form any more"
    );
    assert!(county.get("/audit").await.has("<td>划入虚拟村</td>"));
    // Placed twice is refused.
    let again = county
        .post_form(
            &format!("/members/{poor}/place"),
            &[("csrf", &csrf), ("village", "370323104999")],
        )
        .await;
    assert_eq!(again.status, 422);
    assert!(again.has("已在虚拟村"));
}

on_both_backends!(county_places_poverty_monitored_in_virtual_village);
