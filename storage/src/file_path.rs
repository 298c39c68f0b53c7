//! [`FilePath`]: the path of a file of a [`FileTable`](crate::FileTable),
//! or a symbolic link's target, as a borrowed list of components.

use std::fmt;
use std::path::PathBuf;

use crate::table::{Dir, NO_DIR, Name};

/// Where the components are.
#[derive(Clone, Copy)]
pub(crate) enum Repr<'a> {
    /// A file's path: its folder (and that folder's parents) and its name.
    Tree {
        dirs: &'a [Dir],
        dir: u32,
        name: Name,
    },
    /// A list of names (a link's target).
    Parts(&'a [Name]),
}

/// A relative path inside a torrent: components from the download folder,
/// borrowed from a [`FileTable`](crate::FileTable).
///
/// It compares equal to a list of the same components (`["t", "a.txt"]`,
/// a `Vec<String>`, …), displays them joined with `/`, and turns into a
/// [`PathBuf`] with [`FilePath::to_path_buf`].
#[derive(Clone, Copy)]
pub struct FilePath<'a> {
    names: &'a str,
    repr: Repr<'a>,
}

impl<'a> FilePath<'a> {
    pub(crate) fn new(names: &'a str, repr: Repr<'a>) -> Self {
        FilePath { names, repr }
    }

    fn name(&self, n: Name) -> &'a str {
        &self.names[n.start as usize..(n.start + n.len) as usize]
    }

    /// The components, outermost first (gathered into one small `Vec`: a
    /// file's path is stored from its name up through its folders).
    pub fn components(&self) -> Components<'a> {
        let parts = match self.repr {
            Repr::Parts(parts) => parts.iter().map(|&n| self.name(n)).collect(),
            Repr::Tree { dirs, dir, name } => {
                let mut parts = vec![self.name(name)];
                let mut d = dir;
                while d != NO_DIR {
                    let entry = dirs[d as usize];
                    parts.push(self.name(entry.name));
                    d = entry.parent;
                }
                parts.reverse();
                parts
            }
        };
        Components(parts.into_iter())
    }

    /// Number of components.
    pub fn len(&self) -> usize {
        match self.repr {
            Repr::Parts(parts) => parts.len(),
            Repr::Tree { dirs, dir, .. } => {
                let mut n = 1;
                let mut d = dir;
                while d != NO_DIR {
                    n += 1;
                    d = dirs[d as usize].parent;
                }
                n
            }
        }
    }

    /// Whether it has no component (never for a file's path).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last component (`""` for an empty path).
    pub fn file_name(&self) -> &'a str {
        match self.repr {
            Repr::Tree { name, .. } => self.name(name),
            Repr::Parts(parts) => parts.last().map_or("", |&n| self.name(n)),
        }
    }

    /// Whether its first components are `prefix`.
    pub fn starts_with<S: AsRef<str>>(&self, prefix: &[S]) -> bool {
        let mut mine = self.components();
        prefix.iter().all(|p| mine.next() == Some(p.as_ref()))
    }

    /// The components joined into a relative path.
    pub fn to_path_buf(&self) -> PathBuf {
        self.components().collect()
    }

    /// The components as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.components().map(str::to_owned).collect()
    }

    fn eq_components<'s>(&self, other: impl ExactSizeIterator<Item = &'s str>) -> bool {
        let mine = self.components();
        mine.len() == other.len() && mine.zip(other).all(|(a, b)| a == b)
    }
}

/// Components joined with `/`.
impl fmt::Display for FilePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.components().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(c)?;
        }
        Ok(())
    }
}

/// Like a list of its components.
impl fmt::Debug for FilePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.components()).finish()
    }
}

impl PartialEq for FilePath<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.eq_components(other.components())
    }
}

impl Eq for FilePath<'_> {}

impl<S: AsRef<str>> PartialEq<[S]> for FilePath<'_> {
    fn eq(&self, other: &[S]) -> bool {
        self.eq_components(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for FilePath<'_> {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for FilePath<'_> {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<&[S]> for FilePath<'_> {
    fn eq(&self, other: &&[S]) -> bool {
        *self == **other
    }
}

/// The components of a [`FilePath`]; see [`FilePath::components`].
#[derive(Debug, Clone)]
pub struct Components<'a>(std::vec::IntoIter<&'a str>);

impl<'a> Iterator for Components<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Components<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back()
    }
}

impl ExactSizeIterator for Components<'_> {}
