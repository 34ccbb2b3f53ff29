//! [`PerKind`]: one value for each kind of state file.

use std::fmt;
use std::ops::{Deref, Index, IndexMut};

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::stage::layout::Kind;

/// One value for each kind of state file, in [`Kind::ALL`] order: a total
/// map (`PerKind<Option<T>>` where a kind may have none). It derefs to the
/// slice of values, so it iterates like the list of state files it often
/// is. In JSON it is an object keyed by kind name, without the kinds whose
/// value is the default (`None`, empty).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PerKind<T>([T; Kind::ALL.len()]);

impl<T> PerKind<T> {
    /// The map holding `value(kind)` for each kind.
    pub fn from_fn(mut value: impl FnMut(Kind) -> T) -> PerKind<T> {
        PerKind(Kind::ALL.map(&mut value))
    }

    /// Each kind with its value, in [`Kind::ALL`] order.
    pub fn entries(&self) -> impl Iterator<Item = (Kind, &T)> {
        Kind::ALL.into_iter().zip(&self.0)
    }

    /// The map of `f` applied to each entry.
    pub fn map<U>(&self, mut f: impl FnMut(Kind, &T) -> U) -> PerKind<U> {
        PerKind::from_fn(|kind| f(kind, &self[kind]))
    }
}

impl<T> PerKind<Option<T>> {
    /// The kinds that have a value, with it.
    pub fn present(&self) -> impl Iterator<Item = (Kind, &T)> {
        self.entries().filter_map(|(k, v)| Some((k, v.as_ref()?)))
    }
}

impl<T> Index<Kind> for PerKind<T> {
    type Output = T;

    fn index(&self, kind: Kind) -> &T {
        &self.0[kind as usize]
    }
}

impl<T> IndexMut<Kind> for PerKind<T> {
    fn index_mut(&mut self, kind: Kind) -> &mut T {
        &mut self.0[kind as usize]
    }
}

impl<T> Deref for PerKind<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'a, T> IntoIterator for &'a PerKind<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T> IntoIterator for PerKind<T> {
    type Item = T;
    type IntoIter = std::array::IntoIter<T, { Kind::ALL.len() }>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<T: fmt::Debug> fmt::Debug for PerKind<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}

impl<T: Serialize + Default + PartialEq> Serialize for PerKind<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let unset = T::default();
        let set: Vec<_> = self.entries().filter(|(_, v)| **v != unset).collect();
        let mut map = serializer.serialize_map(Some(set.len()))?;
        for (kind, value) in set {
            map.serialize_entry(&kind, value)?;
        }
        map.end()
    }
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for PerKind<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PerKind<T>, D::Error> {
        struct Entries<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for Entries<T> {
            type Value = PerKind<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object keyed by state file kind")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PerKind<T>, A::Error> {
                let mut out = PerKind::<T>::from_fn(|_| T::default());
                while let Some((kind, value)) = map.next_entry::<Kind, T>()? {
                    out[kind] = value;
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob_id::BlobId;

    #[test]
    fn kinds_index_the_map_in_all_order() {
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, i, "{kind:?}");
        }
        let map = PerKind::from_fn(Kind::as_str);
        for kind in Kind::ALL {
            assert_eq!(map[kind], kind.as_str());
        }
        let order: Vec<Kind> = map.entries().map(|(k, _)| k).collect();
        assert_eq!(order, Kind::ALL);
    }

    #[test]
    fn json_keeps_only_the_set_kinds_by_name() {
        let mut map = PerKind::<Option<BlobId>>::default();
        map[Kind::App] = Some(BlobId::of(b"a"));
        let json = serde_json::to_value(&map).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "app": BlobId::of(b"a").to_string() })
        );
        let back: PerKind<Option<BlobId>> = serde_json::from_value(json).unwrap();
        assert_eq!(back, map);
        let lists: PerKind<Vec<BlobId>> =
            serde_json::from_value(serde_json::json!({ "fallbackSecret": [] })).unwrap();
        assert!(lists.iter().all(Vec::is_empty));
        assert_eq!(serde_json::to_string(&lists).unwrap(), "{}");
    }
}
