// SPDX-License-Identifier: Apache-2.0

package server

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/credgate/credgate/tokencluster/internal/registry"
)

// listQuery holds the Znode list parameters:
//
//	page=index~0,size~25      0-based page index, page size 1..1000
//	sort=name~asc|desc        one field
//	filter=name~cn~pea[,...]  field~op~value, all must match; ops eq, ne, cn, sw, ew, gt, lt, ge, le
//	indent=true               human-readable JSON
//
// Field, operator, direction and page key names are case-insensitive, as
// are the comparisons. Any other parameter, or one given twice, is refused.
type listQuery struct {
	index, size int
	sortField   string
	desc        bool
	filters     []listFilter
	indent      bool
}

type listFilter struct{ field, op, value string }

// listResponse is a page of records with the Znode paging fields.
type listResponse struct {
	Items        []registry.View `json:"Items"`
	PageIndex    int             `json:"PageIndex"`
	PageSize     int             `json:"PageSize"`
	TotalPages   int             `json:"TotalPages"`
	TotalResults int             `json:"TotalResults"`
}

var listFields = map[string]func(v registry.View) string{
	"id":           func(v registry.View) string { return v.ID },
	"name":         func(v registry.View) string { return v.Name },
	"tenant":       func(v registry.View) string { return v.Tenant },
	"username":     func(v registry.View) string { return v.Username },
	"domain":       func(v registry.View) string { return v.Domain },
	"email":        func(v registry.View) string { return v.Email },
	"developer_id": func(v registry.View) string { return v.DeveloperID },
	"created_at":   func(v registry.View) string { return v.CreatedAt },
	"updated_at":   func(v registry.View) string { return v.UpdatedAt },
	"expires_at":   func(v registry.View) string { return v.ExpiresAt },
	"revoked":      func(v registry.View) string { return strconv.FormatBool(v.Revoked) },
}

var listOps = map[string]func(have, want string) bool{
	"eq": strings.EqualFold,
	"ne": func(h, w string) bool { return !strings.EqualFold(h, w) },
	"cn": func(h, w string) bool { return strings.Contains(strings.ToLower(h), strings.ToLower(w)) },
	"sw": func(h, w string) bool { return strings.HasPrefix(strings.ToLower(h), strings.ToLower(w)) },
	"ew": func(h, w string) bool { return strings.HasSuffix(strings.ToLower(h), strings.ToLower(w)) },
	"gt": func(h, w string) bool { return h != "" && compareValues(h, w) > 0 },
	"lt": func(h, w string) bool { return h != "" && compareValues(h, w) < 0 },
	"ge": func(h, w string) bool { return h != "" && compareValues(h, w) >= 0 },
	"le": func(h, w string) bool { return h != "" && compareValues(h, w) <= 0 },
}

// compareValues orders two field values: as numbers when both are numbers,
// else as case-folded strings (RFC 3339 UTC times, as records show them,
// order correctly as strings, and a date prefix such as 2026-03-04 sorts
// before every time of that day). An empty field never matches gt, lt, ge
// or le: a key without expiry does not "expire before" anything.
func compareValues(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		return cmp.Compare(x, y)
	}
	return cmp.Compare(strings.ToLower(a), strings.ToLower(b))
}

// listParams and getParams are the query parameters each admin read accepts.
var (
	listParams = []string{"page", "sort", "filter", "indent"}
	getParams  = []string{"indent"}
)

// checkParams refuses parameters outside allowed and parameters given twice.
func checkParams(q url.Values, allowed ...string) error {
	for k, v := range q {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return errBadRequest("unknown query parameter " + strconv.Quote(k) + ": this endpoint takes none")
			}
			return errBadRequest("unknown query parameter " + strconv.Quote(k) + " (accepted: " + strings.Join(allowed, ", ") + ")")
		}
		if len(v) != 1 {
			return errBadRequest("query parameter " + strconv.Quote(k) + " given more than once")
		}
	}
	return nil
}

// parseIndent reads indent=true|false (case-insensitive).
func parseIndent(q url.Values) (bool, error) {
	v, ok := q["indent"]
	if !ok {
		return false, nil
	}
	switch strings.ToLower(v[0]) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errBadRequest("indent must be true or false")
}

func parseListQuery(q url.Values) (listQuery, error) {
	lq := listQuery{size: 25, sortField: "id"}
	if err := checkParams(q, listParams...); err != nil {
		return lq, err
	}
	var err error
	if lq.indent, err = parseIndent(q); err != nil {
		return lq, err
	}
	if p := q.Get("page"); p != "" {
		for _, part := range strings.Split(p, ",") {
			k, v, _ := strings.Cut(part, "~")
			n, err := strconv.Atoi(v)
			switch k = strings.ToLower(k); {
			case k == "index" && err == nil && n >= 0 && n <= maxPageIndex:
				lq.index = n
			case k == "size" && err == nil && n >= 1 && n <= 1000:
				lq.size = n
			default:
				return lq, errBadRequest("page must look like index~0,size~25 (size 1..1000)")
			}
		}
	}
	if sp := q.Get("sort"); sp != "" {
		f, dir, _ := strings.Cut(sp, "~")
		f, dir = strings.ToLower(f), strings.ToLower(dir)
		if _, ok := listFields[f]; !ok || (dir != "" && dir != "asc" && dir != "desc") {
			return lq, errBadRequest("sort must look like name~asc or name~desc on a known field (" + fieldNames() + ")")
		}
		lq.sortField, lq.desc = f, dir == "desc"
	}
	if fp := q.Get("filter"); fp != "" {
		for _, part := range strings.Split(fp, ",") {
			parts := strings.SplitN(part, "~", 3)
			if len(parts) != 3 {
				return lq, errBadRequest("filter must look like name~cn~value; ops eq, ne, cn, sw, ew, gt, lt, ge, le")
			}
			f, op := strings.ToLower(parts[0]), strings.ToLower(parts[1])
			if listFields[f] == nil {
				return lq, errBadRequest("filter on unknown field " + strconv.Quote(parts[0]) + " (fields: " + fieldNames() + ")")
			}
			if listOps[op] == nil {
				return lq, errBadRequest("filter with unknown operator " + strconv.Quote(parts[1]) + " (ops eq, ne, cn, sw, ew, gt, lt, ge, le)")
			}
			lq.filters = append(lq.filters, listFilter{field: f, op: op, value: parts[2]})
		}
	}
	return lq, nil
}

// maxPageIndex keeps index*size far from overflowing.
const maxPageIndex = 1 << 30

func fieldNames() string {
	names := make([]string, 0, len(listFields))
	for f := range listFields {
		names = append(names, f)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// apply filters, sorts and pages views.
func (lq listQuery) apply(views []registry.View) listResponse {
	kept := views[:0]
	for _, v := range views {
		if lq.matches(v) {
			kept = append(kept, v)
		}
	}
	get := listFields[lq.sortField]
	slices.SortStableFunc(kept, func(a, b registry.View) int {
		c := cmp.Or(cmp.Compare(strings.ToLower(get(a)), strings.ToLower(get(b))), cmp.Compare(a.ID, b.ID))
		if lq.desc {
			return -c
		}
		return c
	})
	total := len(kept)
	start := min(lq.index*lq.size, total)
	end := min(start+lq.size, total)
	return listResponse{Items: append([]registry.View{}, kept[start:end]...), PageIndex: lq.index, PageSize: lq.size,
		TotalPages: (total + lq.size - 1) / lq.size, TotalResults: total}
}

func (lq listQuery) matches(v registry.View) bool {
	for _, f := range lq.filters {
		if !listOps[f.op](listFields[f.field](v), f.value) {
			return false
		}
	}
	return true
}
