//! The conversions between a format's stored types and the in-memory (and wire) types, written
//! once per type as a list of its fields or variants.
//!
//! [`Mirror`] says which stored type an in-memory type is kept as and converts both ways;
//! [`mirror_struct!`] and [`mirror_enum!`] implement it from the field (or variant) list and add
//! the `From` conversions both ways. Field names must be the same on both sides (the stored
//! type renames what it must with serde attributes), so a field missing from the list, or a
//! new field on either side, does not compile.

use std::collections::{BTreeMap, BTreeSet};

/// An in-memory type and the stored type it is kept as in one format.
pub(crate) trait Mirror: Sized {
    type Stored;
    fn to_stored(&self) -> Self::Stored;
    fn from_stored(stored: Self::Stored) -> Self;
}

/// Numbers, flags and text are stored as they are.
macro_rules! mirror_as_is {
    ($($type:ty),* $(,)?) => {$(
        impl Mirror for $type {
            type Stored = $type;
            fn to_stored(&self) -> $type {
                self.clone()
            }
            fn from_stored(stored: $type) -> $type {
                stored
            }
        }
    )*};
}

mirror_as_is!(bool, u8, u32, u64, i64, f64, String);
mirror_as_is!(i8);

impl<T: Mirror> Mirror for Vec<T> {
    type Stored = Vec<T::Stored>;
    fn to_stored(&self) -> Self::Stored {
        self.iter().map(T::to_stored).collect()
    }
    fn from_stored(stored: Self::Stored) -> Self {
        stored.into_iter().map(T::from_stored).collect()
    }
}

impl<T: Mirror> Mirror for Option<T> {
    type Stored = Option<T::Stored>;
    fn to_stored(&self) -> Self::Stored {
        self.as_ref().map(T::to_stored)
    }
    fn from_stored(stored: Self::Stored) -> Self {
        stored.map(T::from_stored)
    }
}

impl<K: Mirror + Ord, V: Mirror> Mirror for BTreeMap<K, V>
where
    K::Stored: Ord,
{
    type Stored = BTreeMap<K::Stored, V::Stored>;
    fn to_stored(&self) -> Self::Stored {
        self.iter()
            .map(|(key, value)| (key.to_stored(), value.to_stored()))
            .collect()
    }
    fn from_stored(stored: Self::Stored) -> Self {
        stored
            .into_iter()
            .map(|(key, value)| (K::from_stored(key), V::from_stored(value)))
            .collect()
    }
}

impl<T: Mirror + Ord> Mirror for BTreeSet<T>
where
    T::Stored: Ord,
{
    type Stored = BTreeSet<T::Stored>;
    fn to_stored(&self) -> Self::Stored {
        self.iter().map(T::to_stored).collect()
    }
    fn from_stored(stored: Self::Stored) -> Self {
        stored.into_iter().map(T::from_stored).collect()
    }
}

/// `From` both ways from [`Mirror`].
macro_rules! mirror_from {
    ($stored:ty, $memory:ty) => {
        impl From<&$memory> for $stored {
            fn from(value: &$memory) -> $stored {
                $crate::stored::convert::Mirror::to_stored(value)
            }
        }
        impl From<$stored> for $memory {
            fn from(value: $stored) -> $memory {
                <$memory as $crate::stored::convert::Mirror>::from_stored(value)
            }
        }
    };
}

/// A newtype around a UUID (an id), stored as the UUID.
macro_rules! mirror_id {
    ($($memory:ty),* $(,)?) => {$(
        impl $crate::stored::convert::Mirror for $memory {
            type Stored = ::uuid::Uuid;
            fn to_stored(&self) -> ::uuid::Uuid {
                self.0
            }
            fn from_stored(stored: ::uuid::Uuid) -> $memory {
                Self(stored)
            }
        }
    )*};
}

/// A struct stored as a struct with the same field names. Fields of the in-memory type that
/// are never stored are named in a trailing `memory_only { field: value_when_read }` clause.
macro_rules! mirror_struct {
    ($stored:ident <=> $memory:ty { $($field:ident),* $(,)? } $(memory_only { $($unstored:ident: $value:expr),* $(,)? })?) => {
        impl $crate::stored::convert::Mirror for $memory {
            type Stored = $stored;
            fn to_stored(&self) -> $stored {
                $stored {
                    $($field: $crate::stored::convert::Mirror::to_stored(&self.$field)),*
                }
            }
            fn from_stored(stored: $stored) -> $memory {
                type Memory = $memory;
                Memory {
                    $($field: $crate::stored::convert::Mirror::from_stored(stored.$field),)*
                    $($($unstored: $value,)*)?
                }
            }
        }
        mirror_from!($stored, $memory);
    };
}

/// An enum stored as an enum with the same variants and fields.
macro_rules! mirror_enum {
    ($stored:ident <=> $memory:ty { $($variant:ident $({ $($field:ident),* $(,)? })?),* $(,)? }) => {
        impl $crate::stored::convert::Mirror for $memory {
            type Stored = $stored;
            fn to_stored(&self) -> $stored {
                type Memory = $memory;
                match self {
                    $(Memory::$variant $({ $($field),* })? => $stored::$variant $({
                        $($field: $crate::stored::convert::Mirror::to_stored($field)),*
                    })?,)*
                }
            }
            fn from_stored(stored: $stored) -> $memory {
                type Memory = $memory;
                match stored {
                    $($stored::$variant $({ $($field),* })? => Memory::$variant $({
                        $($field: $crate::stored::convert::Mirror::from_stored($field)),*
                    })?,)*
                }
            }
        }
        mirror_from!($stored, $memory);
    };
}

/// A struct of an older format moved forward into the next format's struct of the same fields
/// (each field converted with `Into`, so a field of a type that changed converts forward too),
/// with the fields the next format added set to their values.
macro_rules! forward_struct {
    ($old:ident => $new:ident { $($field:ident),* $(,)? } $(added { $($added:ident: $value:expr),* $(,)? })?) => {
        impl From<$old> for $new {
            fn from(old: $old) -> $new {
                $new {
                    $($field: old.$field.into(),)*
                    $($($added: $value,)*)?
                }
            }
        }
    };
}

/// An enum of an older format moved forward into the next format's enum, variant by variant.
macro_rules! forward_enum {
    ($old:ident => $new:ident { $($variant:ident $({ $($field:ident),* $(,)? })?),* $(,)? }) => {
        impl From<$old> for $new {
            fn from(old: $old) -> $new {
                match old {
                    $($old::$variant $({ $($field),* })? => $new::$variant $({
                        $($field: $field.into()),*
                    })?,)*
                }
            }
        }
    };
}
