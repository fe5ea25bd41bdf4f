package helmrepo

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"go.yaml.in/yaml/v3"
)

// index is what the cache keeps of one fetch of an index.yaml (or of a
// registry's tag list): per chart, its versions newest first, parsed once.
// It does not change after parsing, except for the memo of resolutions,
// which lives as long as the index: a new fetch starts a new memo.
type index struct {
	charts map[string]*chartIndex

	memoMu sync.Mutex
	memo   map[watchKey]resolution
}

// chartIndex is one chart's versions.
type chartIndex struct {
	// versions are the semantic versions, newest first, then the others
	// in the index's order.
	versions []chartVersion
	// exact finds a version by its spelling, without a leading "v".
	exact map[string]int
}

// chartVersion is one version of a chart, as the index lists it.
type chartVersion struct {
	version string
	semver  *semver.Version // nil when version is not a semantic version
	digest  string          // "sha256:<hex>", or "" when the index gives none
	urls    []string
	created time.Time
}

// resolution is a memoised answer to Resolve within one index.
type resolution struct {
	cv  *chartVersion
	err error
}

// indexFile is the part of a Helm repository's index.yaml the cache reads:
// the shape of Helm's repo.IndexFile, whose package cannot be imported
// here without dependencies gyre does not carry. Fields the cache does not
// use are ignored, so indexes written by newer tools still load.
type indexFile struct {
	APIVersion string                   `json:"apiVersion" yaml:"apiVersion"`
	Entries    map[string][]*indexEntry `json:"entries" yaml:"entries"`
}

// indexEntry is one chart version in an indexFile (Helm's
// repo.ChartVersion), reduced to what the cache uses.
type indexEntry struct {
	Version flexString `json:"version" yaml:"version"`
	Digest  flexString `json:"digest" yaml:"digest"`
	URLs    []string   `json:"urls" yaml:"urls"`
	Created flexString `json:"created" yaml:"created"`
	Removed bool       `json:"removed" yaml:"removed"`
}

// flexString reads a string, or a number or time written without quotes
// (version: 1.0), as its text. In YAML that is the scalar as written.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// parseIndex reads an index.yaml (or its JSON form) and keeps what
// resolving and downloading need. Entries without a version are skipped,
// as are those marked removed; an unreadable created time is left zero.
func parseIndex(data []byte) (*index, error) {
	if len(data) == 0 {
		return nil, errors.New("index.yaml is empty")
	}
	var f indexFile
	var err error
	if json.Valid(data) {
		err = json.Unmarshal(data, &f)
	} else {
		err = yaml.Unmarshal(data, &f) // yaml.v3 reads any scalar into a string as written
	}
	if err != nil {
		return nil, fmt.Errorf("index.yaml is not a Helm repository index: %w", err)
	}
	if f.APIVersion == "" {
		return nil, errors.New("index.yaml is not a Helm repository index: no apiVersion")
	}
	idx := &index{charts: make(map[string]*chartIndex, len(f.Entries))}
	for name, entries := range f.Entries {
		versions := make([]chartVersion, 0, len(entries))
		for _, e := range entries {
			if e == nil || e.Version == "" || e.Removed {
				continue
			}
			created, _ := time.Parse(time.RFC3339Nano, string(e.Created))
			versions = append(versions, chartVersion{
				version: string(e.Version),
				digest:  normalizeDigest(string(e.Digest)),
				urls:    e.URLs,
				created: created,
			})
		}
		idx.charts[name] = newChartIndex(versions)
	}
	return idx, nil
}

// tagIndex is the index of an OCI repository holding chart name: one
// version per tag that is a semantic version, "_" read as "+" (Helm
// writes build metadata so, since tags cannot hold "+").
func tagIndex(name string, tags []string) *index {
	versions := make([]chartVersion, 0, len(tags))
	for _, t := range tags {
		v := strings.ReplaceAll(t, "_", "+")
		if _, err := semver.NewVersion(v); err != nil {
			continue
		}
		versions = append(versions, chartVersion{version: v})
	}
	return &index{charts: map[string]*chartIndex{name: newChartIndex(versions)}}
}

// newChartIndex parses and sorts versions.
func newChartIndex(versions []chartVersion) *chartIndex {
	for i := range versions {
		if sv, err := semver.NewVersion(versions[i].version); err == nil {
			versions[i].semver = sv
		}
	}
	slices.SortStableFunc(versions, func(a, b chartVersion) int {
		switch {
		case a.semver == nil && b.semver == nil:
			return 0
		case a.semver == nil:
			return 1
		case b.semver == nil:
			return -1
		}
		if c := b.semver.Compare(a.semver); c != 0 {
			return c
		}
		return strings.Compare(b.version, a.version) // build metadata: a stable order
	})
	ci := &chartIndex{versions: versions, exact: make(map[string]int, len(versions))}
	for i := len(versions) - 1; i >= 0; i-- {
		ci.exact[strings.TrimPrefix(versions[i].version, "v")] = i
	}
	return ci
}

// normalizeDigest returns an index's digest as "sha256:<hex>", or "" when
// it is not a sha256 digest (then the archive's own is used).
func normalizeDigest(d string) string {
	d = strings.ToLower(strings.TrimSpace(d))
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) != 64 {
		return ""
	}
	if _, err := hex.DecodeString(d); err != nil {
		return ""
	}
	return "sha256:" + d
}

// resolve returns the version of chart name that targetRevision names,
// memoised for the life of the index.
func (idx *index) resolve(name, targetRevision string) (*chartVersion, error) {
	k := watchKey{chart: name, revision: targetRevision}
	idx.memoMu.Lock()
	res, ok := idx.memo[k]
	idx.memoMu.Unlock()
	if ok {
		return res.cv, res.err
	}
	res.cv, res.err = idx.match(name, targetRevision)
	idx.memoMu.Lock()
	if idx.memo == nil {
		idx.memo = map[watchKey]resolution{}
	}
	idx.memo[k] = res
	idx.memoMu.Unlock()
	return res.cv, res.err
}

// match does resolve's work: an exact version (with or without a leading
// "v") wins; otherwise targetRevision is a semver constraint, empty
// meaning "*", and the newest version it allows is the answer.
// Prereleases match only a constraint that names one, as in Helm.
func (idx *index) match(name, targetRevision string) (*chartVersion, error) {
	ci := idx.charts[name]
	if ci == nil || len(ci.versions) == 0 {
		return nil, fmt.Errorf("not in the repository's index: %w", ErrChartNotFound)
	}
	rev := strings.TrimSpace(targetRevision)
	if i, ok := ci.exact[strings.TrimPrefix(rev, "v")]; ok && rev != "" {
		return &ci.versions[i], nil
	}
	constraint := rev
	if constraint == "" {
		constraint = "*"
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return nil, fmt.Errorf("target revision %q is neither a version of the chart nor a semver constraint (have %s): %w",
			rev, ci.available(), ErrVersionNotFound)
	}
	for i := range ci.versions {
		v := &ci.versions[i]
		if v.semver == nil {
			break // the rest are not semantic versions either
		}
		if c.Check(v.semver) {
			return v, nil
		}
	}
	return nil, fmt.Errorf("no version matches %q (have %s): %w", constraint, ci.available(), ErrVersionNotFound)
}

// available lists the newest few versions, for an error message.
func (ci *chartIndex) available() string {
	const shown = 5
	var names []string
	for i, v := range ci.versions {
		if i == shown {
			names = append(names, "…")
			break
		}
		names = append(names, v.version)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// version finds an exact version of chart name, spelt as the index spells
// it.
func (idx *index) version(name, version string) (*chartVersion, bool) {
	ci := idx.charts[name]
	if ci == nil {
		return nil, false
	}
	if i, ok := ci.exact[strings.TrimPrefix(version, "v")]; ok && ci.versions[i].version == version {
		return &ci.versions[i], true
	}
	for i := range ci.versions {
		if ci.versions[i].version == version {
			return &ci.versions[i], true
		}
	}
	return nil, false
}
