//! The shared model: plain data and validation, compiled for the browser and the server.
//! No I/O here.

/// Generates the string form used in the database and on the wire, and its parser.
macro_rules! wire_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in display order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stable name stored in the database and used by the API.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            /// Parses the stable name.
            pub fn parse(name: &str) -> Option<$ty> {
                match name { $($name => Some($ty::$variant),)+ _ => None }
            }
        }
    };
}

pub mod billing;
pub mod error;
pub mod history;
pub mod ledger;
pub mod money;
pub mod operator;
pub mod plan;
pub mod problem;
pub mod session;
pub mod settings;
pub mod top_up;
pub mod voucher;
