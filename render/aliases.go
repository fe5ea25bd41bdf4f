package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	yaml "go.yaml.in/yaml/v3"
)

// minAliasBudget is how many nodes a YAML stream may expand to through its
// aliases and merge keys, however small it is; a larger stream may expand
// to ten times its own node count.
const minAliasBudget = 200_000

// checkAliases refuses YAML that the kustomize library could not read
// safely. Kustomize parses resources, patches and configs into node trees
// and then copies every alias and merge key out in full, with no limit: an
// alias bomb ("billion laughs", nine levels of nine aliases) would take
// minutes and gigabytes, and an alias to an enclosing node would recurse
// until the goroutine stack overflows, which kills the process. So each
// stream kustomize may parse is measured first, by the same parser, and
// refused when its aliases expand it more than tenfold (beyond
// minAliasBudget nodes) or refer to a node that contains them. Data that is
// not YAML is left to whoever parses it.
func checkAliases(name string, data []byte) error {
	if !bytes.Contains(data, []byte("*")) {
		return nil // no alias, nothing to expand
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	parsed := 0
	for {
		n := new(yaml.Node)
		if err := dec.Decode(n); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil
		}
		docs = append(docs, n)
		parsed += countNodes(n)
	}
	limit := max(10*parsed, minAliasBudget)
	m := &aliasMeasure{sizes: map[*yaml.Node]int{}, open: map[*yaml.Node]bool{}, limit: limit}
	total := 0
	for _, n := range docs {
		total += m.size(n)
		if m.cycle {
			return &Error{File: name, Err: errors.New("invalid YAML: an alias refers to a node that contains it")}
		}
		if total > limit {
			return &Error{File: name, Err: fmt.Errorf("invalid YAML: its aliases expand %d nodes to more than %d", parsed, limit)}
		}
	}
	return nil
}

// countNodes counts the nodes of a tree as parsed, each alias one node.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, child := range n.Content {
		c += countNodes(child)
	}
	return c
}

// aliasMeasure computes the size of node trees with their aliases
// expanded, each node once.
type aliasMeasure struct {
	sizes map[*yaml.Node]int
	open  map[*yaml.Node]bool // being measured: an alias to one is a cycle
	limit int
	cycle bool
}

// size returns the expanded size of n, or a number over the limit once it
// is clearly too large.
func (m *aliasMeasure) size(n *yaml.Node) int {
	if s, ok := m.sizes[n]; ok {
		return s
	}
	if m.open[n] {
		m.cycle = true
		return m.limit + 1
	}
	m.open[n] = true
	s := 1
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		s = m.size(n.Alias)
	}
	for _, child := range n.Content {
		if s += m.size(child); s > m.limit || m.cycle {
			s = m.limit + 1
			break
		}
	}
	delete(m.open, n)
	m.sizes[n] = s
	return s
}
