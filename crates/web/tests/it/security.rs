use super::common::*;
use crate::on_both_backends;

/// Repeated failures are refused for a while, even with the right password afterwards; the
/// lock is stored, so it holds across processes.
async fn failed_logins_lock_the_account(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let c = t.client();
    // Record failures directly up to the slowdown threshold so the test does not sleep long.
    let mut conn = t.app.db.acquire().await.unwrap();
    let now = t.app.now_text();
    for _ in 0..app::auth::LOCK_AFTER - 1 {
        store::users::record_login_failure(&mut conn, "town", "127.0.0.1", &now)
            .await
            .unwrap();
    }
    drop(conn);
    let r = c.login("town", "wrong-password").await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    let r = c.login("town", PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("分钟后再试"));
    // Another account is unaffected.
    assert_eq!(c.login("town2", PASSWORD).await.status(), 200);
}

async fn forms_need_the_session_csrf_token(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let c = t.login("town").await;
    let r = c.post_form("/logout", &[("csrf", "forged")]).await;
    assert_eq!(r.status, 403);
    // Still signed in.
    assert_eq!(c.get("/search").await.status, 200);
    // A cross-site POST is refused even with the token.
    let csrf = c.csrf().await;
    let r = c
        .http
        .post(c.url("/logout"))
        .header("origin", "http://evil.example")
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The login form needs its own token too.
    let anon = t.client();
    let r = anon
        .http
        .post(anon.url("/login"))
        .form(&[("csrf", "x"), ("username", "town"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Logging out ends the session on the server.
    let r = c.post_form("/logout", &[("csrf", &csrf)]).await;
    assert!(r.url.ends_with("/login"));
    assert!(c.get("/search").await.url.ends_with("/login"));
}

async fn cookies_and_headers_are_hardened(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    let c = t.client();
    let page = c.get("/login").await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(c.url("/login"))
        .header(
            "cookie",
            format!("{}={csrf}", web::session::LOGIN_CSRF_COOKIE),
        )
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "town"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with(web::session::SESSION_COOKIE))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let h = r.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(h["cache-control"], "no-store");
}

/// Roles that only read cannot reach the writing pages.
async fn read_only_roles_cannot_import(backend: Backend) {
    let t = TestApp::spawn(backend, 50).await;
    for who in ["auditor", "coder", "reviewer"] {
        let c = t.login(who).await;
        assert_eq!(c.get("/roster/import").await.status, 403, "{who}");
        let csrf = c.csrf().await;
        let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
            "file",
            reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("x.xlsx"),
        );
        let r = c
            .http
            .post(c.url("/roster/import"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{who}");
    }
    // The auditor reads the county's audit log.
    let a = t.login("auditor").await;
    assert_eq!(a.get("/audit").await.status, 200);
}

on_both_backends!(
    failed_logins_lock_the_account,
    forms_need_the_session_csrf_token,
    cookies_and_headers_are_hardened,
    read_only_roles_cannot_import
);

/// Expired sessions stop working and are cleaned up; stale failures stop counting.
async fn housekeeping_removes_expired_sessions(backend: Backend) {
    let t = TestApp::spawn(backend, 20).await;
    let c = t.login("town").await;
    let mut conn = t.app.db.acquire().await.unwrap();
    let past = store::timestamp(chrono::Utc::now() - chrono::Duration::minutes(1));
    sqlx_exec(
        &mut conn,
        &format!("UPDATE sessions SET expires_at = '{past}'"),
    )
    .await;
    drop(conn);
    assert!(
        c.get("/search").await.url.ends_with("/login"),
        "an expired session is refused"
    );
    let mut conn = t.app.db.acquire().await.unwrap();
    let old = store::timestamp(chrono::Utc::now() - chrono::Duration::hours(2));
    store::users::record_login_failure(&mut conn, "town", "127.0.0.1", &old)
        .await
        .unwrap();
    store::users::record_login_failure(&mut conn, "town", "127.0.0.1", &t.app.now_text())
        .await
        .unwrap();
    drop(conn);
    t.app.housekeeping().await.unwrap();
    let mut conn = t.app.db.acquire().await.unwrap();
    let (n, _) = store::users::login_failures_since(&mut conn, "town", "2000-01-01T00:00:00Z")
        .await
        .unwrap();
    assert_eq!(
        n, 1,
        "the stale failure is gone, the recent one still counts"
    );
    assert_eq!(count(&mut conn, "SELECT COUNT(*) FROM sessions").await, 0);
}

async fn sqlx_exec(conn: &mut store::Conn, sql: &str) {
    use store::sqlx_reexport::Executor;
    conn.execute(sql).await.unwrap();
}

async fn count(conn: &mut store::Conn, sql: &str) -> i64 {
    store::sqlx_reexport::query_scalar(sql)
        .fetch_one(conn)
        .await
        .unwrap()
}

on_both_backends!(housekeeping_removes_expired_sessions);
