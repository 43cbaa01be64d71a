package partition

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// ByPath splits items (sorted by path) into partitions of about n items whose boundaries
// depend on the paths themselves, not on positions: a partition ends after an item whose path
// hashes to a multiple of n (content-defined chunking), and at the latest after 4n items.
// Adding, removing or changing one item therefore changes only the partition holding it (and,
// rarely, its neighbour), so a rerun over a grown folder redoes one partition instead of every
// partition after the new item, as ByCount would.
func ByPath(items []Item, n int) ([]Partition, error) {
	if n <= 0 {
		return nil, fmt.Errorf("%w: %d items", ErrBadSize, n)
	}
	if err := checkUnique(items); err != nil {
		return nil, err
	}
	var ps []Partition
	start := 0
	for i, it := range items {
		size := i - start + 1
		if size >= 4*n || size >= 2 && cut(it.Path, n) {
			ps = append(ps, newPartition(items[start:i+1], nil))
			start = i + 1
		}
	}
	if start < len(items) {
		ps = append(ps, newPartition(items[start:], nil))
	}
	return ps, nil
}

func cut(path string, n int) bool {
	if n == 1 {
		return true
	}
	h := sha256.Sum256([]byte(path))
	return binary.BigEndian.Uint64(h[:8])%uint64(n) == 0
}
