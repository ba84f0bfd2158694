//! Test harness: the real app on a random port against a fresh database (a new SQLite file or a
//! new PostgreSQL database per test), with a small demo county and typed helpers.

#![allow(dead_code)]

use app::{App, PiiKeys};
use std::net::SocketAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database URL for one test.
pub async fn fresh_database(backend: Backend) -> String {
    let b = match backend {
        Backend::Sqlite => store::Backend::Sqlite,
        Backend::Postgres => store::Backend::Postgres,
    };
    store::testing::fresh_database(b)
        .await
        .expect("a fresh database (PostgreSQL must be running at 127.0.0.1:5432; see README)")
}

pub async fn fresh_app(backend: Backend) -> App {
    let url = fresh_database(backend).await;
    let db = store::Db::connect(&url).await.expect("connect and migrate");
    App::new(
        db,
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap(),
    )
}

pub struct TestApp {
    pub app: App,
    pub addr: SocketAddr,
    pub base: String,
}

pub const PASSWORD: &str = app::demo::DEMO_PASSWORD;

impl TestApp {
    /// The app with a demo county of about `members` residents, served on a random port.
    pub async fn spawn(backend: Backend, members: usize) -> TestApp {
        let app = fresh_app(backend).await;
        app.load_demo(members, 11)
            .await
            .expect("demo load")
            .expect("empty database");
        Self::serve(app).await
    }

    pub async fn serve(app: App) -> TestApp {
        let state = web::AppState {
            app: app.clone(),
            secure_cookies: false,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        TestApp {
            app,
            addr,
            base: format!("http://{addr}"),
        }
    }

    /// A second server on the same database: its own `App`, pool, router and port, sharing
    /// nothing with this one but the database (as app servers behind one PostgreSQL do).
    pub async fn serve_same_database(&self) -> TestApp {
        let url = self
            .app
            .db
            .pool()
            .connect_options()
            .database_url
            .to_string();
        let db = store::Db::connect(&url).await.expect("the same database");
        Self::serve(App::new(db, self.app.keys.clone())).await
    }

    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::limited(5))
                .build()
                .unwrap(),
            base: self.base.clone(),
        }
    }

    /// A client signed in as one of the demo accounts.
    pub async fn login(&self, username: &str) -> Client {
        let c = self.client();
        let r = c.login(username, PASSWORD).await;
        assert_eq!(r.status(), 200, "login as {username}");
        assert!(
            r.url().path().starts_with("/regions/"),
            "landed on {}",
            r.url()
        );
        c
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

pub struct Page {
    pub status: u16,
    pub body: String,
    pub url: String,
}

impl Page {
    pub fn csrf(&self) -> String {
        csrf_in(&self.body).unwrap_or_else(|| panic!("no csrf field on {}", self.url))
    }
    /// The id in the first link to `prefix` (e.g. "/members/") on the page.
    pub fn first_id(&self, prefix: &str) -> String {
        let href = format!("href=\"{prefix}");
        let rest = self
            .body
            .split(href.as_str())
            .nth(1)
            .unwrap_or_else(|| panic!("no link to {prefix} on {}", self.url));
        rest.split('"').next().unwrap().to_string()
    }

    pub fn has(&self, s: &str) -> bool {
        self.body.contains(s)
    }
}

pub fn csrf_in(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[i..].split('"').next()?.to_string())
}

impl Client {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Page {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        let status = r.status().as_u16();
        let url = r.url().to_string();
        Page {
            status,
            body: r.text().await.unwrap(),
            url,
        }
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self
            .http
            .post(self.url(path))
            .form(form)
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

    /// Fires `n` copies of the same form POST at once (the same session, `n` connections) and
    /// returns every answer: for proving that a "post what is still due" action books once.
    pub async fn post_form_parallel(
        &self,
        n: usize,
        path: &str,
        form: &[(&str, &str)],
    ) -> Vec<Page> {
        let form: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // Open `n` keep-alive connections first (n GETs held open together), so that the POSTs
        // below leave at the same moment instead of each waiting for a TCP handshake.
        let warm = std::sync::Arc::new(tokio::sync::Barrier::new(n));
        let opened: Vec<_> = (0..n)
            .map(|_| {
                let (http, url, warm) = (self.http.clone(), self.url("/healthz"), warm.clone());
                tokio::spawn(async move {
                    warm.wait().await;
                    http.get(url).send().await.unwrap().text().await.unwrap();
                })
            })
            .collect();
        for t in opened {
            t.await.unwrap();
        }
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (http, url, form, barrier) = (
                    self.http.clone(),
                    self.url(path),
                    form.clone(),
                    barrier.clone(),
                );
                tokio::spawn(async move {
                    barrier.wait().await;
                    let r = http.post(url).form(&form).send().await.unwrap();
                    let status = r.status().as_u16();
                    let url = r.url().to_string();
                    Page {
                        status,
                        body: r.text().await.unwrap(),
                        url,
                    }
                })
            })
            .collect();
        let mut pages = Vec::with_capacity(n);
        for t in tasks {
            pages.push(t.await.unwrap());
        }
        pages
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        let page = self.get("/login").await;
        let csrf = page.csrf();
        self.http
            .post(self.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token of the signed-in session (every page's logout form carries it).
    pub async fn csrf(&self) -> String {
        self.get("/search").await.csrf()
    }

    /// Uploads a roster and follows the job page until it is finished.
    pub async fn import(&self, name: &str, bytes: Vec<u8>) -> Page {
        let csrf = self.csrf().await;
        let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        let r = self
            .http
            .post(self.url("/roster/import"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let job_url = r.url().path().to_string();
        assert!(job_url.starts_with("/roster/import/"), "went to {job_url}");
        for _ in 0..600 {
            let p = self.get(&job_url).await;
            if !p.has("data-status=\"running\"") {
                return p;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("import did not finish");
    }
}

/// The demo county with its scheme years, served, and the `town` admin (大张庄镇) signed in:
/// `year` is this year of the town's pool.
pub struct TownYear {
    pub t: TestApp,
    pub town: Client,
    pub csrf: String,
    pub year: i64,
}

impl TownYear {
    pub async fn spawn(backend: Backend, members: usize) -> TownYear {
        let t = TestApp::spawn(backend, members).await;
        t.app.load_demo_years().await.unwrap();
        let year = t
            .app
            .years(&app::Actor::system())
            .await
            .unwrap()
            .iter()
            .filter(|y| y.pool_code == "370323104")
            .map(|y| y.id)
            .max()
            .unwrap();
        let town = t.login("town").await;
        let csrf = town.csrf().await;
        TownYear {
            t,
            town,
            csrf,
            year,
        }
    }
}

/// Runs a test body once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            }
        )*
    };
}

/// A valid ID number of the demo county (area 370323) born on 15 March of `year`.
pub fn id_number(seq: u16, year: i32) -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(year, 3, 15).unwrap();
    domain::ResidentIdNumber::from_parts("370323", birth, seq)
        .unwrap()
        .to_string()
}
