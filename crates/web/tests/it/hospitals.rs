//! The county hospital register over HTTP: the county administrator adds and edits hospitals,
//! a name already on the register and bad input are refused in Chinese with nothing written,
//! town administrators and clerks read but do not write, another county's hospital is not found.

use super::common::*;
use crate::on_both_backends;

/// The path's last segment as an id (`/hospitals/7` → 7).
fn tail_id(url: &str) -> i64 {
    url.rsplit('/').next().unwrap().parse().unwrap()
}

/// The hospital id linked from the list under `name`.
fn hospital_link(page: &Page, name: &str) -> i64 {
    let at = page
        .body
        .find(&format!(">{name}</a>"))
        .unwrap_or_else(|| panic!("{name} not listed on {}", page.url));
    let before = &page.body[..at];
    let href = before.rsplit("href=\"/hospitals/").next().unwrap();
    href.split('"').next().unwrap().parse().unwrap()
}

async fn count_named(t: &TestApp, name: &str) -> usize {
    let system = app::Actor::system();
    t.app
        .hospitals(&system, &domain::RegionCode::parse("370323").unwrap())
        .await
        .unwrap()
        .iter()
        .filter(|h| h.name.as_str() == name)
        .count()
}

async fn a_county_admin_keeps_the_register(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let county = t.login("county").await;
    let csrf = county.csrf().await;

    // The demo register is there, with the add form.
    let list = county.get("/hospitals").await;
    assert_eq!(list.status, 200);
    assert!(list.has("沂源县人民医院") && list.has("北京协和医院"));
    assert!(list.has("新增医院") && list.has("action=\"/hospitals\""));

    let added = county
        .post_form(
            "/hospitals",
            &[
                ("csrf", &csrf),
                ("county", "370323"),
                ("name", "  沂源县第二人民医院 "),
                ("level", "secondary"),
                ("designated", "1"),
                ("location", "in_province"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let id = hospital_link(&added, "沂源县第二人民医院");

    // Edit: another level, not designated, inactive.
    let edited = county
        .post_form(
            &format!("/hospitals/{id}"),
            &[
                ("csrf", &csrf),
                ("name", "沂源县第二医院"),
                ("level", "primary"),
                ("location", "in_province"),
            ],
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(tail_id(&edited.url), id);
    let system = app::Actor::system();
    let h = t
        .app
        .hospital(&system, domain::HospitalId(id))
        .await
        .unwrap();
    assert_eq!(h.name.as_str(), "沂源县第二医院");
    assert_eq!(h.level, domain::HospitalLevel::Primary);
    assert!(!h.designated && !h.active);
    // Inactive hospitals are listed after the active ones and not offered by the search.
    let list = county.get("/hospitals").await;
    assert!(list.body.find("沂源县第二医院").unwrap() > list.body.find("沂源县人民医院").unwrap());
    let found = t
        .app
        .search_hospitals(&system, &h.county_code, "第二")
        .await
        .unwrap();
    assert!(found.is_empty());
    let found = t
        .app
        .search_hospitals(&system, &h.county_code, "沂源")
        .await
        .unwrap();
    assert!(found.iter().all(|f| f.name.as_str().starts_with("沂源")));
    assert!(found.iter().any(|f| f.name.as_str() == "沂源县中医医院"));

    // Both writes are in the audit log.
    let audit = county.get("/audit").await;
    assert!(
        audit.has("新增医院") && audit.has("修改医院信息"),
        "{}",
        audit.body
    );
}

async fn a_name_already_on_the_register_is_refused(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let county = t.login("county").await;
    let csrf = county.csrf().await;
    let form = |name: &'static str| {
        vec![
            ("county", "370323"),
            ("name", name),
            ("level", "secondary"),
            ("designated", "1"),
            ("location", "in_province"),
            ("active", "1"),
        ]
    };
    let mut f = form("沂源县人民医院");
    f.push(("csrf", &csrf));
    let dup = county.post_form("/hospitals", &f).await;
    assert_eq!(dup.status, 409);
    assert!(
        dup.has("本县医院名录中已有“沂源县人民医院”"),
        "{}",
        dup.body
    );
    assert_eq!(count_named(&t, "沂源县人民医院").await, 1);

    // Renaming another hospital to a taken name is refused the same way.
    let list = county.get("/hospitals").await;
    let id = hospital_link(&list, "沂源县中医医院");
    let mut f = form("沂源县人民医院");
    f.retain(|(k, _)| *k != "county");
    f.push(("csrf", &csrf));
    let renamed = county.post_form(&format!("/hospitals/{id}"), &f).await;
    assert_eq!(renamed.status, 409);
    assert!(renamed.has("已有“沂源县人民医院”"));
    assert_eq!(count_named(&t, "沂源县中医医院").await, 1);
}

async fn bad_input_is_refused_and_nothing_written(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let county = t.login("county").await;
    let csrf = county.csrf().await;
    let before = count_all(&t).await;
    for (name, level, message) in [
        ("", "secondary", "请填写医院名称"),
        ("   ", "secondary", "请填写医院名称"),
        ("院", "secondary", "医院名称过短"),
        ("沂源\u{200B}医院", "secondary", "不可见或控制字符"),
        ("沂源\u{202E}医院", "secondary", "不可见或控制字符"),
        ("沂源\u{0}医院", "secondary", "不可见或控制字符"),
        ("沂源县新医院", "hospital", "请选择医院等级"),
    ] {
        let page = county
            .post_form(
                "/hospitals",
                &[
                    ("csrf", &csrf),
                    ("county", "370323"),
                    ("name", name),
                    ("level", level),
                    ("location", "in_province"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{name:?}");
        assert!(page.has(message), "{name:?}: {}", page.body);
    }
    let long = "医".repeat(61);
    let page = county
        .post_form(
            "/hospitals",
            &[
                ("csrf", &csrf),
                ("name", &long),
                ("level", "secondary"),
                ("location", "in_province"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.has("医院名称过长"));
    // Without the form's token nothing is written either.
    let page = county
        .post_form(
            "/hospitals",
            &[
                ("name", "沂源县新医院"),
                ("level", "secondary"),
                ("location", "in_province"),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(count_all(&t).await, before);
}

async fn count_all(t: &TestApp) -> usize {
    t.app
        .hospitals(
            &app::Actor::system(),
            &domain::RegionCode::parse("370323").unwrap(),
        )
        .await
        .unwrap()
        .len()
}

async fn towns_and_clerks_read_but_do_not_write(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let before = count_all(&t).await;
    for login in ["town", "clerk"] {
        let c = t.login(login).await;
        let csrf = c.csrf().await;
        let list = c.get("/hospitals").await;
        assert_eq!(list.status, 200, "{login}");
        assert!(list.has("沂源县人民医院"), "{login}");
        assert!(!list.has("新增医院"), "{login} sees the add form");
        let id = hospital_link(&list, "沂源县人民医院");
        let page = c.get(&format!("/hospitals/{id}")).await;
        assert_eq!(page.status, 200);
        assert!(page.has("医保定点") && !page.has("<form method=\"post\" action=\"/hospitals/"));
        let add = c
            .post_form(
                "/hospitals",
                &[
                    ("csrf", &csrf),
                    ("name", "某某医院"),
                    ("level", "secondary"),
                    ("location", "in_province"),
                ],
            )
            .await;
        assert_eq!(add.status, 403, "{login}");
        let edit = c
            .post_form(
                &format!("/hospitals/{id}"),
                &[
                    ("csrf", &csrf),
                    ("name", "改名医院"),
                    ("level", "secondary"),
                    ("location", "in_province"),
                ],
            )
            .await;
        assert_eq!(edit.status, 403, "{login}");
    }
    assert_eq!(count_all(&t).await, before);
    assert_eq!(count_named(&t, "沂源县人民医院").await, 1);
}

async fn another_countys_hospital_is_not_found(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let mut conn = t.app.db.acquire().await.unwrap();
    store::regions::insert(
        &mut conn,
        &store::regions::NewRegion {
            code: "370305",
            name: "临淄区",
            level: "county",
            parent_code: None,
            is_virtual: false,
        },
        &t.app.now_text(),
    )
    .await
    .unwrap();
    drop(conn);
    let admin = t.login("admin").await;
    let csrf = admin.csrf().await;
    // The system administrator picks the county and keeps its register.
    let added = admin
        .post_form(
            "/hospitals",
            &[
                ("csrf", &csrf),
                ("county", "370305"),
                ("name", "临淄区人民医院"),
                ("level", "secondary"),
                ("designated", "1"),
                ("location", "in_province"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let id = hospital_link(&added, "临淄区人民医院");

    let county = t.login("county").await;
    let csrf = county.csrf().await;
    assert_eq!(county.get(&format!("/hospitals/{id}")).await.status, 404);
    let edit = county
        .post_form(
            &format!("/hospitals/{id}"),
            &[
                ("csrf", &csrf),
                ("name", "改名医院"),
                ("level", "secondary"),
                ("location", "in_province"),
            ],
        )
        .await;
    assert_eq!(edit.status, 404);
    // Nor can the county admin list or add to the other county's register.
    assert_eq!(county.get("/hospitals?county=370305").await.status, 404);
    let add = county
        .post_form(
            "/hospitals",
            &[
                ("csrf", &csrf),
                ("county", "370305"),
                ("name", "某某医院"),
                ("level", "secondary"),
                ("location", "in_province"),
            ],
        )
        .await;
    assert_eq!(add.status, 404);
    assert_eq!(county.get("/hospitals/999999999").await.status, 404);
    assert_eq!(county.get("/hospitals/abc").await.status, 404);
    let h = t
        .app
        .hospital(&app::Actor::system(), domain::HospitalId(id))
        .await
        .unwrap();
    assert_eq!(h.name.as_str(), "临淄区人民医院");
}

on_both_backends!(
    a_county_admin_keeps_the_register,
    a_name_already_on_the_register_is_refused,
    bad_input_is_refused_and_nothing_written,
    towns_and_clerks_read_but_do_not_write,
    another_countys_hospital_is_not_found,
);
