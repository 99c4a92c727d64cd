//! Domain enums as database columns: `text_column!(Type, parse)` stores an
//! enum as its `as_str()` text on SQLite and PostgreSQL alike and reads it
//! back through its parser, so row structs carry the enum and no production
//! code compares a status, role or kind as a string. An unknown value in the
//! database is a decode error naming the type and the value (a row written
//! by a newer version, or a hand edit), never a silent default.

/// Implements `sqlx::{Type, Encode, Decode}` for both backends (under `ssr`).
/// `$parse` maps `&str` to `Option<Self>`.
#[macro_export]
macro_rules! text_column {
    ($ty:ty, $parse:expr) => {
        #[cfg(feature = "ssr")]
        const _: () = {
            use sqlx::{encode::IsNull, error::BoxDynError, Database, Decode, Encode, Postgres, Sqlite, Type};
            impl Type<Sqlite> for $ty {
                fn type_info() -> <Sqlite as Database>::TypeInfo {
                    <&str as Type<Sqlite>>::type_info()
                }
                fn compatible(ty: &<Sqlite as Database>::TypeInfo) -> bool {
                    <&str as Type<Sqlite>>::compatible(ty)
                }
            }
            impl Type<Postgres> for $ty {
                fn type_info() -> <Postgres as Database>::TypeInfo {
                    <&str as Type<Postgres>>::type_info()
                }
                fn compatible(ty: &<Postgres as Database>::TypeInfo) -> bool {
                    <&str as Type<Postgres>>::compatible(ty)
                }
            }
            impl<'q> Encode<'q, Sqlite> for $ty {
                fn encode_by_ref(&self, buf: &mut <Sqlite as Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
                    <&'q str as Encode<'q, Sqlite>>::encode(self.as_str(), buf)
                }
            }
            impl<'q> Encode<'q, Postgres> for $ty {
                fn encode_by_ref(&self, buf: &mut <Postgres as Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
                    <&str as Encode<'q, Postgres>>::encode_by_ref(&self.as_str(), buf)
                }
            }
            impl<'r> Decode<'r, Sqlite> for $ty {
                fn decode(value: <Sqlite as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                    let s = <&str as Decode<'r, Sqlite>>::decode(value)?;
                    let parse: fn(&str) -> Option<$ty> = $parse;
                    parse(s).ok_or_else(|| format!("unknown {} {s:?} in the database", stringify!($ty)).into())
                }
            }
            impl<'r> Decode<'r, Postgres> for $ty {
                fn decode(value: <Postgres as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                    let s = <&str as Decode<'r, Postgres>>::decode(value)?;
                    let parse: fn(&str) -> Option<$ty> = $parse;
                    parse(s).ok_or_else(|| format!("unknown {} {s:?} in the database", stringify!($ty)).into())
                }
            }
        };
    };
}
