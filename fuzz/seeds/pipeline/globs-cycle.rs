mod a { pub use super::b::*; pub use crate::c::*; }
mod b { pub use super::a::*; pub use self::super::b::*; }
mod c { pub use crate::a::*; pub use crate::b::*; pub use c::*; }
use a::*; use b::*; use c::*;
pub use self::*;
async fn f() { read("x"); a::b::c::read("y"); self::a::read("z"); super::x(); crate::crate::crate::f().await; }
