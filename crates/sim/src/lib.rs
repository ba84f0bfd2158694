//! A realistic synthetic rural mutual-aid programme: households, members and hospital stays.
//!
//! No real claims data of such a programme is public, so demos, tests, benchmarks and the
//! actuarial back-test all run on data from this crate. Everything is seeded and reproducible,
//! and calibrated to `shared/data/calibration` (the tables are embedded, see `data/`).

pub mod calibration;
pub mod model;
mod names;
pub mod population;

pub use population::{
    default_reference_date, generate_population, generate_population_on, Household, Person,
    PopulationSpec, VillageSpec,
};
pub mod programme;

pub use model::{drg_catalogue, CatalogueDrg, DrgVersion, StayModel};
pub use programme::{simulate_programme, Member, Programme, ProgrammeSpec, Stay};
