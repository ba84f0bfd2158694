// `sqlx::migrate!` embeds the migration folders at compile time but does not tell cargo about
// new files; without this a new migration is silently missing until something else changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
