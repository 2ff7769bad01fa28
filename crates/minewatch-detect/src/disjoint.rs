//! Disjoint sets over region labels with path halving: the join structure of both
//! streaming sweeps. Which label becomes the root is the caller's choice, so each sweep
//! can keep its own per-root data where it wants it.

#[derive(Debug, Default, Clone)]
pub struct DisjointSets {
    parent: Vec<u32>,
}

impl DisjointSets {
    /// A new singleton set; returns its label.
    pub fn add(&mut self) -> u32 {
        let id = self.parent.len() as u32;
        self.parent.push(id);
        id
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    /// Make root `child` point at root `root`.
    pub fn link(&mut self, child: u32, root: u32) {
        self.parent[child as usize] = root;
    }
}
